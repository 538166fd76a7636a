"""igtui's data model: frozen dataclasses shared by the store, the HTTP door, the CLI and the TUI.

Nothing here holds a plaintext secret except through `Secret`. Times are aware UTC datetimes;
`None` for `expires_at` means "never expires" (a Facebook Page token), which is distinct from
"unknown" (`expires_known=False`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from igtui.core.activity import DebugTokenInfo as DebugTokenInfo
    from igtui.core.activity import Exchange as Exchange
    from igtui.core.activity import PageAccount as PageAccount
    from igtui.core.activity import PendingFlow as PendingFlow
    from igtui.core.activity import RefreshEvent as RefreshEvent
    from igtui.core.activity import RefreshReason as RefreshReason
    from igtui.core.activity import TokenGrant as TokenGrant
    from igtui.core.activity import Usage as Usage

_ACTIVITY = frozenset({"DebugTokenInfo", "Exchange", "PageAccount", "PendingFlow", "RefreshEvent", "RefreshReason",
                       "TokenGrant", "Usage"})
"""The model's names defined in `igtui.core.activity`, loaded on first use (see its docstring)."""


def __getattr__(name: str) -> object:
    """`igtui.core.models.RefreshEvent` and the other activity records, from their own module."""
    if name in _ACTIVITY:
        from igtui.core import activity

        value = getattr(activity, name)
        globals()[name] = value  # the next lookup is a plain module attribute
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

Platform = Literal["instagram", "facebook"]
"""Which Meta login an app uses: Instagram Login (graph.instagram.com) or Facebook Login."""

PLATFORMS: tuple[Platform, ...] = ("instagram", "facebook")

DEFAULT_GRAPH_VERSION = "v25.0"
DEFAULT_REFRESH_WITHIN_DAYS = 15
"""An Instagram long-lived token is due for refresh when fewer days than this remain."""


class TokenKind(enum.StrEnum):
    """What kind of token an account holds; it decides how the token can be renewed."""

    IG_SHORT = "ig_short"
    """Instagram Login short-lived token (1 hour); exchanged, never refreshed."""
    IG_LONG = "ig_long"
    """Instagram Login long-lived token (60 days); refreshable once 24 hours old."""
    FB_USER = "fb_user"
    """Facebook Login long-lived user token (~60 days); no refresh endpoint, re-login."""
    FB_PAGE = "fb_page"
    """Facebook Page token derived from a long-lived user token; usually never expires."""


class AccountStatus(enum.StrEnum):
    """The stored health of an account, as the refresh engine and `--verify` last left it."""

    OK = "ok"
    NEEDS_RELOGIN = "needs_relogin"
    RATE_LIMITED = "rate_limited"
    REFRESH_FAILED = "refresh_failed"
    TOKEN_UNCERTAIN = "token_uncertain"
    """A refresh may have been issued by Meta but not saved (a crash between the two)."""


class Health(enum.StrEnum):
    """What the user is shown: the stored status combined with the clock."""

    HEALTHY = "healthy"
    REFRESH_DUE = "refresh_due"
    EXPIRING = "expiring"
    """Expiry within the warning window and no refresh can extend it (Facebook Login, or too late)."""
    EXPIRED = "expired"
    NEEDS_RELOGIN = "needs_relogin"
    RATE_LIMITED = "rate_limited"
    REFRESH_FAILED = "refresh_failed"
    TOKEN_UNCERTAIN = "token_uncertain"
    APP_BLOCKED = "app_blocked"
    """Meta blocked the account's app itself; no login or refresh helps until the app is fixed."""
    DAMAGED = "damaged"
    """The account's row (or its app's) holds a value igtui never writes: damaged, or changed
    outside igtui. Nothing is sent and no secret is returned for it; the other accounts go on."""
    DELIVERY_FAILED = "delivery_failed"
    """The token is fine and stored, but one of the account's sinks did not receive it (its last
    delivery failed, or its sealed configuration was changed outside igtui); retried on every run."""


class Trigger(enum.StrEnum):
    """Who started a refresh attempt."""

    TUI = "tui"
    CLI = "cli"
    CRON = "cron"
    AUTO = "auto"


