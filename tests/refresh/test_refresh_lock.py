"""Single flight: flock across processes, asyncio.Lock within one, and the left-behind intent."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from igtui.core.refresh.lock import Intent, RefreshBusy, RefreshLocks, lock_path

HOLDER = textwrap.dedent(
    """
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, sys.argv[2].encode())
    print("held", flush=True)
    time.sleep(60)
    """
)


def _spawn_holder(path: Path, content: str = "") -> subprocess.Popen[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), content], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


async def test_in_process_callers_take_turns(tmp_path: Path) -> None:
    locks = RefreshLocks(tmp_path / "locks")
    inside = 0
    peak = 0
    modes: set[str] = set()

    async def worker() -> None:
        nonlocal inside, peak
        async with locks.hold(7) as held:
            modes.add(oct(held.path.stat().st_mode & 0o777))
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(worker() for _ in range(8)))
    assert peak == 1
    assert modes == {"0o600"}
    assert not lock_path(tmp_path / "locks", 7).exists()  # each clean end removed it; the next made it again


async def test_other_accounts_are_not_blocked(tmp_path: Path) -> None:
    """Holding one account's lock never delays another's. A wedge fails within seconds: the two
    refreshes each wait until both hold their locks, under a deadline, and another process's
    lock is given up on after 0.2 s instead of the default wait."""
    locks = RefreshLocks(tmp_path, wait_seconds=0.2)
    inside: set[int] = set()
    both = asyncio.Event()

    async def refresh(account_id: int) -> None:
        async with locks.hold(account_id):
            inside.add(account_id)
            if len(inside) == 2:
                both.set()
            await both.wait()  # keeps this lock until the other account's is held too

    proc = _spawn_holder(lock_path(tmp_path, 3))  # another process is refreshing account 3
    try:
        async with asyncio.timeout(5):
            await asyncio.gather(refresh(1), refresh(2))
            async with locks.hold(1), locks.hold(2):  # nested in one task
                pass
            async with locks.hold(4):  # account 3's holder elsewhere does not delay account 4
                pass
        with pytest.raises(RefreshBusy):  # the holder really holds account 3, so a wait would show
            async with locks.hold(3):
                pass
    finally:
        proc.kill()
        proc.wait()
    assert inside == {1, 2}


async def test_waits_for_another_process_and_times_out(tmp_path: Path) -> None:
    path = lock_path(tmp_path, 3)
    proc = _spawn_holder(path)
    try:
        locks = RefreshLocks(tmp_path, wait_seconds=0.3)
        with pytest.raises(RefreshBusy) as err:
            async with locks.hold(3):
                pass
        assert "still refreshing" in str(err.value)
    finally:
        proc.kill()
        proc.wait()


async def test_sigkilled_holder_wedges_nothing_and_leaves_its_intent(tmp_path: Path) -> None:
    path = lock_path(tmp_path, 4)
    intent = Intent(account_id=4, generation=9, pid=123, started_at=1_700_000_000, old_expires_at=None)
    proc = _spawn_holder(path, intent.dumps().decode())
    locks = RefreshLocks(tmp_path, wait_seconds=10)
    assert locks.peek_intent(4) is None  # held: not stale yet
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert locks.stale_intents() == {4: intent}
    async with locks.hold(4) as held:
        assert held.read_intent() == intent
        held.clear_intent()
    assert locks.stale_intents() == {}


async def test_intent_round_trip_and_torn_file(tmp_path: Path) -> None:
    locks = RefreshLocks(tmp_path)
    async with locks.hold(5) as held:
        assert held.read_intent() is None
        held.write_intent(Intent(5, 2, os.getpid(), 10, 20))
        assert held.read_intent() == Intent(5, 2, os.getpid(), 10, 20)
    lock_path(tmp_path, 5).write_bytes(b'{"account_id": 5, "gen')
    assert locks.peek_intent(5) is None


async def test_a_clean_end_removes_the_lock_file_and_an_intent_keeps_it(tmp_path: Path) -> None:
    """The lock directory lists only attempts in flight and those that died (the scan for them
    then costs what they number, not what the store holds)."""
    locks = RefreshLocks(tmp_path / "locks")
    async with locks.hold(1):
        assert lock_path(tmp_path / "locks", 1).exists()
    assert not lock_path(tmp_path / "locks", 1).exists()
    async with locks.hold(2) as held:
        held.write_intent(Intent(2, 1, os.getpid(), 1, None))
    assert lock_path(tmp_path / "locks", 2).read_bytes()  # died with its intent: kept for recovery
    assert set(locks.stale_intents()) == {2}
    async with locks.hold(2) as held:
        assert held.read_intent() is not None
        held.clear_intent()
    assert not lock_path(tmp_path / "locks", 2).exists() and locks.stale_intents() == {}


async def test_a_waiter_on_a_removed_lock_file_takes_the_new_one(tmp_path: Path) -> None:
    """Three "processes" (separate RefreshLocks: flock belongs to each open file): A holds; B opens
    the same file and waits; A ends cleanly and removes it; C makes a new one meanwhile. B must
    not hold the removed file while C holds the new one: one holder at a time, on the path's file."""
    a, b, c = (RefreshLocks(tmp_path / "locks") for _ in range(3))
    path = lock_path(tmp_path / "locks", 9)
    holders: list[str] = []
    peak = 0
    a_in, b_waiting = asyncio.Event(), asyncio.Event()

    async def run(name: str, locks: RefreshLocks, *, before: asyncio.Event | None = None) -> None:
        nonlocal peak
        if before is not None:
            await before.wait()
        async with locks.hold(9) as held:
            holders.append(name)
            peak = max(peak, len(holders))
            assert os.fstat(held._fd).st_ino == os.stat(path).st_ino, f"{name} holds a file no longer at the path"
            if name == "A":
                a_in.set()
                await b_waiting.wait()
                await asyncio.sleep(0.05)  # B is polling the file A is about to remove
            else:
                await asyncio.sleep(0.05)
            holders.remove(name)

    async def b_then_signal() -> None:
        await a_in.wait()
        task = asyncio.ensure_future(run("B", b))
        await asyncio.sleep(0.02)  # B has opened A's file and polls it
        b_waiting.set()
        await task

    await asyncio.gather(run("A", a), b_then_signal(), run("C", c, before=b_waiting))
    assert peak == 1


@pytest.mark.parametrize("umask", [0o000, 0o002, 0o022])
async def test_a_held_lock_file_is_0600_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    """The file exists only while an attempt runs (or after one died): it is private then."""
    old = os.umask(umask)
    try:
        locks = RefreshLocks(tmp_path / "locks")
        async with locks.hold(5) as held:
            assert oct(held.path.stat().st_mode & 0o777) == "0o600"
            assert oct((tmp_path / "locks").stat().st_mode & 0o777) == "0o700"
    finally:
        os.umask(old)
