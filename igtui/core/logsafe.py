"""Make Python logging unable to carry a secret, at any level, from any library.

httpx logs each request line with the full URL at INFO, and passes the URL as an `httpx.URL`
*argument*, so a filter that looks only at `record.msg`, or only at string args, misses it.
The fix here formats the record first (`record.getMessage()`), redacts the result, and puts
the redacted text back as the message with no args. It runs twice over: as the log-record
factory (so every record, for any handler added later, is born redacted) and as a filter on
every handler that exists now (so a record built by some other factory is caught on output).
"""

from __future__ import annotations

import logging
import traceback

from igtui.core.graph.redact import redact_text

_MARK = "_igtui_redacted"
_HTTP_LOGGERS = ("httpx", "httpcore")


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact a record in place: message, args, exception and stack text. Returns it."""
    if getattr(record, _MARK, False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a bad %-format must not lose the record, nor leak its args
        message = f"{record.msg!s} (unformattable log arguments)"
    record.msg = redact_text(message)
    record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        text = record.exc_text or "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        record.exc_text = redact_text(text)
        record.exc_info = None  # so no formatter re-renders the raw exception
    elif record.exc_text:
        record.exc_text = redact_text(record.exc_text)
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)
    setattr(record, _MARK, True)
    return record


class RedactingFilter(logging.Filter):
    """A filter that never drops a record, only redacts it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place and keep it: dropping a record would hide that something happened."""
        redact_record(record)
        return True


def _all_handlers() -> list[logging.Handler]:
    handlers = list(logging.getLogger().handlers)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            handlers.extend(logger.handlers)
    return handlers


def install_log_redaction(*, http_level: int = logging.WARNING) -> None:
    """Redact every log record in this process; quiet httpx/httpcore to `http_level`.

    Idempotent. Call it at start-up (CLI main, TUI start) and again after adding handlers
    if you want the belt as well as the braces; the record factory covers them anyway.

    Args:
        http_level: Level for the httpx and httpcore loggers (a --debug-http flag may lower
            it; redaction stays on either way).
    """
    factory = logging.getLogRecordFactory()
    if not getattr(factory, _MARK, False):

        def redacting_factory(*args: object, **kwargs: object) -> logging.LogRecord:
            return redact_record(factory(*args, **kwargs))

        setattr(redacting_factory, _MARK, True)
        logging.setLogRecordFactory(redacting_factory)

    root = logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for f in root.filters):
        root.addFilter(RedactingFilter())
    for handler in _all_handlers():
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    for name in _HTTP_LOGGERS:
        logging.getLogger(name).setLevel(http_level)


__all__ = ["RedactingFilter", "install_log_redaction", "redact_record"]
