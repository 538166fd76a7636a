"""`igtui status [--json] [--within DAYS]`: the health of every account, for humans and monitors.

Metadata only, so no passphrase is needed (a monitoring check must not hold the key). Exits 4
when any account needs attention (expiring without a refresh, expired, needs a login, failing to
refresh, or may have lost a refresh), the way `gh auth status` is used in scripts; exits 3 when
a row of the store is damaged (listed as `damaged`, by name, with the columns), which outranks 4.
Without the passphrase nothing can be verified: this reports what the file says (SECURITY.md).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from igtui.core.models import Account, App


def status_json(account: Account, app: App | None, now: datetime, within: int | None) -> dict[str, object]:
    """One account's health as JSON (schema in the README / report)."""
    from igtui.core.clock import iso
    from igtui.core.refresh import policy

    days = policy.window_days(account, app, within)
    a = policy.assess(account, now, within_days=days, app=app)
    return {
        "account": account.ref,
        "app": account.app_name,
        "username": account.username,
        "ig_user_id": account.ig_user_id,
        "platform": account.platform,
        "token_kind": account.token_kind.value,
        "health": a.health.value,
        "attention": a.health in policy.ATTENTION,
        "reason": a.reason,
        "status": account.status.value,
        "issued_at": iso(account.issued_at),
        "expires_at": iso(account.expires_at),
        "expires_known": account.expires_known,
        "data_access_expires_at": iso(account.data_access_expires_at),
        "ends_at": iso(a.ends_at),
        "refreshed_at": iso(account.refreshed_at),
        "refreshable_after": iso(policy.refreshable_after(account)),
        "next_refresh_at": iso(a.next_refresh_at),
        "retry_at": iso(account.retry_at),
        "failures": account.failures,
        "within_days": days,
        "damage": policy.damage_of(account, app),
    }


def app_json(app: App) -> dict[str, object]:
    """One app's own state as JSON: a block by Meta ends every token of the app at once."""
    from igtui.core.clock import iso

    return {
        "app": app.name,
        "platform": app.platform,
        "state": "damaged" if app.damage is not None else ("blocked" if app.blocked_kind is not None else "ok"),
        "blocked_kind": app.blocked_kind,
        "reason": app.blocked_reason,
        "blocked_at": iso(app.blocked_at),
        "attention": app.blocked_kind is not None or app.damage is not None,
        "damage": app.damage,
    }


def _print_blocked(blocked: list[App]) -> None:
    """The apps Meta blocked, above the accounts (each one ends all of the app's tokens)."""
    from igtui.core.clock import iso
    from igtui.core.safetext import plain

    for app in blocked:
        since = f" since {iso(app.blocked_at)}" if app.blocked_at else ""
        print(plain(f"APP BLOCKED: {app.name}{since} — {app.blocked_reason or app.blocked_kind}", limit=1000))


def _print_damaged_apps(damaged: list[App]) -> None:
    """Damaged app rows, above the accounts (their accounts are listed as damaged too)."""
    from igtui.core.safetext import plain

    for app in damaged:
        print(plain(f"APP DAMAGED: {app.name} (id {app.id}) — {app.damage}; nothing is sent for its accounts",
                    limit=1000))


def _run(args: argparse.Namespace) -> int:
    from igtui.commands._common import print_json, print_table
    from igtui.core.clock import humanize_delta
    from igtui.core.errors import ExitCode, UsageError

    if args.within is not None and not 0 <= args.within <= 365:
        raise UsageError("--within takes a number of days between 0 and 365")
    from igtui.commands._common import session

    wiring = session(args)
    store = wiring.open_store(unlock=False)
    now = wiring.clock.now()
    apps = {a.name: a for a in store.list_apps()}
    interrupted = wiring.refresh_locks().stale_intents()
    from igtui.core.delivery.report import apply_to_status, by_account
    from igtui.core.refresh.policy import ATTENTION

    sinks = by_account(store.list_sinks())  # a failing sink: health delivery_failed, exit 4
    attention_health = frozenset(h.value for h in ATTENTION)
    rows = []
    for acc in store.list_accounts():
        row = status_json(acc, apps.get(acc.app_name), now, args.within)
        row["interrupted_refresh"] = acc.id in interrupted and interrupted[acc.id].generation == acc.generation
        if row["interrupted_refresh"]:
            row["reason"] = f"{row['reason']}; a refresh was interrupted, the next `igtui refresh` checks the token"
        apply_to_status(row, sinks.get(acc.id, []), attention_health=attention_health)
        rows.append(row)
    attention = sum(1 for r in rows if r["attention"])
    blocked = [app for app in apps.values() if app.blocked_kind is not None]
    damaged_apps = [app for app in apps.values() if app.damage is not None]
    damaged = sum(1 for r in rows if r["damage"] is not None) + len(damaged_apps)
    code = ExitCode.STORE if damaged else (ExitCode.ATTENTION if attention or blocked else ExitCode.OK)
    if args.json:
        from igtui.core.clock import iso

        print_json({"now": iso(now), "apps": [app_json(app) for app in apps.values()], "accounts": rows,
                    "attention": attention, "apps_blocked": len(blocked), "damaged": damaged})
        return int(code)
    _print_damaged_apps(damaged_apps)
    _print_blocked(blocked)
    if not rows:
        print("igtui: no accounts yet (log in with `igtui login APP`)", file=sys.stderr)
    else:
        accounts = {a.ref: a for a in store.list_accounts()}

        def ends(ref: str) -> str:
            acc = accounts.get(ref)
            if acc is None or acc.damage is not None:
                return "-"
            if acc.expires_at is None:
                return "never" if acc.expires_known else "unknown"
            left = acc.expires_at - now
            return humanize_delta(left) if left.total_seconds() > 0 else "expired"

        print_table(
            ["ACCOUNT", "KIND", "HEALTH", "EXPIRES IN", "REASON"],
            [[r["account"], r["token_kind"], r["health"], ends(str(r["account"])), r["reason"]] for r in rows],
        )
        if attention:
            print(f"igtui: {attention} account(s) need attention", file=sys.stderr)
    if damaged:
        print(f"igtui: {damaged} record(s) of the store are damaged or were changed outside igtui "
              "(see above); nothing is sent for them", file=sys.stderr)
    return int(code)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `status`."""
    p = subparsers.add_parser(
        "status",
        help="health of every account (exit 4 when any needs attention)",
        description="Show each account's health: healthy, refresh_due, expiring, expired, needs_relogin, "
        "rate_limited, refresh_failed, token_uncertain, app_blocked or damaged, with each app Meta blocked "
        "listed above the accounts. Needs no passphrase. Exits 4 when any account or app needs attention, "
        "3 when a record of the store is damaged.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--within", type=int, metavar="DAYS",
                   help="warning window in days (default: account, then app setting, then 15)")
    p.set_defaults(func=_run)


__all__ = ["register", "status_json"]
