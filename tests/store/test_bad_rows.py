"""One bad row must not stop the rest (SECURITY.md: an attacker who can write the file).

Every column of `accounts` and `apps` (read from PRAGMA table_info, so a new column is covered
the day it is added) gets several kinds of garbage in ONE row of a store of ten due accounts.
Then the real commands run in-process (`igtui.cli.main`) against a real sandbox:

* never a traceback or "unexpected error";
* the damaged row is named, with its column, and the documented exit code follows: 3 when a
  record is damaged (status, account list, token get of that row, refresh), else the usual one;
* the nine healthy accounts are refreshed (the sandbox counts their Meta calls) and their tokens
  are still handed out.

The three reproductions from the audit (`token_kind='bogus'`, `expires_at=1e300`,
`granular_scopes='{['`) run through the real CLI in tests/e2e/test_bad_rows_e2e.py.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from igtui.core.crypto import KdfParams
from igtui.core.models import Profile, TokenKind
from igtui.core.secret import Secret
from igtui.sandbox.admin import SandboxAdmin
from igtui.sandbox.server import Sandbox

PASSPHRASE = "bad rows passphrase"
APP_ID = "100000000000001"
SIDE_APP_ID = "300000000000003"
DAY = 86400
COUNT = 10
SUBJECT = 3
"""The account (by position, 1-based) whose row gets the garbage."""

GARBAGE: dict[str, object] = {
    "blob": b"\x00\xff\x1b",
    "text": "abc",
    "huge": "A" * (2 << 20),
    "1e300": 1e300,
    "-1": -1,
    "empty": "",
    "json": "{[",
    "controls": "x\x00\x1b[2J\x9b",
    "not-utf8": "not-utf8",  # written as CAST(X'FF…' AS TEXT): bytes that are not UTF-8
    "null": None,
}
SECRET_COLUMNS = {("accounts", "token"), ("apps", "secret")}
"""Sealed columns: garbage there is a ciphertext that does not open (reported as damaged by the
commands that unlock, invisible to those that do not)."""
MUST_FLAG = {"blob", "not-utf8"}
"""Kinds that no plain column may ever accept."""


def _columns(db: Path, table: str) -> list[tuple[str, str, bool]]:
    with sqlite3.connect(db) as conn:
        return [(r[1], r[2].upper(), bool(r[3])) for r in conn.execute(f"PRAGMA table_info({table})")]


def _must_flag(table: str, column: str, decl: str, kind: str) -> bool:
    """Kinds a column can never hold as igtui writes it (beyond MUST_FLAG, for typed columns)."""
    if (table, column) in SECRET_COLUMNS or column == "mac":
        # A MAC is checked with the data key, so only commands that unlock can tell a bad one;
        # they refuse the row as changed outside igtui (tests/store/test_metadata_mac.py).
        return False
    if kind in MUST_FLAG:
        return True
    if column in ("token_kind", "status", "platform"):
        return kind not in ("null",)  # NULL: refused by NOT NULL (or a legal value)
    if column in ("granular_scopes", "redirect_uris"):
        return kind in ("json", "huge", "text", "controls") or (column == "redirect_uris" and kind == "empty")
    if decl == "INTEGER" and column != "mac":
        return kind in ("text", "huge", "1e300", "empty", "json", "controls") or (kind == "-1")
    return kind == "huge"


@dataclass
class Fleet:
    """A store template (closed file) with ten due accounts in `shop` and two fresh ones in `side`."""

    template: Path
    sandbox: Sandbox
    admin: SandboxAdmin
    usernames: list[str]
    ids: list[int]
    ig_ids: list[str]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    from igtui.core.clock import from_epoch
    from igtui.core.store import Store

    home = tmp_path_factory.mktemp("bad-rows-template")
    with Sandbox(seed=7).start() as sandbox, SandboxAdmin(sandbox.url) as admin:
        admin.create_app("instagram", SIDE_APP_ID, "side-secret-0003", ["https://localhost/callback"], name="side-app")
        store = Store.create(home / "igtui.db", Secret(PASSPHRASE), kdf=KdfParams.TESTING)
        for name, app_id, secret in (("shop", APP_ID, "demo-ig-secret-0001"),
                                     ("side", SIDE_APP_ID, "side-secret-0003")):
            store.add_app(name=name, platform="instagram", app_id=app_id,
                          redirect_uris=["https://localhost/callback"], scopes=["instagram_business_basic"],
                          secret=Secret(secret), base_url=sandbox.url)
        usernames, ids, ig_ids = [], [], []
        for app, app_id, count, age, prefix in (("shop", APP_ID, COUNT, 50, "shopper"),
                                                ("side", SIDE_APP_ID, 2, 2, "sider")):
            admin.create_users(app_id, [f"{prefix}{n + 1}" for n in range(count)])
            for n in range(count):
                t = admin.issue_token(app_id, f"{prefix}{n + 1}", "ig_long", age_seconds=age * DAY)
                acc = store.save_login(
                    app, Profile(id=str(t["app_scoped_id"]), user_id=str(t["user_id"]), username=f"{prefix}{n + 1}"),
                    kind=TokenKind.IG_LONG, token=Secret(t["access_token"]), issued_at=from_epoch(t["issued_at"]),
                    expires_at=from_epoch(t["expires_at"]), scopes=t["scopes"],
                )
                usernames.append(acc.username)
                ids.append(acc.id)
                ig_ids.append(acc.ig_user_id)
        with sqlite3.connect(home / "igtui.db") as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        yield Fleet(home, sandbox, admin, usernames, ids, ig_ids)


_KEKS: dict[tuple[str, bytes, KdfParams], bytes] = {}


@pytest.fixture(autouse=True)
def _fast_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the matrix fast: one argparse tree for every in-process run, and each Argon2id KEK
    derived once per (passphrase, salt, parameters) — the KDF is not what these tests are about,
    and every command still unwraps the data key and opens every ciphertext for real."""
    import igtui.cli
    import igtui.core.crypto as crypto

    parser = igtui.cli.build_parser()
    monkeypatch.setattr(igtui.cli, "build_parser", lambda *_command: parser)
    real = crypto.derive_kek

    def derive(passphrase: Secret, salt: bytes, params: KdfParams) -> bytearray:
        key = (passphrase.reveal(), bytes(salt), params)
        if key not in _KEKS:
            _KEKS[key] = bytes(real(passphrase, salt, params))
        return bytearray(_KEKS[key])

    monkeypatch.setattr(crypto, "derive_kek", derive)


