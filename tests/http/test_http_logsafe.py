"""install_log_redaction: every logger at DEBUG, canaries in URLs, nothing leaks (security F1, F3)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest
from graph_helpers import Recorder, canary, json_response

from igtui.core.graph.client import GraphClient
from igtui.core.logsafe import RedactingFilter, install_log_redaction
from igtui.core.secret import Secret

LOGGERS = ("", "httpx", "httpcore", "asyncio", "igtui")


@pytest.fixture
def clean_logging() -> Iterator[io.StringIO]:
    """Install a stream handler on root, and put logging back exactly as it was afterwards."""
    factory = logging.getLogRecordFactory()
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    root = logging.getLogger()
    root_filters = list(root.filters)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.filters[:] = root_filters
        logging.setLogRecordFactory(factory)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


async def test_every_logger_at_debug_leaks_no_canary(clean_logging: io.StringIO) -> None:
    install_log_redaction()
    assert logging.getLogger("httpx").level == logging.WARNING
    assert logging.getLogger("httpcore").level == logging.WARNING
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)

    registered, unregistered = canary("IGAA"), canary("RAW")
    Secret(registered)
    url = f"https://graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token&access_token={unregistered}"
    rec = Recorder(lambda r: json_response(200, {"access_token": registered, "expires_in": 5183944}))
    async with GraphClient(transport=rec.transport) as graph:
        await graph.request("GET", "https://graph.instagram.com/refresh_access_token",
                            params={"grant_type": "ig_refresh_token", "access_token": Secret(registered)})
        await graph.request("GET", url)

    log = logging.getLogger("igtui.test")
    log.info("calling %s", httpx.URL(url))  # an httpx.URL *argument*, as httpx itself logs it
    log.debug("body %r", {"access_token": unregistered})
    log.warning("token is %s", registered)
    try:
        httpx.Response(401, request=httpx.Request("GET", url)).raise_for_status()  # F3
    except httpx.HTTPStatusError:
        log.exception("refresh failed")
    log.info("bad format %s %s", "only one")  # must not lose the record, nor crash

    output = clean_logging.getvalue()
    assert "HTTP Request: GET https://graph.instagram.com/refresh_access_token" in output  # httpx did log
    assert "HTTPStatusError" in output and "refresh failed" in output
    assert registered not in output and unregistered not in output
    assert "access_token=***" in output


def test_install_is_idempotent_and_covers_existing_handlers(clean_logging: io.StringIO) -> None:
    other = logging.getLogger("igtui.other")
    handler = logging.StreamHandler(io.StringIO())
    other.addHandler(handler)
    try:
        install_log_redaction()
        factory = logging.getLogRecordFactory()
        install_log_redaction(http_level=logging.INFO)
        assert logging.getLogRecordFactory() is factory
        assert logging.getLogger("httpx").level == logging.INFO
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    finally:
        other.removeHandler(handler)


def test_handler_filter_catches_records_made_without_the_factory(clean_logging: io.StringIO) -> None:
    install_log_redaction()
    raw = canary("RAW")
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "url %s", (f"https://x/?code={raw}",), None)
    for handler in logging.getLogger().handlers:
        handler.handle(record)
    assert raw not in clean_logging.getvalue() and "code=***" in clean_logging.getvalue()
