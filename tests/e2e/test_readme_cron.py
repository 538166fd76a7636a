"""The README's cron line works in cron's own environment: PATH=/usr/bin:/bin, no virtualenv.

The line is read from the README itself, so the test breaks when the README's promise does.
Only the two placeholders a user replaces are substituted: the absolute path (taken from
`igtui info --json`, as the README says) and the passphrase command (`pass` is not installed
here; `cat` of a private file stands in).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from refresh_support import PASSPHRASE, REPO_ROOT, make_store, seed_ig

PLACEHOLDER = "/home/you/.local/bin/igtui"


def _readme_cron_command() -> str:
    """The command part of the README's cron line (the five time fields dropped)."""
    readme = (REPO_ROOT / "README.md").read_text()
    block = re.search(r"```cron\n(.+?)\n```", readme, re.S)
    assert block, "the README has no ```cron block"
    fields = block.group(1).strip().split(None, 5)
    return fields[5]


def _installed_igtui() -> str:
    script = Path(sys.executable).with_name("igtui")
    assert script.exists(), f"the igtui console script is not installed beside {sys.executable}"
    r = subprocess.run([str(script), "info", "--json"], capture_output=True, text=True, timeout=60)
    path = json.loads(r.stdout)["executable"]
    assert path and Path(path).is_absolute()
    return str(path)


def test_the_readme_cron_line_runs_with_crons_path(tmp_path: Path, sandbox: Any, admin: Any) -> None:
    home = tmp_path / ".local" / "share" / "igtui"  # the default store of a user whose HOME is tmp_path
    home.mkdir(mode=0o700, parents=True)
    store = make_store(home / "igtui.db", sandbox.url)
    seed_ig(store, admin, "lumen.photo", age_days=61)  # expired: the run must say so
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(0o600)

    command = _readme_cron_command()
    assert PLACEHOLDER in command, "the README's cron line must use an absolute path"
    command = command.replace(PLACEHOLDER, shlex.quote(_installed_igtui()))
    command = command.replace("'pass show igtui'", shlex.quote(f"cat {secret}"))
    cron_env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SHELL": "/bin/sh", "LOGNAME": "root"}
    r = subprocess.run(["/bin/sh", "-c", command], env=cron_env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 4, r.stderr
    assert r.stdout.startswith("EXPIRED: demo-ig/lumen.photo"), r.stdout + r.stderr

    # The line as a newcomer would first write it, with a bare `igtui`, fails there.
    bare = command.split(shlex.quote(_installed_igtui()), 1)
    r = subprocess.run(["/bin/sh", "-c", "igtui".join(bare)], env=cron_env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 127 and "not found" in r.stderr
