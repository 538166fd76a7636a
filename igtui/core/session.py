"""One wiring for every front end: the CLI's commands, the TUI and the demo build the core here.

The CLI and the TUI used to assemble the store, the lock directory, the HTTP door, the refresh
engine and the login flow each on their own, and the two drifted: one process naming a store
with `--store` and another naming the same file through `IGTUI_HOME` took different refresh
locks, so both called Meta for one refresh. A `Session` is resolved once from the environment
and the global options, and it is the only place that decides:

* which store file this is (resolved: relative paths and symlinks followed), and therefore
  which lock directory guards its refreshes: the lock directory follows the file itself, not
  the way it was named (`locks_dir_for_store`);
* which notify command, verbosity and clock every service gets;
* how the store is opened and unlocked;
* how the GraphClient is built, with the request-log recorder (and, with `--verbose`, a line per
  exchange on stderr), and how the RefreshEngine and the LoginFlow are built on it.

This module imports no Textual and nothing heavy at import time: each piece is imported where it
is built, so `igtui status` never pays for httpx.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from igtui.core.clock import Clock, SystemClock
from igtui.core.paths import DB_NAME, Paths, resolve_paths

if TYPE_CHECKING:
    from igtui.core.delivery.deliver import Deliverer
    from igtui.core.graph.client import GraphClient
    from igtui.core.graph.requestlog import ExchangeRecorder
    from igtui.core.keyahead import KeyAhead
    from igtui.core.models import Exchange
    from igtui.core.oauth.flow import LoginFlow
    from igtui.core.refresh.engine import RefreshEngine
    from igtui.core.refresh.lock import RefreshLocks
    from igtui.core.secret import Secret
    from igtui.core.store import Store

NOTIFY_ENV = "IGTUI_NOTIFY_COMMAND"
"""The shell command that receives a JSON notice on stdin (see igtui.core.refresh.notify)."""

LOCKS_DIR_NAME = "locks"


def canonical_store_file(database: Path) -> Path:
    """The store file as the kernel sees it: absolute, `..` folded, every symlink followed.

    Works for a file that does not exist yet (`igtui init`): the existing part of the path is
    resolved and the rest appended.
    """
    return Path(os.path.realpath(Path(database).expanduser()))


def locks_dir_for_store(database: Path) -> Path:
    """The refresh-lock directory of one store file, whatever name reached it.

    It lives beside the file, in the store's own private directory: `DIR/locks` for the usual
    `DIR/igtui.db` (where every release has kept it), `DIR/locks/store-<digest>` for a store file
    with another name, so that two stores in one directory never share account-id-named lock or
    intent files. The digest is of the canonical path, so `--store rel/igtui.db`,
    `--store /abs/igtui.db`, a symlinked parent and `IGTUI_HOME` all meet on the same locks.
    """
    real = canonical_store_file(database)
    base = real.parent / LOCKS_DIR_NAME
    if real.name == DB_NAME:
        return base
    import hashlib  # here: only a store file with another name needs it (OpenSSL's load is ~5 ms)

    digest = hashlib.sha256(str(real).encode()).hexdigest()[:16]
    return base / f"store-{digest}"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


@dataclass(frozen=True)
class Session:
    """What one invocation of igtui is wired to, resolved once.

    Build it with `Session.resolve` (the CLI and the TUI) or `Session.for_store` (the demo and
    tests, which name a store file directly). Every front end asks it for the store, the
    GraphClient, the RefreshEngine and the LoginFlow instead of building them.
    """

    paths: Paths
    """Home and the store file as named (kept for messages: users recognise their own spelling)."""
    store_file: Path
    """The canonical store file (see `canonical_store_file`)."""
    locks_dir: Path
    """Where the refresh locks, intents and notification records of this store live."""
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    passphrase_file: Path | None = None
    verbose: bool = False
    clock: Clock = field(default_factory=SystemClock)
    say: Callable[[str], None] = _stderr
    """Where `--verbose` lines go (stderr in the CLI; the TUI never sets verbose)."""
    derive_ahead: bool = False
    """Whether `open_store` may start the key derivation in a forked helper (the CLI's sessions:
    `igtui.commands._common.session`). Off for the TUI, whose threads rule out a fork, the demo and tests
    that build a session directly."""
    _ahead: list[KeyAhead] = field(default_factory=list, init=False, repr=False, compare=False)
    """The derivation in flight, if any (a list: the session is otherwise immutable)."""

    # ── construction ─────────────────────────────────────────────────────────────────────
    @classmethod
    def resolve(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        store: Path | str | None = None,
        passphrase_file: Path | str | None = None,
        verbose: bool = False,
        clock: Clock | None = None,
        derive_ahead: bool = False,
    ) -> Session:
        """The session for `--store`, `IGTUI_HOME` or the platform default, in that order."""
        env = dict(os.environ if environ is None else environ)
        paths = resolve_paths(env, store=store)
        return cls(
            paths=paths,
            store_file=canonical_store_file(paths.database),
            locks_dir=locks_dir_for_store(paths.database),
            environ=env,
            passphrase_file=Path(passphrase_file) if passphrase_file else None,
            verbose=verbose,
            clock=clock or SystemClock(),
            derive_ahead=derive_ahead,
        )

    @classmethod
    def from_args(cls, args: Any, environ: Mapping[str, str] | None = None, *, derive_ahead: bool = False) -> Session:
        """The session for parsed CLI arguments (`--store`, `--passphrase-file`, `--verbose`)."""
        return cls.resolve(
            environ,
            store=getattr(args, "store", None),
            passphrase_file=getattr(args, "passphrase_file", None),
            verbose=bool(getattr(args, "verbose", False)),
            derive_ahead=derive_ahead,
        )

    @classmethod
    def for_store(
        cls, database: Path, *, clock: Clock | None = None, environ: Mapping[str, str] | None = None,
    ) -> Session:
        """The session for a store file named directly (the demo, the screenshot script, tests)."""
        return cls.resolve(environ if environ is not None else {}, store=database, clock=clock)

    # ── the store ────────────────────────────────────────────────────────────────────────
    @property
    def notify_command(self) -> str | None:
        """`IGTUI_NOTIFY_COMMAND`, or None when unset or blank."""
        return (self.environ.get(NOTIFY_ENV) or "").strip() or None

    def passphrase(self, *, confirm: bool = False, prompt: str = "Passphrase: ",
                   isatty: Callable[[], bool] | None = None,
                   check: Callable[[Secret], object] | None = None) -> Secret:
        """The passphrase from this session's sources (see igtui.core.passphrase for the order).

        `check` vets a new passphrase (`init`) as soon as it is typed, before it is asked again.
        """
        from igtui.core.passphrase import get_passphrase

        return get_passphrase(environ=self.environ, passphrase_file=self.passphrase_file, confirm=confirm,
                              prompt=prompt, isatty=isatty, check=check)

    def open_store(self, *, unlock: bool, will_unlock: bool = False) -> Store:
        """Open the store; unlock it when the command needs secrets.

        At a terminal prompt a wrong passphrase may be typed again, up to three tries; a
        passphrase from the environment, a file or a command is tried once (retrying it would
        only fail the same way).

        With `unlock` (or `will_unlock`: the caller calls `unlock(store)` itself, soon), the key
        derivation starts before the store's modules are even imported, in a forked helper,
        when the passphrase needs no prompt and no command (`igtui.core.keyahead`): the unlock
        then costs what Argon2id costs, not that plus the start-up.

        Raises:
            StoreMissing / StoreDamaged / StoreTooNew / InsecurePermissions: from Store.open.
            StoreLocked / WrongPassphrase: when `unlock` and no passphrase works.
        """
        if (unlock or will_unlock) and self.derive_ahead and not self._ahead:
            self._start_deriving()
        try:
            from igtui.core.store import Store

            store = Store.open(self.paths.database, clock=self.clock)
            if unlock:
                self.unlock(store)
        except BaseException:
            self._cancel_deriving()
            raise
        return store

    def _start_deriving(self) -> None:
        from igtui.core.keyahead import KeyAhead
        from igtui.core.passphrase import find_passphrase_quietly

        if not self.store_file.is_file():
            return  # the open reports it; a passphrase file is not even read
        found = find_passphrase_quietly(environ=self.environ, passphrase_file=self.passphrase_file)
        ahead = KeyAhead.start(self.store_file, found) if found is not None else None
        if ahead is not None:
            self._ahead.append(ahead)

    def _cancel_deriving(self) -> None:
        while self._ahead:
            self._ahead.pop().cancel()

    def unlock(self, store: Store) -> None:
        """Unlock `store` from this session's passphrase sources (three tries at a prompt).

        The process is hardened (no core dumps, not dumpable: `igtui.core.procguard`) before any
        passphrase source is read (`find_passphrase`) and again by `Store.unlock`, and once the
        store is open this session forgets its copy of `IGTUI_PASSPHRASE` (`forget_passphrase`):
        the data key is all a session needs from then on.
        """
        from igtui.core.passphrase import unlock_with_retries

        ahead = self._ahead.pop() if self._ahead else None
        try:
            unlock_with_retries(store, environ=self.environ, passphrase_file=self.passphrase_file, ahead=ahead)
        finally:
            if ahead is not None:
                ahead.cancel()  # nothing left to stop once its key was taken
            del ahead
        self.forget_passphrase()

    def forget_passphrase(self) -> None:
        """Drop this session's copy of `IGTUI_PASSPHRASE` (after an unlock, or when the TUI starts).

        `Session.resolve` copies the environment, so the copy would otherwise live as long as the
        session: the whole command, or the whole TUI (`UiServices` holds its session). Only the
        copy can be dropped: the process environment itself (`os.environ`, and the block the
        kernel put on the stack at exec) keeps the variable for the life of the process, so a
        passphrase file or command suits a long-lived process (the TUI) better. Python cannot
        wipe the string either; this drops igtui's reference, no more.
        """
        from igtui.core.passphrase import ENV_PASSPHRASE

        environ = self.environ
        if isinstance(environ, dict):
            environ.pop(ENV_PASSPHRASE, None)

    def refresh_locks(self) -> RefreshLocks:
        """The single-flight locks of this store (read-only uses: stale intents for `status`)."""
        from igtui.core.refresh.lock import RefreshLocks

        return RefreshLocks(self.locks_dir)

    # ── the HTTP door and the services on it ─────────────────────────────────────────────
    def recorder(self, store: Store, **options: Any) -> ExchangeRecorder:
        """The request-log writer for `store` (options: see ExchangeRecorder)."""
        from igtui.core.graph.requestlog import ExchangeRecorder

        return ExchangeRecorder(store, **options)

    def exchange_sink(self, recorder: Callable[[Exchange], None] | None) -> Callable[[Exchange], None] | None:
        """The GraphClient's `on_exchange`: the recorder, plus a stderr line each with `--verbose`."""
        if not self.verbose:
            return recorder
        from igtui.core.graph.redact import redact_text
        from igtui.core.safetext import plain

        def on_exchange(exchange: Exchange) -> None:
            if recorder is not None:
                recorder(exchange)
            status = exchange.status if exchange.status is not None else "no reply"
            # The URL is already redacted by the HTTP door; the second pass (shape rules included)
            # costs little and only runs with --verbose.
            url = plain(redact_text(exchange.url), limit=300)
            self.say(f"{exchange.method} {url} -> {status} ({exchange.latency_ms:.0f} ms)")

        return on_exchange

    def client(self, on_exchange: Callable[[Exchange], None] | None) -> GraphClient:
        """A GraphClient on this session's clock (enter it with `async with`)."""
        from igtui.core.graph.client import GraphClient
        from igtui.core.logsafe import install_log_redaction

        install_log_redaction()
        return GraphClient(clock=self.clock, on_exchange=self.exchange_sink(on_exchange))

    @asynccontextmanager
    async def graph(self, store: Store) -> AsyncIterator[GraphClient]:
        """A GraphClient whose exchanges land in `store`'s request log, flushed on the way out."""
        recorder = self.recorder(store)
        try:
            async with self.client(recorder) as client:
                yield client
        finally:
            recorder.flush()

    def engine(self, store: Store, client: GraphClient, **options: Any) -> RefreshEngine:
        """The refresh engine for `store`, on this session's locks and notify command."""
        from igtui.core.refresh.engine import RefreshEngine

        options.setdefault("notify_command", self.notify_command)
        return RefreshEngine(store, client, self.clock, locks_dir=self.locks_dir, **options)

    def login_flow(self, store: Store, client: GraphClient | None, *, trigger: str = "cli") -> LoginFlow:
        """The login flow for `store` (a None client serves `login start`, which sends nothing);
        a finished login's token goes to the account's sinks, as a refreshed one does."""
        from igtui.core.oauth.flow import LoginFlow

        return LoginFlow(store, client, self.clock, delivery=self.deliverer(store), trigger=trigger)

    def deliverer(self, store: Store) -> Deliverer:
        """The sink deliverer for `store`, on this session's locks and notify command (the engine
        builds the same one from the same two; `igtui sink test` and the login flow use this)."""
        from igtui.core.delivery.deliver import Deliverer
        from igtui.core.refresh.notify import Notifier

        return Deliverer(store, self.clock, locks_dir=self.locks_dir,
                         notifier=Notifier(self.notify_command, self.locks_dir), environ=self.environ)


__all__ = ["NOTIFY_ENV", "Session", "canonical_store_file", "locks_dir_for_store"]
