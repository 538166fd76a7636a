"""Tamper and failure cases (bit flips, swapped ciphertexts, wrong passphrases, newer schemas, loose permissions)."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import sqlite3
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from igtui.core.errors import RecordDamaged, StoreDamaged, StoreTooNew, WrongPassphrase
from igtui.core.models import Profile, TokenKind
from igtui.core.secret import Secret
from igtui.core.store import Store

T0 = datetime(2026, 1, 15, tzinfo=UTC)
PASS = "correct horse battery staple"


def _raw(path: Path, sql: str, args: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(sql, args).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _two_accounts(store: Store) -> tuple[int, int]:
    store.add_app(name="demo-ig", platform="instagram", app_id="100000000000001",
                  redirect_uris=["https://localhost/callback"], scopes=["instagram_business_basic"],
                  secret=Secret("demo-ig-secret-0001"))
    ids = []
    for n, user in enumerate(["acme.studio", "northwind.cafe"]):
        acc = store.save_login("demo-ig", Profile(id=f"x{n}", user_id=f"1784140000000000{n}", username=user),
                               kind=TokenKind.IG_LONG, token=Secret(f"IGAA-token-of-{user}"), issued_at=T0,
                               expires_at=T0 + timedelta(days=60))
        ids.append(acc.id)
    return ids[0], ids[1]


def test_single_bit_flip_names_the_record_and_others_still_open(store: Store, store_path: Path) -> None:
    a, b = _two_accounts(store)
    blob = bytearray(_raw(store_path, "SELECT token FROM accounts WHERE id = ?", (a,))[0][0])
    blob[len(blob) // 2] ^= 0x01
    _raw(store_path, "UPDATE accounts SET token = ? WHERE id = ?", (bytes(blob), a))
    fresh = Store.open(store_path)
    fresh.unlock(Secret(PASS))  # the data key is fine: not "wrong passphrase"
    with pytest.raises(RecordDamaged) as info:
        fresh.account_token(a)
    assert str(info.value) == (
        f"account acme.studio (id {a}): token does not decrypt — the record is damaged or was tampered with"
    )
    assert info.value.record == "demo-ig/acme.studio"
    assert fresh.account_token(b).reveal() == "IGAA-token-of-northwind.cafe"
    assert fresh.app_secret("demo-ig").reveal() == "demo-ig-secret-0001"
    assert len(fresh.list_accounts()) == 2  # listing decrypts nothing


def test_flip_in_nonce_or_tag_too(store: Store, store_path: Path) -> None:
    _two_accounts(store)
    blob = bytearray(_raw(store_path, "SELECT secret FROM apps")[0][0])
    for index in (0, 11, len(blob) - 1):
        flipped = bytearray(blob)
        flipped[index] ^= 0x80
        _raw(store_path, "UPDATE apps SET secret = ?", (bytes(flipped),))
        with pytest.raises(RecordDamaged, match="app demo-ig"):
            store.app_secret("demo-ig")


def test_ciphertext_swapped_between_rows_is_refused(store: Store, store_path: Path) -> None:
    a, b = _two_accounts(store)
    token_a = _raw(store_path, "SELECT token FROM accounts WHERE id = ?", (a,))[0][0]
    _raw(store_path, "UPDATE accounts SET token = ? WHERE id = ?", (token_a, b))
    with pytest.raises(RecordDamaged, match=re.escape("northwind.cafe")):
        store.account_token(b)
    assert store.account_token(a).reveal() == "IGAA-token-of-acme.studio"


def test_field_swap_token_into_app_secret_is_refused(store: Store, store_path: Path) -> None:
    a, _b = _two_accounts(store)
    token_a = _raw(store_path, "SELECT token FROM accounts WHERE id = ?", (a,))[0][0]
    _raw(store_path, "UPDATE apps SET secret = ?", (token_a,))
    with pytest.raises(RecordDamaged):
        store.app_secret("demo-ig")


def test_ciphertext_from_another_store_is_refused(store: Store, store_path: Path, tmp_path: Path, fast_kdf) -> None:
    _two_accounts(store)
    other_path = tmp_path / "other" / "igtui.db"
    other = Store.create(other_path, Secret(PASS), kdf=fast_kdf)
    _two_accounts(other)
    theirs = _raw(other_path, "SELECT secret FROM apps")[0][0]
    _raw(store_path, "UPDATE apps SET secret = ?", (theirs,))
    with pytest.raises(RecordDamaged):
        store.app_secret("demo-ig")


def test_wrong_passphrase_differs_from_corruption(cli, fast_kdf_args: list[str]) -> None:
    env = {"IGTUI_PASSPHRASE": PASS}
    assert cli("init", *fast_kdf_args, env=env).exit_code == 0
    assert cli("app", "add", "demo", "--platform", "instagram", "--app-id", "1", "--redirect-uri",
               "https://localhost/cb", "--secret-stdin", input="demo-secret-0001\n", env=env).exit_code == 0
    wrong = cli("app", "show", "demo", env={"IGTUI_PASSPHRASE": "not it"})
    assert wrong.exit_code == 3 and wrong.stderr == "igtui: wrong passphrase\n"
    path = Path(os.environ["IGTUI_HOME"]) / "igtui.db"
    blob = bytearray(_raw(path, "SELECT secret FROM apps")[0][0])
    blob[-1] ^= 1
    _raw(path, "UPDATE apps SET secret = ?", (bytes(blob),))
    damaged = cli("app", "show", "demo", env=env)
    assert damaged.exit_code == 3
    assert "damaged or was tampered with" in damaged.stderr and "wrong passphrase" not in damaged.stderr
    assert wrong.stderr != damaged.stderr


@pytest.mark.parametrize(
    "change",
    [
        "kdf_memory_kib = 4294967296",
        "kdf_iterations = 1000000000",
        "kdf_lanes = 0",
        "kdf_salt = x''",
        "kdf_memory_kib = 1024",
    ],
)
def test_kdf_header_tampering_is_refused_before_the_kdf(
    store: Store, store_path: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import igtui.core.crypto as crypto

    _raw(store_path, f"UPDATE header SET {change}")
    monkeypatch.setattr(crypto, "derive_kek", lambda *a, **k: (_ for _ in ()).throw(AssertionError("KDF ran")))
    with pytest.raises(StoreDamaged, match="tampered"):
        Store.open(store_path).unlock(Secret(PASS))


def test_header_downgrade_within_bounds_fails_unwrap(store: Store, store_path: Path) -> None:
    _raw(store_path, "UPDATE header SET kdf_memory_kib = 20000")
    with pytest.raises(WrongPassphrase):
        Store.open(store_path).unlock(Secret(PASS))


@pytest.mark.parametrize(
    "how",
    ["user_version", "migration"],
)
def test_newer_schema_is_refused_and_untouched(store: Store, store_path: Path, cli, how: str) -> None:
    if how == "user_version":
        _raw(store_path, "PRAGMA user_version = 99")
    else:
        _raw(
            store_path,
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('igtui', 'm999_future', 'x')",
        )
    before = _sha(store_path)
    listing = sorted(p.name for p in store_path.parent.iterdir())
    with pytest.raises(StoreTooNew, match="newer igtui"):
        Store.open(store_path)
    for argv in (["app", "list"], ["info"], ["app", "show", "x"]):
        result = cli(*argv, env={"IGTUI_PASSPHRASE": PASS})
        assert result.exit_code == 3, argv
        assert "newer igtui" in result.stderr
    assert _sha(store_path) == before
    # A read-only SQLite connection may leave an empty -wal and the -shm index behind (both 0600);
    # the database file itself is byte-for-byte the same.
    extra = {p.name for p in store_path.parent.iterdir()} - set(listing)
    assert extra <= {"igtui.db-wal", "igtui.db-shm"}
    for name in extra:
        assert (store_path.parent / name).stat().st_mode & 0o077 == 0
    wal = store_path.parent / "igtui.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"this is not a database at all" * 100,
        os.urandom(8192),
        None,  # truncated real store (set below)
    ],
    ids=["empty", "text", "random", "truncated"],
)
def test_damaged_file_is_reported_and_never_overwritten(
    store: Store, store_path: Path, cli, content: bytes | None
) -> None:
    _two_accounts(store)
    if content is None:
        data = store_path.read_bytes()
        content = data[: len(data) // 3 + 100]
    store_path.write_bytes(content)
    for suffix in ("-wal", "-shm"):
        Path(f"{store_path}{suffix}").unlink(missing_ok=True)
    before = _sha(store_path)
    results = [
        cli(*argv, env={"IGTUI_PASSPHRASE": PASS}) for argv in (["app", "list"], ["info"], ["app", "show", "demo-ig"])
    ]
    after_init = cli("init", env={"IGTUI_PASSPHRASE": PASS})
    assert after_init.exit_code == 3 and "will not overwrite" in after_init.stderr
    assert _sha(store_path) == before
    for r in results:
        assert r.exit_code == 3, r.stderr
        assert r.stderr.startswith("igtui: ") and r.stderr.count("\n") == 1
        assert "damaged" in r.stderr or "not an igtui store" in r.stderr or "not a complete" in r.stderr


def test_canary_scan_finds_no_secret_anywhere(cli, igtui_home: Path, fast_kdf_args: list[str]) -> None:
    """After adds, edits and removes, no file under IGTUI_HOME (incl. -wal/-shm) holds a secret."""
    env = {"IGTUI_PASSPHRASE": PASS}
    canaries = ["canary-SECRET-4f9a1c2e7b", "second/canary+SECRET=%&", "third-canary-b64-ZZZ"]
    assert cli("init", *fast_kdf_args, env=env).exit_code == 0
    for i, canary in enumerate(canaries[:2]):
        r = cli("app", "add", f"app{i}", "--platform", "instagram", "--app-id", str(100 + i), "--redirect-uri",
                "https://localhost/cb", "--secret-stdin", input=canary + "\n", env=env)
        assert r.exit_code == 0, r.stderr
    assert cli("app", "edit", "app0", "--secret-stdin", input=canaries[2] + "\n", env=env).exit_code == 0
    assert cli("app", "edit", "app1", "--name", "renamed", "--scopes",
               "instagram_business_basic,instagram_business_manage_comments", env=env).exit_code == 0
    assert cli("app", "show", "renamed", env=env).exit_code == 0
    assert cli("app", "remove", "renamed", "--yes", env=env).exit_code == 0
    # Keep a connection open while scanning so the -wal and -shm are present too.
    store = Store.open(igtui_home / "igtui.db")
    conn = sqlite3.connect(store.path)
    conn.execute("SELECT COUNT(*) FROM apps").fetchone()
    files = [p for p in igtui_home.rglob("*") if p.is_file()]
    assert any(p.name.endswith("-wal") for p in files)
    blobs = {p: p.read_bytes() for p in files}
    conn.close()
    for canary in canaries:
        raw = canary.encode()
        forms = {
            raw,
            raw.hex().encode(),
            raw.hex().upper().encode(),
            base64.b64encode(raw).rstrip(b"="),
            base64.urlsafe_b64encode(raw).rstrip(b"="),
            urllib.parse.quote(canary, safe="").encode(),
            urllib.parse.quote_plus(canary).encode(),
            canary.encode("utf-16-le"),
        }
        for path, data in blobs.items():
            for form in forms:
                assert form not in data, f"{canary!r} found in {path.name} as {form!r}"
