"""A delivery pass writes different files at once and the same file one sink after another.

Why: a file sink costs its fsync, and fsyncs of different files overlap, so a pass runs its file
sinks in threads (bench/bench_sinks.py). Two sinks writing one file (two accounts' variables in
one .env) must still run in order, each reading what the previous one wrote: concurrently, both
would read the old file and the second rename would drop the first variable's new token while
both were recorded as delivered.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

import igtui.core.delivery.deliver as deliver
from igtui.core.delivery.config import SinkConfig
from igtui.core.delivery.deliver import Deliverer
from igtui.core.models import Profile, TokenKind
from igtui.core.secret import Secret


def _account(store: Any, user: str) -> Any:
    if not store.list_apps():
        store.add_app(name="demo", platform="instagram", app_id="100000000000001",
                      redirect_uris=["https://localhost/callback"], scopes=["instagram_business_basic"],
                      secret=Secret("demo-secret-0001"))
    return store.save_login("demo", Profile(id=f"id-{user}", user_id=f"17{len(user)}{user}", username=user),
                            kind=TokenKind.IG_LONG, token=Secret(f"IGAA{user}" + "x" * 40), issued_at=None,
                            expires_at=None)


def _sink(store: Any, account_id: int, path: Path, var: str = "TOKEN") -> Any:
    return store.add_sink(SinkConfig(account_id, "file", path=str(path), format="dotenv", var=var))


def test_file_sinks_of_different_files_are_written_at_once(store: Any, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Three files, three writers that can only pass a three-party barrier together (written one
    after the other, the first would wait in vain and the pass would fail)."""
    acc = _account(store, "acme")
    sinks = [_sink(store, acc.id, tmp_path / f"s{i}.env") for i in range(3)]
    barrier = threading.Barrier(3, timeout=10)
    real = deliver.write_file_sink

    def together(*args: Any, **kwargs: Any) -> None:
        barrier.wait()
        real(*args, **kwargs)

    monkeypatch.setattr(deliver, "write_file_sink", together)
    done = Deliverer(store, store._clock, locks_dir=tmp_path / "locks", warn=None).deliver_pending(trigger="cli")
    assert [(d.sink_id, d.ok) for d in done] == [(s.id, True) for s in sinks]  # outcomes in pass order
    assert all((tmp_path / f"s{i}.env").read_text() == f"TOKEN=IGAAacme{'x' * 40}\n" for i in range(3))
    assert store.pending_sink_ids() == []


@pytest.mark.parametrize("exists", [True, False], ids=["existing file", "new file"])
def test_sinks_of_one_file_run_in_order_and_keep_each_others_lines(store: Any, tmp_path: Path, exists: bool,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Two accounts' variables in one .env (named through a symlinked directory for one of them),
    and a third file: the shared file ends with both new tokens, whether it existed (same inode)
    or not (same resolved directory and name). Each write is slowed down before it reads the
    file, so two writers of the shared file at once would both read it before either renamed."""
    alice, bob = _account(store, "alice"), _account(store, "bob")
    app = tmp_path / "app"
    app.mkdir()
    (tmp_path / "alias").symlink_to(app, target_is_directory=True)
    shared = app / ".env"
    if exists:
        shared.write_text("# mine\nALICE=old\nBOB=old\nPORT=8080\n")
    _sink(store, alice.id, shared, var="ALICE")
    _sink(store, bob.id, tmp_path / "alias" / ".env", var="BOB")
    _sink(store, bob.id, tmp_path / "other.env")
    real = deliver.write_file_sink

    def slow(path: str, fmt: str, var: str | None, token: str, **kwargs: Any) -> None:
        if Path(path).name == ".env":
            time.sleep(0.2)  # between choosing to write and reading the file: room for a lost update
        real(path, fmt, var, token, **kwargs)

    monkeypatch.setattr(deliver, "write_file_sink", slow)
    done = Deliverer(store, store._clock, locks_dir=tmp_path / "locks", warn=None).deliver_pending(trigger="cli")
    assert all(d.ok for d in done) and len(done) == 3
    tokens = f"ALICE=IGAAalice{'x' * 40}\nBOB=IGAAbob{'x' * 40}\n"
    assert shared.read_text() == (f"# mine\n{tokens}PORT=8080\n" if exists else tokens)
    assert (tmp_path / "other.env").read_text() == f"TOKEN=IGAAbob{'x' * 40}\n"
