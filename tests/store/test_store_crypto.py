"""Crypto primitives: the RFC 9106 known answer, AAD binding, nonce rules, KDF bounds."""

from __future__ import annotations

import unicodedata

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from igtui.core.crypto import (
    KdfParams,
    Vault,
    WrappedKey,
    check_header_params,
    dek_aad,
    field_aad,
    new_store_uuid,
)
from igtui.core.errors import StoreDamaged, ValidationError, WrongPassphrase
from igtui.core.secret import Secret


def test_rfc9106_argon2id_known_answer() -> None:
    """RFC 9106 §5.3: the Argon2id test vector."""
    kdf = Argon2id(
        salt=b"\x02" * 16,
        length=32,
        iterations=3,
        lanes=4,
        memory_cost=32,
        ad=b"\x04" * 12,
        secret=b"\x03" * 8,
    )
    tag = kdf.derive(b"\x01" * 32)
    assert tag.hex() == "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"


def test_field_round_trip_and_fresh_nonces() -> None:
    vault = Vault.generate(new_store_uuid())
    a = vault.encrypt_field(Secret("s3cret-value"), table="apps", row_id=1, column="secret")
    b = vault.encrypt_field(Secret("s3cret-value"), table="apps", row_id=1, column="secret")
    assert a != b and a[:12] != b[:12]  # fresh 96-bit nonce each time
    assert len(a) == 12 + len("s3cret-value") + 16
    opened = vault.decrypt_field(a, table="apps", row_id=1, column="secret")
    assert opened is not None and opened.reveal() == "s3cret-value"


@pytest.mark.parametrize(
    "where",
    [
        {"table": "accounts", "row_id": 1, "column": "secret"},
        {"table": "apps", "row_id": 2, "column": "secret"},
        {"table": "apps", "row_id": 1, "column": "token"},
    ],
)
def test_aad_binds_table_row_and_column(where: dict) -> None:
    vault = Vault.generate(new_store_uuid())
    blob = vault.encrypt_field(Secret("value-123"), table="apps", row_id=1, column="secret")
    assert vault.decrypt_field(blob, **where) is None


def test_aad_binds_store_uuid() -> None:
    dek = bytearray(b"k" * 32)
    one, two = Vault(new_store_uuid(), bytearray(dek)), Vault(new_store_uuid(), bytearray(dek))
    blob = one.encrypt_field(Secret("value-123"), table="apps", row_id=1, column="secret")
    assert two.decrypt_field(blob, table="apps", row_id=1, column="secret") is None


def test_aad_layout_is_nul_separated() -> None:
    assert field_aad("u", "apps", 7, "secret", 1) == b"igtui/v1\x00u\x00apps\x007\x00secret\x001"


