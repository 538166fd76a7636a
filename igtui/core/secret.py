"""The `Secret` wrapper and the process-wide registry of secrets that redaction must erase.

A token, app secret, code or passphrase travels through igtui as a `Secret`, never as a bare
`str`, so that a traceback with locals, a `repr()` in a log line, an f-string or a snapshot
shows `Secret('***')` instead of the value. The one place that needs the value calls
`.reveal()`.

Every `Secret` created registers its value (and its URL-encoded, base64 and hex forms) with
`known_secrets()`, which the redactor consults: that catches a secret that slipped into an
exception message or a response body by a path no key-based rule foresaw.
"""

from __future__ import annotations

import binascii
import threading
import urllib.parse
from collections.abc import Iterator

_URLSAFE = str.maketrans("+/", "-_")
"""base64's URL-safe alphabet (what `base64.urlsafe_b64encode` does after encoding). The forms
are made with `binascii`, which the `base64` module wraps: every process that unlocks a store
imports this module, and `base64` adds a module import to each start (`igtui exec`'s cost)."""
_MIN_REGISTERED_LENGTH = 6
"""Shorter values are not registered: replacing every 'abc' in a log line would hide real text."""


class _Registry:
    """A thread-safe set of secret strings, with their common encodings."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._sorted: list[str] | None = None
        """Cached longest-first view; redaction asks for it on every log line, adds are rarer."""

    def add(self, value: str) -> None:
        """Register a value with its URL-encoded, base64 and hex forms (too-short values are skipped)."""
        if len(value) < _MIN_REGISTERED_LENGTH:
            return
        raw = value.encode("utf-8", "surrogatepass")
        forms = {
            value,
            urllib.parse.quote(value, safe=""),
            urllib.parse.quote_plus(value, safe=""),
            (b64 := binascii.b2a_base64(raw, newline=False).decode().rstrip("=")),
            b64.translate(_URLSAFE),
            raw.hex(),
        }
        with self._lock:
            if not forms <= self._values:
                self._values.update(forms)
                self._sorted = None

    def snapshot(self) -> list[str]:
        """Longest first, so a secret is replaced before any shorter secret inside it."""
        with self._lock:
            if self._sorted is None:
                self._sorted = sorted(self._values, key=len, reverse=True)
            return self._sorted

    def clear(self) -> None:
        """Forget every value (tests, and `forget_all_secrets`)."""
        with self._lock:
            self._values.clear()
            self._sorted = None


_registry = _Registry()


def known_secrets() -> list[str]:
    """Every registered secret form, longest first. The list is shared: do not mutate it."""
    return _registry.snapshot()


def register_secret(value: str) -> None:
    """Register a raw value for exact-match redaction without wrapping it."""
    _registry.add(value)


def forget_all_secrets() -> None:
    """Empty the registry (tests, and `lock`)."""
    _registry.clear()


class Secret:
    """A secret string that will not print itself.

    Args:
        value: The raw secret.
        register: Whether to add it to the redaction registry (default yes).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str, *, register: bool = True) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        self._value = value
        if register:
            _registry.add(value)

    def reveal(self) -> str:
        """The raw value. Call it only where the value must leave igtui (HTTP, encryption, stdout)."""
        return self._value

    def masked(self, keep: int = 4) -> str:
        """A display form: the first `keep` characters (a token's kind prefix), then dots."""
        if not self._value:
            return "(empty)"
        if len(self._value) <= keep * 3:
            return "•" * 8
        return self._value[:keep] + "…" + "•" * 8

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        import hmac

        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Secret values are not picklable")

    def __iter__(self) -> Iterator[str]:
        raise TypeError("Secret values are not iterable")
