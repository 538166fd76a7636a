"""The records of what happens to tokens: grants, Meta's answers, exchanges, refresh events, logins.

They belong to igtui's data model and are imported through `igtui.core.models` like the rest
(`from igtui.core.models import RefreshEvent`). They live here so that a command which only hands
a stored token over (`token get`, `export`, `exec`) never builds them: each frozen dataclass costs
~1.5 ms to create at import, and these eight were an eighth of what `igtui exec ACCOUNT -- true`
added to the child's start (bench/bench_exec.py). `igtui.core.models` loads this module on the
first use of one of its names.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from igtui.core.models import Platform, RefreshResult, Trigger
from igtui.core.secret import Secret


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


__all__ = ["DebugTokenInfo", "Exchange", "PageAccount", "PendingFlow", "RefreshEvent", "RefreshReason", "TokenGrant",
           "Usage"]
