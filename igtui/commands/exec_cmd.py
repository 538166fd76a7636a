"""`igtui exec ACCOUNT [--env NAME] [--env NAME=ACCOUNT…] [--watch …] [--token-file PATH] -- CMD [ARGS…]`.

Runs CMD with tokens in its environment (the module is `exec_cmd` because `exec` is a builtin).

* **Where the token goes.** Only into the child's environment, passed to the kernel as `env=`:
  never on a command line (ours or the child's), never into igtui's own `os.environ`. The child
  does not inherit `IGTUI_PASSPHRASE`: it gets a token, not the key to every token. Each token
  handed over has its audit row first (action `exec`).
* **Variables.** The token in `NAME` (default `INSTAGRAM_ACCESS_TOKEN`), the Instagram user id and
  the expiry (ISO 8601 UTC, empty when unknown or never) beside it (`_handoff.companion_vars`:
  `INSTAGRAM_USER_ID`, `INSTAGRAM_TOKEN_EXPIRES_AT`). With `--token-file PATH` the token is in the
  file instead and `NAME_FILE` holds its path.
* **Exit status.** The child's; a child killed by signal N gives 128+N, as a shell does. A CMD
  that cannot be found is 127, one that cannot be run 126 (the shell's codes too).
* **Signals.** SIGTERM and SIGHUP sent to igtui are passed to the child; so is SIGINT, unless igtui
  is in the foreground of its terminal, where the terminal's Ctrl-C already reached the child
  (it is in the same process group) and a second one would interrupt it twice.
* **`--watch`.** igtui stays the child's parent and re-reads the accounts at least every
  minute (no passphrase needed for that). When a token is due by the same rule as
  `igtui refresh --due` (`policy.is_due` with the account's and app's window), it is refreshed
  through `Session.engine` (the same single-flight lock and compare-and-swap as cron; trigger
  `auto`). When the stored token changed (this refresh, cron, the TUI, a new login), the child is
  restarted: `--restart-signal` (SIGTERM), then SIGKILL after `--grace` seconds (10), and the new
  child gets the new token. With `--token-file` the file is rewritten instead and the child keeps
  running. igtui exits when the child exits on its own, with its status.
* **The token file** is written atomically: a new 0600 file opened with O_EXCL|O_NOFOLLOW in the
  same directory, fsync, rename over PATH, fsync of the directory; a reader sees the old token
  or the new one, never a part. It holds the token alone (no newline) and is removed when igtui
  exits.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from igtui.commands.accounts import ACCOUNT_HELP

if TYPE_CHECKING:
    from igtui.core.models import Account
    from igtui.core.secret import Secret
    from igtui.core.session import Session
    from igtui.core.store import Store

FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
POLL_SECONDS = 60.0
"""`--watch` re-reads the accounts at least this often (a refresh by cron or the TUI is noticed)."""


@dataclass
class Binding:
    """One token handed to the child: which variable, which account, what it was given."""

    var: str
    ref: str
    account: Account | None = None
    generation: int = -1
    extra: dict[str, str] = field(default_factory=dict)


# ── arguments ────────────────────────────────────────────────────────────────────────────


def _bindings(args: argparse.Namespace) -> list[Binding]:
    from igtui.commands._handoff import DEFAULT_VAR, check_var
    from igtui.core.errors import UsageError

    plain: list[str] = []
    pairs: list[Binding] = []
    for spec in args.env or []:
        if "=" in spec:
            name, _, ref = spec.partition("=")
            if not ref:
                raise UsageError(f"--env {check_var(name, option='--env')}=ACCOUNT needs an account after =")
            pairs.append(Binding(check_var(name, option="--env"), ref))
        else:
            plain.append(check_var(spec, option="--env"))
    if len(plain) > 1:
        raise UsageError("--env NAME (without =ACCOUNT) names the variable of ACCOUNT: give it once")
    out: list[Binding] = []
    if args.account:
        out.append(Binding(plain[0] if plain else DEFAULT_VAR, args.account))
    elif plain:
        raise UsageError("--env NAME needs an ACCOUNT before it (or use --env NAME=ACCOUNT)")
    out.extend(pairs)
    if not out:
        raise UsageError("give ACCOUNT or --env NAME=ACCOUNT (see 'igtui exec --help')")
    names = [b.var for b in out]
    for name in names:
        if names.count(name) > 1:
            raise UsageError(f"{name} is given twice")
    return out


def _signal_number(text: str) -> signal.Signals:
    from igtui.core.errors import UsageError
    from igtui.core.safetext import echo

    name = text.strip().upper()
    if name.isdigit():
        try:
            return signal.Signals(int(name))
        except ValueError:
            pass
    else:
        name = name if name.startswith("SIG") else "SIG" + name
        sig = getattr(signal.Signals, name, None)
        if isinstance(sig, signal.Signals):
            return sig
    raise UsageError(f"--restart-signal: {echo(text)} is not a signal (e.g. TERM, HUP, INT, USR1)")


# ── tokens, environment, file ────────────────────────────────────────────────────────────


def _resolve(store: Store, bindings: list[Binding], now: Any) -> None:
    """Find each binding's account, refusing one whose token is known to be dead (exit 4)."""
    from igtui.commands._handoff import dead_reason
    from igtui.core.errors import ReloginRequired

    for b in bindings:
        b.account = store.get_account(b.ref)
        reason = dead_reason(b.account, now)
        if reason:
            raise ReloginRequired(reason)


