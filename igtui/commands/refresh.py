"""`igtui refresh ACCOUNT [--force]`, `igtui refresh --due [--within DAYS]`, `igtui refresh --all`.

All three run the same `RefreshEngine` as the TUI's timer. `--due` prints nothing when nothing is
due and every account is fine, so a cron line or systemd timer stays silent until there is news;
an account no refresh can save (expired, needs re-login, data access expired, token uncertain,
app blocked by Meta, a damaged record) is named on every run while it lasts. Exit codes: 0 all
fine (or nothing due), 1 some refresh failed, 4 some account needs a human, 3 some record is
damaged or was changed outside igtui (nothing was sent for it; the others were refreshed): the
same codes as every igtui command. The sinks the run delivered to count too: a failed delivery
is 4 (the token is stored; the next run retries), a sink refused as changed outside igtui is 3;
each already has its line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from igtui.core.delivery.deliver import Delivery
    from igtui.core.models import RefreshEvent
    from igtui.core.refresh.engine import RefreshEngine


def event_json(event: RefreshEvent) -> dict[str, object]:
    """The JSON form of one refresh outcome (schema in the README / report)."""
    from igtui.core.clock import iso
    from igtui.core.models import RefreshResult

    return {
        "account": event.account,
        "account_id": event.account_id,
        "result": event.result.value,
        "trigger": event.trigger.value,
        "at": iso(event.at),
        "message": event.message,
        "error_code": event.error_code,
        "error_subcode": event.error_subcode,
        "fbtrace_id": event.fbtrace_id,
        "old_expires_at": iso(event.old_expires_at),
        "new_expires_at": iso(event.new_expires_at),
        "duration_ms": None if event.duration_ms is None else round(event.duration_ms, 1),
        "recorded": event.id is not None or event.result is RefreshResult.REFRESHED,
    }


def _line(event: RefreshEvent) -> str:
    """One line per outcome; the words are shared with the TUI (igtui.core.refresh.report)."""
    from igtui.core.refresh.report import event_line

    return event_line(event)


def delivery_counts(deliveries: Sequence[Delivery]) -> tuple[int, int]:
    """(failed, refused) among the sinks this run delivered to, by each sink's last outcome.

    Why the last: a run delivers twice (pending sinks first, then what it stored), so a sink that
    failed in the first pass and received the new token in the second ends the run fine.
    """
    final = {d.sink_id: d for d in deliveries}
    refused = sum(1 for d in final.values() if d.damaged)
    failed = sum(1 for d in final.values() if not d.ok and not d.damaged)
    return failed, refused


def exit_code(events: list[RefreshEvent], *, lost: int = 0, damaged: int = 0, delivery_failed: int = 0,
              sink_refused: int = 0) -> int:
    """3 when a record is damaged (an event refused by the store, `damaged` rows named as lost, or a
    sink refused as changed outside igtui), else 4 when an account needs a human (in this run,
    `lost` ones no refresh can save, or a sink whose delivery failed), else 1 when something
    failed, else 0."""
    from igtui.core.errors import ExitCode
    from igtui.core.refresh.engine import outcome

    result = outcome(events)
    if damaged or sink_refused:
        result = "damaged"
    elif (lost or delivery_failed) and result != "damaged":
        result = "attention"
    return int({"damaged": ExitCode.STORE, "attention": ExitCode.ATTENTION, "failed": ExitCode.FAILED,
                "ok": ExitCode.OK}[result])


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from igtui.commands._common import print_json, session
    from igtui.core.clock import iso
    from igtui.core.errors import UsageError
    from igtui.core.models import RefreshReason, Trigger

    modes = sum(bool(x) for x in (args.account, args.due, args.all))
    if modes != 1:
        raise UsageError("give exactly one of ACCOUNT, --due or --all (see 'igtui refresh --help')")
    if args.within is not None and not args.due:
        raise UsageError("--within only goes with --due")
    if args.force and not args.account:
        raise UsageError("--force only goes with one ACCOUNT")
    if args.within is not None and not 0 <= args.within <= 365:
        raise UsageError("--within takes a number of days between 0 and 365")
    if not 1 <= args.concurrency <= 64:
        raise UsageError("--concurrency takes a number between 1 and 64")
    trigger = Trigger(args.trigger)

    wiring = session(args)
    store = wiring.open_store(unlock=True)
    account = store.get_account(args.account) if args.account else None

    async def go() -> tuple[list[RefreshEvent], RefreshEngine]:
        async with wiring.graph(store) as client:
            engine = wiring.engine(store, client, concurrency=args.concurrency)
            if account is not None:
                return [await engine.refresh_account(account.id, trigger=trigger, force=args.force)], engine
            if args.due:
                return await engine.refresh_due(trigger=trigger, within_days=args.within), engine
            return await engine.refresh_all(trigger=trigger), engine

    events, engine = asyncio.run(go())
    lost = engine.last_run.lost if account is None else []
    if args.due:
        # "not due" rows are the engine's own second look inside the lock; they are noise here.
        events = [e for e in events if e.reason is not RefreshReason.NOT_DUE]
    counts: dict[str, int] = {}
    for e in events:
        counts[e.result.value] = counts.get(e.result.value, 0) + 1
    if args.json:
        print_json({
            "mode": "account" if account is not None else ("due" if args.due else "all"),
            "results": [event_json(e) for e in events],
            "summary": counts,
            "paused_apps": {k: iso(v) for k, v in engine.last_run.paused_apps.items()},
            "blocked_apps": engine.last_run.blocked_apps,
            "attention": [{"account": acc.ref, "account_id": acc.id, "health": a.health.value, "reason": a.reason}
                          for acc, a in lost],
            "notified": [{"event": n.event, "account": n.account.ref if n.account else None, "app": n.app}
                         for n in engine.last_run.notices],
            "deliveries": [{"sink": d.sink_id, "account": d.account, "ok": d.ok, "refused": d.damaged,
                            "message": d.message} for d in engine.last_deliveries],
        })
    else:
        from igtui.core.refresh.report import lost_line

        for e in events:
            print(_line(e))
        # Every run while the state lasts: cron mails only what is printed, and a silent run is
        # exactly how a dead token goes unnoticed for weeks.
        for acc, a in lost:
            print(lost_line(acc, a))
        if len(events) > 1:
            from igtui.core.refresh.report import LABELS

            words = {r.value: label.lower() for r, label in LABELS.items()}  # "needs re-login", one spelling
            print(", ".join(f"{v} {words.get(k, k)}" for k, v in sorted(counts.items())), file=sys.stderr)
    from igtui.core.models import Health

    delivery_failed, sink_refused = delivery_counts(engine.last_deliveries)
    return exit_code(events, lost=len(lost), damaged=sum(1 for _acc, a in lost if a.health is Health.DAMAGED),
                     delivery_failed=delivery_failed, sink_refused=sink_refused)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `refresh` (one account, `--due` or `--all`)."""
    p = subparsers.add_parser(
        "refresh",
        help="refresh Instagram tokens (one, the due ones, or all)",
        description="Refresh Instagram Login long-lived tokens. Tokens under 24 hours old are not sent "
        "to Meta unless --force; Facebook Login tokens have no refresh endpoint (see `igtui status`). "
        "Exit codes: 0 fine or nothing due, 1 some failed, 4 some need a new login or a sink delivery "
        "failed, 3 a record or a sink is damaged or was changed outside igtui (nothing is sent for it).",
    )
    p.add_argument("account", nargs="?", metavar="ACCOUNT", help="username, ig_user_id or APP/username")
    p.add_argument("--due", action="store_true", help="refresh every due token (quiet when none is: suits cron)")
    p.add_argument("--all", action="store_true", help="refresh every token Meta would accept now, due or not")
    p.add_argument("--within", type=int, metavar="DAYS", help="with --due: due when fewer than DAYS days remain")
    p.add_argument("--force", action="store_true", help="ask Meta even when igtui thinks it is too early")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--trigger", choices=("cli", "cron"), default="cli",
                   help="recorded in history as who started it (default cli; timers pass cron)")
    p.add_argument("--concurrency", type=int, default=8, metavar="N", help="accounts at once (default 8)")
    p.set_defaults(func=_run)


__all__ = ["delivery_counts", "event_json", "exit_code", "register"]
