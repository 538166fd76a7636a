"""Passphrase sources, in order: env, --passphrase-file, IGTUI_PASSPHRASE_COMMAND, tty prompt."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from igtui.core.errors import InsecurePermissions, StoreLocked, ValidationError
from igtui.core.passphrase import NO_SOURCE, get_passphrase


def _file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    os.chmod(path, mode)
    return path


def _no_tty() -> bool:
    return False


def test_env_wins_over_everything(tmp_path: Path) -> None:
    f = _file(tmp_path / "p", "from-file\n")
    got = get_passphrase(
        environ={"IGTUI_PASSPHRASE": "from-env", "IGTUI_PASSPHRASE_COMMAND": "echo cmd"},
        passphrase_file=f,
        isatty=_no_tty,
    )
    assert got.reveal() == "from-env"


def test_file_beats_command_and_strips_one_newline(tmp_path: Path) -> None:
    f = _file(tmp_path / "p", "from-file\n\n")
    got = get_passphrase(environ={"IGTUI_PASSPHRASE_COMMAND": "echo cmd"}, passphrase_file=f, isatty=_no_tty)
    assert got.reveal() == "from-file\n"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    f = _file(tmp_path / "p", "x", mode)
    with pytest.raises(InsecurePermissions) as info:
        get_passphrase(environ={}, passphrase_file=f, isatty=_no_tty)
    assert f"chmod 600 '{f}'" in str(info.value)


def test_file_must_be_regular(tmp_path: Path) -> None:
    with pytest.raises(StoreLocked, match="regular file"):
        get_passphrase(environ={}, passphrase_file=tmp_path, isatty=_no_tty)
    with pytest.raises(StoreLocked, match="cannot read"):
        get_passphrase(environ={}, passphrase_file=tmp_path / "missing", isatty=_no_tty)


def test_command_first_line() -> None:
    got = get_passphrase(environ={"IGTUI_PASSPHRASE_COMMAND": "printf 'first\\nsecond\\n'"}, isatty=_no_tty)
    assert got.reveal() == "first"


def test_command_failure_is_clear() -> None:
    with pytest.raises(StoreLocked, match="exit status 3"):
        get_passphrase(environ={"IGTUI_PASSPHRASE_COMMAND": "echo leak; exit 3"}, isatty=_no_tty)


def test_command_failure_message_holds_no_output() -> None:
    with pytest.raises(StoreLocked) as info:
        get_passphrase(environ={"IGTUI_PASSPHRASE_COMMAND": "echo hunter22; exit 1"}, isatty=_no_tty)
    assert "hunter22" not in str(info.value)


def test_command_timeout() -> None:
    with pytest.raises(StoreLocked, match="did not finish"):
        get_passphrase(
            environ={"IGTUI_PASSPHRASE_COMMAND": "sleep 5", "IGTUI_PASSPHRASE_COMMAND_TIMEOUT": "0.3"},
            isatty=_no_tty,
        )


def test_prompt_only_on_a_tty() -> None:
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return "typed"

    assert get_passphrase(environ={}, isatty=lambda: True, ask=ask).reveal() == "typed"
    assert asked == ["Passphrase: "]
    with pytest.raises(StoreLocked) as info:
        get_passphrase(environ={}, isatty=_no_tty, ask=ask)
    assert str(info.value) == NO_SOURCE


def test_confirm_asks_twice() -> None:
    answers = iter(["one", "two"])
    with pytest.raises(ValidationError, match="differ"):
        get_passphrase(environ={}, confirm=True, isatty=lambda: True, ask=lambda _p: next(answers))
    answers = iter(["same", "same"])
    got = get_passphrase(environ={}, confirm=True, isatty=lambda: True, ask=lambda _p: next(answers))
    assert got.reveal() == "same"


def test_cli_without_any_source_says_how(cli, fast_kdf_args: list[str]) -> None:
    assert cli("init", *fast_kdf_args, env={"IGTUI_PASSPHRASE": "pw-for-tests"}).exit_code == 0
    result = cli("app", "show", "x")
    assert result.exit_code == 3
    assert result.stderr == f"igtui: {NO_SOURCE}\n"


def test_cli_passphrase_file_and_command(cli, tmp_path: Path, fast_kdf_args: list[str]) -> None:
    f = _file(tmp_path / "pf", "pw-from-file\n")
    assert cli("--passphrase-file", str(f), "init", *fast_kdf_args).exit_code == 0
    r = cli("app", "add", "demo", "--platform", "instagram", "--app-id", "1", "--redirect-uri",
            "https://localhost/cb", "--secret-stdin", "--passphrase-file", str(f), input="demo-secret-xyz\n")
    assert r.exit_code == 0, r.stderr
    r = cli("app", "show", "demo", env={"IGTUI_PASSPHRASE_COMMAND": "echo pw-from-file"})
    assert r.exit_code == 0, r.stderr
    assert "••••••••" in r.stdout