def _read(store: Store, bindings: list[Binding], token_file: Path | None, *, restart: bool) -> list[Secret]:
    from igtui.commands._handoff import read_tokens

    suffix = " (restart)" if restart else ""
    details = [f"file {token_file}{suffix}" if token_file else f"{b.var}{suffix}" for b in bindings]
    accounts = [b.account for b in bindings]
    assert all(a is not None for a in accounts)
    tokens = read_tokens(store, "exec", [(a, d) for a, d in zip(accounts, details, strict=True) if a is not None])
    for b in bindings:
        assert b.account is not None
        b.generation = b.account.generation
    return tokens


def child_env(bindings: list[Binding], tokens: list[Secret], token_file: Path | None) -> dict[str, str]:
    """The child's environment: ours (without the passphrase) plus each binding's variables."""
    from igtui.commands._handoff import companion_vars
    from igtui.core.childenv import child_environment
    from igtui.core.clock import iso

    # The one list of what no child of igtui gets (the passphrase, the command that prints it),
    # shared with command sinks and the notify command.
    env = child_environment(os.environ, {})
    for b, token in zip(bindings, tokens, strict=True):
        assert b.account is not None
        user_var, expiry_var = companion_vars(b.var)
        if token_file is not None:
            env[f"{b.var}_FILE"] = str(token_file)
        else:
            env[b.var] = token.reveal()
        env[user_var] = b.account.ig_user_id
        env[expiry_var] = iso(b.account.expires_at) or ""
    return env


def write_token_file(path: Path, token: Secret) -> None:
    """Write `token` to `path` atomically (see the module docstring); never follows a symlink.

    Raises:
        UsageError: the directory does not exist, or PATH is a directory or cannot be written.
    """
    import secrets

    from igtui.core.errors import UsageError
    from igtui.core.paths import shell_quote

    directory = path.parent
    tmp = directory / f".{path.name}.igtui-{secrets.token_hex(6)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        if path.is_dir() and not path.is_symlink():
            raise UsageError(f"--token-file {shell_quote(path)} is a directory")
        fd = os.open(tmp, flags, 0o600)
        try:
            os.fchmod(fd, 0o600)
            data = token.reveal().encode()
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)  # a symlink at PATH is replaced, never followed
        dfd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise UsageError(f"cannot write --token-file {shell_quote(path)}: {exc.strerror or exc}") from None


def exit_status(returncode: int) -> int:
    """A child's status as a shell reports it: its code, or 128+N when signal N killed it."""
    return 128 - returncode if returncode < 0 else returncode


def _terminal_delivered_sigint() -> bool:
    """Whether a SIGINT we got was (most likely) the terminal's Ctrl-C, which the child got too."""
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            return os.tcgetpgrp(fd) == os.getpgrp()
    return False


def _should_forward(signum: int) -> bool:
    return signum != signal.SIGINT or not _terminal_delivered_sigint()


def _spawn_failed(cmd: list[str], exc: OSError) -> int:
    from igtui.commands._common import err
    from igtui.core.safetext import plain

    err(f"igtui: {plain(cmd[0], limit=200)}: {exc.strerror or exc}")
    return 127 if isinstance(exc, FileNotFoundError) else 126


# ── run once ─────────────────────────────────────────────────────────────────────────────


def _run_once(cmd: list[str], env: dict[str, str]) -> int:
    """Run the child to its end, passing signals on; its exit status."""
    import subprocess

    try:
        child = subprocess.Popen(cmd, env=env)  # the user's own command, no shell
    except OSError as exc:
        return _spawn_failed(cmd, exc)

    def forward(signum: int, _frame: object) -> None:
        if _should_forward(signum):
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        while True:
            try:
                return exit_status(child.wait())
            except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for clarity
                continue
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# ── watch ────────────────────────────────────────────────────────────────────────────────


