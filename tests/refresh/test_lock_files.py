"""The lock directory and its files: refused when another user could steer them, never followed.

The audit planted `refresh-1.lock -> ~/victim` and `notified.json -> ~/victim2` in a `locks`
directory owned by another user, mode 0777: the refresh truncated the first victim and the
notifier overwrote the second. These tests replay that at the level of the lock and notifier
classes (tests/store/test_private_files.py replays it through the real CLI): every refusal is
an `InsecurePermissions` or `StoreError` whose one line names the fix, and every victim is left
byte for byte as it was.
"""

from __future__ import annotations

import os
import shlex
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from refresh_helpers import NOW, ig_long

from igtui.core.errors import InsecurePermissions, StoreError
from igtui.core.refresh.lock import Intent, RefreshLocks, lock_path
from igtui.core.refresh.notify import Notice, Notifier

FOREIGN_UID = 12345
VICTIM = b"the victim's own bytes\n"
VICTIM2 = b'{"not": "igtui\'s"}\n'


def _notice() -> Notice:
    return Notice("expired", ig_long(timedelta(days=61)), NOW, "expired")


def _notifier(locks: Path, tmp_path: Path) -> Notifier:
    out = tmp_path / "notes.jsonl"
    return Notifier(f"cat >> {shlex.quote(str(out))}", locks)


def _victims(tmp_path: Path) -> tuple[Path, Path]:
    victim, victim2 = tmp_path / "victim", tmp_path / "victim2"
    victim.write_bytes(VICTIM)
    victim2.write_bytes(VICTIM2)
    return victim, victim2


def _planted(tmp_path: Path, *, mode: int, uid: int | None = None) -> tuple[Path, Path, Path]:
    """The audit's directory: `locks` at `mode` (owned by `uid`), links to two victims in it."""
    victim, victim2 = _victims(tmp_path)
    locks = tmp_path / "store" / "locks"
    locks.mkdir(parents=True)
    os.chmod(locks.parent, 0o700)
    os.symlink(victim, locks / "refresh-1.lock")
    os.symlink(victim2, locks / "notified.json")
    os.chmod(locks, mode)
    if uid is not None:
        os.chown(locks, uid, -1)
    return locks, victim, victim2


def _one_line_naming_the_fix(exc: pytest.ExceptionInfo[BaseException], *needles: str) -> str:
    message = str(exc.value)
    assert "\n" not in message
    assert " fix: " in message, message
    for needle in needles:
        assert needle in message, message
    return message


async def _hold(locks: Path, account_id: int = 1) -> None:
    async with RefreshLocks(locks).hold(account_id) as held:
        held.write_intent(Intent(account_id, 1, os.getpid(), 1))


async def test_audit_reproduction_world_writable_locks_dir_is_refused(tmp_path: Path) -> None:
    locks, victim, victim2 = _planted(tmp_path, mode=0o777)
    with pytest.raises(InsecurePermissions) as err:
        await _hold(locks)
    _one_line_naming_the_fix(err, "writable by other users", "0777", "chmod 700")
    with pytest.raises(InsecurePermissions) as err:
        _notifier(locks, tmp_path).notify(_notice())
    _one_line_naming_the_fix(err, "chmod 700")
    with pytest.raises(InsecurePermissions):
        RefreshLocks(locks).stale_intents()
    assert victim.read_bytes() == VICTIM
    assert victim2.read_bytes() == VICTIM2


async def test_audit_reproduction_locks_dir_of_another_user_is_refused(tmp_path: Path) -> None:
    locks, victim, victim2 = _planted(tmp_path, mode=0o777, uid=FOREIGN_UID)
    with pytest.raises(InsecurePermissions) as err:
        await _hold(locks)
    _one_line_naming_the_fix(err, f"owned by uid {FOREIGN_UID}", f"chown {os.getuid()}")
    with pytest.raises(InsecurePermissions) as err:
        _notifier(locks, tmp_path).notify(_notice())
    _one_line_naming_the_fix(err, f"owned by uid {FOREIGN_UID}")
    assert victim.read_bytes() == VICTIM
    assert victim2.read_bytes() == VICTIM2


async def test_a_foreign_directory_is_refused_even_with_private_mode(tmp_path: Path) -> None:
    locks, victim, _ = _planted(tmp_path, mode=0o700, uid=FOREIGN_UID)
    with pytest.raises(InsecurePermissions) as err:
        await _hold(locks)
    _one_line_naming_the_fix(err, f"owned by uid {FOREIGN_UID}")
    assert victim.read_bytes() == VICTIM


