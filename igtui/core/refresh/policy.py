"""When a token may, should or cannot be refreshed: pure functions over an `Account` and a time.

Nothing here does I/O or reads a clock: the caller passes `now`, so the same rules serve the
engine, `igtui status`, the TUI countdown and the tests (which pin time exactly). The rules
follow Meta's documented token lifetimes:

* Instagram Login long-lived tokens can be refreshed once they are 24 hours old and until they
  expire; igtui refreshes them when fewer than N days remain (N = account override, else app
  override, else 15).
* Instagram short-lived tokens are exchanged at login, never refreshed.
* Facebook Login user tokens have no refresh endpoint: igtui warns ahead of the token's expiry and
  of the data-access expiry, and asks for a new login before the end.
* Facebook Page tokens without an expiry never expire.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from igtui.core.clock import humanize_delta
from igtui.core.models import (
    DEFAULT_REFRESH_WITHIN_DAYS,
    Account,
    AccountStatus,
    App,
    Health,
    TokenKind,
)

MIN_REFRESH_AGE = timedelta(hours=24)
"""Meta refuses to refresh an Instagram long-lived token younger than this: it answers with an
error and no new token."""

BACKOFF_BASE = timedelta(minutes=5)
BACKOFF_CAP = timedelta(hours=6)
BACKOFF_JITTER = 0.2
"""± fraction of the delay, so that many accounts failing together do not retry in lockstep."""

ATTENTION = frozenset(
    {
        Health.EXPIRING,
        Health.EXPIRED,
        Health.NEEDS_RELOGIN,
        Health.REFRESH_FAILED,
        Health.TOKEN_UNCERTAIN,
        Health.APP_BLOCKED,
        Health.DAMAGED,
        Health.DELIVERY_FAILED,
    }
)
"""Health values that need a human (`igtui status` exits 4 when any account has one)."""

LOST = frozenset({Health.EXPIRED, Health.NEEDS_RELOGIN, Health.TOKEN_UNCERTAIN, Health.APP_BLOCKED, Health.DAMAGED})
"""Health values that no refresh can save: the token expired (or its data access did), Meta
refused it, a refresh may have been lost, Meta blocked the app, or the account's row (or its
app's) is damaged (nothing is ever sent for such a row). Cron runs name these on every
run while they last, because cron mails only what is printed."""

HEALED = frozenset({Health.HEALTHY, Health.REFRESH_DUE})
"""Health values of an account that is fine again (a `recovered` notice follows past trouble)."""


def window_days(account: Account, app: App | None = None, default: int | None = None) -> int:
    """The refresh / warning window in days: account override ?? app override ?? default (15).

    Args:
        account: The account (its `refresh_within_days` wins).
        app: Its app, when known (its `refresh_within_days` is next).
        default: A caller's default (e.g. `--within`), else `DEFAULT_REFRESH_WITHIN_DAYS`.
    """
    if account.refresh_within_days is not None:
        return account.refresh_within_days
    if app is not None and app.refresh_within_days is not None:
        return app.refresh_within_days
    return DEFAULT_REFRESH_WITHIN_DAYS if default is None else default


def refreshable_after(account: Account) -> datetime | None:
    """When Meta will first accept a refresh of this token (issued_at + 24 h).

    Returns:
        None when the token kind has no refresh (short-lived, Facebook Login) or its issue time is
        unknown (then igtui cannot apply the 24-hour rule and lets Meta decide).
    """
    if account.token_kind is not TokenKind.IG_LONG or account.issued_at is None:
        return None
    return account.issued_at + MIN_REFRESH_AGE


def is_expired(account: Account, now: datetime) -> bool:
    """Whether the token's own expiry has passed (unknown or never-expiring → False)."""
    return account.expires_at is not None and account.expires_at <= now


def is_too_early(account: Account, now: datetime) -> bool:
    """Whether an Instagram long-lived token is still under 24 hours old."""
    after = refreshable_after(account)
    return after is not None and now < after


def damage_of(account: Account, app: App | None = None) -> str | None:
    """Why the account must not be used, when its row or its app's holds values igtui never
    writes (None: both are sound). Checked before anything else: nothing is sent for such a row."""
    if account.damage is not None:
        return account.damage
    if app is not None and app.damage is not None:
        return f"its app {app.name}: {app.damage}"
    return None


def damaged_reason(damage: str) -> str:
    """The plain words for a damaged row, shared by `status`, the TUI and the refresh report."""
    return f"{damage}; nothing is sent for it; restore a backup, or remove it and log in again"


def can_refresh(account: Account, now: datetime) -> bool:
    """Whether Meta would accept a refresh now: IG long-lived, ≥ 24 h old, not expired, sound row."""
    return (
        account.damage is None
        and account.token_kind is TokenKind.IG_LONG
        and not is_expired(account, now)
        and not is_too_early(account, now)
    )


