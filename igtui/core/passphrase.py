"""Where the passphrase comes from, in a fixed order, and the rules for a new one.

1. `IGTUI_PASSPHRASE` (convenient for scripts; the environment is visible to the same user only).
2. `--passphrase-file F` — a regular file of yours that nobody else can read.
3. `IGTUI_PASSPHRASE_COMMAND` — a shell command whose first stdout line is the passphrase
   (rclone's `--password-command`: `pass show igtui`, `secret-tool lookup …`). It gets
   `IGTUI_PASSPHRASE_COMMAND_TIMEOUT` seconds (default 30), then it and every process it started
   are killed: a cron job waiting on a stuck pinentry must fail loudly, not hang forever.
4. An interactive prompt, only when stdin is a terminal. Only there is a wrong passphrase asked
   for again (three tries, as ssh and gh give): a person can mistype, while a passphrase from the
   environment, a file or a command would only fail the same way again.

With none of these there is a clear error, never a plaintext fallback. A passphrase is never a
command-line argument (it would show in `ps` and shell history). Running the command (its
timeout, its process group, lending it the terminal) is `igtui.core.passphrase_command`.

Before any source is read, the process is hardened (`igtui.core.procguard.harden`: no core dumps,
not dumpable): every CLI unlock, `init`, `passwd` and the TUI's start-up read a passphrase through
here, and from then on the process holds the passphrase, then the data key and tokens. After an
unlock the passphrase is dropped: no `Secret` of it is kept, and an error out of the unlock
carries no traceback whose frames still hold it. (Python cannot wipe a `str`; dropping the last
reference is what it allows. SECURITY.md, "Tokens in Python strings".)
"""

from __future__ import annotations

import enum
import os
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from igtui.core.errors import StoreError, StoreLocked, ValidationError, WrongPassphrase
from igtui.core.passphrase_command import (
    DEFAULT_COMMAND_TIMEOUT,
    ENV_COMMAND_TIMEOUT,
    command_timeout,
    run_passphrase_command,
)
from igtui.core.paths import refuse_foreign_or_loose, shell_quote
from igtui.core.procguard import harden
from igtui.core.secret import Secret

if TYPE_CHECKING:
    from igtui.core.keyahead import KeyAhead
    from igtui.core.store import Store
    from igtui.core.store.lifecycle import DerivedKey

ENV_PASSPHRASE = "IGTUI_PASSPHRASE"
ENV_COMMAND = "IGTUI_PASSPHRASE_COMMAND"
NO_SOURCE = "no passphrase: set IGTUI_PASSPHRASE_COMMAND, pass --passphrase-file, or run in a terminal"

PROMPT_TRIES = 3
"""Tries at the terminal prompt before a wrong passphrase ends the command (ssh and gh give 3)."""

MIN_PASSPHRASE_LENGTH = 8
"""Shorter new passphrases are refused: the store file is the only barrier once it is copied."""

STRONG_PASSPHRASE_LENGTH = 16
"""New passphrases shorter than this get a hint (length is what slows an offline guesser most)."""

_COMMON = frozenset({
    "password", "passphrase", "12345678", "123456789", "1234567890", "qwertyui", "qwertyuiop",
    "iloveyou", "instagram", "igtui-passphrase", "letmein1", "abcdefgh", "11111111", "00000000",
    "password1", "passw0rd", "changeme", "trustno1", "sunshine", "football", "baseball",
})
"""A handful of the most-guessed passwords; an honest list, not a dictionary check."""


class PassphraseSource(enum.Enum):
    """Which source a passphrase came from (only the prompt is worth asking again)."""

    ENV = "IGTUI_PASSPHRASE"
    FILE = "--passphrase-file"
    COMMAND = "IGTUI_PASSPHRASE_COMMAND"
    PROMPT = "prompt"


@dataclass(frozen=True, slots=True)
class FoundPassphrase:
    """A passphrase and where it came from."""

    secret: Secret
    source: PassphraseSource


