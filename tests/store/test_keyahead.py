"""The key derived ahead (igtui.core.keyahead), on the real path: a subprocess of its own.

The test runner's process never forks a helper (tests/conftest.py turns it off), so each test
here runs a small script in a fresh Python that counts the parent's own Argon2id runs
(`crypto.derive_kek`, which the helper never calls) and then runs igtui's real `cli.main`. What
they show:

* an unlock whose passphrase came from `IGTUI_PASSPHRASE` or `--passphrase-file` uses the
  helper's key and derives nothing itself, whether the helper was asked before the arguments
  were parsed (the default store) or by the session (`--store`, a passphrase file);
* a passphrase command (or a prompt) is never run early: the parent derives, as before;
* a wrong passphrase is refused exactly as before, and so is a header with absurd parameters;
* a helper asked for another store or another passphrase is never used;
* the helper hardens itself (core limit 0) and nothing is left running or unreaped.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from igtui.core import keyahead, passphrase
from igtui.core.crypto import KdfParams
from igtui.core.errors import StoreDamaged, WrongPassphrase
from igtui.core.models import Profile, TokenKind
from igtui.core.secret import Secret
from igtui.core.store import Store

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or keyahead._cpus() < 2,
                                reason="the helper needs fork and two CPUs")

REPO_ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "key ahead test passphrase"
TOKEN = "IGAA-keyahead-canary-0123456789abcdef"
ACCOUNT = "shop/acme.studio"

# Runs igtui's CLI in a fresh interpreter and reports, on its last stderr line, the exit code,
# how many times the parent itself derived a key, and whether a child is left unreaped.
HARNESS = textwrap.dedent("""
    import json, os, sys
    import igtui.core.crypto as crypto
    calls = []
    real = crypto.derive_kek
    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    crypto.derive_kek = counting
    from igtui import cli
    code = cli.main(sys.argv[1:])
    sys.stdout.flush()
    try:
        os.waitpid(-1, os.WNOHANG)  # returns at once: a child is left, running or not reaped
        left = True
    except ChildProcessError:
        left = False
    sys.stderr.write("\\n" + json.dumps({"code": code, "derived": len(calls), "left": left}) + "\\n")
""")


def _make_store(path: Path, passphrase: str = PASSPHRASE, token: str = TOKEN) -> None:
    store = Store.create(path, Secret(passphrase), kdf=KdfParams.TESTING)
    store.add_app(name="shop", platform="instagram", app_id="1", redirect_uris=["https://localhost/cb"],
                  scopes=["instagram_business_basic"], secret=Secret("shop-secret-keyahead"))
    now = datetime.now(UTC)
    store.save_login("shop", Profile(id="s1", user_id="17841400000000009", username="acme.studio"),
                     kind=TokenKind.IG_LONG, token=Secret(token), issued_at=now - timedelta(days=2),
                     expires_at=now + timedelta(days=58))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    _make_store(home / "igtui.db")
    return home


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGTUI_")}
    env.update(IGTUI_HOME=str(home), PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])))
    env.update(extra)
    return env


def _run(script: str, args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], Any]:
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True,
                          timeout=60)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return done, report


def _cli(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], Any]:
    return _run(HARNESS, args, env)


@pytest.mark.parametrize("form", ["default store", "--store", "--store after the command", "exec"])
def test_the_unlock_takes_the_helpers_key(home: Path, form: str) -> None:
    args = {
        "default store": ["token", "get", ACCOUNT],
        "--store": ["--store", str(home / "igtui.db"), "token", "get", ACCOUNT],
        "--store after the command": ["token", "get", ACCOUNT, "--store", str(home / "igtui.db")],
        "exec": ["exec", ACCOUNT, "--", sys.executable, "-c",
                 "import os; print(os.environ['INSTAGRAM_ACCESS_TOKEN'])"],
    }[form]
    env = _env(home if form != "--store" else home / "elsewhere", IGTUI_PASSPHRASE=PASSPHRASE)
    done, report = _cli(args, env)
    assert report == {"code": 0, "derived": 0, "left": False}, done.stderr
    assert done.stdout.strip() == TOKEN


def test_a_passphrase_file_is_derived_ahead_too(home: Path, tmp_path: Path) -> None:
    file = tmp_path / "pass"
    file.write_text(PASSPHRASE + "\n")
    file.chmod(0o600)
    done, report = _cli(["token", "get", ACCOUNT, "--passphrase-file", str(file)], _env(home))
    assert report == {"code": 0, "derived": 0, "left": False}, done.stderr
    assert done.stdout.strip() == TOKEN


def test_a_passphrase_command_is_not_run_early_and_the_parent_derives(home: Path, tmp_path: Path) -> None:
    """The control: the harness does see the parent derive when no helper is asked."""
    done, report = _cli(["token", "get", ACCOUNT],
                        _env(home, IGTUI_PASSPHRASE_COMMAND=f"printf %s '{PASSPHRASE}'"))
    assert report == {"code": 0, "derived": 1, "left": False}, done.stderr
    assert done.stdout.strip() == TOKEN


def test_a_wrong_passphrase_is_refused_as_before(home: Path) -> None:
    done, report = _cli(["token", "get", ACCOUNT], _env(home, IGTUI_PASSPHRASE="not the passphrase"))
    assert report == {"code": int(WrongPassphrase.exit_code), "derived": 0, "left": False}, done.stderr
    assert "igtui: wrong passphrase" in done.stderr
    assert TOKEN not in done.stdout + done.stderr


def test_absurd_header_parameters_are_refused_before_any_derivation(home: Path) -> None:
    with sqlite3.connect(home / "igtui.db") as conn:
        conn.execute("UPDATE header SET kdf_memory_kib = 4294967296")
    done, report = _cli(["token", "get", ACCOUNT], _env(home, IGTUI_PASSPHRASE=PASSPHRASE))
    assert report == {"code": int(StoreDamaged.exit_code), "derived": 0, "left": False}, done.stderr
    assert "damaged or was tampered with" in done.stderr


@pytest.mark.parametrize("args", [["exec", "nobody/here", "--", "true"], ["token", "inspect", ACCOUNT],
                                  ["token", "get", ACCOUNT, "--var", "1BAD"]])
def test_nothing_is_left_running_when_the_key_is_not_needed(home: Path, args: list[str]) -> None:
    done, report = _cli(args, _env(home, IGTUI_PASSPHRASE=PASSPHRASE))
    assert report["left"] is False, done.stderr
    assert report["derived"] == 0


# ── the helper asked early for something else is never used ─────────────────────────────

DIRECT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import igtui.core.crypto as crypto
    calls = []
    real = crypto.derive_kek
    crypto.derive_kek = lambda *a, **k: (calls.append(1), real(*a, **k))[1]
    from igtui.core import keyahead
    from igtui.core.passphrase import FoundPassphrase, PassphraseSource
    from igtui.core.secret import Secret
    from igtui.core.store import Store
    asked_home, asked_pass, db, passphrase = sys.argv[1:5]
    opened = sys.argv[5] if len(sys.argv) > 5 else db  # the store the parent then opens
    keyahead.prepare(["token", "get", "x"], {"IGTUI_HOME": asked_home, "IGTUI_PASSPHRASE": asked_pass})
    asked = keyahead._asked is not None
    ahead = keyahead.KeyAhead.start(Path(db), FoundPassphrase(Secret(passphrase), PassphraseSource.ENV))
    store = Store.open(Path(opened))
    store.unlock(Secret(passphrase), derived=ahead.take)
    token = store.account_token(store.get_account("shop/acme.studio").id).reveal()
    sys.stderr.write(json.dumps({"code": 0, "asked": asked, "derived": len(calls), "token": token}) + "\\n")
""")


