"""`igtui audit [ACCOUNT] [--since WHEN] [--action A] [--limit N] [--json]`, `igtui audit --verify`.

Listing needs no passphrase: who read which token and when is metadata, like the history, and a
monitoring script should not need the key to every token to ask. It therefore shows what the
file claims. `--verify` unlocks the store and checks every row's MAC, the chain and its head
(`igtui.core.store.audit`): exit 0 when intact (or empty), exit 3 naming the first bad row.
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from igtui.commands.accounts import ACCOUNT_HELP

if TYPE_CHECKING:
    from igtui.core.store import AuditRecord

_RELATIVE = re.compile(r"^(\d{1,6})([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """`--since`: an ISO 8601 date or time (UTC unless it says otherwise), or an age: 30m, 12h, 7d, 2w.

    Raises:
        UsageError: neither form.
    """
    from datetime import UTC

    from igtui.core.errors import UsageError
    from igtui.core.safetext import echo

    value = text.strip()
    match = _RELATIVE.match(value)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise UsageError(f"--since takes a date or time (2026-11-28, 2026-11-28T09:00Z) or an age "
                         f"(30m, 12h, 7d, 2w), not {echo(text)}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def record_json(record: AuditRecord) -> dict[str, Any]:
    """The JSON form of one audit row (stable field names; never a token)."""
    from igtui.core.clock import iso

    c = record.caller
    return {
        "id": record.id, "at": iso(record.at), "action": record.action, "account": record.account,
        "account_id": record.account_id, "app": record.app, "username": record.username,
        "sink_id": record.sink_id, "detail": record.detail, "uid": c.uid, "user": c.user, "pid": c.pid,
        "ppid": c.ppid, "parent": c.parent, "tty": c.tty, "ssh_client": c.ssh_client, "sudo_user": c.sudo_user,
    }


def _verify(args: argparse.Namespace) -> int:
    from igtui.commands._common import open_store, print_json
    from igtui.core.errors import ExitCode, StoreDamaged

    if args.account or args.since or args.action or args.limit is not None:
        from igtui.core.errors import UsageError

        raise UsageError("--verify checks the whole chain; it takes no ACCOUNT, --since, --action or --limit")
    store = open_store(args, unlock=True)
    check = store.verify_audit()
    if args.json:
        print_json({"ok": check.ok, "rows": check.rows, "empty": check.empty, "bad_row": check.bad_row,
                    "problem": check.problem})
        return int(ExitCode.OK if check.ok else ExitCode.STORE)
    if not check.ok:
        where = f" at row {check.bad_row}" if check.bad_row is not None else ""
        raise StoreDamaged(f"the audit chain is broken{where}: {check.problem}")
    if check.empty:
        print("audit: empty (no token read has been recorded, or the audit was emptied)")
    else:
        print(f"audit: {check.rows} row{'' if check.rows == 1 else 's'}, chain intact")
    return 0


def _run(args: argparse.Namespace) -> int:
    from igtui.commands._common import print_json, print_table, session
    from igtui.core.audit import ACTIONS
    from igtui.core.clock import iso
    from igtui.core.errors import NotFound, UsageError

    if args.verify:
        return _verify(args)
    if args.action is not None and args.action not in ACTIONS:
        raise UsageError(f"--action is one of {', '.join(sorted(ACTIONS))}")
    if args.limit is not None and not 1 <= args.limit <= 1_000_000:
        raise UsageError("--limit takes a number of rows between 1 and 1000000")
    wiring = session(args)
    since = parse_since(args.since, wiring.clock.now()) if args.since else None
    store = wiring.open_store(unlock=False)
    filters: dict[str, Any] = {"since": since, "action": args.action, "limit": args.limit}
    if args.account:
        try:
            rows = store.list_audit(account_id=store.get_account(args.account).id, **filters)
        except NotFound:
            # A removed account keeps its audit rows under its old name.
            rows = store.list_audit(account=args.account, **filters)
            if not rows and not store.list_audit(account=args.account, limit=1):
                raise
    else:
        rows = store.list_audit(**filters)
    if args.json:
        print_json([record_json(r) for r in rows])
        return 0
    if not rows:
        return 0
    print_table(
        ["ID", "AT", "ACTION", "ACCOUNT", "DETAIL", "USER", "PID", "PARENT", "TTY", "SSH FROM", "SUDO_USER"],
        [[r.id, iso(r.at), r.action, r.account,
          (f"sink {r.sink_id}" + (f" {r.detail}" if r.detail else "")) if r.sink_id is not None else (r.detail or ""),
          f"{r.caller.user or '?'} ({r.caller.uid})", r.caller.pid, r.caller.parent or "-", r.caller.tty or "-",
          r.caller.ssh_client or "-", r.caller.sudo_user or "-"] for r in rows],
    )
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `audit` (list the token reads, or `--verify` the chain)."""
    p = subparsers.add_parser(
        "audit",
        help="who read which token, when (and --verify the tamper-evident chain)",
        description="List every time a token left igtui (token get, export, exec, a sink delivery, the "
        "TUI's reveal, copy and show-for-copy), oldest first, with who asked: user, pid, parent process, "
        "tty, SSH client address, SUDO_USER. Listing needs no passphrase and shows what the file claims; "
        "--verify unlocks the store and checks each row's MAC, the chain and its head: exit 0 when intact, "
        f"3 naming the first bad row. ACCOUNT is {ACCOUNT_HELP}.",
    )
    p.add_argument("account", nargs="?", metavar="ACCOUNT", help="only reads of this account")
    p.add_argument("--since", metavar="WHEN",
                   help="only reads since WHEN: a date or time (UTC), or an age: 30m, 12h, 7d")
    p.add_argument("--action", metavar="ACTION", help="only get, export, exec, sink, reveal, copy or show")
    p.add_argument("--limit", type=int, metavar="N", help="only the newest N rows")
    p.add_argument("--json", action="store_true", help="print JSON (stable field names, never a token)")
    p.add_argument("--verify", action="store_true", help="check the chain (needs the passphrase); exit 3 if broken")
    p.set_defaults(func=_run)


__all__ = ["parse_since", "record_json", "register"]
