"""The notify command: JSON on stdin, no secrets, once per situation, failures never fatal."""

from __future__ import annotations

import json
import shlex
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from refresh_helpers import NOW, fb, ig_long

from igtui.core.models import TokenKind
from igtui.core.refresh.notify import Notice, Notifier
from igtui.core.secret import Secret


def _cmd(out: Path) -> str:
    return f"cat >> {shlex.quote(str(out))}; echo >> {shlex.quote(str(out))}"


def _lines(out: Path) -> list[dict[str, object]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def test_payload_shape_and_once_per_situation(tmp_path: Path) -> None:
    out = tmp_path / "n.jsonl"
    n = Notifier(_cmd(out), tmp_path / "locks")
    acc = ig_long(timedelta(days=50))
    notice = Notice("refresh_failed", acc, NOW, "Meta had a temporary problem", error_code=2, fbtrace_id="Abc")
    assert n.notify(notice)
    assert not n.notify(notice)  # same situation: not again
    got = _lines(out)
    assert len(got) == 1
    p = got[0]
    assert p["event"] == "refresh_failed"
    assert p["account"] == "demo-ig/acme.studio" and p["app"] == "demo-ig" and p["username"] == "acme.studio"
    assert p["ig_user_id"] == "17841400000000001" and p["platform"] == "instagram"
    assert p["expires_at"] == "2026-03-11T12:00:00Z"
    assert p["error_code"] == 2 and p["error_subcode"] is None and p["fbtrace_id"] == "Abc"
    assert p["at"] == "2026-03-01T12:00:00Z" and p["reason"] == "Meta had a temporary problem"
    assert set(p) >= {"data_access_expires_at", "igtui_version"}
    # A new token generation is a new situation.
    assert n.notify(replace(notice, account=replace(acc, generation=acc.generation + 1)))
    # Another event kind for the same account is announced separately.
    assert n.notify(Notice("needs_relogin", acc, NOW, "password changed"))
    assert [x["event"] for x in _lines(out)] == ["refresh_failed", "refresh_failed", "needs_relogin"]


def test_recovery_is_announced_once_and_allows_a_relapse_to_be_announced(tmp_path: Path) -> None:
    out = tmp_path / "n.jsonl"
    n = Notifier(_cmd(out), tmp_path)
    acc = fb(TokenKind.FB_USER, timedelta(days=3), timedelta(days=80))
    notice = Notice("expiring", acc, NOW, "expires soon")
    healed = Notice("recovered", acc, NOW, "healthy again")
    assert not n.recover(healed)  # nothing announced yet: nothing to recover from
    assert n.notify(notice) and not n.notify(notice)
    assert n.pending_recovery() == {str(acc.id)}
    assert n.recover(healed) and not n.recover(healed)
    assert n.pending_recovery() == set()
    assert n.notify(notice)
    assert [x["event"] for x in _lines(out)] == ["expiring", "recovered", "expiring"]
    assert _lines(out)[0]["data_access_expires_at"] == "2026-05-20T12:00:00Z"


def test_a_failed_recovery_notice_is_retried(tmp_path: Path) -> None:
    out = tmp_path / "n.jsonl"
    acc = fb(TokenKind.FB_USER, timedelta(days=3), timedelta(days=80))
    assert Notifier(_cmd(out), tmp_path).notify(Notice("expired", acc, NOW, "expired"))
    failing = Notifier("exit 3", tmp_path, warn=lambda _line: None)
    assert not failing.recover(Notice("recovered", acc, NOW, "healthy again"))
    assert Notifier(_cmd(out), tmp_path).recover(Notice("recovered", acc, NOW, "healthy again"))


def test_app_notices_name_the_app_and_are_kept_apart_from_accounts(tmp_path: Path) -> None:
    out = tmp_path / "n.jsonl"
    n = Notifier(_cmd(out), tmp_path)
    blocked = Notice("app_blocked", None, NOW, "Data Use Checkup overdue", app="shop",
                     advice="complete Data Use Checkup in the App Dashboard", error_code=200)
    assert n.notify(blocked) and not n.notify(blocked)
    assert n.pending_recovery() == {"app:shop"}
    p = _lines(out)[0]
    assert p["event"] == "app_blocked" and p["app"] == "shop" and p["account"] is None
    assert p["advice"] == "complete Data Use Checkup in the App Dashboard" and p["error_code"] == 200
    assert n.recover(Notice("recovered", None, NOW, "a call for app shop succeeded", app="shop"))
    assert _lines(out)[1]["event"] == "recovered" and _lines(out)[1]["app"] == "shop"


def test_secret_never_reaches_the_command(tmp_path: Path) -> None:
    out = tmp_path / "n.jsonl"
    token = Secret("IGAAsecret-token-value-123456")
    n = Notifier(_cmd(out), tmp_path)
    n.notify(Notice("refresh_failed", ig_long(timedelta(days=50)), NOW, f"bad token {token.reveal()}"))
    text = out.read_text()
    assert "IGAAsecret" not in text and "***" in text


def test_failing_or_hanging_command_is_reported_not_raised(tmp_path: Path) -> None:
    warnings: list[str] = []
    n = Notifier("echo boom >&2; exit 3", tmp_path, warn=warnings.append)
    notice = Notice("needs_relogin", ig_long(timedelta(days=50)), NOW, "x")
    assert not n.notify(notice)
    assert "exited 3" in warnings[-1] and "boom" in warnings[-1]
    # Not recorded as announced: the next run tries again.
    assert not n.notify(notice) and len(warnings) == 2
    slow = Notifier("sleep 5", tmp_path, timeout=0.2, warn=warnings.append)
    assert not slow.notify(notice)
    assert "timed out" in warnings[-1]


def test_disabled_without_command(tmp_path: Path) -> None:
    n = Notifier(None, tmp_path)
    assert not n.enabled
    assert not n.notify(Notice("expiring", ig_long(timedelta(days=1)), NOW, "x"))
    assert not (tmp_path / "notified.json").exists()


def test_the_command_does_not_inherit_the_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The notify command needs no passphrase, so it must not see igtui's passphrase sources."""
    monkeypatch.setenv("IGTUI_PASSPHRASE", "canary-passphrase-8f2c")
    monkeypatch.setenv("IGTUI_PASSPHRASE_COMMAND", "echo canary-command-8f2c")
    monkeypatch.setenv("IGTUI_NOTIFY_TEST_MARK", "kept")
    env_out = tmp_path / "env.txt"
    n = Notifier(f"env > {shlex.quote(str(env_out))}", tmp_path / "locks")
    assert n.notify(Notice("expired", ig_long(timedelta(days=-1)), NOW, "expired"))
    seen = env_out.read_text()
    assert "IGTUI_NOTIFY_TEST_MARK=kept" in seen  # the rest of the environment is passed on
    assert "canary-passphrase-8f2c" not in seen and "canary-command-8f2c" not in seen
