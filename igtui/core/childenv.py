"""The environment every child igtui starts gets: igtui's own, without its passphrase sources.

One list, shared by `igtui exec`'s child, command sinks, the notify command and the tmux
clipboard helper, so no path forgets a variable. Kept apart from `core/delivery/command.py`
(which runs command sinks) because `igtui exec` needs only this, and every module it imports
is paid on each start (bench/bench_exec.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

SCRUBBED = ("IGTUI_PASSPHRASE", "IGTUI_PASSPHRASE_COMMAND", "IGTUI_NEW_PASSPHRASE", "IGTUI_CRASHPOINT")
"""What no child of igtui receives: the passphrase, the command that prints it, a new one, and
the test-only crash point."""


def child_environment(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """The child's environment: `base` without `SCRUBBED`, with a PATH, plus `extra`."""
    env = {k: v for k, v in base.items() if k not in SCRUBBED}
    env.setdefault("PATH", os.defpath)  # a session built without an environment (tests, the demo)
    env.update(extra)
    return env


__all__ = ["SCRUBBED", "child_environment"]