def _fresh(fleet: Fleet, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    shutil.copy2(fleet.template / "igtui.db", home / "igtui.db")
    (home / "igtui.db").chmod(0o600)
    return home


def _damage(db: Path, table: str, column: str, row_id: int, kind: str) -> bool:
    """Write one kind of garbage into one cell; False when SQLite itself refuses it (NOT NULL…)."""
    value = GARBAGE[kind]
    try:
        with sqlite3.connect(db) as conn:
            if kind == "not-utf8":
                conn.execute(f"UPDATE {table} SET {column} = CAST(X'FF41FE' AS TEXT) WHERE id = ?", (row_id,))
            else:
                conn.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (value, row_id))
            if column == "id":
                pass
    except sqlite3.DatabaseError:
        return False
    return True


@dataclass
class Ran:
    code: int
    out: str
    err: str


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Ran:
    from igtui.cli import main

    code = main(list(argv))
    captured = capsys.readouterr()
    assert "unexpected error" not in captured.err and "Traceback" not in captured.err, (argv, captured.err[-2000:])
    return Ran(code, captured.out, captured.err)


def _refresh_calls(admin: SandboxAdmin) -> int:
    return sum(v for k, v in admin.calls().items() if "refresh_access_token" in k)


def _refreshed_ids(db: Path) -> set[int]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT account_id FROM history WHERE result = 'refreshed'")}


def _cases(table: str) -> list[Any]:
    import tempfile

    probe = Path(tempfile.mkdtemp(prefix="bad-rows-schema-")) / "igtui.db"
    from igtui.core.store import Store

    Store.create(probe, Secret(PASSPHRASE), kdf=KdfParams.TESTING)
    cols = _columns(probe, table)
    shutil.rmtree(probe.parent)
    return [pytest.param(table, name, decl, notnull, kind, id=f"{table}.{name}-{kind}")
            for name, decl, notnull in cols for kind in GARBAGE]


