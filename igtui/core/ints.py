"""The one strict integer parser for numbers in text igtui does not control.

Meta's replies, redirect queries and response headers carry numbers as JSON numbers or as
strings ("1020...", "190", "5183944"). Python's own checks are the wrong tool for them:
`str.isdigit()` is True for "²" and for Arabic-Indic or fullwidth digits, `int()` accepts those
digits, underscores ("1_0"), a "+" and any Unicode whitespace, and `lstrip("-")` turns "--1"
into "1". A check and a conversion that disagree raise ValueError in the middle of an error
path (an "unexpected error" instead of the refusal) or of a refresh (the new token lost).

`parse_int` decides by one rule that the conversion cannot contradict, and never raises:

* an `int` (never a `bool`: `True` is not the number 1 in Meta's JSON), or, only when asked
  (`floats=True`), a finite float with no fractional part (JSON `1352419328.0`);
* a `str` that is, after stripping ASCII space and tab only, `-?[0-9]{1,19}`: ASCII digits,
  at most one leading '-', no '+', no underscores, no other whitespace. Space and tab are
  stripped because they are HTTP's optional whitespace around a header value (RFC 9110) and
  because a '+' in a query string decodes to a space; a newline, a NUL or a no-break space
  is not padding anyone sends, so it makes the text "not a number";
* at most 19 digits, checked before `int()` runs, so a megabyte of digits costs nothing (and
  never reaches Python's 4300-digit limit, which raises);
* within `lo..hi`, by default the signed 64-bit range SQLite can store.

Anything else is None, which every caller treats as "absent / unknown". There is no raising
variant on purpose: a number Meta sent badly is a missing number, not a failure.
"""

from __future__ import annotations

import math
import re

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_DIGITS = 19
"""Digits in INT64_MAX; a longer string cannot be in range, so it is refused unread."""

_INT_RE = re.compile(rf"-?[0-9]{{1,{MAX_DIGITS}}}")
"""`[0-9]`, not `\\d`: in a str pattern `\\d` matches every Unicode decimal digit."""
_PADDING = " \t"
_MAX_TEXT = MAX_DIGITS + 1 + 64
"""Longest text looked at, padding included (longer is refused before stripping)."""


def parse_int(value: object, *, lo: int = INT64_MIN, hi: int = INT64_MAX, floats: bool = False) -> int | None:
    """`value` as an int if it is one by the module's rule and lies in `lo..hi`, else None.

    Args:
        value: Anything from outside: a JSON value, a query parameter, a header value.
        lo: Smallest accepted value (inclusive).
        hi: Largest accepted value (inclusive).
        floats: Also accept a finite float with no fractional part (for JSON timestamps).

    Returns:
        The int, or None for every other input; never raises.
    """
    number: int
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not floats or not math.isfinite(value) or not value.is_integer():
            return None
        if not INT64_MIN <= value <= INT64_MAX:
            return None
        number = int(value)
    elif isinstance(value, str):
        if len(value) > _MAX_TEXT:
            return None
        text = value.strip(_PADDING)
        if _INT_RE.fullmatch(text) is None:
            return None
        number = int(text)
    else:
        return None
    return number if lo <= number <= hi else None


__all__ = ["INT64_MAX", "INT64_MIN", "MAX_DIGITS", "parse_int"]
