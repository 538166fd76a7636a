"""`igtui export ACCOUNT…|--app APP|--all --format env|shell|json [--var NAME] [--force-tty]`.

Prints tokens for other tools: `env` is dotenv (`NAME=value` lines), `shell` is
`export NAME='value'` lines quoted for `eval "$(igtui export … --format shell)"`, `json` is one
object `{NAME: token}`. One account is `INSTAGRAM_ACCESS_TOKEN` (or `--var NAME`); several are
`INSTAGRAM_ACCESS_TOKEN_<APP>_<USERNAME>`, uppercased with every other character `_`.

Why it refuses a terminal: a token printed on screen stays in the scrollback, the tmux history
and a screen recording; `--force-tty` is the conscious exception. Every token printed has its
audit row first. A token known to be dead (needs a login, expired) is left out and named on
stderr, and the command exits 4, as `token get` does; `--force` prints it anyway.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from typing import TYPE_CHECKING

from igtui.commands.accounts import ACCOUNT_HELP

if TYPE_CHECKING:
    from igtui.core.models import Account
    from igtui.core.store import Store

FORMATS = ("env", "shell", "json")
_DOTENV_PLAIN = re.compile(r"^[A-Za-z0-9._~+/=:@%-]*$")

TTY_REFUSAL = ("refusing to print tokens to a terminal (they would stay in its scrollback); "
               "redirect or pipe the output, or pass --force-tty")


def render(pairs: list[tuple[str, str]], fmt: str) -> str:
    """The output text for (variable, token) pairs in `fmt`."""
    if fmt == "json":
        return json.dumps(dict(pairs), indent=2, ensure_ascii=True) + "\n"
    lines = []
    for name, value in pairs:
        if fmt == "shell":
            lines.append(f"export {name}={shlex.quote(value)}")
        else:
            lines.append(f"{name}={value if _DOTENV_PLAIN.match(value) else shlex.quote(value)}")
    return "".join(line + "\n" for line in lines)


def _accounts(args: argparse.Namespace, store: Store) -> list[Account]:
    from igtui.core.errors import UsageError

    chosen = sum(bool(x) for x in (args.accounts, args.app, args.all))
    if chosen != 1:
        raise UsageError("give ACCOUNT…, --app APP or --all (exactly one; see 'igtui export --help')")
    if args.all:
        accounts = store.list_accounts()
    elif args.app:
        store.get_app(args.app)  # NotFound names the app
        accounts = store.list_accounts(args.app)
    else:
        accounts = [store.get_account(ref) for ref in args.accounts]
    if not accounts:
        raise UsageError("no account to export" + (f" in app {args.app}" if args.app else ""))
    return accounts


def _run(args: argparse.Namespace) -> int:
    from igtui.commands._common import err, session
    from igtui.commands._handoff import DEFAULT_VAR, check_var, dead_reason, derived_var, read_tokens, unique_names
    from igtui.core.errors import ExitCode, UsageError

    if args.format not in FORMATS:
        raise UsageError(f"--format is one of {', '.join(FORMATS)}")
    if args.var is not None:
        check_var(args.var, option="--var")
    # Before any passphrase is asked: nothing is decrypted for output that will be refused.
    if sys.stdout.isatty() and not args.force_tty:
        raise UsageError(TTY_REFUSAL)
    wiring = session(args)
    store = wiring.open_store(unlock=False, will_unlock=True)
    accounts = _accounts(args, store)
    if args.var is not None and (len(accounts) != 1 or not args.accounts):
        raise UsageError("--var names one variable: it goes with exactly one ACCOUNT")
    now = wiring.clock.now()
    live: list[Account] = []
    dead = 0
    for account in accounts:
        reason = None if args.force else dead_reason(account, now)
        if reason:
            err(f"igtui: {reason}; not exported")
            dead += 1
        else:
            live.append(account)
    single = len(accounts) == 1 and bool(args.accounts)
    names = [(args.var or DEFAULT_VAR) if single else derived_var(a) for a in live]
    unique_names(list(zip(names, live, strict=True)))
    if live:
        wiring.unlock(store)
        tokens = read_tokens(store, "export", [(a, f"{args.format} {n}") for a, n in zip(live, names, strict=True)])
        sys.stdout.write(render([(n, t.reveal()) for n, t in zip(names, tokens, strict=True)], args.format))
        sys.stdout.flush()
    return int(ExitCode.ATTENTION if dead else ExitCode.OK)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `export`."""
    p = subparsers.add_parser(
        "export",
        help="print tokens as dotenv, shell (for eval) or JSON, for other tools",
        description="Print tokens for other tools. --format env: NAME=value lines (dotenv); shell: "
        "export NAME='value' lines for eval \"$(igtui export ACCOUNT --format shell)\"; json: one object "
        "{NAME: token}. One account is INSTAGRAM_ACCESS_TOKEN (or --var NAME); several are "
        "INSTAGRAM_ACCESS_TOKEN_<APP>_<USERNAME> (uppercased, other characters _). Refuses to write to a "
        "terminal (exit 2) unless --force-tty. A token known to be dead is left out, named on stderr, and "
        "the exit code is 4 (--force exports it anyway). Each token exported is recorded in `igtui audit`. "
        f"ACCOUNT is {ACCOUNT_HELP}.",
    )
    p.add_argument("accounts", nargs="*", metavar="ACCOUNT", help=ACCOUNT_HELP)
    p.add_argument("--app", metavar="APP", help="every account of this app")
    p.add_argument("--all", action="store_true", help="every account")
    p.add_argument("--format", default="env", metavar="FORMAT", help="env (default), shell or json")
    p.add_argument("--var", metavar="NAME", help="the variable name for a single ACCOUNT")
    p.add_argument("--force-tty", action="store_true", help="print to a terminal anyway (it stays in the scrollback)")
    p.add_argument("--force", action="store_true", help="export tokens known to be dead too")
    p.set_defaults(func=_run)


__all__ = ["FORMATS", "TTY_REFUSAL", "register", "render"]
