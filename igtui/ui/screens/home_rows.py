"""Home's rows: pages of apps and accounts turned into table rows, off the event loop.

Kept apart from the screen so the data side (reading, assessing, sorting) can be read and tested without Textual.

Home reads a page at a time (`igtui.core.store.account_pages`): `read_view` is what one reload
knows besides the rows (the apps, the totals, and the verdict on the few accounts that may not
be healthy, from `Store.accounts_to_look_at`), `home_query` turns an order and a filter into the
store's query, and `to_row` assesses the accounts of one page. `read_home` / `build_rows` (every
row at once) and `sort_key` stay as the reference the paged screen is tested against.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from igtui.core.models import Health
from igtui.core.store.account_pages import SORTS, HomeItem, HomeQuery, home_counts
from igtui.ui.widgets.health import ATTENTION, LABELS, assess_account, health_text

__all__ = ["MAX_APP_STATES", "SORTS", "AppState", "HomeView", "Row", "build_rows", "home_query", "read_home",
           "read_view", "sort_key", "to_row"]

RANK: dict[Health, int] = {health: n for n, health in enumerate(Health)}
"""A health's place in the status order (the enum's order; healthy first)."""


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


@dataclass(frozen=True)
class HomeView:
    """What one reload of home knows besides its rows (read in a thread, a few small queries)."""

    apps: Mapping[str, Any]
    """Every app by name (apps are few)."""
    states: tuple[AppState, ...]
    accounts: int
    """How many accounts the store holds (a COUNT)."""
    health: Mapping[int, Health] = field(default_factory=dict)
    """The verdict on every account that may not be healthy; every other account is healthy."""
    failing: frozenset[int] = frozenset()
    """Accounts with a sink whose last delivery failed."""

    def count(self, healths: Any) -> int:
        """How many accounts have one of `healths` (only flagged accounts can)."""
        return sum(1 for h in self.health.values() if h in healths)


def read_view(store: Any, now: datetime) -> HomeView:
    """The apps, the totals and the flagged accounts' health (sync: runs in a thread).

    Its cost follows the apps and the accounts needing a look, not the store: the selection
    is `accounts_to_look_at`'s SQL on indexes, and each selected account is assessed exactly as
    `build_rows` assesses every one (same policy, same failing-sink rule).
    """
    app_list = store.list_apps()
    apps = {app.name: app for app in app_list}
    failing = frozenset(_failing_sink_accounts(store))
    health: dict[int, Health] = {}
    for account in store.accounts_to_look_at(now, also=failing):
        health[account.id] = _health(account, apps, failing, now)[0]
    _apps, accounts = home_counts(store)
    return HomeView(apps, app_states(app_list), accounts, health, failing)


def home_query(view: HomeView, sort: str, needle: str) -> HomeQuery:
    """The store query for home in `sort` order under `needle` (lower case; '' for none)."""
    flagged = {i: RANK[h] for i, h in view.health.items() if h is not Health.HEALTHY}
    if not needle:
        return HomeQuery(sort, "", flagged)
    words = {h: label for h, (label, _style) in LABELS.items()}
    status_ids = [i for i, h in view.health.items() if h is not Health.HEALTHY and needle in words.get(h, "")]
    return HomeQuery(sort, needle, flagged, status_ids, needle in words[Health.HEALTHY])


def to_row(item: HomeItem, view: HomeView, now: datetime) -> Row:
    """One page item as a table row: an account assessed now, or an app without accounts."""
    account = item.account
    if account is None:
        return Row(f"app:{item.app_name}", None, item.app_name, "", item.platform, None, None, False, None)
    health, ends_at = _health(account, view.apps, view.failing, now)
    return Row(key=f"acct:{account.id}", account_id=account.id, app_name=account.app_name,
               username=account.username, platform=account.platform, health=health, ends_at=ends_at,
               never=ends_at is None and account.expires_known, refreshed_at=account.refreshed_at)


def _health(account: Any, apps: Mapping[str, Any], failing: frozenset[int], now: datetime
            ) -> tuple[Health, datetime | None]:
    verdict = assess_account(account, apps.get(account.app_name), now)
    health = verdict.health
    if account.id in failing and health not in ATTENTION:
        health = Health.DELIVERY_FAILED  # the token is fine; a sink did not receive it (as `igtui status`)
    return health, verdict.ends_at


def _failing_sink_accounts(store: Any) -> set[int]:
    """Accounts with a sink whose last delivery failed (one plain read; no passphrase)."""
    list_sinks = getattr(store, "list_sinks", None)
    if list_sinks is None:
        return set()
    return {sink.account_id for sink in list_sinks() if sink.failing}


def sort_key(mode: str) -> Any:
    """The key that orders every row by `mode` (one of SORTS), as the paged store reads do.

    Total orders, ending with the account id: username lower-cased, then the id; apps without
    accounts first by username (they have none), after the expiring tokens and before the
    never-expiring ones by expiry, at their app by app, last by status.
    """
    def name(r: Row) -> tuple[str, int]:
        return r.username.lower(), r.account_id or 0

    if mode == "username":
        return lambda r: (0, r.app_name, "", 0) if r.account_id is None else (1, "", *name(r))
    if mode == "app":
        return lambda r: (r.app_name, 0, "", 0) if r.account_id is None else (r.app_name, 1, *name(r))
    if mode == "status":
        return lambda r: ((99, r.app_name, 0) if r.account_id is None
                          else (RANK[r.health] if r.health else 98, *name(r)))
    return lambda r: ((1, r.app_name, 0, "") if r.account_id is None
                      else (0, r.ends_at.timestamp(), *name(r)) if r.ends_at is not None
                      else (2, 0.0, *name(r)))
