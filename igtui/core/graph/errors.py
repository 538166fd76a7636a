"""Turn whatever Meta (or a proxy in front of it) answered into a typed igtui error.

Meta has three error shapes (reference §6.1) and proxies add a fourth, non-JSON one:

1. the Graph envelope `{"error": {"message", "type", "code", "error_subcode", ...}}`;
2. the Instagram OAuth shape `{"error_type", "code", "error_message"}`, whose `code` is the
   HTTP-ish 400, not a Graph code;
3. a redirect's `error`, `error_reason`, `error_description` (and sometimes `error_code`);
4. HTML or truncated bodies (Meta sends those itself too, e.g. a 502 "Sorry, something went
   wrong." page: reference §12).

Classification is by *code*, never by `type`: rate-limit errors carry `type: OAuthException`
too (reference §10.16). Two things read Meta's text, and only to pick a class: app-level
errors (reference §13), where the message is the only thing that says the *application*
rather than the token is the problem, and the `WWW-Authenticate` header's hint, used only when
the body says nothing usable. Meta's text is otherwise redacted, made terminal-safe and kept as
plain data. The body is parsed by content, never by content type (Graph JSON also comes as
`text/javascript`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from igtui.core.errors import (
    ApiError,
    AppBlocked,
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
from igtui.core.secret import known_secrets

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
             is_transient: bool = False, hint: str | None = None) -> type[ApiError]:
    """The igtui error class for a Meta error code (the HTTP status only breaks ties).

    Codes alone cannot say that Meta acted on the app, except 101 (invalid application):
    `build_error` reads the message for the rest (reference §13).

    Args:
        code: Graph `code` (None when the body had none, e.g. a proxy's HTML page).
        subcode: `error_subcode`; it never changes the class, only the wording.
        status: HTTP status, used when the code says nothing (5xx, 429, other 4xx).
        is_transient: Meta's own `is_transient` flag, for codes not listed here.
        hint: The `WWW-Authenticate` error word (invalid_token, invalid_code, invalid_request,
            unknown_error), used only when there is no code. A 5xx or 429 status beats it:
            Meta answers a dead token with a 4xx, so a 5xx page saying "invalid_token" is no
            reason to send a user to log in again.
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
    if code == 101:
        return AppBlocked
    if code in TRANSIENT_CODES or is_transient:
        return TransientApiError
    if status is not None:
        if status >= 500:
            return TransientApiError
        if status == 429:
            return RateLimited
    if code is None and hint in _HINT_CLASSES:
        return _HINT_CLASSES[hint]
    if status is not None and 400 <= status < 500 and code != 368:
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
    """A short Meta identifier (`type`): kept only if it looks like one.

    This skips the known-secret scan that `_text` does (that scan costs milliseconds once
    thousands of tokens are registered); the strict charset and the 40-character cap keep a
    token (sandbox and real tokens are far longer) from passing as an identifier.
    """
    if isinstance(value, str) and _IDENT_RE.fullmatch(value):
        return value
    return None


TRACE_ID_LIMIT = 64
"""Longest fbtrace_id kept. Meta's run to about 26 characters (reference §12); every real
token is far longer than 64, so a token cannot pass as a trace id by its length alone."""

_TRACE_RE = re.compile(rf"[A-Za-z0-9+/=_.\-]{{1,{TRACE_ID_LIMIT}}}")


def trace_id(value: Any) -> str | None:
    """Meta's fbtrace_id as kept for support requests, or None when it cannot be one.

    Old ids are base64 with `+` and `/` (`GNV+FOvDX3z`, `BupUdrV/3Pj`; JSON's `\\/` is already
    `/` here), new ones URL-safe (`Ax-_gPAuFEee6GdsfwecVmrjtu`): both are kept verbatim, since
    Meta support asks for the exact id. The charset leaves nothing a terminal or Rich markup
    could act on (no controls, no whitespace, no brackets). A value holding a registered
    secret is refused; only secrets no longer than the value are checked, and the registry
    lists those last, so the scan stays short however many long tokens are registered.
    """
    if not isinstance(value, str) or _TRACE_RE.fullmatch(value) is None:
        return None
    secrets = known_secrets()
    for index in range(len(secrets) - 1, -1, -1):
        secret = secrets[index]
        if len(secret) > len(value):
            break
        if secret in value:
            return None
    return value


def _header_trace(headers: Mapping[str, str] | None) -> str | None:
    """The `x-fb-trace-id` response header, for error bodies that carry no fbtrace_id."""
    if headers is None:
        return None
    try:
        value = headers.get("x-fb-trace-id") or headers.get("X-FB-Trace-ID")
    except (AttributeError, TypeError):
        return None
    return trace_id(value)


AUTH_HINTS = frozenset({"invalid_code", "invalid_token", "invalid_request", "unknown_error"})
"""The error words Meta puts second in `WWW-Authenticate: OAuth "Facebook Platform" "<word>" "<message>"`."""

_HINT_CLASSES: dict[str, type[ApiError]] = {
    "invalid_token": ReloginRequired,
    "invalid_code": BadRequest,
    "invalid_request": BadRequest,
    "unknown_error": TransientApiError,
}
_HEADER_LIMIT = 4096
_OAUTH_SCHEME_RE = re.compile(r"(?:^|[\s,])oauth(?=[ \t]+\")", re.IGNORECASE)
_CODE_PREFIX_RE = re.compile(r"\s*\(#(\d{1,7})\)")


def _quoted(text: str, index: int, most: int) -> list[str]:
    """Up to `most` consecutive quoted strings from `index` (RFC 9110 quoted-string, `\\` escapes).

    An unterminated string ends the list without itself: a header cut in the middle of its
    message still yields the realm and the error word before it.
    """
    out: list[str] = []
    end = len(text)
    while len(out) < most:
        while index < end and text[index] in " \t":
            index += 1
        if index >= end or text[index] != '"':
            break
        index += 1
        chars: list[str] = []
        closed = False
        while index < end:
            ch = text[index]
            if ch == "\\" and index + 1 < end:
                chars.append(text[index + 1])
                index += 2
            elif ch == '"':
                closed = True
                index += 1
                break
            else:
                chars.append(ch)
                index += 1
        if not closed:
            break
        out.append("".join(chars))
    return out


def parse_www_authenticate(value: object) -> tuple[str, str | None] | None:
    """(error word, message) from Meta's `WWW-Authenticate: OAuth "realm" "word" "message"`.

    Anything that is not that shape, or whose word is not one of AUTH_HINTS, is None: a
    garbled header is ignored, never guessed at. The message is returned raw; callers
    redact and bound it.
    """
    if not isinstance(value, str) or not value:
        return None
    text = value[:_HEADER_LIMIT]
    for match in _OAUTH_SCHEME_RE.finditer(text):
        strings = _quoted(text, match.end(), 3)
        if len(strings) >= 2:
            word = strings[1].strip().lower()
            if word in AUTH_HINTS:
                return word, (strings[2] if len(strings) > 2 else None)
    return None


def _auth_hint(headers: Mapping[str, str] | None) -> tuple[str, str | None] | None:
    """The first usable hint among the response's WWW-Authenticate headers."""
    if headers is None:
        return None
    try:
        values = headers.get_list("www-authenticate") if hasattr(headers, "get_list") else [
            headers.get("www-authenticate") or headers.get("WWW-Authenticate")]
    except (AttributeError, TypeError):
        return None
    for value in values:
        found = parse_www_authenticate(value)
        if found is not None:
            return found
    return None


APP_ADVICE: dict[str, str] = {
    "restricted": "see the alert at https://developers.facebook.com/apps/ → your app, fix what Meta flagged "
                  "and request a review",
    "disabled": "open https://developers.facebook.com/apps/ → your app and follow its alert to appeal or "
                "restore the app",
    "data_use_checkup": "complete Data Use Checkup at https://developers.facebook.com/apps/ → your app → "
                        "App Review",
    "inactive": "reactivate Graph API access at https://developers.facebook.com/apps/ → your app (it is "
                "then limited to current Graph API versions)",
    "not_live": "switch the app to Live at https://developers.facebook.com/apps/ → your app → Publish "
                "(or make the account a tester of the app)",
    "invalid_app": "check the app id and secret against https://developers.facebook.com/apps/ (the app may "
                   "have been deleted); fix them with `igtui app edit`",
}
"""One line per AppBlocked kind: what to do in the App Dashboard."""

_APP_REASONS: dict[str, str] = {
    "restricted": "Meta restricted the app",
    "disabled": "Meta disabled the app",
    "data_use_checkup": "the app's Data Use Checkup is overdue",
    "inactive": "Meta deactivated the app's Graph API access for inactivity",
    "not_live": "the app is not live",
    "invalid_app": "Meta does not accept the app (deleted, or an unknown app id)",
}

_APP = r"(?:the\s+|this\s+|your\s+)?(?:app|application)"
_BE = r"(?:has\s+been|have\s+been|is|was|got)\s+(?:(?:temporarily|permanently)\s+)?"
_APP_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("data_use_checkup", r"data\s*use\s*check\s*-?\s*up|api\s+access\s+(?:has\s+been\s+)?disrupted"),
        ("inactive", r"deactivated\s+(?:due\s+to|for)\s+inactivity|(?:graph\s+)?api\s+access\s+(?:has\s+been\s+)?"
                     r"deactivated|\binactive\s+(?:app|application)\b|\b" + _APP + r"\s+" + _BE + r"deactivated\b"),
        ("restricted", r"\b" + _APP + r"\s+" + _BE + r"restricted\b|\brestricted\s+(?:app|application)\b|"
                       r"\b(?:app|application)\s+restriction"),
        ("disabled", r"\b" + _APP + r"\s+" + _BE + r"(?:disabled|banned|blocked|suspended)\b|"
                     r"\bdisabled\s+(?:app|application)\b"),
        ("not_live", r"\bnot\s+(?:in\s+)?live(?:\s+mode)?\b|\bin\s+development\s+mode\b|\bapp\s+not\s+(?:active|live|setup)\b|"
                     r"\b" + _APP + r"\s+(?:is\s+)?not\s+(?:published|live)\b|\bmust\s+be\s+(?:live|published)\b"),
        ("invalid_app", r"error\s+validating\s+application|\b" + _APP + r"\s+(?:has\s+been|was)\s+deleted\b|"
                        r"\binvalid\s+(?:app|application)(?:\s+id)?\b|\bunknown\s+application\b|"
                        r"\b(?:app|application)\s+id\b[^.]{0,30}\b(?:is\s+invalid|does\s+not\s+exist|not\s+found)"),
    )
)
_NOT_APP_RE = re.compile(r"system\s+error|retry\s+your\s+request|please\s+retry|try\s+again\s+later", re.IGNORECASE)
_MISSING_RE = re.compile(r"\bmissing\b", re.IGNORECASE)
_CLIENT_SECRET_RE = re.compile(r"validating\s+client\s+secret", re.IGNORECASE)
_APP_TEXT_LIMIT = 2000


