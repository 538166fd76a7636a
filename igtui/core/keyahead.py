"""Derive the store's key in a forked helper while the command is still starting.

An unlocking command (`igtui exec`, `token get`, `export`, `refresh`) spends ~230 ms in Argon2id
and, before it, ~100 ms starting: parsing its arguments, importing the store's modules, opening
SQLite. It used to do them one after the other. Now:

1. `prepare()`, the first thing `igtui.cli.main` does for those commands, forks a helper. The
   helper loads sqlite3 and cryptography's Argon2id, then waits on a pipe. It holds no secret.
2. `KeyAhead.start` (from `Session.open_store`), once the passphrase is at hand without asking
   anyone or running anything (`IGTUI_PASSPHRASE`, `--passphrase-file`), sends the helper the
   store file's path and the passphrase. The helper reads the KDF salt and parameters from the
   store's header, derives the key-encryption key and writes it back, while the parent goes on
   importing and opening the store.
3. `Store.unlock` takes the helper's key instead of deriving its own if and only if the helper
   derived it from the very salt and parameters the parent has just read and checked. The key is
   a pure function of (passphrase, salt, parameters), so it is exactly the key the parent would
   have derived, and a wrong passphrase fails the same AES-GCM tag either way.

Why a process and not a thread: cryptography's Argon2id holds the GIL for the whole derivation,
so a thread would only run the imports after it. Why fork and not a fresh interpreter: a fresh
Python costs ~50 ms before it can start deriving.

What keeps it safe (SECURITY.md, "The key derived ahead"):

* the helper hardens itself (`procguard.harden`: no core dump, not dumpable) before it reads
  the request, as the parent hardened itself before it found the passphrase; so the memory and
  the pipe ends of both are out of reach of the user's other processes;
* the passphrase and the key travel only through two anonymous pipes between the two processes,
  never a file, never argv or the environment; both pipes are close-on-exec, so the user's
  command never inherits them; the helper's stdin, stdout and stderr point at /dev/null, so it
  never holds a pipe someone else waits on;
* the helper never returns into the parent's code: whatever happens it ends with `os._exit`, so
  it runs no exit handler and flushes no copied buffer;
* it forks only with a single thread (a fork of a threaded process may copy a lock another
  thread held: the TUI and the test suite's workers never fork), only where `os.fork` exists,
  and only with two CPUs or more (on one, the two processes would only take turns);
  otherwise, and whenever the helper fails, exits early or read another header, the parent
  derives the key itself, as it always did;
* a helper that is not used is stopped when the command ends (`discard`) and at exit; one whose
  parent died sees the request pipe close and exits.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from igtui.core.crypto import KdfParams
    from igtui.core.passphrase import FoundPassphrase
    from igtui.core.secret import Secret

_HEADER_SQL = "SELECT kdf, kdf_salt, kdf_memory_kib, kdf_iterations, kdf_lanes FROM header WHERE id = 1"
_KEY_BYTES = 32
_MAX_REPLY = 512
"""The helper's one reply (salt, parameters, key) is far below this, and below PIPE_BUF."""
_MAX_REQUEST = 1 << 20
"""A path and a passphrase: a request longer than this is not one the parent sent."""
_SIGKILL = 9
_ENV_PASSPHRASE = "IGTUI_PASSPHRASE"
"""`igtui.core.passphrase.ENV_PASSPHRASE` (a test holds them equal): that module is not loaded yet."""


ENABLED = True
"""False only inside the test runner's own process (tests/conftest.py): an in-process CLI run
would otherwise fork the test worker for each unlock. tests/store/test_keyahead.py runs the real
path in subprocesses, as every end-to-end test of the CLI does."""