async def _watch(wiring: Session, store: Store, bindings: list[Binding], cmd: list[str], tokens: list[Secret],
                 token_file: Path | None, restart_signal: int, grace: float) -> int:
    import asyncio

    from igtui.commands._common import err
    from igtui.core.models import RefreshResult, Trigger
    from igtui.core.refresh import policy
    from igtui.core.refresh.report import event_line

    loop = asyncio.get_running_loop()
    state: dict[str, Any] = {"child": None}

    async def spawn(env: dict[str, str]) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(*cmd, env=env)

    def forward(signum: int) -> None:
        child = state["child"]
        if child is not None and child.returncode is None and _should_forward(signum):
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)

    try:
        state["child"] = await spawn(child_env(bindings, tokens, token_file))
    except OSError as exc:
        return _spawn_failed(cmd, exc)
    for sig in FORWARDED:
        loop.add_signal_handler(sig, forward, int(sig))
    try:
        async with wiring.graph(store) as client:
            engine = wiring.engine(store, client)
            while True:
                child = state["child"]
                wait = await asyncio.to_thread(_next_wait, store, bindings, wiring.clock.now())
                try:
                    code = await asyncio.wait_for(asyncio.shield(child.wait()), timeout=wait)
                except TimeoutError:
                    pass
                else:
                    return exit_status(code)
                for b in bindings:
                    acc = await asyncio.to_thread(store.get_account_by_id, b.account.id)  # type: ignore[union-attr]
                    app = await asyncio.to_thread(store.get_app, acc.app_name)
                    now = wiring.clock.now()
                    if policy.is_due(acc, now, within_days=policy.window_days(acc, app)):
                        event = await engine.refresh_account(acc.id, trigger=Trigger.AUTO)
                        if event.result is not RefreshResult.REFRESHED:
                            err(f"igtui: {event_line(event)}")
                changed = False
                for b in bindings:
                    acc = await asyncio.to_thread(store.get_account_by_id, b.account.id)  # type: ignore[union-attr]
                    if acc.generation != b.generation:
                        b.account, changed = acc, True
                if not changed:
                    continue
                tokens = await asyncio.to_thread(_read, store, bindings, token_file, restart=True)
                if token_file is not None:
                    await asyncio.to_thread(write_token_file, token_file, tokens[0])
                    continue
                await _stop(child, restart_signal, grace)
                try:
                    state["child"] = await spawn(child_env(bindings, tokens, token_file))
                except OSError as exc:
                    return _spawn_failed(cmd, exc)
    finally:
        for sig in FORWARDED:
            loop.remove_signal_handler(sig)
        child = state["child"]
        if child is not None and child.returncode is None:  # igtui itself failed: do not orphan the child
            await _stop(child, signal.SIGTERM, grace)