def needs_verification(account: Account) -> bool:
    """Whether an Instagram long-lived token was stored with its expiry unknown and has not been
    checked with Meta since.

    Why: a refresh (or login) whose reply carried an unusable `expires_in` ("²", "nan", 1e300)
    keeps the token Meta issued rather than lose it, with `expires_known` False. Nothing in
    that reply proved the token works, so one `/me` is owed: the engine's next run makes it
    (`verification_due`), `status` says it is pending. Instagram Login has no introspection
    endpoint, so the expiry itself is learnt from the next refresh, once the token is 24 hours
    old (an unknown expiry counts as due, see `is_due`). An account already waiting for a login
    or marked uncertain has its own path.
    """
    if account.token_kind is not TokenKind.IG_LONG or account.expires_known or account.expires_at is not None:
        return False
    if account.status in (AccountStatus.NEEDS_RELOGIN, AccountStatus.TOKEN_UNCERTAIN):
        return False
    stored = account.refreshed_at or account.issued_at
    checked = account.last_verified_at
    return checked is None or (stored is not None and checked < stored)


def verification_due(account: Account, now: datetime) -> bool:
    """`needs_verification`, and not backing off after a failed check (`retry_at`)."""
    return needs_verification(account) and (account.retry_at is None or account.retry_at <= now)


def is_due(account: Account, now: datetime, *, within_days: int | None = None) -> bool:
    """Whether the engine should refresh this token now.

    Due means: Instagram long-lived, at least 24 hours old, not expired, and fewer than
    `within_days` days left (an unknown expiry counts as due, since a refresh learns it).
    Accounts that need a new login or are backing off are not due: nothing retries in a loop.
    A token whose unknown expiry still owes its check with Meta (`verification_due`) is due
    too, even under 24 hours old: the engine then asks `/me` instead of refreshing it.

    Args:
        account: The account as stored.
        now: The current time.
        within_days: The window; None means the account's own override or the default.
    """
    if verification_due(account, now):
        return True
    if not can_refresh(account, now):
        return False
    if account.status in (AccountStatus.NEEDS_RELOGIN, AccountStatus.TOKEN_UNCERTAIN):
        return False
    if account.retry_at is not None and account.retry_at > now:
        return False
    if account.expires_at is None:
        return True
    days = window_days(account) if within_days is None else within_days
    return account.expires_at - now < timedelta(days=days)


@dataclass(frozen=True, slots=True)
class Assessment:
    """An account's health with the plain-words reason and the next interesting time."""

    health: Health
    reason: str
    """One line for humans, e.g. 'refresh due: 9d 23h left' or 'never expires'."""
    ends_at: datetime | None = None
    """The earliest of the token's expiry and its data-access expiry (None: never / unknown)."""
    next_refresh_at: datetime | None = None
    """When igtui will next try to refresh it (None: no refresh possible)."""


def _ends_at(account: Account) -> datetime | None:
    ends = [t for t in (account.expires_at, account.data_access_expires_at) if t is not None]
    return min(ends) if ends else None


