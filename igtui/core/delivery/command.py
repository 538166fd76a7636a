"""Command sinks: run the user's command with the token on stdin, under a timeout.

Why so:

* **stdin, never argv or the environment.** `/proc/PID/cmdline` and `ps` show argv to every
  user of the machine, and a child's environment is inherited by everything it starts; stdin
  is read once by the one program meant to read it. The token is written with no trailing
  newline (`gh secret set`, `vault kv put … token=-` and `kubectl --from-file=…=/dev/stdin`
  store what they read verbatim). It is in the pipe before the command starts, so a kill of
  igtui never leaves a command reading an empty stdin.
* **What the command needs to know, in the environment:** `IGTUI_ACCOUNT` (APP/username),
  `IGTUI_APP`, `IGTUI_EXPIRES_AT` (ISO 8601 UTC, empty when unknown or never),
  `INSTAGRAM_USER_ID` and `IGTUI_SINK_ID`. igtui's own passphrase variables are removed: a
  sink command is not meant to unlock the store.
* **A timeout that really ends it.** The command runs in a new session (its own process group);
  on timeout the whole group is killed, so a shell pipeline cannot leave a child running.
* **Output goes to history, redacted.** stdout and stderr (merged, in order) are kept, cut to
  the last characters, with every secret the process knows erased (`graph.redact.redact_text`:
  the token in raw, URL-encoded, base64 and hex form, plus `key=value` secrets).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass

OUTPUT_KEEP = 2000
"""Characters of output kept (the end: errors come last)."""


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """How one run of a command sink ended (every text already redacted)."""

    ok: bool
    error: str | None
    output: str
    duration_ms: float


def _clean(raw: bytes, token: str) -> str:
    # Imported here: redact's patterns cost their compile on every start-up that imports this module.
    from igtui.core.graph.redact import redact_text

    text = raw.decode("utf-8", "replace").replace(token, "***")
    text = redact_text(text)
    return text[-OUTPUT_KEEP:].strip()


def _preloaded_pipe(data: bytes) -> int | None:
    """The read end of a pipe that already holds `data` and its end of file (the write end is
    closed); None when `data` might not fit an empty pipe (then it is written after the start).

    Why before the command starts: written afterwards, a kill of igtui between the start and the
    write (a crash, a SIGKILL at a random instant) gives the command an empty stdin, and a
    command such as `cat > f.tmp && mv f.tmp f` then stores an empty token. Preloaded, the
    command reads the whole token whatever happens to igtui. Up to PIPE_BUF bytes a pipe write is
    whole and an empty pipe takes it without blocking; a token is far shorter.
    """
    if len(data) > select.PIPE_BUF:
        return None
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, data)
    except OSError:
        os.close(read_end)
        return None
    finally:
        os.close(write_end)
    return read_end


def run_command_sink(command: str, token: str, *, env: Mapping[str, str], timeout: float) -> CommandOutcome:
    """Run `command` through /bin/sh with `token` on stdin; never raises for the command's failures."""
    started = time.perf_counter()

    def took() -> float:
        return (time.perf_counter() - started) * 1000

    data = token.encode()
    stdin = _preloaded_pipe(data)
    try:
        proc = subprocess.Popen(  # a user-configured shell command, by design (like the notify command)
            ["/bin/sh", "-c", command],
            stdin=subprocess.PIPE if stdin is None else stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        return CommandOutcome(False, f"the command could not start: {exc.strerror}", "", took())
    finally:
        if stdin is not None:
            os.close(stdin)  # the child holds its own copy
    try:
        out, _ = proc.communicate(input=data if stdin is None else None, timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        try:
            out, _ = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:  # a grandchild in another session still holds the pipe
            proc.kill()
            out = b""
        return CommandOutcome(False, f"the command timed out after {timeout:g}s and was killed",
                              _clean(out or b"", token), took())
    except BaseException:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    text = _clean(out or b"", token)
    if proc.returncode != 0:
        how = f"killed by signal {-proc.returncode}" if proc.returncode < 0 else f"exited {proc.returncode}"
        tail = text.splitlines()[-1:] if text else []
        detail = f": {tail[0][:200]}" if tail else ""
        return CommandOutcome(False, f"the command {how}{detail}", text, took())
    return CommandOutcome(True, None, text, took())


__all__ = ["CommandOutcome", "run_command_sink"]