class _Helper:
    """A forked process that waits for one request (a store file and a passphrase)."""

    def __init__(self, pid: int, request_fd: int, reply_fd: int) -> None:
        self.pid = pid
        self.request_fd: int | None = request_fd
        self.reply_fd: int | None = reply_fd
        atexit.register(self.stop)

    @classmethod
    def fork(cls) -> _Helper | None:
        """The helper, or None where forking is not possible or not safe (more than one thread)."""
        if not ENABLED or not hasattr(os, "fork") or threading.active_count() != 1 or _cpus() < 2:
            return None
        request_r, request_w = os.pipe()  # close-on-exec, as every fd Python makes
        reply_r, reply_w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (request_r, request_w, reply_r, reply_w):
                os.close(fd)
            return None
        if pid == 0:  # the helper: never leaves this block other than through os._exit
            code = 1
            try:
                os.close(request_w)
                os.close(reply_r)
                _serve(request_r, reply_w)
                code = 0
            except BaseException:  # any failure (Ctrl-C included): the parent derives the key itself
                pass
            finally:
                os._exit(code)
        os.close(request_r)
        os.close(reply_w)
        return cls(pid, request_w, reply_r)

    def send(self, database: Path, passphrase: bytes) -> bool:
        """Send the one request; False when the helper is gone (the parent then derives itself)."""
        fd = self.request_fd
        if fd is None:
            return False
        self.request_fd = None
        path = os.fsencode(database)
        request = bytearray(len(path).to_bytes(4, "big") + path) + passphrase
        try:
            view = memoryview(request)
            while view:
                view = view[os.write(fd, view):]
            return True
        except OSError:
            return False
        finally:
            request[:] = bytes(len(request))
            os.close(fd)  # the end of the request: the helper reads up to here

    def receive(self) -> bytearray:
        """The helper's reply (empty when it derived nothing); blocks until the helper is done."""
        fd = self.reply_fd
        reply = bytearray()
        if fd is None:
            return reply
        self.reply_fd = None
        try:
            while len(reply) <= _MAX_REPLY:
                chunk = os.read(fd, _MAX_REPLY + 1)
                if not chunk:
                    break
                reply += chunk
        except OSError:
            reply.clear()
        except BaseException:  # Ctrl-C while waiting: do not wait for the helper to finish too
            self._kill()
            raise
        finally:
            os.close(fd)
            self._reap()
        return reply

    def stop(self) -> None:
        """Stop a helper that will not be used (idempotent)."""
        if self.request_fd is None and self.reply_fd is None:
            return
        self._kill()
        for fd in (self.request_fd, self.reply_fd):
            if fd is not None:
                os.close(fd)
        self.request_fd = self.reply_fd = None
        self._reap()

    def _kill(self) -> None:
        with contextlib.suppress(OSError):
            os.kill(self.pid, _SIGKILL)

    def _reap(self) -> None:
        atexit.unregister(self.stop)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(self.pid, 0)


