"""Start-up of the hot commands: a run that names its command builds only that command's parser,
and `token get` / `exec` import nothing that talks HTTP or draws a screen.

Why it matters: `token get` and `exec` sit on the hot path of scripts and are benchmarked against
a bare Argon2id unlock (bench/bench_token_get.py, bench/bench_exec.py); building the whole parser
was a quarter of what they added to it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from igtui.cli import COMMAND_MODULES, COMMANDS, IgtuiParser, build_parser, command_word

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("textual", "rich", "httpx", "httpcore", "sqlite_utils")


def test_commands_map_is_what_the_modules_register() -> None:
    """Each module's commands, registered alone, are exactly the ones COMMANDS sends to it."""
    found: dict[str, str] = {}
    for module in COMMAND_MODULES:
        parser = IgtuiParser(prog="igtui", _root=True)
        sub = parser.add_subparsers(dest="command", parser_class=IgtuiParser)
        importlib.import_module(f"igtui.commands.{module}").register(sub)
        for name in sub.choices:
            found[name] = module
    assert found == COMMANDS


@pytest.mark.parametrize(("argv", "word"), [
    (["token", "get", "acme"], "token"),
    (["--store", "/x/igtui.db", "exec", "acme", "--", "true"], "exec"),
    (["--store=/x/igtui.db", "--verbose", "--passphrase-file", "f", "status"], "status"),
    (["--passphrase-file=f", "exec", "--", "--store"], "exec"),
    ([], None),
    (["--help"], None),
    (["--version"], None),
    (["--demo"], None),
    (["--sto", "/x", "status"], None),  # an abbreviation: argparse decides, with the whole parser
    (["--verbose"], None),
    (["--", "status"], None),
])
def test_command_word(argv: list[str], word: str | None) -> None:
    assert command_word(argv) == word


def _subcommands(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def test_named_command_gets_only_its_module_and_unknown_gets_all() -> None:
    assert _subcommands(build_parser("token")) == {"token"}
    assert _subcommands(build_parser("init")) == {"init", "passwd", "info"}
    everything = set(COMMANDS)
    assert _subcommands(build_parser("no-such-command")) == everything
    assert _subcommands(build_parser()) == everything


def _seed(home: Path) -> None:
    """A store (test-floor KDF) with one app and one account, `acme`, whose token is fresh."""
    from datetime import UTC, datetime, timedelta

    from igtui.core.crypto import KdfParams
    from igtui.core.models import Profile, TokenKind
    from igtui.core.secret import Secret
    from igtui.core.store import Store

    home.mkdir(mode=0o700)
    store = Store.create(home / "igtui.db", Secret(PASSPHRASE), kdf=KdfParams.TESTING)
    store.add_app(name="demo", platform="instagram", app_id="100000000000001",
                  redirect_uris=["https://localhost/callback"], scopes=["instagram_business_basic"],
                  secret=Secret("demo-ig-secret-0001"))
    now = datetime.now(UTC)
    store.save_login("demo", Profile(id="26000000000000001", user_id="17841400000000001", username="acme"),
                     kind=TokenKind.IG_LONG, token=Secret("IGAAstartup" + "x" * 40), issued_at=now,
                     expires_at=now + timedelta(days=60))


PASSPHRASE = "startup test passphrase"


@pytest.mark.parametrize("argv", [["token", "get", "acme"], ["exec", "acme", "--", "true"]])
def test_hot_commands_import_one_command_module_and_nothing_heavy(tmp_path: Path, argv: list[str]) -> None:
    """Run the command for real, in-process in a child, then look at its sys.modules: its own
    command module (and `accounts`, whose help text it shows), no HTTP, no TUI, no redaction
    patterns (only a command sink's output needs them)."""
    _seed(tmp_path / "home")
    code = (
        "import sys, json\nfrom igtui.cli import main\n"
        f"rc = main({argv!r})\n"
        "print(json.dumps([rc, sorted(sys.modules)]))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "IGTUI_HOME": str(tmp_path / "home"),
           "IGTUI_PASSPHRASE": PASSPHRASE}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    rc, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert rc == 0, out.stderr
    commands = {m for m in loaded if m.startswith("igtui.commands.") and not m.startswith("igtui.commands._")}
    assert commands == {"igtui.commands." + COMMANDS[argv[0]], "igtui.commands.accounts"}
    heavy = {m for m in loaded if m.split(".")[0] in HEAVY}
    assert not heavy, f"`igtui {' '.join(argv)}` imports {sorted(heavy)}"
    assert "igtui.core.graph.redact" not in loaded
