"""`igtui sink add|list|remove|test`: where an account's token is pushed after every change.

A sink is a file (`--file PATH`, written atomically, dotenv/json/raw) or a command (`--command
'CMD'`, the token on stdin). After every successful login or refresh of the account, whoever made
it, igtui delivers the new token to each of its sinks (`igtui.core.delivery`). Adding a sink
seals its configuration with the store's data key, so it needs the passphrase; so does `test`.
`list` and `remove` need none: `list` shows what the file says (the plain copy), `list --verify`
opens every sealed configuration and exits 3 if one was changed outside igtui.

Exit codes: 0 fine; 1 a delivery failed (the sink is kept and retried on every refresh run); 2 bad
arguments; 3 the store is locked or damaged, or a sink's configuration was changed outside igtui.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from igtui.core.delivery.config import Sink, SinkConfig
    from igtui.core.delivery.deliver import Delivery


def _sink_json(sink: Sink) -> dict[str, object]:
    from igtui.core.clock import iso

    return {
        "id": sink.id,
        "account": sink.account,
        "account_id": sink.account_id,
        "kind": sink.kind,
        "target": sink.target,
        "format": sink.format,
        "var": sink.var,
        "state": sink.state,
        "delivered_generation": sink.delivered_generation,
        "account_generation": sink.account_generation,
        "delivered_at": iso(sink.delivered_at),
        "last_attempt_at": iso(sink.last_attempt_at),
        "last_error": sink.last_error,
        "failures": sink.failures,
        "created_at": iso(sink.created_at),
    }


def _report(deliveries: list[Delivery]) -> int:
    """One stderr line per delivery; the exit code: 3 a sink refused, 1 a delivery failed, else 0."""
    from igtui.core.errors import ExitCode

    for d in deliveries:
        print(f"igtui: {d.line()}", file=sys.stderr)
    if any(d.damaged for d in deliveries):
        return int(ExitCode.STORE)
    if any(not d.ok for d in deliveries):
        return int(ExitCode.FAILED)
    return int(ExitCode.OK)


def _add(args: argparse.Namespace) -> int:
    from igtui.commands._common import session
    from igtui.core.delivery.config import sink_config
    from igtui.core.errors import UsageError
    from igtui.core.safetext import plain

    if (args.file is None) == (args.command is None):
        raise UsageError("give exactly one of --file PATH or --command 'CMD' (see 'igtui sink add --help')")

    def config_for(account_id: int) -> SinkConfig:
        # The checks and defaults live in the core (`sink_config`), shared with the TUI's sink editor.
        if args.file is not None:
            return sink_config(account_id, "file", path=args.file, format=args.format, var=args.var,
                               timeout=args.timeout)
        return sink_config(account_id, "command", command=args.command, format=args.format, var=args.var,
                           timeout=args.timeout)

    config_for(0)  # bad input is refused before the passphrase is asked for
    wiring = session(args)
    store = wiring.open_store(unlock=True)
    account = store.get_account(args.account)
    config = config_for(account.id)
    sink = store.add_sink(config)
    print(sink.id)
    print(plain(f"igtui: added sink {sink.id}: {account.ref} → {sink.kind} {sink.target}", limit=1000),
          file=sys.stderr)
    if args.no_deliver:
        print("igtui: it receives the token after the next login or refresh (or `igtui sink test "
              f"{sink.id}`)", file=sys.stderr)
        return 0
    return _report(wiring.deliverer(store).deliver_now([sink.id]))


def _list(args: argparse.Namespace) -> int:
    from igtui.commands._common import print_json, print_table, session
    from igtui.core.clock import iso
    from igtui.core.errors import ExitCode, RecordDamaged

    wiring = session(args)
    store = wiring.open_store(unlock=bool(args.verify))
    account_id = store.get_account(args.account).id if args.account else None
    sinks = store.list_sinks(account_id)
    damaged: dict[int, str] = {}
    if args.verify:
        for m in store.open_sinks([s.id for s in sinks]):
            if isinstance(m.config, RecordDamaged):
                damaged[m.sink.id] = m.config.message
    if args.json:
        rows = [_sink_json(s) | ({"damaged": damaged.get(s.id)} if args.verify else {}) for s in sinks]
        print_json({"sinks": rows})
    elif not sinks:
        print("igtui: no sinks (add one with `igtui sink add ACCOUNT --file PATH`)", file=sys.stderr)
    else:
        print_table(
            ["ID", "ACCOUNT", "KIND", "TARGET", "FORMAT", "STATE", "DELIVERED", "LAST ERROR"],
            [[s.id, s.account or f"(removed, id {s.account_id})", s.kind, s.target,
              (f"{s.format} {s.var}" if s.var else s.format) or "-",
              "DAMAGED" if s.id in damaged else s.state, iso(s.delivered_at) or "never",
              (s.last_error or "")[:160]] for s in sinks],
        )
    for message in damaged.values():
        print(f"igtui: {message}", file=sys.stderr)
    return int(ExitCode.STORE if damaged else ExitCode.OK)


def _remove(args: argparse.Namespace) -> int:
    from igtui.commands._common import session

    store = session(args).open_store(unlock=False)
    store.remove_sink(args.id)
    print(f"igtui: removed sink {args.id}", file=sys.stderr)
    return 0


def _test(args: argparse.Namespace) -> int:
    from igtui.commands._common import session

    wiring = session(args)
    store = wiring.open_store(unlock=True)
    store.get_sink(args.id)  # NotFound before anything else
    return _report(wiring.deliverer(store).deliver_now([args.id]))


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `sink add|list|remove|test`."""
    from igtui.commands._common import add_group

    sub = add_group(subparsers, "sink", help="push an account's token to a file or a command after every change")

    p = sub.add_parser("add", help="add a sink (needs the passphrase: its configuration is sealed)",
                       description="Add a sink to ACCOUNT and deliver the current token to it at once. After "
                       "every login or refresh of the account it receives the new token. A file is written "
                       "atomically (0600); a command gets the token on stdin and IGTUI_ACCOUNT, IGTUI_APP, "
                       "IGTUI_EXPIRES_AT, INSTAGRAM_USER_ID and IGTUI_SINK_ID in its environment.")
    p.add_argument("account", metavar="ACCOUNT", help="username, ig_user_id or APP/username")
    p.add_argument("--file", metavar="PATH", help="write the token to this file")
    p.add_argument("--format", choices=("dotenv", "json", "raw"),
                   help="file format: dotenv (default; only the VAR=token line changes), json (one key), "
                   "raw (only the token)")
    p.add_argument("--var", metavar="NAME", help="dotenv variable or JSON key (default INSTAGRAM_ACCESS_TOKEN)")
    p.add_argument("--command", metavar="CMD", help="run this shell command with the token on stdin")
    p.add_argument("--timeout", type=float, metavar="S", help="seconds before the command is killed (default 30)")
    p.add_argument("--no-deliver", action="store_true", help="do not deliver now; wait for the next change")
    p.set_defaults(func=_add)

    p = sub.add_parser("list", help="list sinks and their delivery state (no passphrase)",
                       description="List sinks: what the store file says (no passphrase). With --verify, open "
                       "each sealed configuration and exit 3 if any was changed outside igtui.")
    p.add_argument("account", nargs="?", metavar="ACCOUNT", help="only this account's sinks")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--verify", action="store_true", help="check every sealed configuration (needs the passphrase)")
    p.set_defaults(func=_list)

    p = sub.add_parser("remove", help="remove a sink (its history stays)")
    p.add_argument("id", type=int, metavar="ID", help="the sink's id (see `igtui sink list`)")
    p.set_defaults(func=_remove)

    p = sub.add_parser("test", help="deliver the current token to a sink now",
                       description="Deliver the account's current token to sink ID now. Exit 0 delivered, 1 failed "
                       "(retried on every refresh run), 3 its configuration was changed outside igtui.")
    p.add_argument("id", type=int, metavar="ID", help="the sink's id (see `igtui sink list`)")
    p.set_defaults(func=_test)


__all__ = ["register"]
