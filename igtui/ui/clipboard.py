"""Clipboard copies from the TUI: OSC 52, tmux's own named buffer, and the 30-second clear.

Why tmux gets its own path (tmux 3.3a's input.c and cmd-load-buffer.c, and checked by hand with
a tmux client nested in another tmux that records the OSC 52 it receives):

- a DCS-wrapped OSC 52 (the passthrough form) is dropped unless `allow-passthrough` is on, which
  it is not by default since tmux 3.3;
- a plain OSC 52 from a program is taken only with `set-clipboard on`, and then tmux keeps the
  value in an automatic buffer (`buffer0`, `buffer1`…) that igtui can neither name nor delete:
  every copied token would stay there. With `external` or `off` tmux ignores it;
- `tmux load-buffer -b NAME -w -` stores the value (read from stdin, never argv) in a buffer of
  igtui's own name and passes it on to the terminal's clipboard as OSC 52, whatever
  `set-clipboard` says, wherever tmux knows the terminal can take it (terminfo `Ms`);
- neither an empty OSC 52 nor an empty load-buffer changes anything in tmux, so the clear loads a
  one-space value over igtui's buffer (which also overwrites the terminal clipboard) and then
  deletes the buffer.

So inside tmux igtui uses load-buffer alone and falls back to a plain OSC 52 only when tmux
cannot be run; outside tmux it writes a plain OSC 52. No terminal answers an OSC 52, so the
words shown never claim that the terminal clipboard was set or cleared, only what was sent.
Every tmux command runs in a worker thread: the event loop never waits on a process.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from igtui.core.childenv import child_environment
from igtui.core.clock import Clock

CLEAR_SECONDS = 30.0
"""A copied secret is cleared (igtui's tmux buffer deleted, the terminal clipboard overwritten) after this long."""

TMUX_TIMEOUT = 5.0
"""A tmux command that has not answered by then is treated as failed (a wedged server must not hold a worker)."""

OVERWRITE = " "
"""What the clear loads over igtui's tmux buffer: tmux ignores an empty load, and a space pastes as nothing harmful."""


@dataclass(frozen=True)
class Ran:
    """What one tmux command did: whether it exited 0, its stdout, and its first line of stderr."""

    ok: bool
    out: str = ""
    err: str = ""


Runner = Callable[[Sequence[str], bytes | None], Ran]
"""Runs `tmux ARGS` with optional stdin; blocking, so only ever called from a worker thread."""


@dataclass(frozen=True)
class Notice:
    """The toast for a copy or a clear: plain words (shown with markup off) and a Textual severity."""

    text: str
    severity: Literal["information", "warning", "error"] = "information"


def osc52(text: str) -> str:
    """The plain OSC 52 sequence that sets the clipboard to `text` (an empty text asks the terminal to clear it)."""
    return f"\x1b]52;c;{base64.b64encode(text.encode('utf-8')).decode('ascii')}\a"


def tmux_runner(environ: Mapping[str, str]) -> Runner:
    """A Runner for the tmux server named by `environ`'s TMUX, with igtui's child environment (no passphrase)."""
    env = child_environment(environ, {})

    def run(args: Sequence[str], stdin: bytes | None) -> Ran:
        try:
            proc = subprocess.run(  # fixed argv: the value travels on stdin, never in argv
                ["tmux", *args], input=stdin if stdin is not None else b"", capture_output=True, env=env,
                timeout=TMUX_TIMEOUT, check=False, close_fds=True,
            )
        except FileNotFoundError:
            return Ran(False, err="tmux is not on PATH")
        except subprocess.TimeoutExpired:
            return Ran(False, err=f"tmux did not answer within {TMUX_TIMEOUT:g} s")
        except OSError as exc:
            return Ran(False, err=f"tmux could not start: {exc.strerror}")
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return Ran(proc.returncode == 0, proc.stdout.decode("utf-8", "replace").strip(),
                   (err[0] if err else f"exit status {proc.returncode}")[:200])

    return run


class Clipboard:
    """igtui's copies, and the clear of a copied secret once `CLEAR_SECONDS` have passed on `clock`.

    The app holds one; tests build one with a FrozenClock, a recording `write` and (for the real
    tmux test) the environment of a private tmux server.

    Args:
        environ: The process environment; TMUX set means "inside tmux" and names the server.
        clock: When the clear is due (injected, so a test passes the 30 s by advancing it).
        write: Writes an escape sequence to the terminal (the app's driver); called on the event loop.
        run: Runs tmux (default: a subprocess with igtui's child environment).
        pid: Names igtui's tmux buffer, `igtui-PID` (default: this process).
        clear_after: Seconds until a copied secret is cleared.
    """

    def __init__(self, *, environ: Mapping[str, str], clock: Clock, write: Callable[[str], None],
                 run: Runner | None = None, pid: int | None = None, clear_after: float = CLEAR_SECONDS) -> None:
        self.in_tmux = bool(environ.get("TMUX"))
        self.buffer = f"igtui-{os.getpid() if pid is None else pid}"
        self.clear_after = clear_after
        self._clock = clock
        self._write = write
        self._run = run or tmux_runner(environ)
        self._lock = asyncio.Lock()  # copies and clears run in order, never interleaved
        self._clear_at: datetime | None = None
        self._buffer_loaded = False

    @property
    def pending(self) -> bool:
        """A copied secret waits to be cleared."""
        return self._clear_at is not None

    def due(self) -> bool:
        """The copied secret's time is up (by the injected clock)."""
        return self._clear_at is not None and self._clock.now() >= self._clear_at

    async def copy(self, value: str, *, what: str, secret: bool = False, show_key: str = "v") -> Notice:
        """Put `value` where this terminal can paste it, and say exactly where it was sent.

        Args:
            value: The text to copy.
            what: Names it in the toast ("token", "the authorize URL").
            secret: Clear it after `clear_after` seconds.
            show_key: The key that shows it for copying by hand, named in the toast.
        """
        async with self._lock:
            if self.in_tmux:
                notice, reached = await self._copy_tmux(value, what)
            else:
                self._write(osc52(value))
                notice, reached = Notice(f"Sent {what} to the terminal clipboard (OSC 52); igtui cannot tell "
                                         "whether your terminal allowed it."), True
            if secret:
                self._clear_at = self._clock.now() + timedelta(seconds=self.clear_after)
                tail = f" igtui clears it in {self.clear_after:g} s."
            else:
                if reached:  # the secret was overwritten where igtui had put it: nothing left to clear
                    self._clear_at = None
                tail = ""
            return Notice(f"{notice.text}{tail} {show_key}: show it to copy by hand.", notice.severity)

    async def _copy_tmux(self, value: str, what: str) -> tuple[Notice, bool]:
        def work() -> tuple[Ran, Ran]:
            mode = self._run(["show-options", "-gv", "set-clipboard"], None)
            return mode, self._run(["load-buffer", "-b", self.buffer, "-w", "-"], value.encode("utf-8"))

        mode, loaded = await asyncio.to_thread(work)
        setting = mode.out if mode.ok else "unknown"
        if loaded.ok:
            self._buffer_loaded = True
            text = (f"Copied {what} to tmux buffer {self.buffer} (prefix ] pastes it) and asked tmux to send it "
                    "to the terminal clipboard (OSC 52; your terminal may block it).")
            if setting == "off":
                text += " tmux's set-clipboard is off: its own copies do not reach the terminal clipboard."
            return Notice(text), True
        self._write(osc52(value))
        text = f"tmux load-buffer failed ({loaded.err}). Sent {what} as plain OSC 52 instead, "
        if setting == "on":
            text += "which tmux keeps in an automatic buffer igtui cannot delete."
        else:
            text += f"which tmux ignores unless set-clipboard is on (it is {setting})."
        return Notice(text, "warning"), True

    async def clear(self) -> Notice | None:
        """Clear the copied secret if its time is up: delete igtui's tmux buffer, overwrite the terminal clipboard.

        Returns the toast, or None when nothing was due. It names what was done and what
        cannot be known (whether the terminal applied the overwrite).
        """
        async with self._lock:
            if not self.due():
                return None
            return await self._clear()

    async def clear_now(self) -> Notice | None:
        """Clear a pending secret at once, due or not (igtui is exiting: its timer would die with it)."""
        async with self._lock:
            return await self._clear() if self.pending else None

    async def _clear(self) -> Notice:
        self._clear_at = None
        if not (self.in_tmux and self._buffer_loaded):
            self._write(osc52(""))
            if self.in_tmux:  # the copy fell back to OSC 52, and tmux ignores an empty one
                return Notice("Sent an empty OSC 52, which tmux ignores: the copied value may still be in a tmux "
                              "buffer or the terminal clipboard.", "warning")
            return Notice("Sent an empty OSC 52 to clear the terminal clipboard; igtui cannot tell whether your "
                          "terminal applied it.")

        def work() -> tuple[Ran, Ran]:
            overwrite = self._run(["load-buffer", "-b", self.buffer, "-w", "-"], OVERWRITE.encode())
            return overwrite, self._run(["delete-buffer", "-b", self.buffer], None)

        overwrite, deleted = await asyncio.to_thread(work)
        if not deleted.ok:
            return Notice(f"Could not delete tmux buffer {self.buffer} ({deleted.err}): it may still hold the "
                          f"copied value. Run: tmux delete-buffer -b {self.buffer}", "error")
        self._buffer_loaded = False
        if overwrite.ok:
            return Notice(f"Deleted tmux buffer {self.buffer} and asked tmux to overwrite the terminal clipboard "
                          "(OSC 52); igtui cannot tell whether your terminal applied it.")
        return Notice(f"Deleted tmux buffer {self.buffer}; the terminal clipboard could not be overwritten "
                      f"({overwrite.err}) and may still hold the copied value.", "warning")


__all__ = ["CLEAR_SECONDS", "Clipboard", "Notice", "Ran", "Runner", "osc52", "tmux_runner"]
