"""Make text that came from outside (Meta, the sandbox, a pasted URL) safe to show in a terminal.

Rich and Textual strip only a few C0 controls (BEL, BS, VT, FF, CR); ESC, OSC and C1 pass straight
to the terminal. So every string from the API goes through `plain()` before any widget or
`print()` sees it: controls become visible escapes such as `\\x1b`, and bidi or invisible format
characters become `<U+202E>`, so that a username can neither move the cursor, write the clipboard
(OSC 52), plant a hyperlink (OSC 8) nor reorder the text around it (Trojan Source). Markup is a
separate matter: the TUI renders these strings with markup off.
"""

from __future__ import annotations

_BIDI_AND_INVISIBLE = frozenset(
    [
        0x061C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029, 0x2060, 0xFEFF,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    ]
)


def _visible(ch: str) -> str:
    code = ord(ch)
    if code < 0x20 or code == 0x7F or 0x80 <= code <= 0x9F:
        return f"\\x{code:02x}"
    if code < 0x80:
        return ch  # printable ASCII: never a format, surrogate, private or unassigned character
    import unicodedata  # here, past ASCII: loading its tables costs a CLI start ~2 ms it rarely needs

    if code in _BIDI_AND_INVISIBLE or unicodedata.category(ch) in ("Cf", "Cs", "Co", "Cn"):
        return f"<U+{code:04X}>"
    return ch


def plain(text: object, *, limit: int | None = None) -> str:
    """Return `text` as a single line with every control and format character made visible.

    Args:
        text: Anything; it is converted with `str()` first. None becomes ''.
        limit: Truncate to this many characters, ending with '…'.

    Returns:
        A string with no C0/C1 control, ESC, bidi override or zero-width character left in it.
    """
    if text is None:
        return ""
    raw = str(text)
    if raw.isprintable() and raw.isascii():
        out = raw
    else:
        out = "".join(ch if ch.isprintable() and ord(ch) < 0x80 else _visible(ch) for ch in raw)
    if limit is not None and len(out) > limit:
        out = out[: max(0, limit - 1)] + "…"
    return out


def is_clean(text: str) -> bool:
    """True when `plain(text)` would leave `text` unchanged."""
    return plain(text) == text


ECHO_LIMIT = 80
"""How much of a user's input an error message repeats back: enough to recognise it."""


def echo(value: object, *, limit: int = ECHO_LIMIT, quote: bool = True) -> str:
    """User input, as an error message may repeat it: made plain, quoted, and cut when long.

    An error that repeats a 5,000-character argument whole buries the one line that says what
    went wrong (and can carry escapes into the terminal). This keeps at most `limit` visible
    characters, in `plain()`'s visible form, and says how long the original was:
    `'aaaa…' (5,000 characters)`.

    Args:
        value: Anything; converted with `str()` first. None becomes ''.
        limit: Visible characters kept (escapes such as `\\x1b` count at their shown length).
        quote: Wrap in single quotes, as `!r` did in the messages this replaces.
    """
    raw = "" if value is None else str(value)
    limit = max(1, limit)
    shown: list[str] = []
    used = 0
    cut = False
    for ch in raw:
        piece = ch if ch.isprintable() and ord(ch) < 0x80 else _visible(ch)
        if used + len(piece) > limit:
            cut = True
            break
        shown.append(piece)
        used += len(piece)
    text = "".join(shown)
    if cut:
        # Room for the ellipsis: drop pieces until it fits within `limit`.
        while shown and used + 1 > limit:
            used -= len(shown.pop())
        text = "".join(shown) + "…"
    body = f"'{text}'" if quote else text
    return f"{body} ({len(raw):,} characters)" if cut else body
