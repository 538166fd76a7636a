"""Copies inside tmux land in a tmux buffer of igtui's own name and are gone after the 30 s clear.

A real tmux server on a private socket (`tmux -L igtui-test-<random>`) stands in for the user's;
TMUX points at it exactly as it would inside a pane, and the 30 s pass on an injected FrozenClock.
The byte-level tests pin what igtui writes to the terminal: a plain OSC 52 (never the DCS
passthrough form, which tmux >= 3.3 drops) and, when tmux took the copy, nothing at all, since a
plain OSC 52 under `set-clipboard on` would leave the token in an automatic buffer for good.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from ui_helpers import SMALL, settle

from igtui.core.clock import FrozenClock
from igtui.core.models import Profile, TokenKind
from igtui.core.secret import Secret
from igtui.ui.clipboard import Clipboard, Ran, osc52

TOKEN = "IGAA-tmux-clipboard-canary-0123456789abcdef"


class TmuxServer:
    """A throwaway tmux server with one detached session; `env` is what a program in its pane sees."""

    def __init__(self) -> None:
        self.name = f"igtui-test-{secrets.token_hex(6)}"
        self.cli(["-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "80", "-y", "24"])
        socket, pid = self.cli(["display-message", "-p", "#{socket_path} #{pid}"]).split()
        self.socket = socket
        self.env = {"TMUX": f"{socket},{pid},0", "PATH": os.environ.get("PATH", os.defpath)}

    def cli(self, args: Sequence[str]) -> str:
        """Run `tmux -L NAME ARGS` (test setup and checks only: never the value in argv)."""
        proc = subprocess.run(["tmux", "-L", self.name, *args], capture_output=True, text=True, timeout=10,
                              check=True)
        return proc.stdout

    def buffers(self) -> dict[str, str]:
        """Every buffer on the server, by name, with its whole content.

        A buffer listed but gone by the time it is shown was deleted in between (the app's clear
        runs in its own thread while a test polls): it is not there, so it is left out.
        """
        names = self.cli(["list-buffers", "-F", "#{buffer_name}"]).split()
        found: dict[str, str] = {}
        for name in names:
            shown = subprocess.run(["tmux", "-L", self.name, "show-buffer", "-b", name], capture_output=True,
                                   text=True, timeout=10, check=False)
            if shown.returncode == 0:
                found[name] = shown.stdout
        return found

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.name, "kill-server"], capture_output=True, timeout=10, check=False)
        with contextlib.suppress(OSError):  # tmux leaves the socket file behind
            os.unlink(self.socket)


@pytest.fixture
def tmux() -> Iterator[TmuxServer]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    server = TmuxServer()
    try:
        yield server
    finally:
        server.close()


def _clipboard(environ: dict[str, str], clock: FrozenClock, writes: list[str],
               run: Callable[[Sequence[str], bytes | None], Ran] | None = None) -> Clipboard:
    return Clipboard(environ=environ, clock=clock, write=writes.append, run=run, pid=4242)


# ── a real tmux server ───────────────────────────────────────────────────────────────────────
async def test_copy_lands_in_igtuis_tmux_buffer_and_is_gone_after_30s(tmux: TmuxServer, clock: FrozenClock) -> None:
    writes: list[str] = []
    clip = _clipboard(tmux.env, clock, writes)
    notice = await clip.copy(TOKEN, what="token", secret=True)
    assert tmux.buffers() == {"igtui-4242": TOKEN}  # one named buffer, no buffer0 beside it
    assert "tmux buffer igtui-4242" in notice.text and "your terminal may block it" in notice.text
    assert writes == []  # tmux sends the OSC 52 on (load-buffer -w); igtui's own would make a buffer0
    clock.advance(timedelta(seconds=29))
    assert await clip.clear() is None and tmux.buffers() == {"igtui-4242": TOKEN}  # not yet
    clock.advance(timedelta(seconds=1))
    cleared = await clip.clear()
    assert cleared is not None and cleared.severity == "information"
    assert cleared.text.startswith("Deleted tmux buffer igtui-4242")
    assert "cannot tell whether your terminal applied it" in cleared.text  # never "cleared" for the terminal
    assert tmux.buffers() == {}
    assert not clip.pending


async def test_set_clipboard_off_is_said(tmux: TmuxServer, clock: FrozenClock) -> None:
    tmux.cli(["set-option", "-g", "set-clipboard", "off"])
    notice = await _clipboard(tmux.env, clock, []).copy("https://example.test/x", what="the URL")
    assert "set-clipboard is off" in notice.text
    assert tmux.buffers() == {"igtui-4242": "https://example.test/x"}


async def test_the_tui_copies_into_tmux_and_clears_after_30s(tmux: TmuxServer, make_app: Any, store: Any,
                                                           clock: FrozenClock) -> None:
    """The whole path: `c` on the token screen, inside (an environment pointing at) tmux."""
    from igtui.ui.screens.token_inspect import TokenInspectScreen

    store.add_app(name="shop", platform="instagram", app_id="1", redirect_uris=["https://localhost/cb"],
                  scopes=["instagram_business_basic"], secret=Secret("shop-secret-tmux-test"))
    store.save_login("shop", Profile(id="s1", user_id="17841400000000009", username="acme.studio"),
                     kind=TokenKind.IG_LONG, token=Secret(TOKEN), issued_at=clock.now() - timedelta(days=2),
                     expires_at=clock.now() + timedelta(days=58))
    app = make_app(environ=tmux.env)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TokenInspectScreen)
        await pilot.press("c")
        await settle(pilot)
        assert [b for b, v in tmux.buffers().items() if v == TOKEN] == [f"igtui-{os.getpid()}"]
        clock.advance(timedelta(seconds=31))
        for _ in range(50):  # the clear ticks once a second (real time) and runs tmux off the loop;
            if not tmux.buffers() and app.clipboard == "":  # the app forgets its copy once the worker resumes
                break
            await pilot.pause(0.1)
        assert tmux.buffers() == {}
        assert app.clipboard == ""


async def test_quitting_within_the_30s_clears_too(tmux: TmuxServer, make_app: Any, store: Any,
                                                  clock: FrozenClock) -> None:
    """The clear's timer dies with the app, so igtui clears on the way out rather than leave the token."""
    store.add_app(name="shop", platform="instagram", app_id="1", redirect_uris=["https://localhost/cb"],
                  scopes=["instagram_business_basic"], secret=Secret("shop-secret-tmux-quit"))
    store.save_login("shop", Profile(id="s1", user_id="17841400000000009", username="acme.studio"),
                     kind=TokenKind.IG_LONG, token=Secret(TOKEN), issued_at=clock.now() - timedelta(days=2),
                     expires_at=clock.now() + timedelta(days=58))
    app = make_app(environ=tmux.env)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert TOKEN in tmux.buffers().values()
    assert tmux.buffers() == {}  # no clock advanced: quitting did it


