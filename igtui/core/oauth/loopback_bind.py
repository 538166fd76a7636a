"""Which loopback sockets the listener binds for a redirect host, how, and what a refusal says.

A browser may send a ``localhost`` redirect to 127.0.0.1 or to ::1, whatever /etc/hosts says, so
the listener must hold every address the redirect's host can mean: a program holding the other
one would receive the code (SECURITY.md, "Other users of the machine"). An IP-literal redirect
means exactly that address. ::1 behind ``localhost`` is optional only in one sense: on a system
with no IPv6 loopback (EADDRNOTAVAIL, EAFNOSUPPORT) nobody can bind it, so IPv4 alone is safe.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass

from igtui.core.errors import OAuthError

NO_IPV6 = frozenset({errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT})
"""What binding ::1 fails with where the system has no IPv6 loopback."""

PASTE = "rerun with --no-browser --paste and paste the URL your browser was redirected to"


class ListenRefused(OAuthError):
    """A loopback address of the redirect could not be bound.

    The message is the CLI's one line (it ends with the CLI's way out, `PASTE`); `where` and `why`
    let another front end (the TUI) say the same refusal with its own way out instead of flags.
    """

    def __init__(self, message: str, *, where: str, why: str) -> None:
        super().__init__(message)
        self.where = where
        """The address:port that was refused, as a URL writes it."""
        self.why = why
        """Why, in plain words ("the port is in use", …), without a way out."""


def shown(address: str, port: int) -> str:
    """address:port as a URL writes it (an IPv6 address in brackets)."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


@dataclass(frozen=True, slots=True)
class Bind:
    """One address to listen on for a redirect host."""

    family: socket.AddressFamily
    address: str
    optional: bool
    """True for ::1 behind ``localhost``: absent (no IPv6 loopback) is fine, held by someone is not."""


def bind_plan(host: str) -> tuple[Bind, ...]:
    """Every address a browser may connect to for this redirect host (see the module docstring)."""
    if host == "::1":
        return (Bind(socket.AF_INET6, "::1", False),)
    if host == "localhost":
        return (Bind(socket.AF_INET, "127.0.0.1", False), Bind(socket.AF_INET6, "::1", True))
    return (Bind(socket.AF_INET, "127.0.0.1", False),)


def listening_socket(bind: Bind, port: int) -> socket.socket:
    """A non-blocking listening socket on exactly bind.address:port.

    SO_REUSEADDR only lets a port in TIME_WAIT be bound again; on Linux it never lets two listeners
    share a port, which is the refusal wanted. SO_REUSEPORT, which would, is never set.
    """
    sock = socket.socket(bind.family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if bind.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((bind.address, port))
        sock.listen(32)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_error(bind: Bind, port: int, host: str, exc: OSError) -> ListenRefused:
    """The one-line refusal: which address and port, why, and the way out (paste-back)."""
    where = shown(bind.address, port)
    if exc.errno == errno.EADDRINUSE:
        if bind.optional:
            why = (f"the port is in use by another program, which a browser that resolves {host} to ::1 "
                   "would hand the login")
            return ListenRefused(f"cannot listen on {where} ({why}); stop that program, or {PASTE}",
                                 where=where, why=why)
        why = "the port is in use"
    elif exc.errno == errno.EACCES:
        why = "permission denied for that port"
    else:
        why = exc.strerror or "error"
        return ListenRefused(f"cannot listen on {where}: {why}; {PASTE}", where=where, why=why)
    return ListenRefused(f"cannot listen on {where} ({why}); {PASTE}", where=where, why=why)


__all__ = ["NO_IPV6", "PASTE", "Bind", "ListenRefused", "bind_error", "bind_plan", "listening_socket", "shown"]