def app_block_kind(code: int | None, subcode: int | None = None, *texts: str | None,
                   status: int | None = None, is_transient: bool = False) -> str | None:
    """The AppBlocked kind when a Meta error says the *application* is the problem, else None.

    Read from the message (case-insensitive, any whitespace), whatever the code: Meta uses
    190 ("Error validating application. Application has been deleted."), 10, 200 and others
    for these, and only the words tell them from a dead token. Code 101 (invalid
    application) counts by itself, unless it only says a parameter is missing. Never for a
    throttle code, a 5xx, an `is_transient` error or "a system error" ("Error validating
    application. Cannot get application info due to a system error." is Meta being down).
    Code 368 (blocked for a policy violation) is one action being refused, so it counts
    only when its message says the app is restricted or disabled.
    """
    del subcode  # no subcode is known to mean an app-level block (reference §13 lists messages only)
    if is_transient or code in RATE_LIMIT_CODES:
        return None
    if status is not None and status >= 500:
        return None
    joined = " ".join(t for t in texts if t)[:_APP_TEXT_LIMIT]
    if joined and _NOT_APP_RE.search(joined):
        return None
    for kind, pattern in _APP_PATTERNS:
        if joined and pattern.search(joined):
            return kind
    if code == 101 and not _MISSING_RE.search(joined):
        return "invalid_app"
    return None


