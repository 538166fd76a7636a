"""Envelope encryption for the store (SECURITY.md says what it defends against, and what not).

* A random 256-bit data key (DEK) encrypts every secret field with AES-256-GCM, a fresh random
  96-bit nonce per encryption, and associated data binding the ciphertext to its store, table,
  row and column: a ciphertext moved anywhere else fails to open. There is no fallback that
  decrypts without the AAD.
* The DEK is wrapped by a key-encryption key derived from the passphrase with Argon2id. The KDF
  parameters live in the store header, are bound into the wrapped DEK's AAD (a downgraded header
  fails to unwrap), and are bounded on read *before* the KDF runs (age's `maxWorkFactor` idea):
  parameters read from a file are attacker-controlled.
* The DEK lives in a `bytearray` so that `Vault.lock()` can overwrite it.
* `Vault.mac` authenticates plain data (metadata that must not change outside igtui) with
  HMAC-SHA256 under a subkey derived per purpose from the DEK with HKDF-SHA256: the DEK itself
  never keys two primitives, and a tag made for one purpose never verifies for another.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import ClassVar

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from igtui.core.errors import StoreDamaged, ValidationError, WrongPassphrase
from igtui.core.kdf import (
    KDF_NAME,
    KEY_BYTES,
    SALT_BYTES,
    canonical,
    derive,
    normalize_passphrase,
    params_problem,
    salt_problem,
)
from igtui.core.secret import Secret

NONCE_BYTES = 12
TAG_BYTES = 16
CRYPTO_VERSION = 1
"""Goes into every field's AAD; bump only with a re-encrypting migration."""

_FIELD_PREFIX = b"igtui/v1\x00"
_DEK_PREFIX = b"igtui/v1/dek\x00"
_MAC_INFO_PREFIX = b"igtui/v1/mac\x00"
MAC_BYTES = 32
"""HMAC-SHA256 tags are never truncated."""
MAX_PURPOSE_CHARS = 64


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id cost parameters (memory in KiB)."""

    memory_kib: int
    iterations: int
    lanes: int

    DEFAULT: ClassVar[KdfParams]
    """64 MiB, 3 iterations, 4 lanes: RFC 9106's memory-constrained recommendation (Bitwarden's too)."""
    TESTING: ClassVar[KdfParams]
    """The OWASP floor (19 MiB, t=2, p=1): cheap enough for tests, still accepted on read."""

    def problem(self) -> str | None:
        """Why these parameters are unacceptable, or None when they are within bounds."""
        return params_problem(self.memory_kib, self.iterations, self.lanes)

    def canonical(self) -> bytes:
        """The byte form bound into the wrapped DEK's AAD."""
        return canonical(self.memory_kib, self.iterations, self.lanes)

    def as_dict(self) -> dict[str, int | str]:
        """The parameters as `igtui info` shows them: public, nothing secret."""
        return {"kdf": KDF_NAME, "memory_kib": self.memory_kib, "iterations": self.iterations, "lanes": self.lanes}


KdfParams.DEFAULT = KdfParams(65536, 3, 4)
KdfParams.TESTING = KdfParams(19456, 2, 1)


def check_header_params(params: KdfParams, salt: bytes) -> None:
    """Refuse absurd header values before any KDF work.

    A header asking for 4 TiB of memory or a billion iterations would hang or kill the machine
    before the passphrase could even be found wrong.

    Raises:
        StoreDamaged: the header is out of bounds: damaged or tampered with.
    """
    problem = params.problem() or salt_problem(salt)
    if problem:
        raise StoreDamaged(f"the store header is damaged or was tampered with: {problem}; refusing to unlock")


def derive_kek(passphrase: Secret, salt: bytes, params: KdfParams) -> bytearray:
    """Argon2id(passphrase) into a fresh bytearray (callers overwrite it when done)."""
    return derive(normalize_passphrase(passphrase), salt, params.memory_kib, params.iterations, params.lanes)


def _wipe(buf: bytearray) -> None:
    for i in range(len(buf)):
        buf[i] = 0


SEAL_MARK = b"integrity/v1"
"""Appended to the wrapped DEK's AAD once the store's metadata MACs are in force (a sealed store)."""


def dek_aad(store_uuid: str, params: KdfParams, salt: bytes, *, sealed: bool = False) -> bytes:
    """AAD of the wrapped DEK: store, KDF name and parameters, salt (tampering any of them fails).

    A sealed store's DEK is wrapped with `SEAL_MARK` in its AAD too. Why: which AAD opens the DEK
    is what says whether the metadata MACs are mandatory, and only the passphrase's holder can
    wrap a key, so an attacker cannot make a sealed store pass for one made before MACs existed
    (blanking the MACs is then "changed outside igtui", never "not sealed yet"). Only putting back
    the file's own older wrapped key can (a rollback, the accepted risk in SECURITY.md).
    """
    parts = [_DEK_PREFIX + store_uuid.encode(), KDF_NAME.encode(), params.canonical(), bytes(salt)]
    if sealed:
        parts.append(SEAL_MARK)
    return b"\x00".join(parts)


