"""Keep an unlocked igtui out of core dumps and away from same-user debuggers.

A process that has unlocked the store holds the data key, every token it touched, and, for a
moment, the passphrase. A core dump of it (SIGABRT, SIGSEGV, a `gcore`, a crash reporter) copies
all of that to a file, typically in the current directory; an audit found the passphrase, the raw
32-byte data key and a token in a 34 MB core of `igtui refresh`. So, as ssh-agent and gpg-agent do,
every process that is about to handle a passphrase calls `harden()`:

* `RLIMIT_CORE` soft and hard to 0: the kernel writes no core file, and the process cannot raise
  the limit again (the hard limit only goes down without privilege). The kernel does not apply
  the limit when `core_pattern` pipes cores to a program (systemd-coredump, apport, which may
  honour it or not), so the limit alone is not enough on Linux:
* on Linux, `prctl(PR_SET_DUMPABLE, 0)`: the kernel dumps no core at all, to a file or a pipe, no
  `ptrace` attach by other processes of the same user (gdb, py-spy, `gcore`), and
  `/proc/PID/mem`, `environ` and `maps` become readable by root only, which also hides an
  `IGTUI_PASSPHRASE` in the environment from the user's other processes. The flag is per process
  and is not inherited through `exec`, so the passphrase command and the notify command are not
  affected; the core limit is inherited, which is harmless.

Neither step can fail loudly: on a platform without `resource` or `prctl` (Windows, macOS for
the prctl part) `harden()` does what it can and reports what it did. It is idempotent and cheap
(two system calls), so callers call it at each place a passphrase enters the process, rather
than relying on one of them having run first. SECURITY.md says what this does not cover.

It does not make memory unreadable to root, nor to the process itself, nor does it stop swap:
Python gives no reliable way to lock or wipe `str` memory.
"""

from __future__ import annotations

import sys
import threading
from typing import NamedTuple

PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
"""From <linux/prctl.h>; stable kernel ABI since Linux 2.3.20."""

_lock = threading.Lock()


class GuardState(NamedTuple):
    """What the process looks like after `harden()`, for tests and `igtui info`-style reports.

    A NamedTuple, not a dataclass, for the reason `igtui.core.paths.Paths` gives.

    `None` means "not available on this platform" (so not known), never "failed silently".
    """

    core_limit: tuple[int, int] | None
    """(soft, hard) RLIMIT_CORE in bytes; (0, 0) once hardened."""
    dumpable: bool | None
    """Linux's PR_GET_DUMPABLE; False once hardened. None off Linux."""

    @property
    def hardened(self) -> bool:
        """Core dumps are off, and, where the platform has the flag, the process is not dumpable."""
        return self.core_limit == (0, 0) and self.dumpable is not True


def _prctl(option: int, arg: int = 0) -> int | None:
    """`prctl(option, arg, 0, 0, 0)` through libc, or None where that is not possible."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError, ImportError):
        return None
    prctl.restype = ctypes.c_int
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    try:
        result: int = prctl(option, arg, 0, 0, 0)
    except Exception:  # a foreign function must never take the unlock down with it
        return None
    return result


def _core_limit() -> tuple[int, int] | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    except (OSError, ValueError, AttributeError):
        return None
    return int(soft), int(hard)


def _no_core_files() -> None:
    try:
        import resource
    except ImportError:
        return
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (OSError, ValueError, AttributeError):
        # Should not happen (lowering is always allowed); fall back to the soft limit alone.
        try:
            _soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
            resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
        except (OSError, ValueError, AttributeError):
            pass


def state() -> GuardState:
    """The process's current core limit and dumpable flag (reads only)."""
    dumpable = _prctl(PR_GET_DUMPABLE)
    return GuardState(core_limit=_core_limit(), dumpable=None if dumpable is None or dumpable < 0 else bool(dumpable))


ENABLED = True
"""False only inside a test runner's own process (tests/conftest.py sets it). Its in-process
unlocks would otherwise make the whole run non-dumpable with a hard core limit of 0, which no
child can raise again without CAP_SYS_RESOURCE, and the tests that watch a real igtui process
(a subprocess, where this is always True) refuse to dump core could no longer run."""


def harden() -> GuardState:
    """Turn core dumps off and make the process non-dumpable (see the module docstring).

    Call it before a passphrase is read or typed and before the store is unlocked. Never raises;
    returns the resulting state so a caller (or a test) can see what the platform allowed.
    """
    if not ENABLED:
        return state()
    with _lock:
        _no_core_files()
        _prctl(PR_SET_DUMPABLE, 0)
        return state()


__all__ = ["GuardState", "harden", "state"]
