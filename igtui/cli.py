"""igtui's headless command line (argparse).

Start-up is kept lean on purpose: this module imports only the stdlib and `igtui.core.errors`;
each command module imports what it needs inside its command functions, so `igtui app show`
pays for cryptography and sqlite3 but never for Textual or httpx. `igtui` with no subcommand
starts the TUI, imported lazily.

Command modules live in `igtui.commands`; each defines `register(subparsers)` and sets
`func=<callable(args) -> int>` with `set_defaults`. A new command's module is added to `COMMAND_MODULES`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from igtui import __version__
from igtui.core import keyahead
from igtui.core.errors import ExitCode, IgtuiError, UsageError

COMMAND_MODULES: tuple[str, ...] = (
    "store", "apps", "login", "accounts", "tokens", "export", "exec_cmd", "refresh", "status", "history", "log",
    "audit", "sink", "sandbox",
)
"""Modules under `igtui.commands` that register subcommands, in `igtui --help` order.

Each imports nothing heavy at module level (httpx, sqlite_utils, textual load inside the command
that needs them), so building the whole parser stays cheap for every command."""


def _add_global_options(parser: argparse.ArgumentParser, *, root: bool) -> None:
    """Global options, accepted before or after the subcommand.

    On subparsers the defaults are SUPPRESS, so an option given before the subcommand is not
    overwritten by the subparser's default.
    """
    default = None if root else argparse.SUPPRESS
    parser.add_argument("--store", metavar="PATH", default=default, help="use this store file instead of the default")
    parser.add_argument(
        "--passphrase-file",
        metavar="FILE",
        default=default,
        help="read the passphrase from FILE (must be readable only by you)",
    )
    parser.add_argument(
        "--verbose", action="store_true", default=False if root else argparse.SUPPRESS, help="say more on stderr"
    )


class IgtuiParser(argparse.ArgumentParser):
    """An ArgumentParser that (1) gives every subparser the global options and (2) reports a usage
    error as one line through igtui's error path instead of printing usage and exiting."""

    def __init__(self, *args: Any, _root: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _add_global_options(self, root=_root)

    def error(self, message: str) -> NoReturn:
        """A usage error becomes one UsageError line (over-long arguments cut) instead of argparse's usage dump
        and exit 2, so it reaches the user through igtui's one error path."""
        # argparse repeats the offending argument whole ("invalid choice: 'aaaa…'"); any run of
        # more than 80 non-blank characters is cut the way safetext.echo cuts user input.
        import re

        from igtui.core.safetext import ECHO_LIMIT, echo

        message = re.sub(rf"\S{{{ECHO_LIMIT + 1},}}", lambda m: echo(m.group(0), quote=False), message)
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


UNLOCKING: dict[str, str | None] = {"exec": None, "export": None, "refresh": None, "token": "get"}
"""Commands (and the one subcommand, if it takes one) that unlock the store: `main` starts the
key-derivation helper for them first thing (igtui.core.keyahead)."""


def _next_word(argv: Sequence[str], word: str) -> str | None:
    """The word after the command word (its subcommand, for a command group)."""
    at = list(argv).index(word)
    return argv[at + 1] if at + 1 < len(argv) else None

COMMANDS: dict[str, str] = {
    "init": "store", "passwd": "store", "info": "store", "app": "apps", "login": "login", "account": "accounts",
    "token": "tokens", "export": "export", "exec": "exec_cmd", "refresh": "refresh", "status": "status",
    "history": "history", "log": "log", "audit": "audit", "sink": "sink", "sandbox": "sandbox",
}
"""Each top-level command and the module in `COMMAND_MODULES` that registers it (a test holds the
two to what the modules really register).

Why: building the whole parser imports all the command modules and makes ~230 argparse actions
(each asks the terminal for its size), a quarter of the non-KDF start-up of `igtui token get` and
`igtui exec`; a run that names its command only needs that command's module."""

_VALUE_OPTIONS = ("--store", "--passphrase-file")
_FLAG_OPTIONS = ("--verbose",)


def command_word(argv: Sequence[str]) -> str | None:
    """The command `argv` names, when only global options in their exact spelling come before it.

    None when there is no command or anything else comes first (`--help`, `--version`, `--demo`,
    an abbreviated or unknown option, `--`): those runs get the whole parser, so argparse says and
    does exactly what it always did.
    """
    words = list(argv)
    i = 0
    while i < len(words):
        word = words[i]
        if not word.startswith("-") or word == "-":
            return word
        name, eq, _value = word.partition("=")
        if name in _VALUE_OPTIONS:
            i += 1 if eq else 2
        elif word in _FLAG_OPTIONS:
            i += 1
        else:
            return None
    return None


def build_parser(command: str | None = None) -> IgtuiParser:
    """The parser with every command module registered, or only the one registering `command`.

    `command` (see `command_word`) is a hint: an unknown one gets the whole parser, whose error
    names the valid choices.
    """
    parser = IgtuiParser(
        prog="igtui",
        description="Obtain, inspect, refresh and keep alive Instagram Platform API tokens. "
        "Run without a command to open the terminal UI.",
        _root=True,
    )
    parser.add_argument("--version", action="version", version=f"igtui {__version__}")
    parser.add_argument("--demo", action="store_true", help="open the TUI on deterministic demo data")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=IgtuiParser)
    only = COMMANDS.get(command) if command is not None else None
    for name in COMMAND_MODULES if only is None else (only,):
        importlib.import_module(f"igtui.commands.{name}").register(subparsers)
    return parser