def _strip_one_newline(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def read_passphrase_file(path: Path) -> Secret:
    """Read a passphrase file, refusing one that others can read or that is not a regular file."""
    harden()  # `passwd --new-passphrase-file` reads one before anything else has hardened us
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise StoreLocked(f"cannot read the passphrase file {shell_quote(path)}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise StoreLocked(f"the passphrase file {shell_quote(path)} is not a regular file")
        refuse_foreign_or_loose(st, path, what="the passphrase file", mask=0o077, mode="600",
                                problem="readable by other users")
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
            if sum(len(c) for c in chunks) > 1 << 20:
                raise StoreLocked(f"the passphrase file {shell_quote(path)} is larger than 1 MiB")
    finally:
        os.close(fd)
    try:
        text = b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise StoreLocked(f"the passphrase file {shell_quote(path)} is not UTF-8") from None
    return Secret(_strip_one_newline(text))


# ── sources in order ─────────────────────────────────────────────────────────────────────────


def _prompt(prompt: str) -> str:
    import getpass

    try:
        return getpass.getpass(prompt)
    except EOFError:
        raise StoreLocked("no passphrase was entered") from None


def find_passphrase(
    *,
    environ: Mapping[str, str] = os.environ,
    passphrase_file: Path | str | None = None,
    confirm: bool = False,
    prompt: str = "Passphrase: ",
    isatty: Callable[[], bool] | None = None,
    ask: Callable[[str], str] = _prompt,
    check: Callable[[Secret], object] | None = None,
) -> FoundPassphrase:
    """The passphrase from the first available source, and which source it was.

    Args:
        confirm: For `init`/`passwd` at a terminal: ask twice and insist they match.
        isatty, ask: injected by tests; default to `sys.stdin.isatty` and `getpass`.
        check: Called on a prompted passphrase before it is asked again for `confirm`, so a
            refused one (too short) is refused before the user types it a second time.

    Raises:
        StoreLocked: no source, or a source that failed.
        InsecurePermissions: a passphrase file others can read.
        ValidationError: the two prompted entries differ (or `check` refused it).
    """
    harden()  # before the passphrase is in the process: no core dump may ever hold it
    value = environ.get(ENV_PASSPHRASE)
    if value:
        return FoundPassphrase(Secret(value), PassphraseSource.ENV)
    if passphrase_file:
        return FoundPassphrase(read_passphrase_file(Path(passphrase_file)), PassphraseSource.FILE)
    command = environ.get(ENV_COMMAND)
    if command:
        secret = run_passphrase_command(command, timeout=command_timeout(environ))
        return FoundPassphrase(secret, PassphraseSource.COMMAND)
    tty = isatty() if isatty is not None else sys.stdin is not None and sys.stdin.isatty()
    if not tty:
        raise StoreLocked(NO_SOURCE)
    first = Secret(ask(prompt))
    if check is not None:
        check(first)
    if confirm:
        second = ask("Repeat: ")
        if first.reveal() != second:
            raise ValidationError("the two passphrases differ")
    return FoundPassphrase(first, PassphraseSource.PROMPT)


def find_passphrase_quietly(
    *, environ: Mapping[str, str] = os.environ, passphrase_file: Path | str | None = None,
) -> FoundPassphrase | None:
    """The passphrase `find_passphrase` would find, when that needs no one and runs nothing.

    That is `IGTUI_PASSPHRASE` or `--passphrase-file`, in `find_passphrase`'s order; None for the
    passphrase command and the prompt, and for a file that cannot be used (the unlock reads it
    again and reports why, in its usual place). Used to start deriving the key before the store
    is opened (`igtui.core.keyahead`) without running a command or asking anything early.
    """
    harden()
    value = environ.get(ENV_PASSPHRASE)
    if value:
        return FoundPassphrase(Secret(value), PassphraseSource.ENV)
    if passphrase_file:
        try:
            return FoundPassphrase(read_passphrase_file(Path(passphrase_file)), PassphraseSource.FILE)
        except StoreError:
            return None
    return None


def get_passphrase(
    *,
    environ: Mapping[str, str] = os.environ,
    passphrase_file: Path | str | None = None,
    confirm: bool = False,
    prompt: str = "Passphrase: ",
    isatty: Callable[[], bool] | None = None,
    ask: Callable[[str], str] = _prompt,
    check: Callable[[Secret], object] | None = None,
) -> Secret:
    """The passphrase from the first available source (see `find_passphrase`)."""
    return find_passphrase(environ=environ, passphrase_file=passphrase_file, confirm=confirm, prompt=prompt,
                           isatty=isatty, ask=ask, check=check).secret


def _say(line: str) -> None:
    print(f"igtui: {line}", file=sys.stderr, flush=True)


def unlock_with_retries(
    store: Store,
    *,
    environ: Mapping[str, str] = os.environ,
    passphrase_file: Path | str | None = None,
    tries: int = PROMPT_TRIES,
    prompt: str = "Passphrase: ",
    isatty: Callable[[], bool] | None = None,
    ask: Callable[[str], str] = _prompt,
    say: Callable[[str], None] = _say,
    ahead: KeyAhead | None = None,
) -> PassphraseSource:
    """Unlock `store` from the first passphrase source; at the terminal prompt, allow `tries` tries.

    A wrong passphrase typed at the prompt is asked for again (with a line through `say`); one
    from `IGTUI_PASSPHRASE`, `--passphrase-file` or `IGTUI_PASSPHRASE_COMMAND` fails at once.

    Args:
        store: An opened store (`Store.open`).
        environ, passphrase_file: The sources, as for `find_passphrase`.
        tries: Prompted attempts in all (at least 1).
        isatty, ask, say: Injected by tests; default to the real terminal and stderr.
        ahead: A derivation started on a passphrase found quietly (`find_passphrase_quietly`):
            the first try uses that passphrase and, when it matches the header, that key.

    Returns:
        Where the passphrase that worked came from.

    Raises:
        WrongPassphrase: the passphrase did not open the store (after `tries` tries at a prompt).
        StoreLocked, InsecurePermissions: no source, or a source that failed (never retried).
        StoreDamaged: from `Store.unlock`.
    """
    tries = max(1, tries)
    attempt = 0
    while True:
        attempt += 1
        derived = None
        if ahead is not None and attempt == 1:
            found, derived = ahead.found, ahead.take
        else:
            found = find_passphrase(environ=environ, passphrase_file=passphrase_file, prompt=prompt,
                                    isatty=isatty, ask=ask)
        source = found.source
        error = unlock_dropping(store, found, derived=derived)
        del found  # the last reference igtui holds to this passphrase
        if error is None:
            return source
        if not isinstance(error, WrongPassphrase) or source is not PassphraseSource.PROMPT:
            raise error
        if attempt >= tries:
            message = f"wrong passphrase ({tries} tries)" if tries > 1 else "wrong passphrase"
            raise WrongPassphrase(message)
        left = tries - attempt
        say(f"wrong passphrase; try again ({left} {'try' if left == 1 else 'tries'} left)")


def unlock_dropping(store: Store, found: FoundPassphrase | Secret, *,
                    derived: DerivedKey | None = None) -> StoreError | None:
    """`store.unlock` with the passphrase, returning (not raising) an expected error, detached.

    Why detached: an exception's traceback keeps every frame it passed through alive, and the
    frames of the unlock (here, `Store.unlock`, `Vault.unwrap`) hold the passphrase as a local;
    so does its `__context__` (cryptography's InvalidTag, raised inside the KDF's caller). A
    caller that keeps the error (the TUI shows it; a test inspects it) would keep the passphrase
    too. The returned error has no traceback, cause or context: its message is all anyone reads.
    Anything that is not a StoreError is a bug and propagates as it is. (`Store.unlock`
    hardens the process before it derives the key.)
    """
    secret = found.secret if isinstance(found, FoundPassphrase) else found
    try:
        store.unlock(secret, derived=derived)
    except StoreError as exc:
        error: StoreError | None = exc
    else:
        error = None
    finally:
        del secret
    if error is not None:
        error.__traceback__ = None
        error.__cause__ = None
        error.__context__ = None
        error.__suppress_context__ = True
    return error


# ── new passphrases ──────────────────────────────────────────────────────────────────────────


def check_new_passphrase(passphrase: Secret) -> str | None:
    """Refuse a new passphrase that is too short; return a one-line hint for a weak one, else None.

    Anyone who copies the store file can guess offline for as long as they like; Argon2id makes
    each guess slow, not impossible. So length matters most, and the hint says so plainly. This
    is a rough rule (length, repetition, a few famous passwords), not a strength meter.

    Raises:
        ValidationError: shorter than MIN_PASSPHRASE_LENGTH characters.
    """
    value = passphrase.reveal()
    if len(value) < MIN_PASSPHRASE_LENGTH:
        raise ValidationError(
            f"the passphrase is too short ({len(value)} character{'s' if len(value) != 1 else ''}); "
            f"use at least {MIN_PASSPHRASE_LENGTH}, e.g. four random words"
        )
    lowered = value.lower()
    if lowered in _COMMON or len(set(lowered)) < 4:
        return "hint: this passphrase is among the first anyone would guess; choose another (four random words)"
    if len(value) < STRONG_PASSPHRASE_LENGTH:
        return (f"hint: a passphrase of {len(value)} characters is accepted but guessable offline by anyone "
                f"who copies the store; {STRONG_PASSPHRASE_LENGTH}+ characters (four random words) are far stronger")
    return None


__all__ = [
    "DEFAULT_COMMAND_TIMEOUT",
    "ENV_COMMAND",
    "ENV_COMMAND_TIMEOUT",
    "ENV_PASSPHRASE",
    "MIN_PASSPHRASE_LENGTH",
    "NO_SOURCE",
    "PROMPT_TRIES",
    "FoundPassphrase",
    "PassphraseSource",
    "check_new_passphrase",
    "command_timeout",
    "find_passphrase",
    "get_passphrase",
    "read_passphrase_file",
    "run_passphrase_command",
    "unlock_dropping",
    "unlock_with_retries",
]
