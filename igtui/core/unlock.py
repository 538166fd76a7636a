"""Where the passphrase comes from, in a fixed order (issue 2, security.md §2.5).

1. `IGTUI_PASSPHRASE` (convenient for scripts; the environment is visible to the same user only).
2. `--passphrase-file F` — a regular file of yours that nobody else can read.
3. `IGTUI_PASSPHRASE_COMMAND` — a shell command whose first stdout line is the passphrase
   (rclone's `--password-command`: `pass show igtui`, `secret-tool lookup …`).
4. An interactive prompt, only when stdin is a terminal.

With none of these there is a clear error, never a plaintext fallback. A passphrase is never a
command-line argument (it would show in `ps` and shell history).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from igtui.core.errors import StoreLocked, ValidationError
from igtui.core.paths import refuse_foreign_or_loose, shell_quote
from igtui.core.secret import Secret

ENV_PASSPHRASE = "IGTUI_PASSPHRASE"
ENV_COMMAND = "IGTUI_PASSPHRASE_COMMAND"
ENV_COMMAND_TIMEOUT = "IGTUI_PASSPHRASE_COMMAND_TIMEOUT"
DEFAULT_COMMAND_TIMEOUT = 60.0
NO_SOURCE = "no passphrase: set IGTUI_PASSPHRASE_COMMAND, pass --passphrase-file, or run in a terminal"


def _strip_one_newline(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def read_passphrase_file(path: Path) -> Secret:
    """Read a passphrase file, refusing one that others can read or that is not a regular file."""
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


def run_passphrase_command(command: str, *, timeout: float = DEFAULT_COMMAND_TIMEOUT) -> Secret:
    """Run `command` through the shell; its first stdout line is the passphrase.

    stderr is left attached to the terminal so a command that asks (gpg's pinentry) can talk.
    """
    import subprocess  # lazy: most runs take the passphrase from elsewhere

    try:
        done = subprocess.run(command, shell=True, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise StoreLocked(f"IGTUI_PASSPHRASE_COMMAND did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise StoreLocked(f"IGTUI_PASSPHRASE_COMMAND could not run: {exc.strerror}") from None
    if done.returncode != 0:
        raise StoreLocked(f"IGTUI_PASSPHRASE_COMMAND failed (exit status {done.returncode})")
    try:
        text = done.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise StoreLocked("IGTUI_PASSPHRASE_COMMAND printed something that is not UTF-8") from None
    first = text.split("\n", 1)[0]
    first = first[:-1] if first.endswith("\r") else first
    if not first:
        raise StoreLocked("IGTUI_PASSPHRASE_COMMAND printed an empty passphrase")
    return Secret(first)


def _prompt(prompt: str) -> str:
    import getpass

    try:
        return getpass.getpass(prompt)
    except EOFError:
        raise StoreLocked("no passphrase was entered") from None


def get_passphrase(
    *,
    environ: Mapping[str, str] = os.environ,
    passphrase_file: Path | str | None = None,
    confirm: bool = False,
    prompt: str = "Passphrase: ",
    isatty: Callable[[], bool] | None = None,
    ask: Callable[[str], str] = _prompt,
) -> Secret:
    """The passphrase from the first available source (see the module docstring).

    Args:
        confirm: For `init`/`passwd` at a terminal: ask twice and insist they match.
        isatty, ask: injected by tests; default to `sys.stdin.isatty` and `getpass`.

    Raises:
        StoreLocked: no source, or a source that failed.
        InsecurePermissions: a passphrase file others can read.
        ValidationError: the two prompted entries differ.
    """
    value = environ.get(ENV_PASSPHRASE)
    if value:
        return Secret(value)
    if passphrase_file:
        return read_passphrase_file(Path(passphrase_file))
    command = environ.get(ENV_COMMAND)
    if command:
        try:
            timeout = float(environ.get(ENV_COMMAND_TIMEOUT, DEFAULT_COMMAND_TIMEOUT))
        except ValueError:
            timeout = DEFAULT_COMMAND_TIMEOUT
        return run_passphrase_command(command, timeout=timeout)
    tty = isatty() if isatty is not None else sys.stdin is not None and sys.stdin.isatty()
    if not tty:
        raise StoreLocked(NO_SOURCE)
    first = ask(prompt)
    if confirm:
        second = ask("Repeat: ")
        if first != second:
            raise ValidationError("the two passphrases differ")
    return Secret(first)


__all__ = ["NO_SOURCE", "get_passphrase", "read_passphrase_file", "run_passphrase_command"]
