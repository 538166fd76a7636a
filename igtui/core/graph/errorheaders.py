"""What an error reply says besides its JSON body: the trace id and the WWW-Authenticate hint.

Both are read from text Meta (or a proxy) controls, so both are parsed strictly and bounded:
a trace id is kept only in the charset and length Meta uses, and a `WWW-Authenticate` header
is read only in Meta's own shape, `OAuth "realm" "word" "message"`, never guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from igtui.core.secret import known_secrets

TRACE_ID_LIMIT = 64
"""Longest fbtrace_id kept. Meta's run to about 26 characters (11 for the older base64 ones);
every real token is far longer than 64, so a token cannot pass as a trace id by its length alone."""

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


def header_trace(headers: Mapping[str, str] | None) -> str | None:
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

_HEADER_LIMIT = 4096
_OAUTH_SCHEME_RE = re.compile(r"(?:^|[\s,])oauth(?=[ \t]+\")", re.IGNORECASE)


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


def auth_hint(headers: Mapping[str, str] | None) -> tuple[str, str | None] | None:
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


__all__ = ["AUTH_HINTS", "TRACE_ID_LIMIT", "auth_hint", "header_trace", "parse_www_authenticate", "trace_id"]
