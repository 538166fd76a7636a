"""`igtui token get|inspect`: hand a token to a script, or describe it (and ask Meta with --verify).

`token get` is on the hot path of shell scripts (`curl -H "Authorization: Bearer $(igtui token get
acme)"`), so it does exactly one indexed lookup, one decrypt and one audit append after the
unlock, and imports nothing that talks HTTP. It prints the token and a newline and nothing else on
stdout; it refuses (exit 4, nothing on stdout) when the token is known to be dead, so a script fails
loudly instead of sending a dead token.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from igtui.commands.accounts import ACCOUNT_HELP

if TYPE_CHECKING:
    from igtui.core.oauth.tokeninfo import TokenReport


def _get(args: argparse.Namespace) -> int:
    from igtui.commands._common import session
    from igtui.core.clock import SystemClock
    from igtui.core.errors import ReloginRequired
    from igtui.core.models import AccountStatus

    wiring = session(args)
    store = wiring.open_store(unlock=False, will_unlock=True)
    # One SQLite connection from the unlock to the audit row (see exec_cmd._run for why).
    with store.reusing_connections():
        wiring.unlock(store)
        account = store.get_account(args.account)
        if not args.force:
            if account.status is AccountStatus.NEEDS_RELOGIN:
                raise ReloginRequired(
                    f"{account.ref} needs a new login: {account.status_reason or 'the token is dead'}")
            if account.expires_at is not None and account.expires_at <= SystemClock().now():
                raise ReloginRequired(f"the token of {account.ref} expired; log in again")
        token = store.account_token(account.id)
        store.append_audit("get", account)  # before the token leaves: no audit row, no token (SECURITY.md)
    sys.stdout.write(token.reveal() + "\n")
    sys.stdout.flush()
    return 0


def _print_report(report: TokenReport, now: Any) -> None:
    from igtui.core.clock import humanize_delta, iso
    from igtui.core.safetext import plain

    def when(at: Any) -> str:
        if at is None:
            return "-"
        delta = at - now
        rel = humanize_delta(delta)
        return f"{iso(at)} ({'expired ' + rel if delta.total_seconds() < 0 else 'in ' + rel})"

    expires = when(report.expires_at) if report.expires_at else ("never" if report.expires_known else "unknown")
    lines = [
        ("account", report.account),
        ("ig user id", report.ig_user_id),
        ("app-scoped id", report.app_scoped_id or "-"),
        ("kind", str(report.kind)),
        ("scopes", ", ".join(report.scopes) or "-"),
        ("issued", iso(report.issued_at) or "-"),
        ("expires", expires),
        ("refreshable after", iso(report.refreshable_after) or "- (no refresh endpoint)"),
        ("data access expires", when(report.data_access_expires_at)),
        ("status", report.status + (f": {report.status_reason}" if report.status_reason else "")),
        ("last verified", iso(report.last_verified_at) or "never"),
    ]
    if report.last_verified_at is not None:
        lines.append(("last verification", ("ok" if report.last_verify_ok else "FAILED")
                      + (f": {report.last_verify_message}" if report.last_verify_message else "")))
    if report.granular_scopes:
        lines.append(("granular scopes", "; ".join(
            f"{s} -> {','.join(t) if t else 'all'}" for s, t in report.granular_scopes)))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key.ljust(width)}  {plain(value)}")


def _inspect(args: argparse.Namespace) -> int:
    import asyncio

    from igtui.commands._common import session
    from igtui.core.errors import ExitCode, ReloginRequired
    from igtui.core.oauth.tokeninfo import inspect_token, report_for

    wiring = session(args)
    clock = wiring.clock
    if not args.verify:
        store = wiring.open_store(unlock=False)
        account = store.get_account(args.account)
        report = report_for(account)
        _emit(args, report, clock.now())
        dead = report.status == "needs_relogin" or (
            account.expires_at is not None and account.expires_at <= clock.now())
        if dead:
            reason = report.status_reason or "the token expired"
            print(f"igtui: {account.ref} needs a new login: {reason}", file=sys.stderr)
            return int(ExitCode.ATTENTION)
        return 0

    store = wiring.open_store(unlock=True)

    async def run() -> TokenReport:
        async with wiring.graph(store) as client:
            return await inspect_token(store, client, args.account, verify=True, clock=clock)

    try:
        report = asyncio.run(run())
    except ReloginRequired as exc:
        dead_report = getattr(exc, "report", None)
        if dead_report is not None:
            _emit(args, dead_report, clock.now())
        raise
    _emit(args, report, clock.now())
    return 0


def _emit(args: argparse.Namespace, report: TokenReport, now: Any) -> None:
    from igtui.commands._common import print_json

    if args.json:
        print_json(report.to_json())
    else:
        _print_report(report, now)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `token get` and `token inspect`."""
    from igtui.commands._common import add_group

    sub = add_group(subparsers, "token", help="print or inspect an account's token")

    get = sub.add_parser(
        "get",
        help="print the token (and only the token) for $(...)",
        description="Print the account's access token and a newline on stdout, nothing else, for use "
        "in $(igtui token get ACCOUNT). Exits 4 without printing when the token is known to be "
        f"dead or expired (--force prints it anyway). ACCOUNT is {ACCOUNT_HELP}.",
    )
    get.add_argument("account", metavar="ACCOUNT", help=ACCOUNT_HELP)
    get.add_argument("--force", action="store_true", help="print the token even if it is known to be dead")
    get.set_defaults(func=_get)

    ins = sub.add_parser(
        "inspect",
        help="show kind, scopes, issued, expires, refreshable-after, status",
        description="Show what is known about the account's token: kind, scopes, issued, expires, "
        "refreshable-after (Instagram: issued + 24 h), data-access expiry, status and the last "
        "verification. --verify asks Meta (Instagram: /me probe; Facebook: debug_token) and records "
        "the answer; exit 4 when the token is dead, with the reason in words. "
        f"ACCOUNT is {ACCOUNT_HELP}.",
    )
    ins.add_argument("account", metavar="ACCOUNT", help=ACCOUNT_HELP)
    ins.add_argument("--verify", action="store_true", help="ask Meta whether the token still works")
    ins.add_argument("--json", action="store_true", help="print JSON (stable field names, never the token)")
    ins.set_defaults(func=_inspect)


__all__ = ["register"]
