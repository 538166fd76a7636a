"""Read a reply's body (and a redirect's query) into a typed error, or a usable success.

Meta has three error shapes and proxies add a fourth, non-JSON one:

1. the Graph envelope `{"error": {"message", "type", "code", "error_subcode", ...}}`;
2. the Instagram OAuth shape `{"error_type", "code", "error_message"}`, whose `code` is the
   HTTP-ish 400, not a Graph code;
3. a redirect's `error`, `error_reason`, `error_description` (and sometimes `error_code`);
4. HTML or truncated bodies (Meta sends those itself too, e.g. a 502 "Sorry, something went
   wrong." page, so an HTML body is not proof of a proxy).

The body is parsed by content, never by content type (Graph JSON also comes as
`text/javascript`). Every piece of Meta's text is redacted, made terminal-safe and capped
here, before it goes into an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from igtui.core.errors import ApiError, ConsentDenied, RateLimited, TransientApiError
from igtui.core.graph.build import build_error
from igtui.core.graph.errorheaders import auth_hint, header_trace, trace_id
from igtui.core.graph.redact import redact_text
from igtui.core.ints import parse_int
from igtui.core.safetext import plain

_MESSAGE_LIMIT = 200
_SNIPPET_LIMIT = 80
_CODE_PREFIX_RE = re.compile(r"\s*\(#([0-9]{1,7})\)")
"""A message that starts "(#N)" names its Graph code N (Meta's own habit). `[0-9]`, not `\\d`,
which would match any Unicode digit."""


def _int(value: Any) -> int | None:
    """An int from Meta's number-or-numeric-string fields; anything else is None.

    `parse_int` (ASCII digits only, bounded): "²", "--1" or "１９０" is no code at all, so the
    status decides the class instead of an unexpected ValueError (or a fullwidth "190"
    sending the user to log in again).
    """
    return parse_int(value)


def _text(value: Any, limit: int = _MESSAGE_LIMIT) -> str | None:
    """Meta text made safe: secrets redacted, controls made visible, length capped."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = redact_text(str(value))
    return plain(text, limit=limit) or None


_IDENT_RE = re.compile(r"[A-Za-z0-9_.\-]{1,40}")


def _ident(value: Any) -> str | None:
    """A short Meta identifier (`type`): kept only if it looks like one.

    This skips the known-secret scan that `_text` does (that scan costs milliseconds once
    thousands of tokens are registered); the strict charset and the 40-character cap keep a
    token (sandbox and real tokens are far longer) from passing as an identifier.
    """
    if isinstance(value, str) and _IDENT_RE.fullmatch(value):
        return value
    return None


_TAG_RE = re.compile(r"<[^>]*>|\s+")


def _snippet(body: bytes) -> str:
    """A short, sanitised look at a non-JSON body (a proxy's HTML page, a cut-off reply)."""
    text = body[:2048].decode("utf-8", "replace")
    text = _TAG_RE.sub(" ", text).strip()
    return plain(redact_text(text), limit=_SNIPPET_LIMIT) or "(empty)"


def _content_type(headers: Mapping[str, str] | str | None) -> str:
    if headers is None:
        return ""
    if isinstance(headers, str):
        return headers.lower()
    value = headers.get("content-type") or headers.get("Content-Type") or ""
    return str(value).lower()


def _from_mapping(status: int, body: dict[str, Any], headers: Mapping[str, str] | None,
                  now: datetime | None, hint: tuple[str, str | None] | None) -> ApiError | None:
    """The error described by a JSON object body, or None when it describes none.

    The WWW-Authenticate hint fills in only what the body lacks: the class when there is no
    code, the message when there is none.
    """
    word = hint[0] if hint else None

    def hinted() -> str | None:
        # Redacted only when needed: the known-secret scan is the costly part of an error.
        return _text(hint[1]) if hint and hint[1] else None

    envelope = body.get("error")
    if isinstance(envelope, dict):
        code = _int(envelope.get("code"))
        return build_error(
            status=status,
            code=code,
            subcode=_int(envelope.get("error_subcode")),
            error_type=_ident(envelope.get("type")),
            meta_message=_text(envelope.get("message")) or hinted(),
            user_message=_text(envelope.get("error_user_msg")),
            fbtrace_id=trace_id(envelope.get("fbtrace_id")) or header_trace(headers),
            is_transient=envelope.get("is_transient") is True,
            headers=headers,
            now=now,
            hint=word,
        )
    if "error_type" in body or "error_message" in body:
        return build_error(
            status=status,
            code=_int(body.get("code")),
            error_type=_ident(body.get("error_type")),
            meta_message=_text(body.get("error_message")) or hinted(),
            fbtrace_id=header_trace(headers),
            headers=headers,
            now=now,
            code_is_graph=False,
            hint=word,
        )
    if isinstance(envelope, str):
        # {"error": "access_denied", "error_description": "..."}: the redirect shape as JSON.
        described = _text(body.get("error_description"))
        return build_error(status=status, code=_int(body.get("error_code")), error_type=_text(envelope, 60),
                           meta_message=described or _text(envelope), fbtrace_id=header_trace(headers),
                           headers=headers, now=now, hint=word)
    return None


def _from_hint(status: int, hint: tuple[str, str | None], headers: Mapping[str, str] | None,
               now: datetime | None) -> ApiError:
    """The error for a reply whose body is unusable but whose WWW-Authenticate says what it was.

    A message starting "(#N)" gives the code (Meta's own: "(#4) Application request limit
    reached" is a rate limit); otherwise the error word decides (see `classify`).
    """
    word, raw = hint
    meta_message = _text(raw) if raw else None
    match = _CODE_PREFIX_RE.match(raw or "")
    code = parse_int(match.group(1)) if match else None
    return build_error(status=status, code=code, meta_message=meta_message, fbtrace_id=header_trace(headers),
                       headers=headers, now=now, hint=word)


def decode_body(status: int, body: bytes, headers: Mapping[str, str] | str | None = None, *,
                now: datetime | None = None) -> tuple[dict[str, Any] | None, ApiError | None]:
    """Parse a response once: (the JSON object, None) on success, (maybe the object, error) if not.

    A 2xx whose body is not a JSON object (HTML, truncated JSON, a bare list) is an error,
    not an empty success: taking it for one could store an empty token over a good one.
    """
    header_map = None if isinstance(headers, str) else headers
    try:
        parsed = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        parsed = None
        broken = True
    else:
        broken = parsed is None
    success = 200 <= status < 300
    hint = None if success else auth_hint(header_map)
    if isinstance(parsed, dict):
        error = _from_mapping(status, parsed, header_map, now, hint)
        if error is None and not success:
            error = (_from_hint(status, hint, header_map, now) if hint is not None
                     else build_error(status=status, code=None, fbtrace_id=header_trace(header_map),
                                      headers=header_map, now=now))
        return parsed, error
    if hint is not None and status < 500:
        # Truncated, HTML or empty: the header is all Meta said that can be read.
        return None, _from_hint(status, hint, header_map, now)
    if not broken:
        what = "an unexpected JSON value"
    elif "html" in _content_type(headers) or body.lstrip()[:1] == b"<":
        what = "an HTML page"
    elif not body:
        what = "an empty body"
    else:
        what = "a body that is not valid JSON"
    message = f"HTTP {status} with {what}: {_snippet(body)}" if body else f"HTTP {status} with {what}"
    cls: type[ApiError] = TransientApiError if status >= 500 else ApiError
    if status == 429:
        cls = RateLimited
    hinted = _text(hint[1]) if hint is not None and hint[1] else None
    return None, cls(message, status=status, fbtrace_id=None if success else header_trace(header_map),
                     meta_message=hinted)


def parse_error(status: int, body: bytes, headers: Mapping[str, str] | str | None = None, *,
                now: datetime | None = None) -> ApiError | None:
    """The typed error in a response, or None when it is a usable success.

    Args:
        status: HTTP status.
        body: The raw body (already capped by the client).
        headers: The response headers (for the BUC regain time and the content type), or
            just the content type as a string.
        now: The current time, to turn `estimated_time_to_regain_access` minutes into
            `RateLimited.retry_at`; without it retry_at stays None.
    """
    return decode_body(status, body, headers, now=now)[1]


def _first(params: Mapping[str, Any], key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return None if value is None else str(value)


def error_from_redirect(params: Mapping[str, str | Sequence[str]]) -> ApiError | ConsentDenied | None:
    """The error carried by a redirect's query (`error`, `error_reason`, `error_description`).

    Args:
        params: Decoded query parameters (a dict of str, or of lists as parse_qs gives).

    Returns:
        ConsentDenied when the user pressed "deny" (`access_denied` / `user_denied`), an
        ApiError for any other error, None when the redirect carries no error.
    """
    error = _first(params, "error")
    reason = _first(params, "error_reason")
    if error is None and reason is None:
        return None
    description = _text((_first(params, "error_description") or "").replace("+", " ")) or None
    if error == "access_denied" or reason == "user_denied":
        return ConsentDenied("login denied by the user" + (f": {description}" if description else ""))
    code = _int(_first(params, "error_code"))
    label = _text(error or reason, 60) or "error"
    return ApiError(
        f"Meta refused the login ({label})" + (f": {description}" if description else ""),
        code=code, error_type=label, meta_message=description,
    )


__all__ = ["decode_body", "error_from_redirect", "parse_error"]
