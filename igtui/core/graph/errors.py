"""Turn whatever Meta (or a proxy in front of it) answered into a typed igtui error.

Meta has three error shapes (reference §6.1) and proxies add a fourth, non-JSON one:

1. the Graph envelope `{"error": {"message", "type", "code", "error_subcode", ...}}`;
2. the Instagram OAuth shape `{"error_type", "code", "error_message"}`, whose `code` is the
   HTTP-ish 400, not a Graph code;
3. a redirect's `error`, `error_reason`, `error_description` (and sometimes `error_code`);
4. HTML or truncated bodies.

Classification is by *code*, never by `type`: rate-limit errors carry `type: OAuthException`
too (reference §10.16). Meta's own text is redacted and made terminal-safe, and is kept as
plain data; nothing here interprets it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from igtui.core.errors import (
    ApiError,
    BadRequest,
    ConsentDenied,
    PermissionMissing,
    RateLimited,
    ReloginRequired,
    TransientApiError,
)
from igtui.core.graph.ratelimit import parse_usage
from igtui.core.graph.redact import redact_text
from igtui.core.safetext import plain

RELOGIN_CODES = frozenset({102, 190})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613} | set(range(80000, 80015)))
PERMISSION_CODES = frozenset({10} | set(range(200, 300)))
TRANSIENT_CODES = frozenset({1, 2})

_MESSAGE_LIMIT = 200
_SNIPPET_LIMIT = 80

_RELOGIN_REASONS: dict[int, str] = {
    458: "the user removed the app",
    459: "the user's account is checkpointed and must be unlocked on the website first",
    460: "the user changed their password",
    463: "the token expired",
    464: "the user's account is unconfirmed and must be confirmed on the website first",
    467: "the token is no longer valid",
}
_RATE_REASONS: dict[int, str] = {
    4: "the app hit its request limit",
    17: "the user hit their request limit",
    32: "the Page hit its request limit",
    341: "the application limit was reached",
    613: "a rate limit for this call was exceeded",
    80001: "too many calls to this Page",
    80002: "too many calls to this Instagram account",
}


def classify(code: int | None, subcode: int | None = None, *, status: int | None = None,
             is_transient: bool = False) -> type[ApiError]:
    """The igtui error class for a Meta error code (the HTTP status only breaks ties).

    Args:
        code: Graph `code` (None when the body had none, e.g. a proxy's HTML page).
        subcode: `error_subcode`; it never changes the class, only the wording.
        status: HTTP status, used when the code says nothing (5xx, 429, other 4xx).
        is_transient: Meta's own `is_transient` flag, for codes not listed here.
    """
    del subcode  # every 190/102 subcode means "log in again" (492 included: a new login is needed)
    if code in RELOGIN_CODES:
        return ReloginRequired
    if code in RATE_LIMIT_CODES:
        return RateLimited
    if code in PERMISSION_CODES:
        return PermissionMissing
    if code == 100:
        return BadRequest
    if code in TRANSIENT_CODES or is_transient:
        return TransientApiError
    if status is not None:
        if status >= 500:
            return TransientApiError
        if status == 429:
            return RateLimited
        if 400 <= status < 500 and code != 368:
            return BadRequest
    return ApiError


def _int(value: Any) -> int | None:
    """An int from Meta's number-or-numeric-string fields; anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 20:
        return int(value.strip())
    return None


def _text(value: Any, limit: int = _MESSAGE_LIMIT) -> str | None:
    """Meta text made safe: secrets redacted, controls made visible, length capped."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = redact_text(str(value))
    return plain(text, limit=limit) or None


_IDENT_RE = re.compile(r"[A-Za-z0-9_.\-]{1,40}")


def _ident(value: Any) -> str | None:
    """A short Meta identifier (`type`, `fbtrace_id`): kept only if it looks like one.

    These skip the known-secret scan that `_text` does (that scan costs milliseconds once
    thousands of tokens are registered); the strict charset and the 40-character cap keep a
    token (sandbox and real tokens are far longer) from passing as an identifier.
    """
    if isinstance(value, str) and _IDENT_RE.fullmatch(value):
        return value
    return None


def _relogin_message(code: int, subcode: int | None, meta_message: str | None) -> str:
    label = f"{code}/{subcode}" if subcode else str(code)
    if subcode == 492:
        return (f"the user has no role on the Page ({label}): give them a role on the Page, "
                "then log in again")
    reason = _RELOGIN_REASONS.get(subcode or 0)
    if reason is None:
        lowered = (meta_message or "").lower()
        if "expired" in lowered:
            reason = "the token expired"
        elif "password" in lowered:
            reason = "the user changed their password"
        elif "not authorized application" in lowered:
            reason = "the user removed the app"
        elif code == 102:
            reason = "the session is no longer valid"
        else:
            reason = "the token is no longer valid"
    return f"{reason} ({label}): log in again"


def _retry_at(headers: Mapping[str, str] | None, now: datetime | None) -> datetime | None:
    """When a throttled app gets access back, from the BUC header's regain minutes."""
    if headers is None or now is None:
        return None
    usage = parse_usage(headers)
    if usage is None or not usage.regain_minutes:
        return None
    return now + timedelta(minutes=usage.regain_minutes)


def build_error(
    *,
    status: int | None,
    code: int | None,
    subcode: int | None = None,
    error_type: str | None = None,
    meta_message: str | None = None,
    user_message: str | None = None,
    fbtrace_id: str | None = None,
    is_transient: bool = False,
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
    code_is_graph: bool = True,
) -> ApiError:
    """Build the typed error for one Meta error, with a one-line plain-words message.

    Args:
        code_is_graph: False for the Instagram OAuth shape, whose `code` is HTTP-ish: it is
            kept on the error but not used to classify.
    """
    graph_code = code if code_is_graph else None
    cls = classify(graph_code, subcode, status=status, is_transient=is_transient)
    detail = user_message or meta_message
    label = str(code) if code is not None else (f"HTTP {status}" if status else "no code")
    if subcode and code_is_graph:
        label = f"{code}/{subcode}"
    if cls is ReloginRequired and graph_code is not None:
        message = _relogin_message(graph_code, subcode, meta_message)
    elif cls is RateLimited:
        reason = _RATE_REASONS.get(graph_code or 0, "Meta is throttling requests")
        retry_at = _retry_at(headers, now)
        when = f"; try again after {retry_at:%Y-%m-%d %H:%M} UTC" if retry_at else "; try again later"
        message = f"rate limited ({label}): {reason}{when}"
        return RateLimited(message, retry_at=retry_at, code=code, subcode=subcode, error_type=error_type,
                           fbtrace_id=fbtrace_id, status=status, meta_message=meta_message)
    elif cls is PermissionMissing:
        message = f"a permission is missing ({label})" + (f": {detail}" if detail else "")
    elif cls is BadRequest:
        message = f"Meta refused the request ({label})" + (f": {detail}" if detail else "")
    elif cls is TransientApiError:
        message = f"Meta had a temporary problem ({label})" + (f": {detail}" if detail else "")
    else:
        message = f"Meta answered with an error ({label})" + (f": {detail}" if detail else "")
    return cls(message, code=code, subcode=subcode, error_type=error_type, fbtrace_id=fbtrace_id,
               status=status, meta_message=meta_message)


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
                  now: datetime | None) -> ApiError | None:
    """The error described by a JSON object body, or None when it describes none."""
    envelope = body.get("error")
    if isinstance(envelope, dict):
        code = _int(envelope.get("code"))
        return build_error(
            status=status,
            code=code,
            subcode=_int(envelope.get("error_subcode")),
            error_type=_ident(envelope.get("type")),
            meta_message=_text(envelope.get("message")),
            user_message=_text(envelope.get("error_user_msg")),
            fbtrace_id=_ident(envelope.get("fbtrace_id")),
            is_transient=envelope.get("is_transient") is True,
            headers=headers,
            now=now,
        )
    if "error_type" in body or "error_message" in body:
        return build_error(
            status=status,
            code=_int(body.get("code")),
            error_type=_ident(body.get("error_type")),
            meta_message=_text(body.get("error_message")),
            headers=headers,
            now=now,
            code_is_graph=False,
        )
    if isinstance(envelope, str):
        # {"error": "access_denied", "error_description": "..."}: the redirect shape as JSON.
        described = _text(body.get("error_description"))
        return build_error(status=status, code=_int(body.get("error_code")), error_type=_text(envelope, 60),
                           meta_message=described or _text(envelope), headers=headers, now=now)
    return None


def decode_body(status: int, body: bytes, headers: Mapping[str, str] | str | None = None, *,
                now: datetime | None = None) -> tuple[dict[str, Any] | None, ApiError | None]:
    """Parse a response once: (the JSON object, None) on success, (maybe the object, error) if not.

    A 2xx whose body is not a JSON object (HTML, truncated JSON, a bare list) is an error,
    not an empty success (security.md §6 D3).
    """
    header_map = None if isinstance(headers, str) else headers
    try:
        parsed = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        parsed = None
        broken = True
    else:
        broken = parsed is None
    if isinstance(parsed, dict):
        error = _from_mapping(status, parsed, header_map, now)
        if error is None and not 200 <= status < 300:
            error = build_error(status=status, code=None, headers=header_map, now=now)
        return parsed, error
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
    return None, cls(message, status=status)


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


__all__ = ["build_error", "classify", "decode_body", "error_from_redirect", "parse_error"]