def assess(account: Account, now: datetime, *, within_days: int | None = None, app: App | None = None) -> Assessment:
    """The account's health at `now`, why, and when it will next be refreshed.

    Args:
        account: The account as stored (status, times, kind).
        now: The current time.
        within_days: Warning / refresh window; None means the account override or 15 days.
        app: The account's app, when the caller has it: a block Meta put on the app outranks
            every state of the token, since nothing works until the app is fixed.
    """
    days = window_days(account) if within_days is None else within_days
    window = timedelta(days=days)
    ends = _ends_at(account)
    reason = account.status_reason
    damage = damage_of(account, app)
    if damage is not None:
        return Assessment(Health.DAMAGED, damaged_reason(damage), None)
    if app is not None and app.blocked_kind is not None:
        why = app.blocked_reason or app.blocked_kind
        return Assessment(Health.APP_BLOCKED, f"app {app.name} blocked by Meta: {why}", ends)

    if account.status is AccountStatus.NEEDS_RELOGIN:
        return Assessment(Health.NEEDS_RELOGIN, reason or "needs a new login", ends)
    if is_expired(account, now):
        return Assessment(Health.EXPIRED, "token expired; log in again", ends)
    if account.data_access_expires_at is not None and account.data_access_expires_at <= now:
        return Assessment(Health.EXPIRED, "data access expired; log in again", ends)
    if account.status is AccountStatus.TOKEN_UNCERTAIN:
        return Assessment(
            Health.TOKEN_UNCERTAIN,
            reason or "a refresh may have been lost; the old token is kept; verify or log in again",
            ends,
        )

    kind = account.token_kind
    if kind is TokenKind.IG_LONG:
        after = refreshable_after(account)
        retry = account.retry_at if account.retry_at is not None and account.retry_at > now else None
        next_at = _next_refresh_at(account, window, after, retry)
        if account.status is AccountStatus.RATE_LIMITED and retry is not None:
            return Assessment(
                Health.RATE_LIMITED,
                f"rate limited; next try in {humanize_delta(retry - now)}",
                ends,
                next_at,
            )
        if account.status is AccountStatus.REFRESH_FAILED:
            text = reason or "the last refresh failed"
            if retry is not None:
                text += f"; next try in {humanize_delta(retry - now)}"
            return Assessment(Health.REFRESH_FAILED, text, ends, next_at)
        if account.expires_at is None:
            if needs_verification(account) and after is not None and now < after:
                # Too young to refresh: the check the engine owes it is a /me (see needs_verification).
                return Assessment(Health.REFRESH_DUE, "expiry unknown; the next `igtui refresh` checks the token "
                                  "with Meta, a refresh then learns the expiry", None, next_at)
            return Assessment(Health.REFRESH_DUE, "expiry unknown; a refresh will learn it", None, next_at)
        left = account.expires_at - now
        if left < window:
            if after is not None and after >= account.expires_at:
                return Assessment(
                    Health.EXPIRING,
                    f"expires in {humanize_delta(left)}, before it may be refreshed; log in again",
                    ends,
                )
            if after is not None and now < after:
                return Assessment(
                    Health.HEALTHY,
                    f"{humanize_delta(left)} left; refreshable in {humanize_delta(after - now)}",
                    ends,
                    next_at,
                )
            return Assessment(Health.REFRESH_DUE, f"refresh due: {humanize_delta(left)} left", ends, next_at)
        return Assessment(Health.HEALTHY, f"{humanize_delta(left)} left", ends, next_at)

    if kind is TokenKind.IG_SHORT:
        # A short-lived token lives an hour and is exchanged at login; nothing extends it later.
        if account.expires_at is None:
            return Assessment(Health.EXPIRING, "short-lived token; log in again", None)
        return Assessment(
            Health.EXPIRING,
            f"short-lived token, expires in {humanize_delta(account.expires_at - now)}; log in again",
            ends,
        )

    # Facebook Login: no refresh endpoint; warn ahead of whichever end comes first.
    if ends is None:
        if kind is TokenKind.FB_PAGE and account.expires_known:
            return Assessment(Health.HEALTHY, "never expires", None)
        if not account.expires_known:
            return Assessment(Health.HEALTHY, "expiry unknown; verify to learn it", None)
        return Assessment(Health.HEALTHY, "never expires", None)
    left = ends - now
    data_first = ends == account.data_access_expires_at and ends != account.expires_at
    what = "data access expires" if data_first else "expires"
    if left < window:
        return Assessment(
            Health.EXPIRING,
            f"{what} in {humanize_delta(left)}; Facebook Login cannot be refreshed, log in again",
            ends,
        )
    return Assessment(Health.HEALTHY, f"{what} in {humanize_delta(left)}", ends)


def _next_refresh_at(
    account: Account, window: timedelta, after: datetime | None, retry: datetime | None
) -> datetime | None:
    """When the engine will next consider the token due (the later of all the gates)."""
    if account.status is AccountStatus.NEEDS_RELOGIN:
        return None
    gates = [t for t in (after, retry) if t is not None]
    if account.expires_at is not None:
        gates.append(account.expires_at - window)
        if after is not None and after >= account.expires_at:
            return None
    return max(gates) if gates else None


def health(account: Account, now: datetime, *, within_days: int | None = None) -> Health:
    """The account's `Health` at `now` (see `assess` for the reason text)."""
    return assess(account, now, within_days=within_days).health


def backoff(failures: int, *, rng: random.Random | None = None) -> timedelta:
    """The wait before retrying after `failures` consecutive transient failures.

    5 minutes × 2^(failures-1), capped at 6 hours, with ±20 % jitter so that a fleet that failed
    together (Meta outage) spreads its retries out.

    Args:
        failures: Consecutive failures including the one just seen (≥ 1).
        rng: Source of jitter (tests pass a seeded one).
    """
    n = max(1, failures)
    base = BACKOFF_BASE * (1 << min(n - 1, 16))
    base = min(base, BACKOFF_CAP)
    uniform = rng.uniform if rng is not None else random.uniform
    jitter = uniform(-BACKOFF_JITTER, BACKOFF_JITTER)
    return min(base * (1 + jitter), BACKOFF_CAP)


__all__ = [
    "ATTENTION",
    "HEALED",
    "LOST",
    "MIN_REFRESH_AGE",
    "Assessment",
    "assess",
    "backoff",
    "can_refresh",
    "damage_of",
    "damaged_reason",
    "health",
    "is_due",
    "is_expired",
    "is_too_early",
    "needs_verification",
    "refreshable_after",
    "verification_due",
    "window_days",
]
