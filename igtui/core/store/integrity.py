"""The MACs over the plain columns that decide where a token goes and whose it is.

Why: ciphertexts are bound to their row, but the plain columns around them were not. With write
access to the file and no passphrase, changing an app's base URL sent its tokens to another host,
and swapping two accounts' names made `token get` print the wrong one's token. Each app row and
each account row now carries an HMAC-SHA256 (`Vault.mac`, a subkey of the data key per purpose)
over:

* an app: its row id, name, platform, app id, redirect URIs (as stored), Graph version, base URL
  and a SHA-256 of its secret's ciphertext;
* an account: its row id, its app's row id, Instagram user id, username, token generation and a
  SHA-256 of its token's ciphertext (so an older ciphertext put back is caught).

The store checks them before it returns a secret or an app that a request will be built from,
and refuses a mismatch as "changed outside igtui" (RecordDamaged, exit 3): callers cannot forget.
Every write of a covered column recomputes its row's MAC in the same transaction.

The encoding is canonical: a version byte, then per field a type tag, a 4-byte big-endian length
and the bytes, so no two different rows encode alike. It is total: garbage of any type encodes
(and then fails to verify) rather than raising.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from cryptography.hazmat.primitives import hashes

from igtui.core.crypto import Vault

APP_PURPOSE = "store/apps/v1"
ACCOUNT_PURPOSE = "store/accounts/v1"
_VERSION = b"\x01"
CHANGED = "changed outside igtui (integrity check failed)"
"""The damage text of a row whose MAC does not match."""


def _field(value: object) -> bytes:
    t = type(value)  # exact types first: this runs for every field of every token read in bulk
    if t is str:
        data: bytes = value.encode("utf-8", "surrogatepass")  # type: ignore[attr-defined]
        return b"S" + len(data).to_bytes(4, "big") + data
    if t is int:
        data = str(value).encode()
        return b"I" + len(data).to_bytes(4, "big") + data
    if t is bytes:
        raw: bytes = bytes(value)  # type: ignore[call-overload]
        return b"B" + len(raw).to_bytes(4, "big") + raw
    if value is None:
        tag, data = b"N", b""
    elif isinstance(value, bool):
        tag, data = b"I", str(int(value)).encode()
    elif isinstance(value, int):
        tag, data = b"I", str(value).encode()
    elif isinstance(value, str):
        tag, data = b"S", value.encode("utf-8", "surrogatepass")
    elif isinstance(value, bytes | bytearray | memoryview):
        tag, data = b"B", bytes(value)
    else:  # a float, or a cell that did not decode: never what igtui writes into these columns
        tag, data = b"X", repr(value).encode("utf-8", "backslashreplace")
    return tag + struct.pack(">I", len(data)) + data


def encode(fields: Sequence[object]) -> bytes:
    """The canonical bytes of a row's covered fields (version, then tag‖length‖bytes each)."""
    return _VERSION + b"".join([_field(v) for v in fields])


def digest(blob: object) -> bytes:
    """SHA-256 of a ciphertext, given as bytes or as SQLite's `hex()` of it (selects use hex so
    that a TEXT value planted in the column, perhaps not UTF-8, never fails the read). Anything
    else digests as a marker no ciphertext has: it will not verify."""
    if isinstance(blob, str):
        try:
            blob = bytes.fromhex(blob)
        except ValueError:
            return b"\xff" * 32
    if not isinstance(blob, bytes | bytearray | memoryview):
        return b"\xff" * 32
    digest = hashes.Hash(hashes.SHA256())  # cryptography's, loaded already: hashlib would load OpenSSL again
    digest.update(bytes(blob))
    return digest.finalize()


def app_fields(row_id: object, name: object, platform: object, app_id: object, redirect_uris: object,
               graph_version: object, base_url: object, secret_blob: object) -> list[object]:
    """An app row's covered fields, in MAC order."""
    return [row_id, name, platform, app_id, redirect_uris, graph_version, base_url, digest(secret_blob)]


def account_fields(row_id: object, app_row_id: object, ig_user_id: object, username: object, generation: object,
                   token_blob: object) -> list[object]:
    """An account row's covered fields, in MAC order."""
    return [row_id, app_row_id, ig_user_id, username, generation, digest(token_blob)]


APP_MAC_SELECT = "SELECT id, name, platform, app_id, redirect_uris, graph_version, base_url, hex(secret), mac FROM apps"
"""The columns an app's MAC covers, then the MAC (`app_fields` order)."""
ACCOUNT_MAC_COLUMNS = "id, app, ig_user_id, username, generation, hex(token), mac"
"""The columns an account's MAC covers, then the MAC (`account_fields` order)."""


def app_mac(vault: Vault, row: Sequence[object]) -> bytes:
    """The MAC of an `APP_MAC_SELECT` row (its last column, the MAC itself, is ignored)."""
    return vault.mac(APP_PURPOSE, encode(app_fields(*row[:8])))


def app_ok(vault: Vault, row: Sequence[object]) -> bool:
    """Whether an `APP_MAC_SELECT` row matches its MAC (a missing MAC never does)."""
    tag = row[8]
    return isinstance(tag, bytes) and vault.verify_mac(APP_PURPOSE, encode(app_fields(*row[:8])), tag)


def account_mac(vault: Vault, row: Sequence[object]) -> bytes:
    """The MAC of an `ACCOUNT_MAC_COLUMNS` row (the MAC column itself ignored)."""
    return vault.mac(ACCOUNT_PURPOSE, encode(account_fields(*row[:6])))


__all__ = [
    "ACCOUNT_MAC_COLUMNS", "ACCOUNT_PURPOSE", "APP_MAC_SELECT", "APP_PURPOSE", "CHANGED", "account_fields",
    "account_mac", "app_fields", "app_mac", "app_ok", "digest", "encode",
]