def field_aad(store_uuid: str, table: str, row_id: int, column: str, version: int = CRYPTO_VERSION) -> bytes:
    """AAD of one secret field: `igtui/v1\\0 uuid \\0 table \\0 row \\0 column \\0 version`."""
    return _FIELD_PREFIX + b"\x00".join(
        [store_uuid.encode(), table.encode(), str(int(row_id)).encode(), column.encode(), str(version).encode()]
    )


def _seal(key: bytes | bytearray, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(bytes(key)).encrypt(nonce, plaintext, aad)


def _open(aesgcm: AESGCM, blob: bytes, aad: bytes) -> bytes:
    """Open nonce‖ciphertext‖tag; raises InvalidTag on any problem (incl. a wrong-length nonce)."""
    if not isinstance(blob, bytes | bytearray | memoryview) or len(blob) < NONCE_BYTES + TAG_BYTES:
        raise InvalidTag()
    blob = bytes(blob)
    return aesgcm.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """What the header stores about the DEK."""

    params: KdfParams
    salt: bytes
    wrapped: bytes


def new_store_uuid() -> str:
    """A random id for a new store; it goes into every AAD, so no ciphertext opens in another store."""
    return os.urandom(16).hex()


class Vault:
    """An unlocked data key bound to one store. Thread-safe: AESGCM holds no per-call state."""

    def __init__(self, store_uuid: str, dek: bytearray) -> None:
        if len(dek) != KEY_BYTES:
            raise ValueError("a data key is 32 bytes")
        self.store_uuid = store_uuid
        self._dek = dek
        self._aesgcm: AESGCM | None = AESGCM(bytes(dek))
        # One keyed HMAC per purpose, derived on first use and copied per message (HKDF once, not
        # per tag: a bulk refresh verifies 100,000 tags). Dropped by lock().
        self._macs: dict[str, HMAC] = {}
        self._macs_lock = threading.Lock()
        self.sealed = True
        """Whether the store's metadata MACs are in force (False only for a key opened with the
        pre-seal AAD, until the store seals itself at that unlock)."""

    @classmethod
    def generate(cls, store_uuid: str) -> Vault:
        """A new random DEK."""
        return cls(store_uuid, bytearray(os.urandom(KEY_BYTES)))

    @classmethod
    def unwrap(cls, store_uuid: str, passphrase: Secret, wrapped: WrappedKey) -> Vault:
        """Derive the KEK and open the DEK (sealed or not: see `unwrap_sealing`).

        Raises:
            StoreDamaged: the header's KDF parameters are absurd (checked before deriving).
            WrongPassphrase: the DEK did not open (wrong passphrase, or a tampered header).
        """
        return cls.unwrap_sealing(store_uuid, passphrase, wrapped)[0]

    @classmethod
    def unwrap_sealing(
        cls, store_uuid: str, passphrase: Secret, wrapped: WrappedKey, *, kek: bytearray | None = None
    ) -> tuple[Vault, WrappedKey | None]:
        """Open the DEK; for a key wrapped before the store was sealed, also re-wrap it sealed.

        Returns the vault (its `sealed` says which AAD opened the key) and, for an unsealed key,
        the same DEK wrapped with the sealed AAD under the same KEK (same salt, fresh nonce), for
        the store to write once every row has its MAC: sealing costs no second KDF run.
        `kek` is that key already derived from `passphrase` with this header's salt and parameters
        (`igtui.core.keyahead`); it is wiped here like one derived here.

        Raises:
            StoreDamaged: the header's KDF parameters are absurd (checked before deriving).
            WrongPassphrase: the DEK did not open (wrong passphrase, or a tampered header).
        """
        check_header_params(wrapped.params, wrapped.salt)
        if kek is None:
            kek = derive_kek(passphrase, wrapped.salt, wrapped.params)
        resealed: WrappedKey | None = None
        try:
            aes = AESGCM(bytes(kek))
            sealed_aad = dek_aad(store_uuid, wrapped.params, wrapped.salt, sealed=True)
            try:
                dek = bytearray(_open(aes, wrapped.wrapped, sealed_aad))
                sealed = True
            except InvalidTag:
                dek = bytearray(_open(aes, wrapped.wrapped, dek_aad(store_uuid, wrapped.params, wrapped.salt)))
                sealed = False
                resealed = WrappedKey(wrapped.params, bytes(wrapped.salt), _seal(kek, bytes(dek), sealed_aad))
        except InvalidTag:
            raise WrongPassphrase("wrong passphrase") from None
        finally:
            _wipe(kek)
        if len(dek) != KEY_BYTES:
            raise StoreDamaged("the store header holds a data key of the wrong size")
        vault = cls(store_uuid, dek)
        vault.sealed = sealed
        return vault, resealed

    def wrap(self, passphrase: Secret, params: KdfParams, *, sealed: bool = True) -> WrappedKey:
        """Wrap the DEK under a fresh salt (so a fresh KEK) derived from `passphrase`.

        Sealed by default: every store igtui writes now keeps its metadata MACs (`sealed=False`
        exists for tests that build a store as an older igtui left it).
        """
        if params.problem():
            raise ValidationError(params.problem() or "bad KDF parameters")
        salt = os.urandom(SALT_BYTES)
        kek = derive_kek(passphrase, salt, params)
        try:
            wrapped = _seal(kek, bytes(self._require()), dek_aad(self.store_uuid, params, salt, sealed=sealed))
        finally:
            _wipe(kek)
        return WrappedKey(params=params, salt=salt, wrapped=wrapped)

    def _require(self) -> bytearray:
        if self._aesgcm is None:
            raise RuntimeError("vault is locked")
        return self._dek

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        """nonce(12)‖ciphertext‖tag(16) with a fresh random nonce."""
        self._require()
        assert self._aesgcm is not None
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aesgcm.encrypt(nonce, plaintext, aad)

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        """Raises cryptography's InvalidTag on any mismatch; the store maps it to RecordDamaged."""
        self._require()
        assert self._aesgcm is not None
        return _open(self._aesgcm, blob, aad)

    def encrypt_field(self, value: Secret, *, table: str, row_id: int, column: str) -> bytes:
        """Seal one secret column of one row, bound to its store, table, row id and column name."""
        plaintext = value.reveal().encode("utf-8", "surrogatepass")
        return self.encrypt(plaintext, field_aad(self.store_uuid, table, row_id, column))

    def decrypt_field(self, blob: bytes, *, table: str, row_id: int, column: str) -> Secret | None:
        """The field's plaintext, or None when it does not open (the caller names the record)."""
        try:
            raw = self.decrypt(blob, field_aad(self.store_uuid, table, row_id, column))
        except InvalidTag:
            return None
        return Secret(raw.decode("utf-8", "surrogatepass"))

    def _mac_base(self, purpose: str) -> HMAC:
        """The HMAC keyed with this purpose's subkey: HKDF-SHA256(DEK, info = prefix‖uuid‖purpose)."""
        if not isinstance(purpose, str) or not purpose or len(purpose) > MAX_PURPOSE_CHARS or not purpose.isascii():
            raise ValueError("a MAC purpose is a short non-empty ASCII string")
        if "\x00" in purpose:
            raise ValueError("a MAC purpose holds no NUL")
        base = self._macs.get(purpose)
        if base is not None:
            return base
        with self._macs_lock:
            base = self._macs.get(purpose)
            if base is None:
                info = _MAC_INFO_PREFIX + self.store_uuid.encode() + b"\x00" + purpose.encode()
                subkey = bytearray(MAC_BYTES)
                HKDF(algorithm=hashes.SHA256(), length=MAC_BYTES, salt=None, info=info).derive_into(
                    bytes(self._require()), subkey
                )
                base = HMAC(bytes(subkey), hashes.SHA256())
                _wipe(subkey)
                self._macs[purpose] = base
        return base

    def mac(self, purpose: str, data: bytes) -> bytes:
        """HMAC-SHA256 of `data` under the purpose's subkey (32 bytes).

        Why a subkey per purpose: a tag over an app row can never be replayed as a tag over an
        account row, or over an audit record, even when the bytes happen to coincide. The caller
        owns the encoding of `data` and must make it unambiguous (length-prefixed fields).
        """
        self._require()
        h = self._mac_base(purpose).copy()
        h.update(bytes(data))
        return h.finalize()

    def verify_mac(self, purpose: str, data: bytes, tag: bytes) -> bool:
        """Whether `tag` is the MAC of `data` for `purpose`; constant-time, never raises on a bad tag.

        A tag of the wrong type or length is simply False: tags are read from the file, which an
        attacker may have written.
        """
        self._require()
        if not isinstance(tag, bytes | bytearray | memoryview) or len(tag) != MAC_BYTES:
            return False
        h = self._mac_base(purpose).copy()
        h.update(bytes(data))
        try:
            h.verify(bytes(tag))
        except InvalidSignature:
            return False
        return True

    def lock(self) -> None:
        """Overwrite the DEK and drop the cipher and the MAC subkeys."""
        _wipe(self._dek)
        self._aesgcm = None
        self._macs = {}

    def __repr__(self) -> str:
        return "Vault(***)"


__all__ = [
    "CRYPTO_VERSION",
    "KDF_NAME",
    "KEY_BYTES",
    "MAC_BYTES",
    "SALT_BYTES",
    "InvalidTag",
    "KdfParams",
    "Vault",
    "WrappedKey",
    "check_header_params",
    "dek_aad",
    "derive_kek",
    "field_aad",
    "new_store_uuid",
    "normalize_passphrase",
]