# ── the bytes written to the terminal ────────────────────────────────────────────────────────
def _fake_tmux(calls: list[tuple[list[str], bytes | None]], *, load_ok: bool) -> Callable[..., Ran]:
    def run(args: Sequence[str], stdin: bytes | None) -> Ran:
        calls.append((list(args), stdin))
        if args[0] == "show-options":
            return Ran(True, "on")
        if args[0] == "load-buffer":
            return Ran(load_ok, err="" if load_ok else "no server running on /tmp/tmux-0/x")
        return Ran(True)

    return run


async def test_inside_tmux_the_value_goes_on_stdin_and_no_passthrough_is_written(clock: FrozenClock) -> None:
    calls: list[tuple[list[str], bytes | None]] = []
    writes: list[str] = []
    clip = _clipboard({"TMUX": "/tmp/tmux-0/x,1,0"}, clock, writes, _fake_tmux(calls, load_ok=True))
    await clip.copy(TOKEN, what="token", secret=True)
    assert (["load-buffer", "-b", "igtui-4242", "-w", "-"], TOKEN.encode()) in calls
    assert all(TOKEN not in " ".join(args) for args, _ in calls)  # never in argv
    assert writes == []


async def test_inside_tmux_a_failed_load_falls_back_to_plain_osc52(clock: FrozenClock) -> None:
    writes: list[str] = []
    clip = _clipboard({"TMUX": "/tmp/tmux-0/x,1,0"}, clock, writes, _fake_tmux([], load_ok=False))
    notice = await clip.copy(TOKEN, what="token", secret=True)
    assert writes == [osc52(TOKEN)]
    assert writes[0].startswith("\x1b]52;c;") and "\x1bPtmux;" not in writes[0]  # plain, not DCS passthrough
    assert notice.severity == "warning" and "automatic buffer igtui cannot delete" in notice.text
    assert "Copied" not in notice.text


async def test_outside_tmux_plain_osc52_then_an_empty_one_at_the_clear(clock: FrozenClock) -> None:
    writes: list[str] = []
    calls: list[tuple[list[str], bytes | None]] = []
    clip = _clipboard({}, clock, writes, _fake_tmux(calls, load_ok=True))
    notice = await clip.copy(TOKEN, what="token", secret=True)
    assert writes == [f"\x1b]52;c;{base64.b64encode(TOKEN.encode()).decode()}\a"]
    assert "Copied" not in notice.text and "cannot tell" in notice.text
    clock.advance(timedelta(seconds=30))
    cleared = await clip.clear()
    assert writes[-1] == "\x1b]52;c;\a" and calls == []
    assert cleared is not None and "cannot tell whether your terminal applied it" in cleared.text