REFRESH_KINDS = ("blob", "1e300", "json")
"""Kinds whose cases also run `refresh --due` by default (every kind does under
`-m exhaustive`): a refresh is most of a case's time, and these three reach every check a column
has (a BLOB where text belongs, an absurd number, broken JSON). Every column still gets every
kind through the commands that need no Meta call."""


def _cases_with_refresh(table: str) -> list[Any]:
    out = []
    for case in _cases(table):
        kind = case.values[-1]
        if kind in REFRESH_KINDS:
            out.append(pytest.param(*case.values, True, id=f"{case.id}-refresh"))
        else:
            out.append(pytest.param(*case.values, False, id=f"{case.id}-commands"))
            out.append(pytest.param(*case.values, True, id=f"{case.id}-refresh", marks=pytest.mark.exhaustive))
    return out


def _run_everything(fleet: Fleet, home: Path, capsys: pytest.CaptureFixture[str],
                    damaged_ids: set[int], healthy: int, token_ref: str | None,
                    refresh: bool = True) -> dict[int, str | None]:
    """Run every command; return the damage `status --json` reports per account id."""
    status_json = _cli(capsys, "status", "--json")
    report = json.loads(status_json.out)
    damage: dict[int, str | None] = dict.fromkeys(fleet.ids)
    by_ref = {}
    for row in report["accounts"]:
        by_ref[row["account"]] = row
    listing = _cli(capsys, "account", "list", "--json")
    for row in json.loads(listing.out):
        damage[row["id"]] = row["damage"]
    flagged = {i for i, d in damage.items() if d is not None}
    assert status_json.code == (3 if flagged else status_json.code)
    assert listing.code == (3 if flagged else 0)
    status = _cli(capsys, "status")
    assert status.code == status_json.code
    plain_list = _cli(capsys, "account", "list")
    assert plain_list.code == listing.code
    for row in json.loads(listing.out):
        if row["damage"] is not None:
            assert row["account"] in plain_list.out and "DAMAGED" in plain_list.out
            assert "damaged" in status.out

    # A healthy account's token is still handed out.
    healthy_ref = fleet.usernames[0]
    got = _cli(capsys, "token", "get", healthy_ref)
    assert got.code == 0 and got.out.strip(), got.err
    # The damaged one: refused with exit 3 and named, when the store flags it.
    if token_ref is not None:
        bad = _cli(capsys, "token", "get", token_ref)
        if damaged_ids & flagged:
            assert bad.code == 3 and not bad.out, (bad.code, bad.err)
            assert "damaged" in bad.err
        else:
            assert bad.code in (0, 2, 3, 4), bad.err  # 2: its name no longer matches; 3: a ciphertext
    if not refresh:
        return damage
    # refresh --due: every healthy due account gets its Meta call; nothing for the damaged one.
    before = _refresh_calls(fleet.admin)
    ran = _cli(capsys, "refresh", "--due")
    calls = _refresh_calls(fleet.admin) - before
    refreshed = _refreshed_ids(home / "igtui.db")
    assert len(refreshed - damaged_ids) >= healthy, (ran.code, ran.out[-3000:], ran.err[-2000:])
    assert calls >= healthy
    if damaged_ids & flagged:
        assert not (refreshed & damaged_ids & flagged), "a request was sent for a damaged row"
        assert ran.code == 3, (ran.code, ran.out[-2000:], ran.err[-1000:])
        assert "DAMAGED" in ran.out or "damaged" in ran.out
    return damage


