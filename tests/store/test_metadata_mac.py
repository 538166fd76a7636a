"""The MAC over the columns that decide where a token goes (SECURITY.md, "An attacker who can write
the file but has no passphrase").

First the primitive (`Vault.mac`/`verify_mac`), then the store: every covered column tampered
outside igtui is refused before any secret is returned.
"""

from __future__ import annotations

from typing import Any

import pytest

from igtui.core.crypto import MAC_BYTES, Vault


def _vault(uuid: str = "a" * 32, key: bytes = b"k" * 32) -> Vault:
    return Vault(uuid, bytearray(key))


def test_mac_is_hmac_sha256_under_an_hkdf_subkey_per_purpose() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.hmac import HMAC
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    vault = _vault()
    subkey = HKDF(hashes.SHA256(), 32, None, b"igtui/v1/mac\x00" + b"a" * 32 + b"\x00apps").derive(b"k" * 32)
    h = HMAC(subkey, hashes.SHA256())
    h.update(b"data")
    assert vault.mac("apps", b"data") == h.finalize()
    assert len(vault.mac("apps", b"")) == MAC_BYTES


def test_tags_do_not_cross_purposes_stores_or_keys() -> None:
    tag = _vault().mac("apps", b"x")
    assert _vault().verify_mac("apps", b"x", tag)
    assert not _vault().verify_mac("accounts", b"x", tag)
    assert not _vault(uuid="b" * 32).verify_mac("apps", b"x", tag)
    assert not _vault(key=b"j" * 32).verify_mac("apps", b"x", tag)
    assert not _vault().verify_mac("apps", b"y", tag)


@pytest.mark.parametrize("bad", [b"", b"\x00" * 31, b"\x00" * 33, None, "str" * 11, 12])
def test_a_malformed_tag_is_false_never_an_exception(bad: object) -> None:
    assert _vault().verify_mac("apps", b"x", bad) is False  # type: ignore[arg-type]


