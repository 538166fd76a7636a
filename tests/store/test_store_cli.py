"""CLI: every store/app command, its exit codes, one-line errors, and help text everywhere."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from igtui.cli import COMMAND_MODULES, build_parser

PASS = {"IGTUI_PASSPHRASE": "pw-cli-tests"}
ADD = ["app", "add", "demo", "--platform", "instagram", "--app-id", "100000000000001",
       "--redirect-uri", "http://127.0.0.1:8765/callback", "--redirect-uri", "https://localhost/callback",
       "--secret-stdin"]


@pytest.fixture
def inited(cli, fast_kdf_args: list[str]):
    assert cli("init", *fast_kdf_args, env=PASS).exit_code == 0
    return cli


def test_version(cli) -> None:
    from igtui import __version__

    r = cli("--version")
    assert r.exit_code == 0 and r.stdout.strip() == f"igtui {__version__}"


def test_init_refuses_to_overwrite(inited) -> None:
    r = inited("init", env=PASS)
    assert r.exit_code == 3 and "will not overwrite" in r.stderr


def test_init_refuses_weak_kdf_and_empty_passphrase(cli) -> None:
    r = cli("init", "--kdf-memory", "1024", env=PASS)
    assert r.exit_code == 2 and "OWASP" in r.stderr
    r = cli("init", "--kdf-memory", "19456", "--kdf-iterations", "2", "--kdf-lanes", "1",
            env={"IGTUI_PASSPHRASE_COMMAND": "echo"})
    assert r.exit_code == 3


def test_info_without_store_and_with(cli, fast_kdf_args: list[str], igtui_home: Path) -> None:
    r = cli("info", "--json")
    assert r.exit_code == 0 and r.json()["store"] is None
    cli("init", *fast_kdf_args, env=PASS)
    cli(*ADD, input="demo-ig-secret-0001\n", env=PASS)
    r = cli("info", "--json")  # no passphrase needed
    data = r.json()
    assert data["paths"]["database"] == str(igtui_home / "igtui.db")
    assert data["store"]["kdf"] == {"kdf": "argon2id", "memory_kib": 19456, "iterations": 2, "lanes": 1}
    assert data["store"]["counts"]["apps"] == 1
    assert "demo-ig-secret" not in r.stdout
    text = cli("info")
    assert text.exit_code == 0 and "argon2id" in text.stdout


def test_app_add_list_show(inited) -> None:
    r = inited(*ADD, "--scopes", "instagram_business_basic,instagram_business_manage_insights",
               input="demo-ig-secret-0001\n", env=PASS)
    assert r.exit_code == 0, r.stderr
    listing = inited("app", "list", "--json")  # no passphrase
    assert listing.exit_code == 0
    (app,) = listing.json()
    assert app["name"] == "demo" and app["accounts"] == 0
    assert app["scopes"] == ["instagram_business_basic", "instagram_business_manage_insights"]
    assert "secret" not in app
    table = inited("app", "list")
    assert "demo" in table.stdout and "100000000000001" in table.stdout
    shown = inited("app", "show", "demo", "--json", env=PASS)
    assert shown.exit_code == 0 and shown.json()["secret"] == "••••••••"
    assert "demo-ig-secret-0001" not in shown.stdout
    text = inited("app", "show", "demo", env=PASS)
    assert "••••••••" in text.stdout and "demo-ig-secret-0001" not in text.stdout


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--app-id", "12ab"], "numeric"),
        (["--redirect-uri", "localhost/cb"], "absolute"),
        (["--scopes", "instagram_business_basic,instagram_business_manage_coments"], "did you mean"),
        (["--scopes", "business_basic"], "use instagram_business_basic"),
        (["--scopes", "user_profile"], "Basic Display was shut down on 4 Dec 2024"),
        (["--graph-version", "25"], "v25.0"),
        (["--base-url", "http://127.0.0.1:9/path"], "origin"),
        (["--platform", "tiktok"], "invalid choice"),
    ],
)
def test_app_add_validation_is_exit_2(inited, argv: list[str], needle: str) -> None:
    r = inited(*ADD, *argv, input="s-123456\n", env=PASS)
    assert r.exit_code == 2
    assert needle in r.stderr
    assert r.stderr.startswith("igtui: ") and r.stderr.count("\n") == 1


def test_app_add_needs_a_secret_source(inited) -> None:
    argv = [a for a in ADD if a != "--secret-stdin"]
    r = inited(*argv, env=PASS)
    assert r.exit_code == 2 and "--secret-stdin" in r.stderr
    r = inited(*ADD, input="", env=PASS)
    assert r.exit_code == 2 and "no app secret" in r.stderr


def test_app_add_duplicate_and_store_missing(cli, fast_kdf_args: list[str]) -> None:
    r = cli(*ADD, input="x-123456\n", env=PASS)
    assert r.exit_code == 3 and "igtui init" in r.stderr
    cli("init", *fast_kdf_args, env=PASS)
    assert cli(*ADD, input="x-123456\n", env=PASS).exit_code == 0
    r = cli(*ADD, input="x-123456\n", env=PASS)
    assert r.exit_code == 2 and "already exists" in r.stderr


def test_app_edit(inited) -> None:
    inited(*ADD, input="demo-ig-secret-0001\n", env=PASS)
    r = inited("app", "edit", "demo", "--refresh-within", "10")
    assert r.exit_code == 0, r.stderr  # no column under the app's MAC: no passphrase needed
    r = inited("app", "edit", "demo", "--name", "main", "--base-url", "http://127.0.0.1:8000")
    assert r.exit_code == 3, r.stderr  # name and base URL are under the app's MAC: the key is needed
    r = inited("app", "edit", "demo", "--name", "main", "--base-url", "http://127.0.0.1:8000",
               "--refresh-within", "10", "--scopes", "instagram_business_basic,instagram_business_content_publish",
               env=PASS)
    assert r.exit_code == 0, r.stderr
    (app,) = inited("app", "list", "--json").json()
    assert app["name"] == "main" and app["base_url"] == "http://127.0.0.1:8000" and app["refresh_within_days"] == 10
    r = inited("app", "edit", "main", "--secret-stdin", input="rotated-secret-99\n", env=PASS)
    assert r.exit_code == 0, r.stderr
    assert inited("app", "show", "main", "--json", env=PASS).json()["secret"] == "••••••••"
    assert inited("app", "edit", "main").exit_code == 2
    assert inited("app", "edit", "nope", "--app-id", "5").exit_code == 2
    r = inited("app", "edit", "main", "--base-url", "", env=PASS)
    assert r.exit_code == 0 and inited("app", "list", "--json").json()[0]["base_url"] is None


def test_app_remove_asks_first(inited) -> None:
    inited(*ADD, input="demo-ig-secret-0001\n", env=PASS)
    r = inited("app", "remove", "demo")
    assert r.exit_code == 2 and "--yes" in r.stderr
    assert len(inited("app", "list", "--json").json()) == 1
    r = inited("app", "remove", "demo", "--yes")
    assert r.exit_code == 0
    assert inited("app", "list", "--json").json() == []
    assert inited("app", "remove", "demo", "--yes").exit_code == 2


def test_app_remove_interactive(inited, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    inited(*ADD, input="demo-ig-secret-0001\n", env=PASS)

    class TTY(io.StringIO):
        def isatty(self) -> bool:
            return True

    from igtui.cli import main

    monkeypatch.setattr(sys, "stdin", TTY("n\n"))
    assert main(["app", "remove", "demo"]) == 1
    monkeypatch.setattr(sys, "stdin", TTY("y\n"))
    assert main(["app", "remove", "demo"]) == 0


def test_passwd_cli(inited) -> None:
    inited(*ADD, input="demo-ig-secret-0001\n", env=PASS)
    r = inited("passwd", env=PASS)
    assert r.exit_code == 3 and "IGTUI_NEW_PASSPHRASE" in r.stderr
    r = inited("passwd", env={**PASS, "IGTUI_NEW_PASSPHRASE": "brand new"})
    assert r.exit_code == 0, r.stderr
    assert inited("app", "show", "demo", env=PASS).stderr == "igtui: wrong passphrase\n"
    assert inited("app", "show", "demo", env={"IGTUI_PASSPHRASE": "brand new"}).exit_code == 0


def test_global_options_before_or_after(cli, fast_kdf_args: list[str], tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir(mode=0o700)
    db = other / "mine.db"
    assert cli("--store", str(db), "init", *fast_kdf_args, env=PASS).exit_code == 0
    assert db.exists()
    assert cli("app", "add", "demo", "--platform", "facebook", "--app-id", "200000000000002", "--redirect-uri",
               "https://localhost/cb", "--secret-stdin", "--store", str(db), input="fb-secret-0002\n",
               env=PASS).exit_code == 0
    assert cli("app", "list", "--json", "--store", str(db)).json()[0]["scopes"] == [
        "instagram_basic",
        "pages_show_list",
    ]
    assert cli("app", "list", "--json").exit_code == 3  # default store does not exist


def test_usage_errors_are_one_line_exit_2(cli) -> None:
    for argv in (["nonsense"], ["app"], ["app", "add"], ["info", "--bogus"], ["init", "--kdf-memory", "lots"]):
        r = cli(*argv)
        assert r.exit_code == 2, argv
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("igtui: "), (argv, r.stderr)
        assert "Traceback" not in r.stderr


def test_unexpected_error_is_one_redacted_line(cli, monkeypatch: pytest.MonkeyPatch, inited) -> None:
    from igtui.commands import apps
    from igtui.core.secret import Secret

    leaked = Secret("super-secret-in-exception")

    def boom(_args: argparse.Namespace) -> int:
        raise RuntimeError(f"oops {leaked.reveal()}")

    monkeypatch.setattr(apps, "cmd_list", boom)
    r = inited("app", "list")
    assert r.exit_code == 1
    assert r.stderr.count("\n") == 1 and "super-secret" not in r.stderr and "***" in r.stderr


def test_keyboard_interrupt_is_130(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from igtui.commands import store as store_cmds

    def interrupted(_args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(store_cmds, "cmd_info", interrupted)
    assert cli("info").exit_code == 130


def _walk(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield (*prefix, name), helps.get(name), sub
                yield from _walk(sub, (*prefix, name))


def test_every_subcommand_has_help_text() -> None:
    found = list(_walk(build_parser()))
    names = {" ".join(path) for path, _h, _p in found}
    assert {"init", "passwd", "info", "app", "app add", "app list", "app show", "app edit", "app remove"} <= names
    for path, help_text, sub in found:
        assert help_text, f"igtui {' '.join(path)} has no help"
        assert sub.description or sub.format_help()


def test_store_and_app_options_have_help_text() -> None:
    for path, _help, sub in _walk(build_parser()):
        if path[0] not in ("init", "passwd", "info", "app"):
            continue
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help, f"igtui {' '.join(path)}: {action.dest} has no help"


def test_help_says_instagram_app_id_is_not_meta_app_id(cli) -> None:
    r = cli("app", "add", "--help")
    assert r.exit_code == 0
    assert "Instagram App ID" in r.stdout and "not the Meta App ID" in " ".join(r.stdout.split())


def test_command_modules_listed() -> None:
    assert "store" in COMMAND_MODULES and "apps" in COMMAND_MODULES


def test_json_output_escapes_control_characters(inited, igtui_home: Path) -> None:
    import sqlite3

    inited(*ADD, input="demo-ig-secret-0001\n", env=PASS)
    conn = sqlite3.connect(igtui_home / "igtui.db")
    conn.execute("UPDATE apps SET base_url = ?", ("http://x\x1b]52;c;AAAA\x07",))
    conn.commit()
    conn.close()
    r = inited("app", "list", "--json")
    assert "\x1b" not in r.stdout and json.loads(r.stdout)[0]["base_url"].startswith("http://x\x1b")
    t = inited("app", "list")
    assert "\x1b" not in t.stdout and "\\x1b" in t.stdout
