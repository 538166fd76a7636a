"""Who is asking for a token: the caller facts an audit row records (`igtui.core.store.audit`).

Why here, once, and headless: `token get`, `export`, `exec`, a sink delivery and the TUI's
reveal, copy and show-for-copy all record the same facts, and the answer to "who read this
token" must not depend on which front end was used. Nothing here is secret, nothing here needs
the store, and nothing here can fail: a fact the system will not give (no /proc, no terminal,
a uid without a passwd entry) is recorded as None instead of stopping the read.

The facts are what the process can see about itself, so they are as trustworthy as the process:
a caller who controls the environment can set `SSH_CONNECTION` or `SUDO_USER` to anything. They
say who asked, not who is proven to have asked (SECURITY.md).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass

ACTIONS: frozenset[str] = frozenset({"get", "export", "exec", "sink", "reveal", "copy", "show"})
"""What an audit row's `action` may be: `token get`, `export`, `exec` (and each restart of an
`exec --watch` child with a new token), a sink delivery, and in the TUI a reveal (`t`), a copy
(`c`) and a show-for-manual-copy (`v`)."""

_FIELD_LIMIT = 200
"""Caller text (a user or process name, an address) is cut here: it comes from the environment."""


@dataclass(frozen=True, slots=True)
class Caller:
    """The process that read a token, as it sees itself."""

    uid: int | None
    user: str | None
    """The passwd name of `uid` (None when the uid has no entry, e.g. in a container)."""
    pid: int
    ppid: int | None
    parent: str | None
    """The parent's process name (`/proc/PPID/comm`): `bash`, `cron`, `sshd`, `python3`…"""
    tty: str | None
    """The terminal of stdin, stdout or stderr (the first that is one), e.g. `/dev/pts/3`."""
    ssh_client: str | None
    """The client address from `SSH_CONNECTION` (its first field), else from `SSH_CLIENT`."""
    sudo_user: str | None
    """`SUDO_USER`: the user who ran `sudo igtui …`."""


def _cut(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text[:_FIELD_LIMIT] if text else None


def _user_name(uid: int) -> str | None:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError, OSError):
        return None


def _process_name(pid: int) -> str | None:
    """A process's name from /proc (Linux); None where there is no /proc or it is gone."""
    with contextlib.suppress(OSError), open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
        return _cut(f.read())
    return None


def _tty() -> str | None:
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            if os.isatty(fd):
                return os.ttyname(fd)
    return None


def _ssh_client(environ: Mapping[str, str]) -> str | None:
    for name in ("SSH_CONNECTION", "SSH_CLIENT"):
        value = (environ.get(name) or "").split()
        if value:
            return _cut(value[0])
    return None


def current_caller(environ: Mapping[str, str] | None = None) -> Caller:
    """This process's caller facts (cheap: a few syscalls, no subprocess).

    Args:
        environ: Where `SSH_CONNECTION` and `SUDO_USER` are read (the session's environment; the
            process's own by default).
    """
    env = os.environ if environ is None else environ
    uid = os.getuid() if hasattr(os, "getuid") else None
    ppid = os.getppid() if hasattr(os, "getppid") else None
    return Caller(
        uid=uid,
        user=_user_name(uid) if uid is not None else None,
        pid=os.getpid(),
        ppid=ppid,
        parent=_process_name(ppid) if ppid else None,
        tty=_tty(),
        ssh_client=_ssh_client(env),
        sudo_user=_cut(env.get("SUDO_USER")),
    )


__all__ = ["ACTIONS", "Caller", "current_caller"]
