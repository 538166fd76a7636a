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
from dataclasses import dataclass

from igtui.core.oauth.listener import LOOPBACK_HOSTS, is_loopback


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


@dataclass(frozen=True, slots=True)
class Forward:
    """One port a browser on the user's own computer must reach on this machine, over `ssh -L`."""

    port: int
    target: str
    """Where the server side of the tunnel connects: ``127.0.0.1`` or ``[::1]``."""
    what: str
    """What answers there, in words ("the redirect listener", "the sandbox's consent page")."""

    @property
    def option(self) -> str:
        """The `-L` option: the same port on the user's computer as on this machine."""
        return f"-L {self.port}:{self.target}:{self.port}"


def _loopback_origin(url: str) -> tuple[str, int] | None:
    """(host, port) of an http(s) URL whose host is a loopback address this machine serves, else None."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or host not in LOOPBACK_HOSTS or port is None:
        return None
    return host, port


def ssh_forwards(redirect_uri: str, authorize_url: str | None = None) -> tuple[Forward, ...]:
    """Every port of this machine a browser elsewhere needs: the authorize URL's own origin when it is
    loopback (the sandbox, in the demo), then the loopback redirect's listener.

    A ``localhost`` redirect is forwarded to 127.0.0.1: the listener holds both 127.0.0.1 and ::1
    here, and `ssh -L` without a bind address listens on both loopbacks of the user's computer, so
    the browser's ``localhost`` reaches it whichever one it picks. An ``[::1]`` host is forwarded
    to ``[::1]``, the only address that serves it.
    """
    forwards: list[Forward] = []
    origins: list[tuple[tuple[str, int] | None, str]] = []
    if authorize_url is not None:
        origins.append((_loopback_origin(authorize_url), "the sandbox's consent page"))
    if is_loopback(redirect_uri):
        origins.append((_loopback_origin(redirect_uri), "the redirect listener"))
    for origin, what in origins:
        if origin is None or any(f.port == origin[1] for f in forwards):
            continue
        host, port = origin
        forwards.append(Forward(port, "[::1]" if host == "::1" else "127.0.0.1", what))
    return tuple(forwards)


def ssh_command(forwards: tuple[Forward, ...]) -> str:
    """The one command to run on the user's own computer (`user@host` is theirs to fill in)."""
    return "ssh -N " + " ".join(f.option for f in forwards) + " user@host"


def ssh_tunnel_hint(
    redirect_uri: str, environ: Mapping[str, str] | None = None, *, authorize_url: str | None = None
) -> str | None:
    """Under SSH, the port-forward that lets a laptop browser reach every loopback port the login uses."""
    if not under_ssh(environ):
        return None
    forwards = ssh_forwards(redirect_uri, authorize_url)
    if not forwards:
        return None
    return (
        f"you are connected over SSH: on your own machine run `{ssh_command(forwards)}` "
        "first, then open the URL there (or use `igtui login start` / `igtui login finish` and paste)"
    )


__all__ = ["Forward", "can_open_browser", "open_browser", "ssh_command", "ssh_forwards", "ssh_tunnel_hint", "under_ssh"]