@pytest.mark.parametrize(("table", "column", "decl", "notnull", "kind", "refresh"), _cases_with_refresh("accounts"))
def test_garbage_in_any_account_column_stops_only_its_row(
    fleet: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    table: str, column: str, decl: str, notnull: bool, kind: str, refresh: bool,
) -> None:
    home = _fresh(fleet, tmp_path)
    monkeypatch.setenv("IGTUI_HOME", str(home))
    monkeypatch.setenv("IGTUI_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("IGTUI_NOTIFY_COMMAND", raising=False)
    subject = fleet.ids[SUBJECT - 1]
    if not _damage(home / "igtui.db", "accounts", column, subject, kind):
        pytest.skip(f"SQLite refuses {kind} in accounts.{column}")
    damaged_ids = {subject}
    if column == "id" and isinstance(GARBAGE[kind], int):
        damaged_ids = {int(GARBAGE[kind])}  # type: ignore[call-overload]
    # token get by the name that still reaches the row (the other of username / ig_user_id).
    ref = fleet.ig_ids[SUBJECT - 1] if column == "username" else fleet.usernames[SUBJECT - 1]
    damage = _run_everything(fleet, home, capsys, damaged_ids, healthy=COUNT - 1, token_ref=ref,
                             refresh=refresh)
    reported = {i: d for i, d in damage.items() if d is not None}
    assert set(reported) <= damaged_ids | {subject}, reported  # never another row
    if _must_flag("accounts", column, decl, kind):
        assert reported, f"accounts.{column} = {kind} was not reported as damaged"
        names = column if column != "app" else "app"
        assert any(names in d for d in reported.values()), reported


@pytest.mark.parametrize(("table", "column", "decl", "notnull", "kind", "refresh"), _cases_with_refresh("apps"))
def test_garbage_in_any_app_column_stops_only_its_accounts(
    fleet: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    table: str, column: str, decl: str, notnull: bool, kind: str, refresh: bool,
) -> None:
    home = _fresh(fleet, tmp_path)
    monkeypatch.setenv("IGTUI_HOME", str(home))
    monkeypatch.setenv("IGTUI_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("IGTUI_NOTIFY_COMMAND", raising=False)
    side_ids = set(fleet.ids[COUNT:])
    with sqlite3.connect(home / "igtui.db") as conn:
        side_app = conn.execute("SELECT id FROM apps WHERE name = 'side'").fetchone()[0]
    if not _damage(home / "igtui.db", "apps", column, side_app, kind):
        pytest.skip(f"SQLite refuses {kind} in apps.{column}")
    # The side app's accounts are not due: all ten of shop's must still be refreshed.
    damage = _run_everything(fleet, home, capsys, side_ids, healthy=COUNT, token_ref=fleet.usernames[COUNT],
                             refresh=refresh)
    reported = {i: d for i, d in damage.items() if d is not None}
    assert set(reported) <= side_ids, reported
    if _must_flag("apps", column, decl, kind):
        assert reported and set(reported) == side_ids, f"apps.{column} = {kind}: {reported}"


def test_the_fast_and_the_column_by_column_checks_agree(fleet: Fleet, tmp_path: Path) -> None:
    """`account_from_row`'s one-expression check flags exactly the rows its table names."""
    from igtui.core.store import records as rec

    home = _fresh(fleet, tmp_path)
    db = home / "igtui.db"
    subject = fleet.ids[SUBJECT - 1]
    for name, _decl, _nn in _columns(db, "accounts"):
        for kind in GARBAGE:
            shutil.copy2(fleet.template / "igtui.db", db)
            if not _damage(db, "accounts", name, subject, kind):
                continue
            with sqlite3.connect(db) as conn:
                conn.text_factory = rec.lenient_text
                rows = conn.execute(f"{rec.ACCOUNT_SELECT}").fetchall()
            for row in rows:
                account = rec.account_from_row(row)
                assert (account.damage is not None) == bool(rec.account_problems(row)), (name, kind)


def test_the_tui_home_shows_a_damaged_row_and_the_others(fleet: Fleet, tmp_path: Path) -> None:
    """home_rows is what the TUI's home shows: it loads (no 'Loading…' for ever) with the row damaged."""
    from igtui.core.store import Store
    from igtui.ui.screens.home_rows import read_home

    home = _fresh(fleet, tmp_path)
    assert _damage(home / "igtui.db", "accounts", "expires_at", fleet.ids[SUBJECT - 1], "1e300")
    rows, _states = read_home(Store.open(home / "igtui.db"), datetime.now(UTC))
    by_id = {r.account_id: r for r in rows}
    assert str(by_id[fleet.ids[SUBJECT - 1]].health) == "damaged"
    assert sum(1 for r in rows if r.account_id is not None and str(r.health) != "damaged") == COUNT + 1