def _cpus() -> int:
    """CPUs this process may run on: with one, the helper would only take turns with the parent."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_spare: _Helper | None = None
"""The helper `prepare` forked, until a `KeyAhead` takes it or `discard` stops it."""
_asked: tuple[str, Secret] | None = None
"""What `prepare` already asked the spare helper for (store file, passphrase), if anything."""


def prepare(argv: Sequence[str], environ: Mapping[str, str]) -> None:
    """Fork a helper now, while the process is small and single-threaded, for a `start` to come.

    When `argv` cannot name another store or a passphrase file (no option before `--` that starts
    like `--store` or `--passphrase-file`, abbreviations included) and `IGTUI_PASSPHRASE` is set,
    the store is the default one and the passphrase is that variable's, so the helper is asked at
    once, before the command's arguments are even parsed. `KeyAhead.start` uses that only when
    the store file and the passphrase the command then finds are exactly the ones asked for.
    """
    global _spare, _asked
    if _spare is not None:
        return
    _spare = _Helper.fork()
    if _spare is None:
        return
    words = argv[:argv.index("--")] if "--" in argv else argv
    value = environ.get(_ENV_PASSPHRASE)
    if not value or any(w.startswith(("--s", "--p")) for w in words):
        return
    from igtui.core.kdf import normalize_passphrase
    from igtui.core.paths import resolve_paths
    from igtui.core.procguard import harden
    from igtui.core.secret import Secret

    harden()  # before igtui handles the passphrase, as find_passphrase does
    try:
        database = os.path.realpath(resolve_paths(environ).database)
    except (OSError, RuntimeError, ValueError):  # e.g. IGTUI_HOME=~nobody: the session says why
        return
    if not os.path.isfile(database):
        return
    secret = Secret(value)
    if _spare.send(Path(database), normalize_passphrase(secret)):
        _asked = (database, secret)


def discard() -> None:
    """Stop the helper `prepare` forked if nothing used it (the CLI calls this when a command ends)."""
    global _spare, _asked
    helper, _spare, _asked = _spare, None, None
    if helper is not None:
        helper.stop()


class KeyAhead:
    """A key derivation running in a helper for one store file and one passphrase."""

    def __init__(self, helper: _Helper, found: FoundPassphrase) -> None:
        self._helper: _Helper | None = helper
        self.found = found
        """The passphrase the helper derives from: the unlock must use this one, not read it again."""

    @classmethod
    def start(cls, database: Path, found: FoundPassphrase) -> KeyAhead | None:
        """Have a helper (the prepared one, or a new one) derive the key of `database`; None when impossible."""
        from igtui.core.kdf import normalize_passphrase

        global _spare, _asked
        helper, asked, _spare, _asked = _spare, _asked, None, None
        if helper is not None and helper.request_fd is None:  # `prepare` already asked it
            # Plain ==, not a constant-time compare: both are this process's own passphrase.
            if asked is not None and asked[0] == str(database) and asked[1].reveal() == found.secret.reveal():
                return cls(helper, found)
            helper.stop()  # it derives for another store or passphrase: of no use here
            helper = None
        if helper is None:
            helper = _Helper.fork()
        if helper is None:
            return None
        if not helper.send(database, normalize_passphrase(found.secret)):
            helper.stop()
            return None
        return cls(helper, found)

    def take(self, salt: bytes, params: KdfParams) -> bytearray | None:
        """The helper's key if it derived it from exactly `salt` and `params`, else None.

        Blocks until the helper is done. The caller owns (and wipes) the returned buffer.
        """
        helper, self._helper = self._helper, None
        if helper is None:
            return None
        reply = helper.receive()
        try:
            expected = _prefix(bytes(salt), params.canonical())
            if len(reply) != len(expected) + _KEY_BYTES or reply[:len(expected)] != expected:
                return None
            return reply[len(expected):]
        finally:
            reply[:] = bytes(len(reply))

    def cancel(self) -> None:
        """Stop the helper if its key was not taken (an error before the unlock)."""
        helper, self._helper = self._helper, None
        if helper is not None:
            helper.stop()


def _prefix(salt: bytes, canonical: bytes) -> bytes:
    """What the reply starts with: the salt and the parameters the key was derived from."""
    return len(salt).to_bytes(1, "big") + salt + len(canonical).to_bytes(1, "big") + canonical


def _serve(request_fd: int, reply_fd: int) -> None:
    """The helper's life: harden, load, wait for the request, read the header, derive, reply.

    It loads only sqlite3 and `igtui.core.kdf`, before the request arrives.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    from igtui.core.procguard import harden

    harden()  # before the passphrase arrives: this process is never dumped or traced either
    import sqlite3

    import cryptography.hazmat.primitives.kdf.argon2  # noqa: F401 - loaded now for kdf.derive below

    from igtui.core import kdf

    request = bytearray()
    try:
        while len(request) <= _MAX_REQUEST:
            chunk = os.read(request_fd, 65536)
            if not chunk:
                break
            request += chunk
        os.close(request_fd)
        size = int.from_bytes(request[:4], "big")
        if not request or len(request) < 4 + size or len(request) > _MAX_REQUEST:
            return  # the parent went away, or sent nothing: nothing to do
        database = os.fsdecode(bytes(request[4:4 + size]))
        conn = sqlite3.connect(f"{Path(database).absolute().as_uri()}?mode=ro", uri=True)
        try:
            row = conn.execute(_HEADER_SQL).fetchone()
        finally:
            conn.close()
        if row is None or row[0] != kdf.KDF_NAME:
            return
        salt, memory_kib, iterations, lanes = row[1:]
        if kdf.salt_problem(salt) or kdf.params_problem(memory_kib, iterations, lanes):
            return  # absurd parameters are refused before any work, as the parent refuses them
        with memoryview(request) as view:  # no copy of the passphrase: the request is wiped below
            key = kdf.derive(view[4 + size:], salt, memory_kib, iterations, lanes)
    finally:
        request[:] = bytes(len(request))
    reply = bytearray(_prefix(bytes(salt), kdf.canonical(memory_kib, iterations, lanes))) + key
    try:
        os.write(reply_fd, reply)  # one write under PIPE_BUF: the parent reads all of it or nothing
    finally:
        reply[:] = bytes(len(reply))
        key[:] = bytes(len(key))


__all__ = ["KeyAhead", "discard", "prepare"]