def app_block_from(exc: BaseException | None) -> AppBlocked | None:
    """The AppBlocked an error amounts to: itself, or one rebuilt from a plain ApiError's fields.

    For errors built elsewhere (a `debug_token` reply's `data.error`, an error from another
    code path) so that the caller can stop calling Meta for the app's other accounts.
    """
    if isinstance(exc, AppBlocked):
        return exc
    if not isinstance(exc, ApiError):
        return None
    kind = app_block_kind(exc.code, exc.subcode, exc.meta_message, status=exc.status)
    if kind is None:
        return None
    return _app_blocked(kind, exc.code, exc.subcode, exc.error_type, exc.fbtrace_id, exc.status,
                        exc.meta_message)


def _app_blocked(kind: str, code: int | None, subcode: int | None, error_type: str | None,
                 fbtrace_id: str | None, status: int | None, meta_message: str | None) -> AppBlocked:
    label = f"{code}/{subcode}" if code is not None and subcode else (
        str(code) if code is not None else (f"HTTP {status}" if status else "no code"))
    advice = APP_ADVICE[kind]
    return AppBlocked(f"{_APP_REASONS[kind]} ({label}); every token of the app fails until it is fixed: {advice}",
                      kind=kind, advice=advice, code=code, subcode=subcode, error_type=error_type,
                      fbtrace_id=fbtrace_id, status=status, meta_message=meta_message)


