"""Run `IGTUI_PASSPHRASE_COMMAND` and take its first stdout line as the passphrase.

The command is the source for cron and for password managers (rclone's `--password-command`:
`pass show igtui`, `secret-tool lookup …`). Two things make running it more than a `subprocess.run`:

* it must never hang a cron job: after `IGTUI_PASSPHRASE_COMMAND_TIMEOUT` seconds (default 30)
  it and every process it started are killed, so it runs in a process group of its own;
* a command that asks on the terminal (pinentry-tty, `read -s </dev/tty`) must be able to, and
  a background process group that reads the terminal is stopped by SIGTTIN, so the terminal is
  lent to the command's group while it runs, as a shell does for a job.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from igtui.core.errors import StoreLocked
from igtui.core.secret import Secret

if TYPE_CHECKING:
    import subprocess

ENV_COMMAND_TIMEOUT = "IGTUI_PASSPHRASE_COMMAND_TIMEOUT"
DEFAULT_COMMAND_TIMEOUT = 30.0
"""Long enough to type a passphrase into a pinentry, short enough that a stuck one is noticed."""


def command_timeout(environ: Mapping[str, str]) -> float:
    """`IGTUI_PASSPHRASE_COMMAND_TIMEOUT` in seconds, or the default when unset, unparsable or not positive."""
    try:
        value = float(environ.get(ENV_COMMAND_TIMEOUT, DEFAULT_COMMAND_TIMEOUT))
    except ValueError:
        return DEFAULT_COMMAND_TIMEOUT
    return value if 0 < value < float("inf") else DEFAULT_COMMAND_TIMEOUT


def _set_foreground(fd: int, pgid: int) -> None:
    """Make `pgid` the terminal's foreground group.

    SIGTTOU is blocked around the call: taking the terminal back happens while this process is
    in the background, and a background tcsetpgrp would otherwise stop the whole process.
    """
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
    try:
        os.tcsetpgrp(fd, pgid)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


@contextmanager
def _terminal_lent_to(pgid: int) -> Iterator[None]:
    """While the command runs in its own process group, let that group own the terminal.

    The command runs in a process group of its own so that a timeout can kill it and everything
    it started. A background group that reads the terminal is stopped by SIGTTIN, so a command
    that asks on /dev/tty (`read -s </dev/tty`, pinentry-tty) would hang; shells solve this by
    handing the terminal to the job, and so does this. Without a terminal (cron) nothing happens.
    """
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        yield
        return
    lent = False
    try:
        try:
            if os.tcgetpgrp(fd) == os.getpgrp():
                _set_foreground(fd, pgid)
                lent = True
                # It may have touched the terminal before it was handed over, and been stopped.
                os.killpg(pgid, signal.SIGCONT)
        except OSError:
            pass
        yield
    finally:
        if lent:
            with suppress(OSError):
                _set_foreground(fd, os.getpgrp())
        os.close(fd)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the command's process group (the shell and all it started), then reap the shell.

    The pipe is closed rather than drained: a process that escaped the group (setsid) could keep
    it open forever, which is exactly the hang this exists to end.
    """
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with suppress(Exception):  # a shell that will not die must not turn into a traceback
        proc.wait(timeout=5)
    if proc.stdout is not None:
        proc.stdout.close()


def run_passphrase_command(command: str, *, timeout: float = DEFAULT_COMMAND_TIMEOUT) -> Secret:
    """Run `command` through the shell; its first stdout line is the passphrase.

    stderr is left attached to the terminal so a command that asks (gpg's pinentry) can talk.
    After `timeout` seconds the command's whole process group is killed.

    Raises:
        StoreLocked: the command could not run, failed, timed out, or printed no passphrase.
    """
    import subprocess  # lazy: most runs take the passphrase from elsewhere

    try:
        proc = subprocess.Popen(command, shell=True, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                process_group=0)
    except OSError as exc:
        raise StoreLocked(f"IGTUI_PASSPHRASE_COMMAND could not run: {exc.strerror}") from None
    timed_out = False
    try:
        with _terminal_lent_to(proc.pid):
            try:
                out, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc)
    except BaseException:  # Ctrl-C, or anything else: leave nothing running behind us
        _kill_group(proc)
        raise
    if timed_out:
        raise StoreLocked(
            f"IGTUI_PASSPHRASE_COMMAND did not finish within {timeout:g} s and was stopped "
            f"(is it waiting for input?); set {ENV_COMMAND_TIMEOUT} to allow longer"
        )
    if proc.returncode != 0:
        raise StoreLocked(f"IGTUI_PASSPHRASE_COMMAND failed (exit status {proc.returncode})")
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError:
        raise StoreLocked("IGTUI_PASSPHRASE_COMMAND printed something that is not UTF-8") from None
    first = text.split("\n", 1)[0]
    first = first[:-1] if first.endswith("\r") else first
    if not first:
        raise StoreLocked("IGTUI_PASSPHRASE_COMMAND printed an empty passphrase")
    return Secret(first)


__all__ = ["DEFAULT_COMMAND_TIMEOUT", "ENV_COMMAND_TIMEOUT", "command_timeout", "run_passphrase_command"]
