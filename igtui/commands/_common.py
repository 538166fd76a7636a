"""Helpers shared by the command modules: opening the store, printing, confirming.

stdout is data (tables, JSON); stderr is diagnostics. Every API-originated or user-provided
string printed in a table goes through `safetext.plain`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from igtui.core.errors import UsageError

if TYPE_CHECKING:
    from igtui.core.session import Session
    from igtui.core.store import Store


def session(args: argparse.Namespace) -> Session:
    """This invocation's wiring (`--store`, `--passphrase-file`, `--verbose`, the environment).

    Every command builds its store, client, engine and login flow through it (igtui.core.session).
    A command's unlock may derive its key ahead, in a forked helper (igtui.core.keyahead).
    """
    from igtui.core.session import Session

    return Session.from_args(args, derive_ahead=True)


def open_store(args: argparse.Namespace, *, unlock: bool) -> Store:
    """`session(args).open_store(unlock=…)`, for commands that need only the store."""
    return session(args).open_store(unlock=unlock)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        from igtui.core.clock import iso

        return iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def print_json(obj: object) -> None:
    """JSON on stdout; ASCII-escaped so no control or bidi character reaches the terminal raw."""
    sys.stdout.write(json.dumps(obj, indent=2, default=_default, ensure_ascii=True) + "\n")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain aligned table on stdout; every cell goes through `safetext.plain`."""
    from igtui.core.safetext import plain

    cells = [[plain(h) for h in headers]] + [[plain("" if c is None else c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = []
    for row in cells:
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    sys.stdout.write("\n".join(out) + "\n")


def confirm(question: str, assume_yes: bool) -> bool:
    """Ask a yes/no question on the terminal (default no). `--yes` answers yes.

    Raises:
        UsageError: stdin is not a terminal and `--yes` was not given.
    """
    if assume_yes:
        return True
    if sys.stdin is None or not sys.stdin.isatty():
        raise UsageError(f"{question.rstrip('?')}: refusing without --yes (stdin is not a terminal)")
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def add_group(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, *, help: str
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """A command group (`igtui app …`); running the group alone is a usage error naming it."""
    group = subparsers.add_parser(name, help=help, description=help)

    def needs_subcommand(_args: argparse.Namespace) -> int:
        raise UsageError(f"'igtui {name}' needs a subcommand (see 'igtui {name} --help')")

    group.set_defaults(func=needs_subcommand)
    return group.add_subparsers(dest=f"{name}_command", metavar="SUBCOMMAND")


def err(message: str) -> None:
    """One diagnostic line on stderr."""
    print(message, file=sys.stderr)


Handler = Callable[[argparse.Namespace], int]

__all__ = ["add_group", "confirm", "err", "open_store", "print_json", "print_table", "session"]
