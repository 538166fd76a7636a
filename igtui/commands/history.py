"""`igtui history [ACCOUNT] [--json] [--limit N] [--result R]`: every refresh attempt, newest first.

Metadata only (no passphrase). Each row says when, who triggered it, the outcome, Meta's error
code/subcode/fbtrace_id, the expiry before and after, and how long it took.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from igtui.core.models import RefreshEvent

RESULTS = ("refreshed", "skipped", "too_early", "failed", "needs_relogin", "rate_limited")


def history_json(event: RefreshEvent) -> dict[str, object]:
    """One history row as `history --json` prints it (a stable shape scripts may read)."""
    from igtui.core.clock import iso

    return {
        "id": event.id,
        "at": iso(event.at),
        "trigger": event.trigger.value,
        "account": event.account,
        "account_id": event.account_id,
        "result": event.result.value,
        "error_code": event.error_code,
        "error_subcode": event.error_subcode,
        "message": event.message,
        "fbtrace_id": event.fbtrace_id,
        "old_expires_at": iso(event.old_expires_at),
        "new_expires_at": iso(event.new_expires_at),
        "duration_ms": None if event.duration_ms is None else round(event.duration_ms, 1),
    }


def _run(args: argparse.Namespace) -> int:
    import sys

    from igtui.commands._common import open_store, print_table
    from igtui.core.clock import iso
    from igtui.core.errors import UsageError
    from igtui.core.models import RefreshResult

    if not 1 <= args.limit <= 100_000:
        raise UsageError("--limit takes a number between 1 and 100000")
    if args.json and args.jsonl:
        raise UsageError("--json and --jsonl are two forms of the same output; give one")
    store = open_store(args, unlock=False)
    account_id = store.get_account(args.account).id if args.account else None
    result = RefreshResult(args.result) if args.result else None
    if args.json or args.jsonl:
        from igtui.commands._stream import write_json_array, write_jsonl

        rows = (history_json(e) for e in store.iter_history(account_id=account_id, result=result, limit=args.limit))
        (write_jsonl if args.jsonl else write_json_array)(rows)
        return 0
    events = store.list_history(account_id=account_id, result=result, limit=args.limit)
    if not events:
        print("igtui: no refresh attempts recorded yet", file=sys.stderr)
        return 0

    def code(e: RefreshEvent) -> str:
        if e.error_code is None:
            return ""
        return f"{e.error_code}" + (f"/{e.error_subcode}" if e.error_subcode else "")

    print_table(
        ["AT", "ACCOUNT", "TRIGGER", "RESULT", "OLD EXPIRY", "NEW EXPIRY", "MS", "CODE", "FBTRACE", "MESSAGE"],
        [
            [iso(e.at), e.account, e.trigger.value, e.result.value, iso(e.old_expires_at) or "",
             iso(e.new_expires_at) or "", "" if e.duration_ms is None else f"{e.duration_ms:.0f}", code(e),
             e.fbtrace_id or "", (e.message or "")[:120]]
            for e in events
        ],
    )
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `history`."""
    p = subparsers.add_parser("history", help="refresh attempts, newest first",
                              description="Every refresh attempt: time, trigger, result, Meta's error and fbtrace_id, "
                              "old and new expiry, duration. Needs no passphrase.")
    p.add_argument("account", nargs="?", metavar="ACCOUNT", help="only this account (username, id or APP/username)")
    p.add_argument("--json", action="store_true", help="machine-readable output (streamed)")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per attempt per line (JSON Lines)")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N rows (default 50)")
    p.add_argument("--result", choices=RESULTS, help="only attempts with this result")
    p.set_defaults(func=_run)


__all__ = ["history_json", "register"]