async def test_planted_links_in_our_own_private_dir_are_never_followed(tmp_path: Path) -> None:
    """The directory passes its check, so O_NOFOLLOW on each file is what stops the links."""
    locks, victim, victim2 = _planted(tmp_path, mode=0o700)
    with pytest.raises(InsecurePermissions) as err:
        await _hold(locks)
    _one_line_naming_the_fix(err, "symlink", "refresh-1.lock")
    with pytest.raises(InsecurePermissions) as err:
        RefreshLocks(locks).peek_intent(1)
    _one_line_naming_the_fix(err, "symlink")
    with pytest.raises(InsecurePermissions):
        RefreshLocks(locks).stale_intents()
    with pytest.raises(InsecurePermissions) as err:
        _notifier(locks, tmp_path).notify(_notice())
    _one_line_naming_the_fix(err, "symlink", "notified.json")
    assert victim.read_bytes() == VICTIM
    assert victim2.read_bytes() == VICTIM2
    assert os.path.islink(locks / "refresh-1.lock")  # refused, not "repaired" either


async def test_a_dangling_planted_link_creates_nothing_at_its_target(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    locks.mkdir(mode=0o700)
    target = tmp_path / "would-be-created"
    os.symlink(target, locks / "refresh-1.lock")
    os.symlink(tmp_path / "would-be-created-2", locks / "notified.json")
    with pytest.raises(InsecurePermissions):
        await _hold(locks)
    with pytest.raises(InsecurePermissions):
        _notifier(locks, tmp_path).notify(_notice())
    assert not target.exists() and not (tmp_path / "would-be-created-2").exists()


async def test_a_lock_file_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    locks.mkdir(mode=0o700)
    (locks / "refresh-1.lock").mkdir()
    (locks / "notified.json").mkdir()
    with pytest.raises(StoreError) as err:
        await _hold(locks)
    _one_line_naming_the_fix(err, "not a regular file")
    with pytest.raises(StoreError) as err:
        _notifier(locks, tmp_path).notify(_notice())
    _one_line_naming_the_fix(err, "not a regular file")


async def test_a_symlinked_locks_dir_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    os.symlink(elsewhere, tmp_path / "locks")
    with pytest.raises(InsecurePermissions) as err:
        await _hold(tmp_path / "locks")
    _one_line_naming_the_fix(err, "symlink")
    assert list(elsewhere.iterdir()) == []


async def test_the_directory_holding_a_named_stores_locks_is_checked_too(tmp_path: Path) -> None:
    """`--store DIR/x.db` keeps its locks in `DIR/locks/store-<digest>`: a foreign `DIR/locks`
    could swap that leaf, so it is refused like the leaf itself."""
    outer = tmp_path / "locks"
    outer.mkdir(mode=0o700)
    leaf = outer / "store-0123456789abcdef"
    leaf.mkdir(mode=0o700)
    os.chmod(outer, 0o777)
    with pytest.raises(InsecurePermissions) as err:
        await _hold(leaf)
    _one_line_naming_the_fix(err, str(outer), "chmod 700")


@pytest.mark.parametrize("umask", [0o000, 0o002, 0o022])
async def test_every_directory_made_on_the_way_is_0700_and_every_file_0600(tmp_path: Path, umask: int) -> None:
    base = tmp_path / "existing"
    base.mkdir(mode=0o755)
    os.chmod(base, 0o755)
    locks = base / "a" / "b" / "locks" / "store-0123456789abcdef"
    old = os.umask(umask)
    try:
        await _hold(locks, 3)
        assert _notifier(locks, tmp_path).notify(_notice())
    finally:
        os.umask(old)
    assert stat.S_IMODE(base.stat().st_mode) == 0o755  # it existed: left alone
    made = [base / "a", base / "a" / "b", base / "a" / "b" / "locks", locks]
    assert {d.name: oct(stat.S_IMODE(d.stat().st_mode)) for d in made} == {d.name: "0o700" for d in made}
    files = [lock_path(locks, 3), locks / "notified.json"]
    assert {f.name: oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {f.name: "0o600" for f in files}


class _UntouchedStore:
    """A store that fails the test if a refused delivery pass reaches it."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the store was used ({name}) although the lock directory was refused")


@pytest.mark.parametrize("mode, uid, needle", [
    (0o777, FOREIGN_UID, f"owned by uid {FOREIGN_UID}"),
    (0o777, None, "chmod 700"),
    (0o700, None, "symlink"),
])
def test_the_sinks_lock_in_the_lock_directory_obeys_the_same_rule(
    tmp_path: Path, mode: int, uid: int | None, needle: str
) -> None:
    """Token delivery takes `sinks.lock` in the same lock directory: refused the same way."""
    from igtui.core.clock import FrozenClock
    from igtui.core.delivery.deliver import Deliverer

    locks, victim, _ = _planted(tmp_path, mode=mode, uid=uid)
    os.symlink(victim, locks / "sinks.lock")
    deliverer = Deliverer(_UntouchedStore(), FrozenClock(NOW), locks_dir=locks, warn=None)  # type: ignore[arg-type]
    with pytest.raises(InsecurePermissions) as err:
        deliverer.deliver_now([1])
    _one_line_naming_the_fix(err, needle)
    assert victim.read_bytes() == VICTIM