class RefreshResult(enum.StrEnum):
    """How a refresh attempt ended."""

    REFRESHED = "refreshed"
    SKIPPED = "skipped"
    """Not due, or another process refreshed it first."""
    TOO_EARLY = "too_early"
    """Under 24 hours old: not a failure of the account."""
    FAILED = "failed"
    NEEDS_RELOGIN = "needs_relogin"
    RATE_LIMITED = "rate_limited"
    APP_BLOCKED = "app_blocked"
    """Meta answered that the app itself is blocked, or the app was known blocked this run."""
    DELIVERED = "delivered"
    """History only: a sink received the account's token (igtui.core.delivery)."""
    DELIVERY_FAILED = "delivery_failed"
    """History only: a sink did not receive the token; the stored token is untouched."""


@dataclass(frozen=True, slots=True)
class App:
    """A registered Meta app (its secret lives encrypted in the store, never here)."""

    id: int
    name: str
    """The user's short name for the app; unique."""
    platform: Platform
    app_id: str
    """Numeric string. For Instagram Login this is the *Instagram* App ID, not the Meta App ID."""
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    """Default scopes for new logins."""
    graph_version: str = DEFAULT_GRAPH_VERSION
    base_url: str | None = None
    """Sends every Meta host to this one origin (sandbox, proxies)."""
    refresh_within_days: int | None = None
    """App-wide override of the refresh window; None means the default."""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    blocked_kind: str | None = None
    """What Meta did to the app itself (`AppBlocked.kind`: restricted, data_use_checkup, …); None
    while the app works. Every token of a blocked app fails until the app is fixed."""
    blocked_reason: str | None = None
    """Plain words: what Meta said and what to do in the App Dashboard."""
    blocked_at: datetime | None = None
    """When igtui first saw the block."""
    damage: str | None = None
    """None for a sound row; else which columns hold values igtui never writes (e.g.
    'platform: not a platform'). A damaged app's fields are safe defaults where the column was
    bad; its secret is never returned and nothing is sent for it or its accounts."""


@dataclass(frozen=True, slots=True)
class Account:
    """One Instagram account's token, as stored (the token itself is fetched separately)."""

    id: int
    app_name: str
    platform: Platform
    username: str
    """As Meta returned it; display only through the safe-text helpers."""
    ig_user_id: str
    """The Instagram professional account id (`/me.user_id`, 1784…; webhooks use it)."""
    app_scoped_id: str | None
    """`/me.id`, the app-scoped id (differs from ig_user_id on Instagram Login)."""
    account_type: str | None
    token_kind: TokenKind
    scopes: tuple[str, ...]
    granular_scopes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Facebook Login: (scope, target ids) pairs from debug_token."""
    requested_scopes: tuple[str, ...] = ()
    issued_at: datetime | None = None
    """When the current token was issued or last refreshed (the 24-hour rule counts from here)."""
    expires_at: datetime | None = None
    expires_known: bool = True
    """False when Meta gave no expiry; then expires_at None means unknown, not never."""
    data_access_expires_at: datetime | None = None
    refreshed_at: datetime | None = None
    """Last successful refresh."""
    status: AccountStatus = AccountStatus.OK
    status_reason: str | None = None
    retry_at: datetime | None = None
    """Rate-limited or backing off until this time."""
    failures: int = 0
    """Consecutive failed refresh attempts (drives backoff)."""
    refresh_within_days: int | None = None
    generation: int = 0
    """Incremented on every token replacement: the compare-and-swap key."""
    last_verified_at: datetime | None = None
    last_verify_ok: bool | None = None
    last_verify_message: str | None = None
    page_id: str | None = None
    """Facebook Login: the Page the Instagram business account is linked to."""
    created_at: datetime | None = None
    damage: str | None = None
    """None for a sound row; else which columns hold values igtui never writes (e.g.
    'expires_at: not a time'). Why a field and not an exception: one bad row must not stop a
    listing or a bulk run, so reading a row never raises; every consumer sees the flag instead
    (health DAMAGED, no Meta call, no token returned). Bad columns hold safe defaults."""

    @property
    def ref(self) -> str:
        """The unambiguous reference `APP/username`."""
        return f"{self.app_name}/{self.username}"


@dataclass(frozen=True, slots=True)
class Profile:
    """What `/me` says about the token's owner (both ids kept: they differ)."""

    id: str
    user_id: str | None
    username: str
    account_type: str | None = None
    name: str | None = None
