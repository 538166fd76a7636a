"""igtui's data model: frozen dataclasses shared by the store, the HTTP door, the CLI and the TUI.

Nothing here holds a plaintext secret except through `Secret`. Times are aware UTC datetimes;
`None` for `expires_at` means "never expires" (a Facebook Page token), which is distinct from
"unknown" (`expires_known=False`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from igtui.core.secret import Secret

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
class TokenGrant:
    """A token as Meta handed it over, before it is stored."""

    access_token: Secret
    expires_in: int | None = None
    """Seconds; None when Meta omitted it."""
    token_type: str | None = None
    user_id: str | None = None
    permissions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Profile:
    """What `/me` says about the token's owner (both ids kept: they differ)."""

    id: str
    user_id: str | None
    username: str
    account_type: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class DebugTokenInfo:
    """Facebook `debug_token` output, with Meta's number-or-string ids normalised to str."""

    is_valid: bool
    type: str | None = None
    app_id: str | None = None
    user_id: str | None = None
    expires_at: datetime | None = None
    never_expires: bool = False
    data_access_expires_at: datetime | None = None
    issued_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    granular_scopes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    error_code: int | None = None
    error_subcode: int | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class PageAccount:
    """A Facebook Page from `/me/accounts`, with its linked Instagram business account."""

    page_id: str
    page_name: str
    page_token: Secret | None
    ig_user_id: str | None
    ig_username: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Rate-limit usage parsed from one response's headers. Missing header = None (unknown)."""

    app_pct: float | None = None
    """Max of X-App-Usage's numbers (either form)."""
    app_raw: dict[str, float] = field(default_factory=dict)
    buc: dict[str, tuple[tuple[str, float, int], ...]] = field(default_factory=dict)
    """X-Business-Use-Case-Usage: id -> ((type, max pct, regain minutes), …)."""
    ad_account_pct: float | None = None
    regain_minutes: int | None = None
    """Largest estimated_time_to_regain_access seen, in minutes."""
    ad_account_reset_seconds: int | None = None
    """X-Ad-Account-Usage's reset_time_duration, in seconds."""

    @property
    def max_pct(self) -> float | None:
        """The highest usage percentage in any header, or None when no header said anything."""
        values = [v for v in (self.app_pct, self.ad_account_pct) if v is not None]
        values += [pct for entries in self.buc.values() for (_t, pct, _m) in entries]
        return max(values) if values else None


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP exchange as the request log keeps it: already redacted, never a raw URL."""

    at: datetime
    method: str
    url: str
    """Redacted: secret query values replaced by '***'."""
    status: int | None
    """None when no response arrived (timeout, refused)."""
    latency_ms: float
    app_name: str | None = None
    account: str | None = None
    error_code: int | None = None
    error_subcode: int | None = None
    fbtrace_id: str | None = None
    error_message: str | None = None
    usage: Usage | None = None
    pid: int | None = None
    id: int | None = None


class RefreshReason(enum.StrEnum):
    """Why the refresh engine ended an attempt as it did, for callers that branch on it.

    The message is for people and may change its words; code asks this instead. Never stored:
    events read back from history carry None (their message is what history keeps).
    """

    REFRESHED = "refreshed"
    """Meta issued a new token and it was stored."""
    NOT_DUE = "not_due"
    """A due run's second look, under the lock, found the account no longer due."""
    ALREADY_REFRESHED = "already_refreshed"
    """Another process refreshed the account first (its generation moved)."""
    CHANGED_DURING_REFRESH = "changed_during_refresh"
    """A new login replaced the token while Meta was asked; the newer token was kept."""
    TOO_EARLY = "too_early"
    """Under 24 hours old: not sent to Meta."""
    REFUSED_TOO_EARLY = "refused_too_early"
    """Sent anyway (forced); Meta refused it as under 24 hours old."""
    SHORT_LIVED = "short_lived"
    """A short-lived token: exchanged at login, never refreshed."""
    NO_REFRESH_ENDPOINT = "no_refresh_endpoint"
    """A Facebook Login token: Meta offers no refresh."""
    AWAITING_LOGIN = "awaiting_login"
    """The account already waits for a new login: not sent."""
    EXPIRED = "expired"
    """The token has expired: not sent, only a login helps."""
    STILL_RATE_LIMITED = "still_rate_limited"
    """An earlier throttle on the account has not run out: not sent."""
    UNCERTAIN = "uncertain"
    """A refresh may have been lost (the old token no longer works, or is marked so)."""
    APP_GATED = "app_gated"
    """Not sent: Meta blocked the account's app in this run."""
    PAUSED = "paused"
    """Deferred: the app is paused in this run (throttled, or its usage is near the limit)."""
    RELOGIN_REQUIRED = "relogin_required"
    """Meta refused the token (the 190 family)."""
    APP_BLOCKED = "app_blocked"
    """Meta answered that the app itself is blocked."""
    RATE_LIMITED = "rate_limited"
    """Meta throttled the app."""
    META_ERROR = "meta_error"
    """Meta answered with another coded error; retried after a backoff."""
    NO_ANSWER = "no_answer"
    """No coded answer (network, garbled body): Meta may have issued a token; checked next time."""
    INVALID_GRANT = "invalid_grant"
    """Meta's new token failed validation; the old token is kept."""
    BUSY = "busy"
    """Another process held the account's lock for too long."""
    ERROR = "error"
    """Another igtui error stopped this account (e.g. a record that does not decrypt)."""
    INTERNAL_ERROR = "internal_error"
    """A bug: an unexpected exception, kept to this account."""
    DAMAGED = "damaged"
    """Not sent: the account's row (or its app's) is damaged or was changed outside igtui."""


@dataclass(frozen=True, slots=True)
class RefreshEvent:
    """One refresh attempt, for the history table."""

    at: datetime
    trigger: Trigger
    account_id: int | None
    account: str
    """`APP/username` at the time of the attempt."""
    result: RefreshResult
    error_code: int | None = None
    error_subcode: int | None = None
    message: str | None = None
    fbtrace_id: str | None = None
    old_expires_at: datetime | None = None
    new_expires_at: datetime | None = None
    duration_ms: float | None = None
    id: int | None = None
    reason: RefreshReason | None = None
    """Why the engine decided so (None for events read back from history: not stored)."""


@dataclass(frozen=True, slots=True)
class PendingFlow:
    """A login that has issued an authorize URL and waits for its redirect."""

    id: int
    app_name: str
    platform: Platform
    redirect_uri: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime

