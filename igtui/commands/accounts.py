"""`igtui account list|remove`: the logged-in Instagram accounts, without touching any token.

Listing needs no passphrase: account metadata is readable without unlocking, which is what lets a
status bar or a cron wrapper look at accounts without holding the key. Usernames come from Meta,
so every cell goes through `print_table` (safetext) and JSON is plain data.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from igtui.core.models import Account

ACCOUNT_HELP = "a username, an Instagram user id, or APP/username"


def account_json(account: Account) -> dict[str, Any]:
    """The stable JSON object for one account (used by `account list` and `login`); never a token."""
    from igtui.core.clock import iso

    return {
        "account": account.ref,
        "id": account.id,
        "app": account.app_name,
        "platform": account.platform,
        "username": account.username,
        "ig_user_id": account.ig_user_id,
        "app_scoped_id": account.app_scoped_id,
        "account_type": account.account_type,
        "page_id": account.page_id,
        "kind": str(account.token_kind),
        "scopes": list(account.scopes),
        "issued_at": iso(account.issued_at),
        "expires_at": iso(account.expires_at),
        "expires_known": account.expires_known,
        "data_access_expires_at": iso(account.data_access_expires_at),
        "refreshed_at": iso(account.refreshed_at),
        "status": str(account.status),
        "status_reason": account.status_reason,
        "last_verified_at": iso(account.last_verified_at),
        "last_verify_ok": account.last_verify_ok,
        "damage": account.damage,
    }


def expires_text(account: Account, now: Any) -> str:
    """'in 59d 23h', 'expired 2d ago', 'never' or 'unknown'."""
    from igtui.core.clock import humanize_delta

    if account.expires_at is None:
        return "never" if account.expires_known else "unknown"
    delta = account.expires_at - now
    text = humanize_delta(delta)
    return f"expired {text}" if delta.total_seconds() < 0 else f"in {text}"


def _list(args: argparse.Namespace) -> int:
    import sys
    from collections.abc import Iterator

    from igtui.commands._common import open_store, print_table
    from igtui.core.clock import SystemClock
    from igtui.core.errors import ExitCode, UsageError
    from igtui.core.refresh.policy import damage_of
    from igtui.core.safetext import plain

    if args.json and args.jsonl:
        raise UsageError("--json and --jsonl are two forms of the same output; give one")
    store = open_store(args, unlock=False)
    apps = {app.name: app for app in store.list_apps()}
    if args.json or args.jsonl:
        from igtui.commands._stream import write_json_array, write_jsonl

        damaged = 0  # an unknown --app raises NotFound at the first row, before anything is written

        def listed() -> Iterator[dict[str, Any]]:
            nonlocal damaged
            for a in store.iter_accounts(args.app):
                d = damage_of(a, apps.get(a.app_name))
                damaged += d is not None
                yield {**account_json(a), "damage": d}

        (write_jsonl if args.jsonl else write_json_array)(listed())
        return int(ExitCode.STORE if damaged else ExitCode.OK)
    accounts = store.list_accounts(args.app)
    # A damaged row is listed, flagged, and makes the exit 3 (the others are listed as usual).
    damage = {a.id: d for a in accounts if (d := damage_of(a, apps.get(a.app_name))) is not None}
    code = int(ExitCode.STORE if damage else ExitCode.OK)
    now = SystemClock().now()
    rows = [
        [a.ref, a.ig_user_id, str(a.token_kind), expires_text(a, now), str(a.status)] if a.id not in damage
        else [a.ref, a.ig_user_id or "-", "-", "-", "DAMAGED"]
        for a in accounts
    ]
    print_table(["ACCOUNT", "IG USER ID", "KIND", "EXPIRES", "STATUS"], rows)
    for a in accounts:
        if a.id in damage:
            print(plain(f"igtui: account {a.ref} (id {a.id}) is damaged: {damage[a.id]}", limit=1000),
                  file=sys.stderr)
    return code


def _remove(args: argparse.Namespace) -> int:
    import sys

    from igtui.commands._common import confirm, open_store
    from igtui.core.safetext import plain

    store = open_store(args, unlock=False)
    account = store.get_account(args.account)
    if not confirm(f"remove account {plain(account.ref)} and its token?", args.yes):
        print("igtui: nothing removed", file=sys.stderr)
        return 1
    store.remove_account(account.id)
    print(f"removed {plain(account.ref)}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `account list` and `account remove`."""
    from igtui.commands._common import add_group

    sub = add_group(subparsers, "account", help="list or remove logged-in Instagram accounts")

    lst = sub.add_parser(
        "list",
        help="list accounts (no passphrase needed)",
        description="List logged-in accounts: APP/username, ids, token kind, expiry and status. "
        "No passphrase is needed. --json prints an array of account objects. Exits 3 when a record is "
        "damaged (listed as DAMAGED, with its columns named).",
    )
    lst.add_argument("--app", metavar="APP", default=None, help="only this app's accounts")
    lst.add_argument("--json", action="store_true", help="print JSON (stable field names, no tokens; streamed)")
    lst.add_argument("--jsonl", action="store_true", help="one JSON object per account per line (JSON Lines)")
    lst.set_defaults(func=_list)

    rm = sub.add_parser("remove", help="remove an account and its token",
                        description="Remove an account and its stored token. " + f"ACCOUNT is {ACCOUNT_HELP}.")
    rm.add_argument("account", metavar="ACCOUNT", help=ACCOUNT_HELP)
    rm.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    rm.set_defaults(func=_remove)


__all__ = ["ACCOUNT_HELP", "account_json", "expires_text", "register"]
