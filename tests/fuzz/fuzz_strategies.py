"""Hypothesis strategies for what Meta, a proxy or a crafted URL can send igtui.

Numbers come in every spelling the audit found dangerous ("²", "--1", fullwidth and
Arabic-Indic digits, NaN, inf, 1e300, huge ints, bools) next to the real ones, so each target
sees both the shapes it must accept and the ones it must refuse.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

NASTY_NUMBERS = ["²", "--1", "-", "", " 7 ", "+1", "1_000", "１９０", "٤٠٠", "0x10", "1e3", "nan", "inf",
                 "-0", "9" * 25, "1" * 5000, "\x00", "12\n", "\u00a012", "190", "-1", "5183944", "0"]
NUMBERS: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(NASTY_NUMBERS),
    st.integers(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e300, -1e300, 10**400, True, False, None]),
    st.text(alphabet="0123456789-+²³¹٠١٢０１ .e_", max_size=12),
)
TEXT = st.one_of(st.text(max_size=40), st.sampled_from(["", "OAuthException", "IGApiException", "\x1b[31m",
                                                        "GNV+FOvDX3z", "Ax-_gPAuFEee6GdsfwecVmrjtu"]))
TOKENISH = st.one_of(st.just("IGAA" + "x" * 60), st.just("EAAB" + "y" * 80), st.text(max_size=30),
                     st.text(alphabet="ABCxyz0189-_.", min_size=10, max_size=3000))
SCALAR = st.one_of(NUMBERS, TEXT, TOKENISH, st.none(), st.booleans())
JSON_VALUE: st.SearchStrategy[Any] = st.recursive(
    SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12,
)
KEYS = ["error", "code", "error_subcode", "type", "message", "error_user_msg", "fbtrace_id", "is_transient",
        "error_type", "error_message", "error_code", "error_description", "access_token", "expires_in",
        "token_type", "user_id", "permissions", "data", "id", "username", "name", "account_type", "paging",
        "expires_at", "data_access_expires_at", "issued_at", "is_valid", "app_id", "scopes", "granular_scopes",
        "instagram_business_account", "next", "scope", "target_ids", "subcode", "meta"]


def _meta_object(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    value = SCALAR if depth == 0 else st.one_of(SCALAR, _meta_object(depth - 1),
                                                st.lists(st.one_of(SCALAR, _meta_object(depth - 1)), max_size=3))
    return st.dictionaries(st.sampled_from(KEYS), value, max_size=8)


META_OBJECT = _meta_object(2)
"""Objects made of Meta's own field names with fuzzed values (the shapes parsers branch on)."""


def _encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


BODY: st.SearchStrategy[bytes] = st.one_of(
    META_OBJECT.map(_encode),
    JSON_VALUE.map(_encode),
    st.binary(max_size=200),
    st.sampled_from([b"", b"<html>Sorry, something went wrong.</html>", b'{"error": {"code": 1', b"null",
                     b'{"expires_in": 1' + b"0" * 400 + b"}", b"[" * 5000, b'{"a": NaN}', b'{"a": Infinity}']),
)
STATUS = st.one_of(st.sampled_from([200, 201, 204, 400, 401, 403, 404, 429, 500, 502, 503]),
                   st.integers(min_value=100, max_value=599))
HEADER_VALUE = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=80),
    st.sampled_from(['OAuth "Facebook Platform" "invalid_token" "(#190) dead"',
                     'OAuth "Facebook Platform" "invalid_request" "(#4) Application request limit reached"',
                     'OAuth "x" "unknown_error', "application/json", "text/html", "text/javascript; charset=UTF-8"]),
)
HEADERS = st.dictionaries(
    st.sampled_from(["content-type", "www-authenticate", "x-fb-trace-id", "x-app-usage",
                     "x-business-use-case-usage", "x-ad-account-usage", "content-length", "retry-after"]),
    HEADER_VALUE, max_size=5,
)


def _usage_json(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


USAGE_ENTRY = st.dictionaries(
    st.sampled_from(["type", "call_count", "total_cputime", "total_time", "estimated_time_to_regain_access",
                     "ads_api_access_tier", "call_volume", "cpu_time", "acc_id_util_pct", "reset_time_duration"]),
    st.one_of(NUMBERS, TEXT, st.none()), max_size=6,
)
USAGE_HEADER = st.one_of(
    USAGE_ENTRY.map(_usage_json),
    st.dictionaries(TEXT, st.lists(st.one_of(USAGE_ENTRY, SCALAR), max_size=3), max_size=3).map(_usage_json),
    JSON_VALUE.map(_usage_json),
    st.text(max_size=60),
    st.sampled_from(["", "{", "[" * 3000, '{"call_count": 1' + "0" * 400 + "}", "x" * 20_000]),
)
USAGE_HEADERS = st.dictionaries(st.sampled_from(["x-app-usage", "X-App-Usage", "x-business-use-case-usage",
                                                 "x-ad-account-usage", "other"]), USAGE_HEADER, max_size=3)