async def _stop(child: Any, sig: int, grace: float) -> None:
    """Ask the child to stop with `sig`; SIGKILL once `grace` seconds have passed."""
    import asyncio

    if child.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(sig)
        try:
            await asyncio.wait_for(asyncio.shield(child.wait()), timeout=grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
    await child.wait()


def _next_wait(store: Store, bindings: list[Binding], now: Any) -> float:
    """Seconds until the earliest of the accounts' next refresh, within [1, POLL_SECONDS]."""
    from igtui.core.refresh import policy

    wait = POLL_SECONDS
    for b in bindings:
        assert b.account is not None
        acc = store.get_account_by_id(b.account.id)
        at = policy.assess(acc, now, app=store.get_app(acc.app_name)).next_refresh_at
        if at is not None and at > now:
            wait = min(wait, (at - now).total_seconds() + 0.5)  # due strictly after the boundary
    return max(1.0, wait)


# ── the command ──────────────────────────────────────────────────────────────────────────


def _run(args: argparse.Namespace) -> int:
    from igtui.commands._common import session
    from igtui.core.errors import UsageError
    from igtui.core.paths import shell_quote

    cmd: list[str] = list(getattr(args, "exec_command", []) or [])
    if not cmd:
        raise UsageError("give the command after --: igtui exec ACCOUNT -- CMD [ARGS…]")
    bindings = _bindings(args)
    if not args.watch and (args.restart_signal is not None or args.grace is not None):
        raise UsageError("--restart-signal and --grace go with --watch")
    restart_signal = _signal_number(args.restart_signal) if args.restart_signal is not None else signal.SIGTERM
    grace = 10.0 if args.grace is None else float(args.grace)
    if not 0 <= grace <= 3600:
        raise UsageError("--grace takes a number of seconds between 0 and 3600")
    token_file: Path | None = None
    if args.token_file is not None:
        if len(bindings) != 1:
            raise UsageError("--token-file holds one token: it goes with one account")
        token_file = Path(os.path.abspath(os.path.expanduser(args.token_file)))
        if not token_file.parent.is_dir():
            raise UsageError(f"--token-file: the directory {shell_quote(token_file.parent)} does not exist")

    wiring = session(args)
    store = wiring.open_store(unlock=False, will_unlock=True)
    # One SQLite connection from the unlock to the audit row: each connection closed on its own
    # costs a -wal/-shm creation and removal, and the last close checkpoints. The scope ends (its
    # connection closed) before the child runs, which may be for hours.
    with store.reusing_connections():
        _load_child_start()
        wiring.unlock(store)
        _resolve(store, bindings, wiring.clock.now())
        tokens = _read(store, bindings, token_file, restart=False)
    try:
        if token_file is not None:
            write_token_file(token_file, tokens[0])
        if not args.watch:
            store.lock()  # the child may run for hours: no reason to keep the data key meanwhile
            return _run_once(cmd, child_env(bindings, tokens, token_file))
        import asyncio

        return asyncio.run(_watch(wiring, store, bindings, cmd, tokens, token_file, int(restart_signal), grace))
    finally:
        if token_file is not None:
            with contextlib.suppress(OSError):
                os.unlink(token_file)


def _load_child_start() -> None:
    """Import what starting the child needs before the unlock, which may wait for the key.

    When the key is derived ahead (igtui.core.keyahead) the unlock waits ~200 ms for the helper;
    modules imported here load during that wait instead of after it, on the way to the child.
    """
    import importlib

    for name in ("subprocess", "igtui.commands._handoff", "igtui.core.childenv", "igtui.core.models"):
        importlib.import_module(name)


def _split_at_dashes(parser: argparse.ArgumentParser) -> None:
    """Make `parser` keep everything after the first `--` as the command, untouched.

    Why: argparse drops `--` and then cannot tell `igtui exec acme --env X -- cmd --env Y` apart;
    the command's own options must never be read as igtui's.
    """
    base = type(parser)

    class ExecParser(base):  # type: ignore[valid-type, misc]
        def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
            words = list(sys.argv[1:] if args is None else args)
            command: list[str] = []
            if "--" in words:
                at = words.index("--")
                words, command = words[:at], words[at + 1:]
            ns, extras = super().parse_known_args(words, namespace)
            ns.exec_command = command
            return ns, extras

    parser.__class__ = ExecParser


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `exec`."""
    p = subparsers.add_parser(
        "exec",
        help="run a command with a token in its environment (--watch: keep it fed across refreshes)",
        description="Run CMD with the account's token in its environment: INSTAGRAM_ACCESS_TOKEN (or "
        "--env NAME), with INSTAGRAM_USER_ID and INSTAGRAM_TOKEN_EXPIRES_AT (for NAME_ACCESS_TOKEN: "
        "NAME_USER_ID, NAME_TOKEN_EXPIRES_AT; other names: NAME_USER_ID, NAME_EXPIRES_AT). Several "
        "accounts: --env NAME=ACCOUNT, repeated. The token is never on a command line. The exit status "
        "is CMD's (128+N when signal N ended it; 127 not found, 126 not runnable); exit 4 when a token "
        "is known to be dead. --watch keeps igtui as CMD's parent, refreshes the token when it is due "
        "(the rules of `refresh --due`) and restarts CMD with the new one. --token-file PATH writes the "
        "token to PATH instead (atomically, 0600; rewritten on refresh, no restart; removed at the end) "
        f"and passes NAME_FILE. ACCOUNT is {ACCOUNT_HELP}.",
    )
    _split_at_dashes(p)
    p.add_argument("account", nargs="?", metavar="ACCOUNT", help=ACCOUNT_HELP)
    p.add_argument("--env", action="append", metavar="NAME[=ACCOUNT]",
                   help="the token's variable name for ACCOUNT, or NAME=ACCOUNT for one more account")
    p.add_argument("--watch", action="store_true", help="stay CMD's parent; refresh when due and restart CMD")
    p.add_argument("--restart-signal", metavar="SIG", help="with --watch: the signal that stops CMD (default TERM)")
    p.add_argument("--grace", type=float, metavar="SECONDS",
                   help="with --watch: SIGKILL after this long (default 10)")
    p.add_argument("--token-file", metavar="PATH", help="write the token to PATH instead (rewritten on refresh)")
    p.set_defaults(func=_run)


__all__ = ["child_env", "exit_status", "register", "write_token_file"]
