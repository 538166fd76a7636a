"""App-level errors: when Meta's answer says the *application*, not the token, is the problem.

Meta restricts, disables or deactivates apps, and an overdue Data Use Checkup or a
development-mode app stops every token of the app at once, whatever each token's own state.
Meta reports these with ordinary codes (190, 10, 200…) and says which it is only in words, so
this module reads the message, case-insensitively and over any whitespace, and only to choose
the class: a new login cannot fix an app, and the app's other accounts need not ask again.
"""

from __future__ import annotations

import re

from igtui.core.errors import ApiError, AppBlocked
from igtui.core.graph.codes import RATE_LIMIT_CODES

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
        ("not_live", r"\bnot\s+(?:in\s+)?live(?:\s+mode)?\b|\bin\s+development\s+mode\b|"
                     r"\bapp\s+not\s+(?:active|live|setup)\b|"
                     r"\b" + _APP + r"\s+(?:is\s+)?not\s+(?:published|live)\b|\bmust\s+be\s+(?:live|published)\b"),
        ("invalid_app", r"error\s+validating\s+application|\b" + _APP + r"\s+(?:has\s+been|was)\s+deleted\b|"
                        r"\binvalid\s+(?:app|application)(?:\s+id)?\b|\bunknown\s+application\b|"
                        r"\b(?:app|application)\s+id\b[^.]{0,30}\b(?:is\s+invalid|does\s+not\s+exist|not\s+found)"),
    )
)
NOT_APP_RE = re.compile(r"system\s+error|retry\s+your\s+request|please\s+retry|try\s+again\s+later", re.IGNORECASE)
"""Words that make an error Meta being down, never the app: "…due to a system error", "please retry"."""
_MISSING_RE = re.compile(r"\bmissing\b", re.IGNORECASE)
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
    del subcode  # no subcode is known to mean an app-level block: Meta documents them by wording only
    if is_transient or code in RATE_LIMIT_CODES:
        return None
    if status is not None and status >= 500:
        return None
    joined = " ".join(t for t in texts if t)[:_APP_TEXT_LIMIT]
    if joined and NOT_APP_RE.search(joined):
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
    return app_blocked_error(kind, exc.code, exc.subcode, exc.error_type, exc.fbtrace_id, exc.status,
                             exc.meta_message)


def app_blocked_error(kind: str, code: int | None, subcode: int | None, error_type: str | None,
                      fbtrace_id: str | None, status: int | None, meta_message: str | None) -> AppBlocked:
    """The AppBlocked for `kind`, its message saying what Meta did and what to do about it.

    One builder for both paths (a fresh reply in `build_error`, a rebuilt error in
    `app_block_from`), so the same block always reads the same way.
    """
    label = f"{code}/{subcode}" if code is not None and subcode else (
        str(code) if code is not None else (f"HTTP {status}" if status else "no code"))
    advice = APP_ADVICE[kind]
    return AppBlocked(f"{_APP_REASONS[kind]} ({label}); every token of the app fails until it is fixed: {advice}",
                      kind=kind, advice=advice, code=code, subcode=subcode, error_type=error_type,
                      fbtrace_id=fbtrace_id, status=status, meta_message=meta_message)


__all__ = ["APP_ADVICE", "NOT_APP_RE", "app_block_from", "app_block_kind", "app_blocked_error"]
