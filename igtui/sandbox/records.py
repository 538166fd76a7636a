"""The sandbox's records and constants: apps, users, pages, tokens, codes, knobs, and Meta's wording.

Plain dataclasses; `World` (world.py) owns the collections and the lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LONG_LIVED_SECONDS = 5_183_944
"""What Meta says a long-lived token has left when it is issued (≈ 59.99 days)."""
IG_SHORT_SECONDS = 3600
FB_SHORT_SECONDS = 5400
CODE_SECONDS = 3600
REFRESH_MIN_AGE_SECONDS = 86_400
DATA_ACCESS_SECONDS = 90 * 86_400
USAGE_WINDOW_SECONDS = 3600
BUC_WINDOW_SECONDS = 86_400
DEFAULT_BUDGET = 20_000
"""Calls per hour that make X-App-Usage read 100 %; large so benchmarks never trip it by accident."""
DEFAULT_BUC_BUDGET = 4_800

IG_SCOPES = (
    "instagram_business_basic",
    "instagram_business_content_publish",
    "instagram_business_manage_comments",
    "instagram_business_manage_messages",
    "instagram_business_manage_insights",
)
FB_SCOPES = (
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_comments",
    "instagram_manage_insights",
    "instagram_manage_messages",
    "pages_show_list",
    "pages_read_engagement",
    "business_management",
    "ads_management",
    "ads_read",
    "public_profile",
    "email",
)
SHAPES = ("observed", "documented")
REFRESH_MODES = ("new_keep_old", "same", "new_invalidate_old")
TOKEN_KINDS = ("ig_short", "ig_long", "fb_short", "fb_user", "fb_page")
REVOKE_SUBCODES = (458, 459, 460, 463, 464, 467, 492)

APP_BLOCKS: dict[str, tuple[int, str]] = {
    "data_use_checkup": (200, "(#200) API access disrupted. Go to the App Dashboard and complete Data Use Checkup."),
    "restricted": (190, "Error validating application. Application has been restricted."),
    "disabled": (190, "Error validating application. Application has been disabled."),
    "inactive": (10, ("(#10) Graph API Access Deactivated Due to Inactivity. Go to the App Dashboard to "
                      "reactivate API access.")),
    "not_live": (10, ("(#10) App not live: this feature requires the app to be Live. Switch the app to Live "
                      "mode in the App Dashboard.")),
    "invalid_app": (190, "Error validating application. Application has been deleted."),
}
"""`block_app` kinds → (Graph code, message) for an app Meta acted on.

The messages carry the words Meta is known to use ("API access disrupted…", "Graph API Access
Deactivated Due to Inactivity"); no codes are known for these, so the codes are a spread of the
ones Meta uses for app trouble (190 "Error validating application…", 10, 200), which also
exercises that a client tells them from a dead token or a missing permission."""

FAIL_KINDS: dict[str, int] = {
    "500_code1": 500,
    "500_code1_sub99": 500,
    "500_code2_transient": 500,
    "502_html": 502,
}
"""`fail_next(kind=…)` → HTTP status: the 5xx answers Meta itself sends (seen in recorded replies)."""

TRACE_STYLES = ("mixed", "legacy", "modern")
"""fbtrace_id styles: old 11-character base64 ids with `+`/`/`, new URL-safe ones, or both."""


class WorldError(Exception):
    """An admin request the world cannot honour (unknown app, bad knob value…)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Throttle:
    """An active throttle: code 4 (app-wide) or 80002 (Instagram BUC), until a sandbox time."""

    code: int
    until: int
    username: str | None = None


@dataclass
class SbApp:
    """A Meta app as the sandbox knows it, with its behaviour knobs."""

    platform: str
    app_id: str
    secret: str
    name: str
    redirect_uris: list[str]
    index: int
    shape: str = "observed"
    refresh_mode: str = "new_keep_old"
    omit_expires_in: bool = False
    budget: int = DEFAULT_BUDGET
    window_start: int = 0
    window_calls: int = 0
    throttle: Throttle | None = None
    blocked: str | None = None
    """An APP_BLOCKS kind while Meta "acts on the app": every call with its tokens fails."""

    def public(self) -> dict[str, object]:
        """The admin view (the sandbox's own secrets are fake, so they are shown)."""
        return {
            "platform": self.platform,
            "app_id": self.app_id,
            "secret": self.secret,
            "name": self.name,
            "redirect_uris": list(self.redirect_uris),
            "shape": self.shape,
            "refresh_mode": self.refresh_mode,
            "omit_expires_in": self.omit_expires_in,
            "budget": self.budget,
            "window_calls": self.window_calls,
            "blocked": self.blocked,
            "throttle": None
            if self.throttle is None
            else {
                "code": self.throttle.code,
                "until": self.throttle.until,
                "username": self.throttle.username,
            },
        }


@dataclass
class IgUser:
    """An Instagram professional account. `page_id` is set when it is reached via a Facebook Page."""

    username: str
    user_id: str
    name: str
    account_type: str
    seq: int
    page_id: str | None = None


@dataclass
class FbUser:
    """A Facebook user who manages Pages."""

    username: str
    fb_id: str
    name: str
    pages: list[str] = field(default_factory=list)


@dataclass
class Page:
    """A Facebook Page, optionally linked to an Instagram business account."""

    page_id: str
    name: str
    category: str
    owner: str
    ig_username: str | None


@dataclass
class Token:
    """An issued access token. `username` is the IG user (ig_*) or the FB user (fb_*)."""

    value: str
    kind: str
    app_id: str
    username: str
    issued_at: int
    expires_at: int | None
    scopes: tuple[str, ...]
    page_id: str | None = None
    revoked: int | None = None
    data_access_expires_at: int | None = None


@dataclass
class Code:
    """An authorization code: one hour, single use, bound to its redirect_uri."""

    value: str
    app_id: str
    platform: str
    username: str
    redirect_uri: str
    scopes: tuple[str, ...]
    created_at: int
    used: bool = False


@dataclass
class FailRule:
    """`fail_next`: the next `count` matching requests get this response instead."""

    status: int
    count: int
    path: str | None
    body: object
    delay: float = 0.0


def revoke_message(subcode: int, app_id: str) -> str:
    """Meta's wording for each 190 subcode, as its real replies put it."""
    messages = {
        458: f"Error validating access token: The user has not authorized application {app_id}.",
        459: "Error validating access token: The session is invalid because the user has been "
        "checkpointed.",
        460: "Error validating access token: The session has been invalidated because the user "
        "changed their password or Facebook has changed the session for security reasons.",
        463: "Error validating access token: Session has expired.",
        464: "Error validating access token: Sessions for the user are not allowed because the "
        "user is not a confirmed user.",
        467: "Error validating access token: The session is invalid because the user logged out.",
        492: "Error validating access token: The user does not have an appropriate role on the "
        "Page.",
    }
    return messages.get(subcode, "Invalid OAuth access token.")


def _meta_time(epoch: int) -> str:
    import time

    return time.strftime("%A, %d-%b-%y %H:%M:%S UTC", time.gmtime(epoch))


def expired_message(expires_at: int, now: int) -> str:
    """The exact sentence Meta uses for an expired token."""
    return (
        f"Error validating access token: Session has expired on {_meta_time(expires_at)}. "
        f"The current time is {_meta_time(now)}."
    )
