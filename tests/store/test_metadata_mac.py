"""The MAC over the columns that decide where a token goes (SECURITY.md, "An attacker who can write
the file but has no passphrase").

First the primitive (`Vault.mac`/`verify_mac`), then the store: every covered column tampered
outside igtui is refused before any secret is returned.
"""

from __future__ import annotations

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
