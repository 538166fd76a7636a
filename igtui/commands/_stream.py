"""JSON written as rows are read: the document form, incrementally, and JSON Lines.

Why: `status --json`, `account list --json`, `history --json` and `log --json` used to build the
whole document in memory and dump it at the end, so their peak memory grew with the store (600
MiB at 100,000 accounts). Here every row is serialised and written the moment it is read, and
the bytes are exactly those `_common.print_json` writes for the whole document (same
`json.dumps` settings, same two-space indentation at each nesting level), so a consumer that
parses today's output cannot tell the difference. `--jsonl` writes one object per line
instead, for consumers that stream too.
"""

from __future__ import annotations

import json
import json.encoder
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from igtui.commands._common import _default

_INDENT = "  "


class Encoded(str):
    """An array element already laid out as JSON text, at the nesting level of the array's elements.

    Why: `status --json` lays out its common row (a healthy account) from a template, which costs
    a fraction of building the dict and walking it (`_dumps`); `_write_array` writes such an item
    as it is. The producer answers for the bytes being what `_dumps` would make of its dict
    (`tests/store/test_scale_output.py` compares them on every kind of account).
    """

    __slots__ = ()

_ESCAPE: Callable[[str], str] = json.encoder.encode_basestring_ascii  # what ensure_ascii=True uses


def _dumps(value: object, level: int) -> str:
    """`value` as `print_json` would write it at nesting `level` (its first line unindented).

    Why not `json.dumps(value, indent=2)` alone: with an indent, `json` falls back from its C
    encoder to the pure-Python one, which was most of the time spent on a large store. Dicts
    and lists are laid out here, exactly as the encoder lays them out, and their strings,
    integers, booleans and nulls are encoded by the C functions `json` itself uses; anything
    else (floats, enums, datetimes, other types) goes through `json.dumps`, so it comes out as
    `print_json` writes it. `tests/store/test_scale_output.py` compares the bytes.
    """
    kind = type(value)
    if kind is dict and value:
        pad = "\n" + _INDENT * (level + 1)
        try:
            parts = [_ESCAPE(k) + ": " + _scalar(v, level + 1) for k, v in value.items()]  # type: ignore[attr-defined]
        except TypeError:  # a key that is not a str (json converts those): its own way
            return _slow(value, level)
        return "{" + pad + ("," + pad).join(parts) + "\n" + _INDENT * level + "}"
    if kind is list or kind is dict:
        if not value:
            return "[]" if kind is list else "{}"
        pad = "\n" + _INDENT * (level + 1)
        return "[" + pad + ("," + pad).join(_scalar(v, level + 1) for v in value) + "\n" + _INDENT * level + "]"  # type: ignore[attr-defined]
    return _slow(value, level)


def _scalar(value: object, level: int) -> str:
    kind = type(value)
    if kind is str:
        return _ESCAPE(value)  # type: ignore[arg-type]
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    return _dumps(value, level)


def _slow(value: object, level: int) -> str:
    text = json.dumps(value, indent=2, default=_default, ensure_ascii=True)
    return text.replace("\n", "\n" + _INDENT * level) if level else text


def _write_array(items: Iterable[object], level: int) -> None:
    """A JSON array at nesting `level`, one element written per item as it comes."""
    out = sys.stdout.write
    pad = "\n" + _INDENT * (level + 1)
    first = True
    for item in items:
        out(("[" if first else ",") + pad + (item if type(item) is Encoded else _dumps(item, level + 1)))
        first = False
    out("[]" if first else "\n" + _INDENT * level + "]")


def write_json_array(items: Iterable[object]) -> None:
    """`print_json(list(items))`, byte for byte, holding one item at a time."""
    _write_array(items, 0)
    sys.stdout.write("\n")


def write_json_document(
    head: Mapping[str, object], key: str, items: Iterable[object], tail: Callable[[], Mapping[str, Any]]
) -> None:
    """`print_json({**head, key: list(items), **tail()})`, byte for byte, holding one item at a time.

    `tail` is called once the items are written: counts that the rows decide (attention,
    damaged) come after the rows in the document, so they are known by then.
    """
    out = sys.stdout.write
    out("{")
    first = True
    for name, value in head.items():
        out(("" if first else ",") + "\n" + _INDENT + json.dumps(name) + ": " + _dumps(value, 1))
        first = False
    out(("" if first else ",") + "\n" + _INDENT + json.dumps(key) + ": ")
    _write_array(items, 1)
    for name, value in tail().items():
        out(",\n" + _INDENT + json.dumps(name) + ": " + _dumps(value, 1))
    out("\n}\n")


def write_jsonl(items: Iterable[object]) -> None:
    """One JSON object per line (JSON Lines), ASCII-escaped like the document form, in the
    shape `log --follow --json` has always written its lines."""
    out = sys.stdout.write
    for item in items:
        out(json.dumps(item, default=_default, ensure_ascii=True) + "\n")


__all__ = ["Encoded", "write_json_array", "write_json_document", "write_jsonl"]
