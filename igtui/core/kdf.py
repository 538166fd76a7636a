"""The passphrase → key-encryption-key step alone: Argon2id, its bounds, and nothing else.

Why a module of its own: the helper that derives the key ahead (`igtui.core.keyahead`) runs this
while the command is still starting, and every module it imports is on the unlock's critical
path. This one needs only cryptography's Argon2id (no AES, HMAC or HKDF, no dataclasses), and
imports even that only to derive: the parent normalizes the passphrase it sends the helper
without loading cryptography's ~15 ms of bindings first. `igtui.core.crypto` builds its
`KdfParams` on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from igtui.core.secret import Secret

KDF_NAME = "argon2id"
KEY_BYTES = 32
SALT_BYTES = 16

MAX_MEMORY_KIB = 1024 * 1024
"""1 GiB: a header asking for more is refused unread (it would OOM or hang the machine)."""
OWASP_MEMORY_KIB = 19456
"""OWASP's Argon2id floor at t=2 (the equivalent floor at t=1 is 47104 KiB)."""
OWASP_T1_MEMORY_KIB = 47104
MAX_ITERATIONS = 10
MAX_LANES = 16


def params_problem(memory_kib: object, iterations: object, lanes: object) -> str | None:
    """Why these Argon2id parameters are unacceptable, or None when they are within bounds.

    Parameters read from a file are attacker-controlled: they are checked before any KDF work.
    """
    for label, value in (("memory", memory_kib), ("iterations", iterations), ("lanes", lanes)):
        if not isinstance(value, int) or isinstance(value, bool):
            return f"KDF {label} is not an integer"
    assert isinstance(memory_kib, int) and isinstance(iterations, int) and isinstance(lanes, int)
    if memory_kib > MAX_MEMORY_KIB:
        return f"KDF memory {memory_kib} KiB is over the 1 GiB limit"
    if iterations < 1 or iterations > MAX_ITERATIONS:
        return f"KDF iterations {iterations} is outside 1–{MAX_ITERATIONS}"
    if lanes < 1 or lanes > MAX_LANES:
        return f"KDF lanes {lanes} is outside 1–{MAX_LANES}"
    floor = OWASP_T1_MEMORY_KIB if iterations == 1 else OWASP_MEMORY_KIB
    if memory_kib < floor:
        return f"KDF memory {memory_kib} KiB with {iterations} iteration(s) is under the OWASP minimum ({floor} KiB)"
    return None


def salt_problem(salt: object) -> str | None:
    """Why this salt is unacceptable (not SALT_BYTES bytes), or None."""
    if not isinstance(salt, bytes | bytearray) or len(salt) != SALT_BYTES:
        return f"KDF salt is {len(salt) if isinstance(salt, bytes | bytearray) else 'not'} bytes, not {SALT_BYTES}"
    return None


def canonical(memory_kib: int, iterations: int, lanes: int) -> bytes:
    """The parameters' byte form, bound into the wrapped data key's AAD (`KdfParams.canonical`)."""
    return f"m={memory_kib},t={iterations},p={lanes}".encode()


def normalize_passphrase(passphrase: Secret) -> bytes:
    """NFC, then UTF-8: the same passphrase typed on any keyboard derives the same key.

    ASCII is already NFC, so unicodedata (a large module) is imported only when needed.
    """
    text = passphrase.reveal()
    if not text.isascii():
        import unicodedata

        text = unicodedata.normalize("NFC", text)
    return text.encode("utf-8", "surrogatepass")


def derive(passphrase: bytes | bytearray | memoryview, salt: bytes, memory_kib: int, iterations: int,
           lanes: int) -> bytearray:
    """Argon2id of a normalized passphrase (`normalize_passphrase`) into a fresh bytearray.

    The caller has checked the parameters (`params_problem`, `salt_problem`) and overwrites the
    result when done.
    """
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    kdf = Argon2id(salt=bytes(salt), length=KEY_BYTES, iterations=iterations, lanes=lanes, memory_cost=memory_kib)
    out = bytearray(KEY_BYTES)
    kdf.derive_into(passphrase, out)  # type: ignore[arg-type]  # any buffer is accepted; the stub says bytes
    return out


__all__ = ["KDF_NAME", "KEY_BYTES", "MAX_ITERATIONS", "MAX_LANES", "MAX_MEMORY_KIB", "OWASP_MEMORY_KIB",
           "OWASP_T1_MEMORY_KIB", "SALT_BYTES", "canonical", "derive", "normalize_passphrase", "params_problem",
           "salt_problem"]