def _run_tui(args: argparse.Namespace) -> int:
    from igtui.ui.app import run_tui  # lazy: the only place the CLI touches Textual

    return int(run_tui(args))


def _one_line(text: str) -> str:
    from igtui.core.safetext import plain

    return plain(" ".join(str(text).split()))


def main(argv: Sequence[str] | None = None) -> int:
    """Run igtui; return the process exit code (see `ExitCode`)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("IGTUI_DEBUG") == "1"
    word = command_word(args_list)
    try:
        if word in UNLOCKING and UNLOCKING[word] in (None, _next_word(args_list, word)):
            keyahead.prepare(args_list, os.environ)
        parser = build_parser(word)
        try:
            args = parser.parse_args(args_list)
        except SystemExit as exc:  # --help / --version
            return int(exc.code or 0) if isinstance(exc.code, int) else 0
        func = getattr(args, "func", None)
        if func is None:
            if args.command is not None:  # a command group without its subcommand, e.g. `igtui app`
                raise UsageError(f"'igtui {args.command}' needs a subcommand (see 'igtui {args.command} --help')")
            return _run_tui(args)
        return int(func(args))
    except IgtuiError as exc:
        print(f"igtui: {_one_line(exc.message)}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("igtui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stays open as stdout: silences the flush at exit
        return int(ExitCode.FAILED)
    except Exception as exc:  # the last line of defence: one redacted line, no traceback
        if debug:
            import traceback

            traceback.print_exc()
        print(f"igtui: unexpected error: {_redacted(exc)} (set IGTUI_DEBUG=1 for details)", file=sys.stderr)
        return int(ExitCode.FAILED)
    finally:
        keyahead.discard()


def run() -> NoReturn:
    """The program's entry point (the `igtui` script and `python -m igtui`): `main`, then exit.

    When the command has finished and only the main thread is left, the process ends at once,
    after the exit handlers and a flush of stdout and stderr, without the interpreter's teardown
    of every imported module. Why: that teardown frees objects the kernel is about to reclaim
    anyway and costs ~40 ms, a quarter of what `igtui exec ACCOUNT -- CMD` adds to the child's
    own start (bench/bench_exec.py). Skipping it loses nothing: igtui wipes and writes nothing
    in a finalizer (its exit handlers, `weakref.finalize` ones included, still run here), an open
    SQLite connection only leaves its -wal file for the next open to use (it holds what the
    store file holds: no plaintext secret), and the kernel reclaims the memory either way.
    Another thread still running (a write in flight) gets the normal exit, which waits for it.
    """
    import atexit
    import threading

    code = main()
    if threading.active_count() == 1:
        atexit._run_exitfuncs()
        try:
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:
                    stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stdout: the normal exit below reports it as Python does
        else:
            os._exit(code)
    raise SystemExit(code)


def _redacted(exc: BaseException) -> str:
    """The exception's type and message with every known secret erased."""
    from igtui.core.secret import known_secrets

    text = f"{type(exc).__name__}: {exc}"
    for secret in known_secrets():
        text = text.replace(secret, "***")
    return _one_line(text)[:300]


__all__ = ["COMMANDS", "COMMAND_MODULES", "IgtuiParser", "build_parser", "command_word", "main", "run"]
