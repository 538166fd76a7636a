"""Build the typed igtui error for one Meta error, with a one-line message in plain words.

The class comes from the code (`codes.classify`), unless Meta's words say the app itself is
blocked (`appblock`), which wins. The message says what happened and, where there is one,
what to do; Meta's own text (already redacted and made terminal-safe by the caller) follows it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from igtui.core.errors import (
    ApiError,
    AppBlocked,
    BadRequest,
    PermissionMissing,
    RateLimited,
    ReloginRequired,
    TransientApiError,
)
from igtui.core.graph.appblock import NOT_APP_RE, app_block_kind, app_blocked_error
from igtui.core.graph.codes import classify
from igtui.core.graph.ratelimit import parse_usage

_RELOGIN_REASONS: dict[int, str] = {
    458: "the user removed the app",
    459: "the user's account is checkpointed and must be unlocked on the website first",
    460: "the user changed their password",
    463: "the token expired",
    464: "the user's account is unconfirmed and must be confirmed on the website first",
    467: "the token is no longer valid",
}
"""Plain words for each 190 subcode Meta documents (492, no role on the Page, has its own line)."""
_RATE_REASONS: dict[int, str] = {
    4: "the app hit its request limit",
    17: "the user hit their request limit",
    32: "the Page hit its request limit",
    341: "the application limit was reached",
    613: "a rate limit for this call was exceeded",
    80001: "too many calls to this Page",
    80002: "too many calls to this Instagram account",
}
"""Plain words for each throttle code."""

_CLIENT_SECRET_RE = re.compile(r"validating\s+client\s+secret", re.IGNORECASE)
"""Meta's "Error validating client secret." comes as code 1 (transient), but no retry can fix it."""


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

    An app-level error wins over the code's class, so that 190 "Error
    validating application. Application has been deleted." is AppBlocked, while a 190 about
    the token (460, expired…) stays ReloginRequired.

    Args:
        code_is_graph: False for the Instagram OAuth shape, whose `code` is HTTP-ish: it is
            kept on the error but not used to classify (its message still is, for app-level
            errors). "Invalid platform app" stays a BadRequest: it is the well-known mistake of
            giving the Meta App ID for an Instagram Login app (which has an Instagram app id
            of its own), not Meta acting.
        hint: The WWW-Authenticate error word, for when there is no code (see `classify`).
    """
    graph_code = code if code_is_graph else None
    kind = app_block_kind(graph_code, subcode, meta_message, user_message, status=status, is_transient=is_transient)
    if kind is not None:
        return app_blocked_error(kind, code, subcode if code_is_graph else None, error_type, fbtrace_id, status,
                            meta_message)
    cls = classify(graph_code, subcode, status=status, is_transient=is_transient, hint=hint)
    if cls is AppBlocked:
        # 101 that app_block_kind turned down: Meta's "system error" is Meta being down; a
        # missing parameter is igtui's request, not the app.
        texts = f"{meta_message or ''} {user_message or ''}"
        cls = TransientApiError if NOT_APP_RE.search(texts) or is_transient else BadRequest
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


__all__ = ["build_error"]