def test_a_helper_asked_for_another_store_is_not_used(home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    _make_store(other / "igtui.db", token=TOKEN + "-other")
    done, report = _run(DIRECT, [str(home), PASSPHRASE, str(other / "igtui.db"), PASSPHRASE], _env(home))
    # Reusing the first helper would hand over a key for the other salt: the parent would derive.
    assert report == {"code": 0, "asked": True, "derived": 0, "token": TOKEN + "-other"}, done.stderr


def test_a_helper_asked_with_another_passphrase_is_not_used(home: Path) -> None:
    done, report = _run(DIRECT, [str(home), "a stale passphrase", str(home / "igtui.db"), PASSPHRASE], _env(home))
    # Reusing it would hand over the stale passphrase's key: the unlock would fail as wrong.
    assert report == {"code": 0, "asked": True, "derived": 0, "token": TOKEN}, done.stderr


def test_a_key_derived_from_another_header_is_not_taken(home: Path, tmp_path: Path) -> None:
    """The helper read one store's header and the parent opened another (a file swapped between
    the two reads, a `passwd` in between): its key is for another salt, and the parent derives."""
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    _make_store(other / "igtui.db", token=TOKEN + "-other")
    done, report = _run(DIRECT, [str(home), PASSPHRASE, str(other / "igtui.db"), PASSPHRASE,
                                 str(home / "igtui.db")], _env(home))
    assert report == {"code": 0, "asked": True, "derived": 1, "token": TOKEN}, done.stderr


@pytest.mark.parametrize("argv", [["--store", "x", "token", "get", "a"], ["token", "get", "a", "--sto", "x"],
                                  ["token", "get", "a", "--passphrase-file", "f"], ["exec", "a", "--pass=f"]])
def test_no_early_request_when_the_arguments_may_name_another_store_or_passphrase(home: Path,
                                                                                  argv: list[str]) -> None:
    script = textwrap.dedent("""
        import json, sys
        from igtui.core import keyahead
        keyahead.prepare(sys.argv[2:], {"IGTUI_HOME": sys.argv[1], "IGTUI_PASSPHRASE": "p"})
        forked, asked = keyahead._spare is not None, keyahead._asked is not None
        keyahead.discard()
        sys.stderr.write(json.dumps({"forked": forked, "asked": asked}) + "\\n")
    """)
    done, report = _run(script, [str(home), *argv], _env(home))
    assert report == {"forked": True, "asked": False}, done.stderr
    # The control: the same call with nothing in the way asks at once.
    done, report = _run(script, [str(home), "token", "get", "a", "--", "--store"], _env(home))
    assert report == {"forked": True, "asked": True}, done.stderr


def test_the_helper_hardens_itself(home: Path) -> None:
    """/proc/PID/limits shows the core limit `procguard.harden` sets (0 0) in the waiting helper."""
    script = textwrap.dedent("""
        import json, resource, sys, time
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        from igtui.core import keyahead
        keyahead.prepare(["token", "get", "a"], {})
        pid = keyahead._spare.pid
        limits = ""
        for _ in range(200):
            line = next(x for x in open(f"/proc/{pid}/limits") if x.startswith("Max core file size"))
            limits = " ".join(line.split()[4:6])
            if limits == "0 0":
                break
            time.sleep(0.01)
        keyahead.discard()
        sys.stderr.write(json.dumps({"limits": limits}) + "\\n")
    """)
    done, report = _run(script, [], _env(home))
    assert report == {"limits": "0 0"}, done.stderr


def test_the_early_path_spells_the_passphrase_variable_as_the_passphrase_module_does() -> None:
    assert keyahead._ENV_PASSPHRASE == passphrase.ENV_PASSPHRASE