def test_flipping_any_bit_of_a_tag_fails() -> None:
    vault = _vault()
    tag = vault.mac("accounts", b"payload")
    for i in range(len(tag) * 8):
        flipped = bytearray(tag)
        flipped[i // 8] ^= 1 << (i % 8)
        assert not vault.verify_mac("accounts", b"payload", bytes(flipped))


@pytest.mark.parametrize("purpose", ["", "x" * 65, "é", "a\x00b"])
def test_a_bad_purpose_is_a_programming_error(purpose: str) -> None:
    with pytest.raises(ValueError):
        _vault().mac(purpose, b"x")


def test_a_locked_vault_makes_no_tags() -> None:
    vault = _vault()
    vault.mac("apps", b"x")
    vault.lock()
    with pytest.raises(RuntimeError):
        vault.mac("apps", b"x")
    with pytest.raises(RuntimeError):
        vault.verify_mac("apps", b"x", b"\x00" * 32)


# ── the store: every covered column, every write path, the seal ─────────────────────────────

import sqlite3  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

from igtui.core.crypto import KdfParams  # noqa: E402
from igtui.core.errors import RecordDamaged, StoreDamaged  # noqa: E402
from igtui.core.models import Profile, TokenKind  # noqa: E402
from igtui.core.secret import Secret  # noqa: E402

PASS = Secret("metadata mac passphrase")
NOW = datetime.now(UTC)


def _store(path: Path) -> Any:
    from igtui.core.store import Store

    store = Store.create(path, PASS, kdf=KdfParams.TESTING)
    store.add_app(name="shop", platform="instagram", app_id="100000000000001",
                  redirect_uris=["https://localhost/callback"], scopes=["instagram_business_basic"],
                  secret=Secret("shop-secret-0001"), base_url="http://127.0.0.1:9")
    for n, user in enumerate(("alice", "bob"), start=1):
        store.save_login("shop", Profile(id=f"90{n}", user_id=f"1784100000000000{n}", username=user),
                         kind=TokenKind.IG_LONG, token=Secret(f"IGAA-{user}-token-000000000001"),
                         issued_at=NOW - timedelta(days=30), expires_at=NOW + timedelta(days=30))
    return store


def _reopen(path: Path) -> Any:
    from igtui.core.store import Store

    store = Store.open(path)
    store.unlock(PASS)
    return store


def _sql(path: Path, sql: str, *args: object) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(sql, args)


def _ids(store: Any) -> dict[str, int]:
    return {a.username: a.id for a in store.list_accounts()}


def test_a_fresh_store_hands_out_its_secrets(tmp_path: Path) -> None:
    db = tmp_path / "igtui.db"
    _store(db)
    store = _reopen(db)
    ids = _ids(store)
    assert store.account_token(ids["alice"]).reveal() == "IGAA-alice-token-000000000001"
    assert store.app_secret("shop").reveal() == "shop-secret-0001"
    assert all(a.damage is None for a in store.list_apps())


def test_audit_base_url_to_a_foreign_host_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "igtui.db"
    _store(db)
    _sql(db, "UPDATE apps SET base_url = 'http://attacker.example'")
    store = _reopen(db)
    (app,) = store.list_apps()
    assert app.damage is not None and "changed outside igtui" in app.damage
    assert store.get_app("shop").damage is not None
    with pytest.raises(RecordDamaged, match="changed outside igtui"):
        store.app_secret("shop")
    with pytest.raises(RecordDamaged, match="its app shop: changed outside igtui"):
        store.account_token(_ids(store)["alice"])


def test_audit_swapped_names_and_user_ids_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "igtui.db"
    _store(db)
    with sqlite3.connect(db) as conn:
        rows = dict(conn.execute("SELECT username, ig_user_id FROM accounts").fetchall())
        conn.execute("UPDATE accounts SET username = 'tmp', ig_user_id = 'tmp' WHERE username = 'alice'")
        conn.execute("UPDATE accounts SET username = 'alice', ig_user_id = ? WHERE username = 'bob'", (rows["alice"],))
        conn.execute("UPDATE accounts SET username = 'bob', ig_user_id = ? WHERE username = 'tmp'", (rows["bob"],))
    store = _reopen(db)
    alice = store.get_account("shop/alice")
    with pytest.raises(RecordDamaged, match="changed outside igtui"):
        store.account_token(alice.id)
    tokens = store.account_tokens(list(_ids(store).values()))
    assert all(isinstance(t, RecordDamaged) for t in tokens.values())


def test_audit_an_old_ciphertext_put_back_is_refused(tmp_path: Path) -> None:
    from igtui.core.models import RefreshEvent, RefreshResult, Trigger

    db = tmp_path / "igtui.db"
    store = _store(db)
    alice = store.get_account("shop/alice")
    with sqlite3.connect(db) as conn:
        old = conn.execute("SELECT token FROM accounts WHERE id = ?", (alice.id,)).fetchone()[0]
    event = RefreshEvent(at=NOW, trigger=Trigger.CLI, account_id=alice.id, account=alice.ref,
                         result=RefreshResult.REFRESHED)
    new = Secret("IGAA-alice-new-0000000001")
    assert store.replace_token(alice.id, expected_generation=alice.generation, token=new,
                               issued_at=NOW, expires_at=NOW + timedelta(days=60), event=event) is not None
    assert store.account_token(alice.id).reveal() == "IGAA-alice-new-0000000001"
    _sql(db, "UPDATE accounts SET token = ? WHERE id = ?", old, alice.id)
    with pytest.raises(RecordDamaged, match="changed outside igtui"):
        _reopen(db).account_token(alice.id)
    # ... and with the old generation put back beside it too.
    _sql(db, "UPDATE accounts SET generation = generation - 1 WHERE id = ?", alice.id)
    with pytest.raises(RecordDamaged, match="changed outside igtui"):
        _reopen(db).account_token(alice.id)


ACCOUNT_TAMPER = {
    "app": "999", "ig_user_id": "17841999999999999", "username": "mallory", "generation": "generation + 1",
    "token": "(SELECT token FROM accounts WHERE username = 'bob')",
}
APP_TAMPER = {
    "name": "'other'", "platform": "'facebook'", "app_id": "'100000000000009'",
    "redirect_uris": "'[\"https://attacker.example/cb\"]'", "graph_version": "'v1.0'",
    "base_url": "'http://attacker.example'", "secret": "(SELECT secret FROM apps LIMIT 1) || X'00'",
}


@pytest.mark.parametrize("column", sorted(ACCOUNT_TAMPER))
def test_every_covered_account_column_tampered_is_refused(tmp_path: Path, column: str) -> None:
    db = tmp_path / "igtui.db"
    _store(db)
    value = ACCOUNT_TAMPER[column]
    value = value if column in ("generation", "token", "app") else f"'{value}'"
    _sql(db, f"UPDATE accounts SET {column} = {value} WHERE username = 'alice'")
    store = _reopen(db)
    got = store.account_tokens([a.id for a in store.list_accounts()] + [1, 2])
    assert isinstance(got[1], RecordDamaged)
    assert not isinstance(got[2], RecordDamaged)  # bob is untouched


@pytest.mark.parametrize("column", sorted(APP_TAMPER))
def test_every_covered_app_column_tampered_is_refused(tmp_path: Path, column: str) -> None:
    db = tmp_path / "igtui.db"
    _store(db)
    _sql(db, f"UPDATE apps SET {column} = {APP_TAMPER[column]}")
    store = _reopen(db)
    (app,) = store.list_apps()
    assert app.damage is not None
    with pytest.raises(RecordDamaged):
        store.app_secret(app.name)
    assert all(isinstance(t, RecordDamaged) for t in store.account_tokens([1, 2]).values())


def test_blanked_macs_on_a_sealed_store_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "igtui.db"
    _store(db)
    _sql(db, "UPDATE accounts SET mac = NULL")
    _sql(db, "UPDATE apps SET mac = NULL")
    store = _reopen(db)
    assert store.list_apps()[0].damage is not None
    with pytest.raises(RecordDamaged):
        store.account_token(1)


def _make_legacy(db: Path) -> None:
    """The store as today's release leaves it: no MACs, the data key wrapped without the seal."""
    from igtui.core.crypto import Vault
    from igtui.core.store import Store

    store = Store.open(db)
    store.unlock(PASS)
    vault = store._vault
    assert vault is not None
    wrapped = vault.wrap(PASS, KdfParams.TESTING, sealed=False)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE header SET kdf_salt = ?, wrapped_dek = ?", (wrapped.salt, wrapped.wrapped))
        conn.execute("UPDATE apps SET mac = NULL")
        conn.execute("UPDATE accounts SET mac = NULL")
    assert Vault.unwrap_sealing(store._uuid, PASS, wrapped)[1] is not None  # opens only the pre-seal way


def test_a_legacy_store_is_sealed_at_its_first_unlock_and_then_catches_tampering(tmp_path: Path) -> None:
    from igtui.core.crypto import Vault

    db = tmp_path / "igtui.db"
    _store(db)
    _make_legacy(db)
    store = _reopen(db)  # seals
    assert store.account_token(1).reveal() == "IGAA-alice-token-000000000001"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM accounts WHERE mac IS NULL").fetchone()[0] == 0
    with store._read() as conn:
        header = store._header(conn)[1]
    vault, resealed = Vault.unwrap_sealing(store._uuid, PASS, header)
    assert vault.sealed and resealed is None
    _sql(db, "UPDATE apps SET base_url = 'http://attacker.example'")
    with pytest.raises(RecordDamaged):
        _reopen(db).app_secret("shop")


def test_a_pre_seal_key_put_back_beside_macs_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "igtui.db"
    _store(db)
    with sqlite3.connect(db) as conn:
        macs = conn.execute("SELECT id, mac FROM accounts").fetchall()
    _make_legacy(db)
    with sqlite3.connect(db) as conn:
        conn.executemany("UPDATE accounts SET mac = ? WHERE id = ?", [(m, i) for i, m in macs])
    from igtui.core.store import Store

    with pytest.raises(StoreDamaged, match="put back"):
        Store.open(db).unlock(PASS)


def test_every_write_path_keeps_the_macs_current(tmp_path: Path) -> None:
    from igtui.core.models import RefreshEvent, RefreshResult, Trigger
    from igtui.core.store import TokenUpdate

    db = tmp_path / "igtui.db"
    store = _store(db)
    store.update_app("shop", new_name="shop2", base_url="http://127.0.0.1:8", graph_version="v24.0",
                     redirect_uris=["https://localhost/cb2"], app_id="100000000000002", secret=Secret("rotated-1"))
    store.save_login("shop2", Profile(id="901", user_id="17841000000000001", username="alice2"),
                     kind=TokenKind.IG_LONG, token=Secret("IGAA-alice-relogin-00000001"), issued_at=NOW,
                     expires_at=NOW + timedelta(days=60))
    store.bulk_save_logins("shop2", [(Profile(id=f"8{n}", user_id=f"1784200000000000{n}", username=f"u{n}"),
                                      Secret(f"IGAA-bulk-{n}-000000000000001")) for n in range(3)],
                           kind=TokenKind.IG_LONG, issued_at=NOW, expires_at=NOW + timedelta(days=60))
    accounts = store.list_accounts()
    event = RefreshEvent(at=NOW, trigger=Trigger.CLI, account_id=None, account="x", result=RefreshResult.REFRESHED)
    updates = [TokenUpdate(a.id, a.generation, Secret(f"IGAA-next-{a.id}-00000000001"), NOW, None, False, event)
               for a in accounts]
    assert store.store_tokens(updates[:2]) == [True, True]
    store.replace_tokens(updates[2:])
    store.update_account_state(accounts[0].id, failures=3, status_reason="x")
    store.set_app_blocked("shop2", kind="restricted", reason="r")
    fresh = _reopen(db)
    assert fresh.app_secret("shop2").reveal() == "rotated-1"
    got = fresh.account_tokens([a.id for a in accounts])
    assert not any(isinstance(t, RecordDamaged) for t in got.values()), got


def test_an_app_edit_never_reseals_a_change_made_outside_igtui(tmp_path: Path) -> None:
    db = tmp_path / "igtui.db"
    _store(db)
    _sql(db, "UPDATE apps SET base_url = 'http://attacker.example'")
    store = _reopen(db)
    with pytest.raises(RecordDamaged):
        store.update_app("shop", graph_version="v24.0")
    assert store.list_apps()[0].damage is not None


def test_a_token_stored_over_a_changed_row_is_refused(tmp_path: Path) -> None:
    from igtui.core.models import RefreshEvent, RefreshResult, Trigger
    from igtui.core.store import TokenUpdate

    db = tmp_path / "igtui.db"
    store = _store(db)
    alice = store.get_account("shop/alice")
    _sql(db, "UPDATE accounts SET username = 'mallory' WHERE id = ?", alice.id)
    event = RefreshEvent(at=NOW, trigger=Trigger.CLI, account_id=alice.id, account="x", result=RefreshResult.REFRESHED)
    (out,) = store.store_tokens([TokenUpdate(alice.id, alice.generation, Secret("IGAA-new-000000000000000001"), NOW,
                                             None, False, event)])
    assert isinstance(out, RecordDamaged)
    with pytest.raises(RecordDamaged):
        store.replace_token(alice.id, expected_generation=alice.generation, token=Secret("IGAA-new-0000000000000002"),
                            issued_at=NOW, expires_at=None, event=event)


# ── the encoding itself: a writer and a checker that share one mistake would agree on it ───────


def test_the_encoding_is_pinned_byte_for_byte() -> None:
    """A known answer: a release that encodes differently could not verify an existing store."""
    from igtui.core.store import integrity

    got = integrity.encode([7, "ab", None, b"\x00\xff", True, bytearray(b"z"), 1.5])
    assert got == (b"\x01" + b"I\x00\x00\x00\x017" + b"S\x00\x00\x00\x02ab" + b"N\x00\x00\x00\x00"
                   + b"B\x00\x00\x00\x02\x00\xff" + b"I\x00\x00\x00\x011" + b"B\x00\x00\x00\x01z"
                   + b"X\x00\x00\x00\x031.5")


@pytest.mark.parametrize(("a", "b"), [
    (["ab", "c"], ["a", "bc"]),            # lengths, not separators, delimit the fields
    ([1], ["1"]),                          # an int is not its digits as text
    ([None], [""]),                        # NULL is not the empty string
    ([b"x"], ["x"]),                       # a BLOB is not its bytes as text
    ([None, None], [None]),                # the number of fields counts
    (["é"], ["e\u0301"]),                  # no normalisation: the stored bytes are what count
])
def test_different_rows_never_encode_alike(a: list[object], b: list[object]) -> None:
    from igtui.core.store import integrity

    assert integrity.encode(a) != integrity.encode(b)


def test_a_ciphertext_that_is_not_one_digests_to_a_marker_no_ciphertext_has() -> None:
    import hashlib

    from igtui.core.store import integrity

    blob = b"\x01\x02"
    assert integrity.digest(blob) == hashlib.sha256(blob).digest()
    assert integrity.digest(blob.hex()) == hashlib.sha256(blob).digest()  # SQLite's hex() form
    marker = b"\xff" * 32
    assert integrity.digest("not hex") == marker and integrity.digest(None) == marker
    assert integrity.digest(12) == marker
