"""Whether and how to open the consent page in a browser, and what to tell an SSH user instead.

`webbrowser.open` on a headless or remote machine does surprising things: it may start a text
browser inside the user's terminal (lynx, w3m) or silently do nothing. So igtui opens a browser
only where one can plausibly appear: not under SSH, and on Linux only with a graphical session.
"""

from __future__ import annotations

import os
import sys
import urllib.parse
from collections.abc import Mapping

from igtui.core.oauth.listener import is_loopback


def under_ssh(environ: Mapping[str, str] | None = None) -> bool:
    """True when this process runs in an SSH session."""
    env = os.environ if environ is None else environ
    return bool(env.get("SSH_CONNECTION") or env.get("SSH_CLIENT") or env.get("SSH_TTY"))


def can_open_browser(environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether opening a local browser makes sense here."""
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    if under_ssh(env):
        return False
    if plat.startswith("linux") or plat.startswith("freebsd") or plat.startswith("openbsd"):
        return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
    return True


def open_browser(url: str, environ: Mapping[str, str] | None = None) -> bool:
    """Try to open `url` in a graphical browser; False when it was not attempted or failed."""
    if not can_open_browser(environ):
        return False
    import webbrowser

    try:
        # Text-mode browsers would take over the terminal igtui is printing to.
        for name in ("lynx", "links", "elinks", "w3m", "www-browser"):
            webbrowser._browsers.pop(name, None)  # type: ignore[attr-defined]  # private registry, no API to unregister
        return bool(webbrowser.open(url, new=2))
    except Exception:
        return False


def ssh_tunnel_hint(redirect_uri: str, environ: Mapping[str, str] | None = None) -> str | None:
    """For a loopback redirect under SSH: the port-forward that lets a laptop browser reach the listener."""
    if not under_ssh(environ) or not is_loopback(redirect_uri):
        return None
    port = urllib.parse.urlsplit(redirect_uri).port
    return (
        f"you are connected over SSH: on your own machine run `ssh -N -L {port}:127.0.0.1:{port} user@host` "
        "first, then open the URL there (or use `igtui login start` / `igtui login finish` and paste)"
    )


__all__ = ["can_open_browser", "open_browser", "ssh_tunnel_hint", "under_ssh"]
