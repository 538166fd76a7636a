"""What Meta's error codes mean: the class of igtui error for a code, a status, a hint.

Classification is by *code*, never by `type`: Meta's rate-limit errors carry
`type: OAuthException` too, like a dead token's. The HTTP status only breaks ties, and the
`WWW-Authenticate` error word is used only when there is no code at all.
"""

from __future__ import annotations

from igtui.core.errors import (
    ApiError,
    AppBlocked,
    BadRequest,
    PermissionMissing,
    RateLimited,
    ReloginRequired,
    TransientApiError,
)

RELOGIN_CODES = frozenset({102, 190})
"""The token or session is dead: only a new login helps."""
RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613} | set(range(80000, 80015)))
"""Throttles: the app, the user, the Page, a call, or the business use case (800xx)."""
PERMISSION_CODES = frozenset({10} | set(range(200, 300)))
"""The token lacks a permission the call needs."""
TRANSIENT_CODES = frozenset({1, 2})
"""Meta's own temporary failures (unknown error, service unavailable)."""

HINT_CLASSES: dict[str, type[ApiError]] = {
    "invalid_token": ReloginRequired,
    "invalid_code": BadRequest,
    "invalid_request": BadRequest,
    "unknown_error": TransientApiError,
}
"""The class each `WWW-Authenticate` error word stands for, when the body gives no code."""


def classify(code: int | None, subcode: int | None = None, *, status: int | None = None,
             is_transient: bool = False, hint: str | None = None) -> type[ApiError]:
    """The igtui error class for a Meta error code (the HTTP status only breaks ties).

    Codes alone cannot say that Meta acted on the app, except 101 (invalid application):
    `build_error` reads the message for the rest (Meta documents those events by their
    wording only).

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
    if code is None and hint in HINT_CLASSES:
        return HINT_CLASSES[hint]
    if status is not None and 400 <= status < 500 and code != 368:
        return BadRequest
    return ApiError


__all__ = ["HINT_CLASSES", "PERMISSION_CODES", "RATE_LIMIT_CODES", "RELOGIN_CODES", "TRANSIENT_CODES", "classify"]
