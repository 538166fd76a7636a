"""Home's rows: one read of apps and accounts turned into table rows, off the event loop.

Kept apart from the screen so the data side (reading, assessing, sorting) can be read and tested without Textual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from igtui.core.models import Health
from igtui.ui.widgets.health import ATTENTION, assess_account, health_text

SORTS = ("expiry", "username", "app", "status")


@dataclass(frozen=True, slots=True)
class Row:
    """One table row, computed off the event loop."""

    key: str
    """'acct:<id>' or 'app:<name>' (an app without accounts)."""
    account_id: int | None
    app_name: str
    username: str
    platform: str
    health: Health | None
    ends_at: datetime | None
    never: bool
    refreshed_at: datetime | None

    def matches(self, needle: str) -> bool:
        """Whether the home filter keeps this row: `needle` (lower case) in its name, app, status or platform."""
        status = health_text(self.health).plain if self.health else ""
        return any(needle in v.lower() for v in (self.username, self.app_name, status, self.platform))


@dataclass(frozen=True, slots=True)
class AppState:
    """An app Meta acted on (restricted, Data Use Checkup overdue…): every token of it fails.

    Shown above the accounts because the cure is in the App Dashboard, not in any one account.
    """

    name: str
    reason: str
    """Plain words from the core: what Meta did and what to do (text partly from Meta)."""
    since: datetime | None


MAX_APP_STATES = 3
"""Blocked apps listed by name above the table; more are counted (the table must stay usable)."""


def app_states(apps: Any) -> tuple[AppState, ...]:
    """The blocked apps among `apps`, by name (getattr: works before and after App.blocked_*)."""
    states = []
    for app in apps:
        reason = getattr(app, "blocked_reason", None)
        if reason:
            states.append(AppState(app.name, reason, getattr(app, "blocked_at", None)))
    return tuple(sorted(states, key=lambda s: s.name))


def read_home(store: Any, now: datetime) -> tuple[list[Row], tuple[AppState, ...]]:
    """Everything home shows, from one read of apps and accounts (sync: runs in a thread)."""
    apps = store.list_apps()
    return build_rows(store, now, apps=apps), app_states(apps)


def build_rows(store: Any, now: datetime, *, apps: Any = None) -> list[Row]:
    """Read apps (unless given) and accounts and assess each (sync: runs in a thread)."""
    apps = {app.name: app for app in (store.list_apps() if apps is None else apps)}
    rows: list[Row] = []
    with_accounts: set[str] = set()
    failing = _failing_sink_accounts(store)
    for account in store.list_accounts():
        with_accounts.add(account.app_name)
        verdict = assess_account(account, apps.get(account.app_name), now)
        health = verdict.health
        if account.id in failing and health not in ATTENTION:
            health = Health.DELIVERY_FAILED  # the token is fine; a sink did not receive it (as `igtui status`)
        rows.append(
            Row(
                key=f"acct:{account.id}",
                account_id=account.id,
                app_name=account.app_name,
                username=account.username,
                platform=account.platform,
                health=health,
                ends_at=verdict.ends_at,
                never=verdict.ends_at is None and account.expires_known,
                # The last refresh, or None: the token screen's "Last refresh" says the same
                # (a token never refreshed showed its issue time here, under "Refreshed").
                refreshed_at=account.refreshed_at,
            )
        )
    for name, app in apps.items():
        if name not in with_accounts:
            rows.append(Row(f"app:{name}", None, name, "", app.platform, None, None, False, None))
    return rows


def _failing_sink_accounts(store: Any) -> set[int]:
    """Accounts with a sink whose last delivery failed (one plain read; no passphrase)."""
    list_sinks = getattr(store, "list_sinks", None)
    if list_sinks is None:
        return set()
    return {sink.account_id for sink in list_sinks() if sink.failing}


def sort_key(mode: str) -> Any:
    """The key that orders the table by `mode` (one of SORTS); rows without a value sort last."""
    far = datetime.max.replace(tzinfo=None)
    if mode == "username":
        return lambda r: (r.username.lower(), r.app_name)
    if mode == "app":
        return lambda r: (r.app_name, r.username.lower())
    if mode == "status":
        order = list(Health)
        return lambda r: (order.index(r.health) if r.health else 99, r.username.lower())
    return lambda r: (r.ends_at.replace(tzinfo=None) if r.ends_at else far, r.username.lower())
