"""Regenerate the README screenshots: `python -m igtui.ui.screenshots screenshots/`.

Builds the demo (igtui.demo.start_demo: the sandbox plus a throwaway store with accounts in every
health state, produced by the real engine) under a frozen clock,
drives each screen with the keys a user would press, and saves one SVG per screen (home at
80×24 and 160×48, the rest at 80×24 and/or wide). `--text` also writes a plain-text dump of
each screen, which is handy for reviewing layouts without an SVG viewer.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SMALL = (80, 24)
LONG_LIVED = frozenset({"log-writer", "login-listen", "auto-refresh"})
"""Worker groups that wait on the outside world; screenshots do not wait for them."""
WIDE = (160, 48)
AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

SCENES: tuple[tuple[str, tuple[int, int], tuple[str, ...]], ...] = (
    ("home-80x24", SMALL, ()),
    ("home-160x48", WIDE, ()),
    ("home-filter", SMALL, ("slash", *"demo-fb")),
    ("token-80x24", SMALL, ("enter",)),
    ("token-wide", WIDE, ("slash", *"acme", "enter", "enter")),
    ("scopes-80x24", SMALL, ("l",)),
    ("scopes-wide", WIDE, ("l", "2")),
    ("login-80x24", SMALL, ("l", "n")),
    ("login-wide", WIDE, ("l", "n")),
    ("login-qr", WIDE, ("l", "n", "f3")),
    ("app-editor-80x24", SMALL, ("a",)),
    ("app-editor-wide", WIDE, ("e",)),
    ("history-80x24", SMALL, ("h",)),
    ("history-wide", WIDE, ("h",)),
    ("audit-80x24", SMALL, ("A",)),
    ("audit-wide", WIDE, ("A", "v")),  # verified: "chain intact"
    ("requests-80x24", SMALL, ("L",)),
    ("requests-wide", WIDE, ("L",)),
    ("help-80x24", SMALL, ("f1",)),
    ("palette-80x24", SMALL, ("ctrl+p", *"refresh")),
    ("confirm-80x24", SMALL, ("d",)),
    ("force-refresh-80x24", SMALL, ("F",)),  # the first row is expired: what Meta would answer
    ("copy-80x24", SMALL, ("l", "n", "f4")),  # the authorize URL: never a token in a committed image
    ("unlock-80x24", SMALL, ()),
)


def seed_reads(store: Any, clock: Any) -> None:
    """Token reads for the audit and token scenes, by pinned callers at fixed times.

    The demo reads no token itself, and a real read would record this process's pid, user and
    terminal, which differ on every run and do not belong in a committed image.
    """
    from datetime import timedelta

    from igtui.core.audit import Caller

    alice = Caller(uid=1000, user="alice", pid=4242, ppid=4200, parent="bash", tty="/dev/pts/3",
                   ssh_client="203.0.113.9", sudo_user=None)
    cron = Caller(uid=1000, user="alice", pid=5151, ppid=1, parent="cron", tty=None, ssh_client=None,
                  sudo_user=None)
    root = Caller(uid=0, user="root", pid=6161, ppid=6100, parent="sudo", tty="/dev/pts/4", ssh_client=None,
                  sudo_user="alice")
    by_name = {a.username: a for a in store.list_accounts()}
    acme, lumen = by_name["acme.studio"], by_name["lumen.photo"]
    now = clock.now()
    plan = [
        (timedelta(hours=-30), "get", lumen, cron, None, None),
        (timedelta(hours=-26), "get", acme, cron, None, None),
        (timedelta(hours=-5), "exec", lumen, alice, "INSTAGRAM_ACCESS_TOKEN", None),
        (timedelta(hours=-3), "sink", acme, cron, "dotenv", 1),
        (timedelta(minutes=-40), "export", lumen, root, "shell", None),
        (timedelta(minutes=-2), "reveal", acme, alice, None, None),
    ]
    try:
        for delta, action, account, caller, detail, sink_id in plan:
            clock.set(now + delta)
            store.append_audit(action, account, detail=detail, sink_id=sink_id, caller=caller)
    finally:
        clock.set(now)


def dump_text(app: Any) -> str:
    """The current screen as plain text (one line per row)."""
    strips = app.screen._compositor.render_strips()  # pinned textual, review aid only
    return "\n".join(strip.text.rstrip() for strip in strips)


def _prepare(name: str, work: Path) -> tuple[Any, Callable[[], None]]:
    """(services, cleanup) for one scene: a fresh demo under the frozen clock (sync: the demo
    runs its own event loop to exercise the engine, so it must happen outside ours)."""
    from igtui.core.clock import FrozenClock
    from igtui.core.store import Store
    from igtui.demo import SandboxConsent, start_demo
    from igtui.ui.services import UiServices

    home = work / name
    home.mkdir(mode=0o700)
    clock = FrozenClock(AT)
    # The demo: the real sandbox and the real engine make the rows the screenshots show.
    env = start_demo(clock=clock, seed=7, home=home)
    store, cleanup = env.store, env.close
    if name.startswith(("audit", "token")):
        seed_reads(store, clock)
    if name.startswith("unlock"):
        store = Store.open(store.path, clock=clock)
    services = UiServices.for_store(
        store, clock=clock, auto_refresh_seconds=None, countdown_seconds=None,
        environ={}, store_label="~/.local/share/igtui/igtui.db",
        terminal_consent=SandboxConsent(env.sandbox.url),  # as `igtui --demo` has it (F5/F7 on the login screen)
    )
    return services, cleanup


async def _shoot(name: str, size: tuple[int, int], keys: tuple[str, ...], out: Path, services: Any, text: bool) -> None:
    from igtui.ui.app import IgtuiApp

    app = IgtuiApp(services)
    async with app.run_test(size=size) as pilot:
        await _settle(pilot)
        for key in keys:
            await pilot.press(key)
            await _settle(pilot)
        app.save_screenshot(filename=f"{name}.svg", path=str(out))
        if text:
            (out / f"{name}.txt").write_text(dump_text(app) + "\n")


async def _settle(pilot: Any) -> None:
    from textual.worker import WorkerCancelled

    for _ in range(3):
        finite = [w for w in pilot.app.workers if w.group not in LONG_LIVED and not w.is_finished]
        if finite:  # an empty list would mean "wait for every worker", listeners included
            with suppress(WorkerCancelled):
                await pilot.app.workers.wait_for_complete(finite)
        await pilot.pause(0.05)
    await pilot.pause(0.1)


def main(argv: list[str] | None = None) -> int:
    """Write one SVG per scene (demo data, frozen clock) to `out`, so screens can be reviewed without a terminal."""
    parser = argparse.ArgumentParser(prog="python -m igtui.ui.screenshots", description=__doc__)
    parser.add_argument("out", type=Path, help="directory for the SVGs (created)")
    parser.add_argument("--text", action="store_true", help="also write a .txt dump of each screen")
    parser.add_argument("--only", help="substring: only scenes whose name contains it")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    import types

    import igtui.core.oauth.flow as flow

    # A stable authorize URL in the login screenshots (only this module's view of `secrets`).
    # A stand-in for flow's private import of `secrets`, not a module; this is a review aid only.
    flow.secrets = types.SimpleNamespace(token_urlsafe=lambda _n=None: "SCREENSHOT-STATE")  # type: ignore[assignment,attr-defined]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.chmod(work, 0o700)
        for name, size, keys in SCENES:
            if args.only and args.only not in name:
                continue
            services, cleanup = _prepare(name, work)
            try:
                asyncio.run(_shoot(name, size, keys, args.out, services, args.text))
            finally:
                cleanup()
            print(f"{args.out / name}.svg")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
