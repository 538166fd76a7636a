"""`igtui log`: the request log, newest last; `--follow` tails it across processes.

Rows were redacted before they were written (the HTTP door stores no raw URL), and are still
passed through `safetext.plain` here because URLs and messages came from outside. `--follow`
polls by row id, so it sees rows written by any other igtui process (a cron refresh, the TUI).
No passphrase is needed: the request log holds nothing secret.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from igtui.core.models import Exchange


def exchange_json(x: Exchange) -> dict[str, Any]:
    """The stable JSON object for one request-log row."""
    from igtui.core.clock import iso

    usage = None
    if x.usage is not None:
        usage = {
            "max_pct": x.usage.max_pct,
            "app_pct": x.usage.app_pct,
            "ad_account_pct": x.usage.ad_account_pct,
            "regain_minutes": x.usage.regain_minutes,
        }
    return {
        "id": x.id,
        "at": iso(x.at),
        "pid": x.pid,
        "app": x.app_name,
        "account": x.account,
        "method": x.method,
        "url": x.url,
        "status": x.status,
        "latency_ms": round(x.latency_ms, 1),
        "error_code": x.error_code,
        "error_subcode": x.error_subcode,
        "fbtrace_id": x.fbtrace_id,
        "error_message": x.error_message,
        "usage": usage,
    }


def exchange_line(x: Exchange) -> str:
    """One human line: time, method, status, latency, app/account, URL, error."""
    from igtui.core.clock import iso
    from igtui.core.safetext import plain

    status = str(x.status) if x.status is not None else "---"
    # `account` is already APP/username when the caller knew the account.
    who = x.account or x.app_name or "-"
    parts = [iso(x.at) or "-", x.method, status, f"{x.latency_ms:7.0f}ms", who, x.url]
    if x.error_code is not None:
        parts.append(f"[{x.error_code}{'/' + str(x.error_subcode) if x.error_subcode else ''}]")
    if x.error_message:
        parts.append(x.error_message)
    if x.usage is not None and x.usage.max_pct is not None:
        parts.append(f"usage {x.usage.max_pct:.0f}%")
    return " ".join(plain(p, limit=400) for p in parts)


def _emit(rows: Iterable[Exchange], *, as_json: bool, lines: bool) -> None:
    import json

    if as_json and not lines:
        from igtui.commands._stream import write_json_array

        write_json_array(exchange_json(x) for x in rows)
        return
    for x in rows:
        if as_json:
            sys.stdout.write(json.dumps(exchange_json(x), ensure_ascii=True) + "\n")
        else:
            sys.stdout.write(exchange_line(x) + "\n")
    sys.stdout.flush()


def _log(args: argparse.Namespace) -> int:
    import time

    from igtui.commands._common import open_store
    from igtui.core.errors import UsageError

    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    if args.json and args.jsonl:
        raise UsageError("--json and --jsonl are two forms of the same output; give one")
    store = open_store(args, unlock=False)
    as_json = args.json or args.jsonl
    lines = args.follow or args.jsonl
    if not args.follow:
        # Streamed: each row is written as it is read, however many --limit asks for.
        _emit(store.iter_exchanges(limit=args.limit), as_json=as_json, lines=lines)
        return 0
    rows = store.list_exchanges(limit=args.limit)
    _emit(rows, as_json=as_json, lines=lines)
    last = max((x.id for x in rows if x.id is not None), default=0)
    while True:
        time.sleep(args.interval)
        fresh = store.list_exchanges(after_id=last, limit=1000)
        if fresh:
            _emit(fresh, as_json=as_json, lines=True)
            last = max(x.id for x in fresh if x.id is not None)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `log`."""
    parser = subparsers.add_parser(
        "log",
        help="show the request log (redacted)",
        description="Show the newest request-log rows, oldest first. Secrets were redacted before the "
        "rows were written. --json prints an array of row objects; with --follow, one JSON object per "
        "line (JSON Lines). --follow keeps printing new rows, from any igtui process, until Ctrl-C.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON (stable field names; streamed)")
    parser.add_argument("--jsonl", action="store_true", help="one JSON object per row per line (JSON Lines)")
    parser.add_argument("--follow", "-f", action="store_true", help="keep printing new rows (Ctrl-C to stop)")
    parser.add_argument(
        "--limit", "-n", type=int, default=50, metavar="N", help="how many rows to show first (default 50)"
    )
    parser.add_argument("--interval", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.set_defaults(func=_log)


__all__ = ["exchange_json", "exchange_line", "register"]