def test_every_single_bit_flip_is_refused() -> None:
    vault = Vault.generate(new_store_uuid())
    blob = vault.encrypt_field(Secret("abc"), table="apps", row_id=1, column="secret")
    for i in range(len(blob) * 8):
        flipped = bytearray(blob)
        flipped[i // 8] ^= 1 << (i % 8)
        assert vault.decrypt_field(bytes(flipped), table="apps", row_id=1, column="secret") is None


def test_short_or_truncated_blob_is_refused() -> None:
    vault = Vault.generate(new_store_uuid())
    blob = vault.encrypt_field(Secret("abcdef"), table="apps", row_id=1, column="secret")
    for cut in (0, 8, 11, 12, 27, len(blob) - 1):
        with pytest.raises(InvalidTag):
            vault.decrypt(blob[:cut], field_aad(vault.store_uuid, "apps", 1, "secret"))


def test_wrap_unwrap_and_wrong_passphrase(fast_kdf: KdfParams) -> None:
    uuid = new_store_uuid()
    vault = Vault.generate(uuid)
    wrapped = vault.wrap(Secret("pass"), fast_kdf)
    again = Vault.unwrap(uuid, Secret("pass"), wrapped)
    blob = vault.encrypt(b"x", b"aad")
    assert again.decrypt(blob, b"aad") == b"x"
    with pytest.raises(WrongPassphrase):
        Vault.unwrap(uuid, Secret("Pass"), wrapped)
    with pytest.raises(WrongPassphrase):  # B6: a wrapped DEK from another store
        Vault.unwrap(new_store_uuid(), Secret("pass"), wrapped)


def test_nfc_and_nfd_passphrases_are_the_same(fast_kdf: KdfParams) -> None:
    uuid = new_store_uuid()
    nfc = unicodedata.normalize("NFC", "café ünïcode")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    wrapped = Vault.generate(uuid).wrap(Secret(nfd), fast_kdf)
    Vault.unwrap(uuid, Secret(nfc), wrapped)  # does not raise


def test_downgraded_params_fail_to_unwrap(fast_kdf: KdfParams) -> None:
    """B5: params are in the wrapped DEK's AAD, so editing them (even within bounds) fails."""
    uuid = new_store_uuid()
    wrapped = Vault.generate(uuid).wrap(Secret("pass"), KdfParams(20000, 2, 1))
    lowered = WrappedKey(params=fast_kdf, salt=wrapped.salt, wrapped=wrapped.wrapped)
    with pytest.raises(WrongPassphrase):
        Vault.unwrap(uuid, Secret("pass"), lowered)
    assert dek_aad(uuid, fast_kdf, wrapped.salt) != dek_aad(uuid, KdfParams(20000, 2, 1), wrapped.salt)


@pytest.mark.parametrize(
    ("params", "salt"),
    [
        (KdfParams(4 * 1024**3, 3, 4), b"s" * 16),  # 4 TiB
        (KdfParams(1024 * 1024 + 1, 3, 4), b"s" * 16),  # just over 1 GiB
        (KdfParams(65536, 10**9, 4), b"s" * 16),
        (KdfParams(65536, 11, 4), b"s" * 16),
        (KdfParams(65536, 3, 0), b"s" * 16),
        (KdfParams(65536, 3, 17), b"s" * 16),
        (KdfParams(19455, 2, 1), b"s" * 16),  # under the OWASP floor
        (KdfParams(40000, 1, 1), b"s" * 16),  # t=1 needs 47104 KiB
        (KdfParams(65536, 3, 4), b""),
        (KdfParams(65536, 3, 4), b"s" * 15),
        (KdfParams(65536, 3, 4), b"s" * 32),
    ],
)
def test_absurd_header_params_are_refused_before_the_kdf(
    params: KdfParams, salt: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    import igtui.core.crypto as crypto

    def boom(*_a: object, **_k: object) -> bytearray:
        raise AssertionError("the KDF ran on absurd parameters")

    monkeypatch.setattr(crypto, "derive_kek", boom)
    with pytest.raises(StoreDamaged, match="tampered"):
        Vault.unwrap(new_store_uuid(), Secret("p"), WrappedKey(params=params, salt=salt, wrapped=b"x" * 60))


def test_bounds_accept_defaults_and_testing() -> None:
    check_header_params(KdfParams.DEFAULT, b"s" * 16)
    check_header_params(KdfParams.TESTING, b"s" * 16)
    check_header_params(KdfParams(47104, 1, 1), b"s" * 16)
    check_header_params(KdfParams(1024 * 1024, 10, 16), b"s" * 16)
    assert KdfParams(65536, 3, 4) == KdfParams.DEFAULT
    assert KdfParams(19456, 2, 1) == KdfParams.TESTING


def test_wrap_refuses_weak_params() -> None:
    with pytest.raises(ValidationError):
        Vault.generate(new_store_uuid()).wrap(Secret("p"), KdfParams(1024, 1, 1))


def test_lock_wipes_the_key() -> None:
    vault = Vault.generate(new_store_uuid())
    dek = vault._dek
    vault.lock()
    assert dek == bytearray(32)
    with pytest.raises(RuntimeError):
        vault.encrypt(b"x", b"y")
    assert repr(vault) == "Vault(***)"