def _relogin_message(code: int | None, subcode: int | None, meta_message: str | None, label: str) -> str:
    """Why the token is dead, in plain words: the subcode if known, else Meta's wording, else the code."""
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
    hint: str | None = None,
) -> ApiError:
    """Build the typed error for one Meta error, with a one-line plain-words message.

    An app-level error (reference §13) wins over the code's class, so that 190 "Error
    validating application. Application has been deleted." is AppBlocked, while a 190 about
    the token (460, expired…) stays ReloginRequired.

    Args:
        code_is_graph: False for the Instagram OAuth shape, whose `code` is HTTP-ish: it is
            kept on the error but not used to classify (its message still is, for app-level
            errors). "Invalid platform app" stays a BadRequest: it is the well-known mistake of
            giving the Meta App ID for an Instagram Login app (reference §10), not Meta acting.
        hint: The WWW-Authenticate error word, for when there is no code (see `classify`).
    """
    graph_code = code if code_is_graph else None
    kind = app_block_kind(graph_code, subcode, meta_message, user_message, status=status, is_transient=is_transient)
    if kind is not None:
        return _app_blocked(kind, code, subcode if code_is_graph else None, error_type, fbtrace_id, status,
                            meta_message)
    cls = classify(graph_code, subcode, status=status, is_transient=is_transient, hint=hint)
    if cls is AppBlocked:
        # 101 that app_block_kind turned down: Meta's "system error" is Meta being down; a
        # missing parameter is igtui's request, not the app.
        texts = f"{meta_message or ''} {user_message or ''}"
        cls = TransientApiError if _NOT_APP_RE.search(texts) or is_transient else BadRequest
    elif cls is TransientApiError and graph_code == 1 and _CLIENT_SECRET_RE.search(meta_message or ""):
        cls = BadRequest  # Meta says "Error validating client secret." with code 1: retrying cannot help
    detail = user_message or meta_message
    label = str(code) if code is not None else (hint or (f"HTTP {status}" if status else "no code"))
    if subcode and code_is_graph:
        label = f"{code}/{subcode}"
    if cls is ReloginRequired and (graph_code is not None or hint is not None):
        message = _relogin_message(graph_code, subcode, meta_message, label)
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
            fbtrace_id=trace_id(envelope.get("fbtrace_id")) or _header_trace(headers),
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
            fbtrace_id=_header_trace(headers),
            headers=headers,
            now=now,
            code_is_graph=False,
            hint=word,
        )
    if isinstance(envelope, str):
        # {"error": "access_denied", "error_description": "..."}: the redirect shape as JSON.
        described = _text(body.get("error_description"))
        return build_error(status=status, code=_int(body.get("error_code")), error_type=_text(envelope, 60),
                           meta_message=described or _text(envelope), fbtrace_id=_header_trace(headers),
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
    code = int(match.group(1)) if match else None
    return build_error(status=status, code=code, meta_message=meta_message, fbtrace_id=_header_trace(headers),
                       headers=headers, now=now, hint=word)


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
    success = 200 <= status < 300
    hint = None if success else _auth_hint(header_map)
    if isinstance(parsed, dict):
        error = _from_mapping(status, parsed, header_map, now, hint)
        if error is None and not success:
            error = (_from_hint(status, hint, header_map, now) if hint is not None
                     else build_error(status=status, code=None, fbtrace_id=_header_trace(header_map),
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
    return None, cls(message, status=status, fbtrace_id=None if success else _header_trace(header_map),
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


__all__ = [
    "APP_ADVICE",
    "AUTH_HINTS",
    "TRACE_ID_LIMIT",
    "app_block_from",
    "app_block_kind",
    "build_error",
    "classify",
    "decode_body",
    "error_from_redirect",
    "parse_error",
    "parse_www_authenticate",
    "trace_id",
]
