"""parse_usage: both X-App-Usage forms, BUC, ad account; missing = unknown; malformed = ignored."""

from __future__ import annotations

import random

import httpx
import pytest

from igtui.core.graph.ratelimit import parse_usage

# Verbatim from a public SDK's recorded fixtures (sns-sdks/python-facebook tests/test_ratelimit.py).
APP = {"x-app-usage": '{"call_count":91,"total_cputime":15,"total_time":12}'}
BUC = {
    "x-business-use-case-usage": (
        '{"112130216863063":[{"type":"pages","call_count":1,"total_cputime":1,"total_time":1,'
        '"estimated_time_to_regain_access":0,"ads_api_access_tier":"development_access"}]}'
    )
}
AD = {
    "x-ad-account-usage": '{"acc_id_util_pct":9.67,"reset_time_duration":100,"ads_api_access_tier":"standard_access"}'
}


def test_app_usage_graph_form() -> None:
    usage = parse_usage(httpx.Headers(APP))
    assert usage is not None
    assert usage.app_pct == 91 and usage.app_raw == {"call_count": 91, "total_cputime": 15, "total_time": 12}
    assert usage.max_pct == 91


def test_app_usage_instagram_form() -> None:
    usage = parse_usage({"X-App-Usage": '{"call_volume":7,"cpu_time":33}'})
    assert usage is not None and usage.app_pct == 33 and usage.app_raw == {"call_volume": 7, "cpu_time": 33}


def test_buc_usage() -> None:
    usage = parse_usage(BUC)
    assert usage is not None
    assert usage.buc == {"112130216863063": (("pages", 1.0, 0),)}
    assert usage.regain_minutes == 0 and usage.app_pct is None


def test_buc_takes_max_of_each_entry_and_largest_regain() -> None:
    header = (
        '{"1":[{"type":"instagram","call_count":20,"total_cputime":95,"total_time":3,"estimated_time_to_regain_access":4}],'
        '"2":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":30},{"type":"messenger","call_count":5}]}'
    )
    usage = parse_usage({"x-business-use-case-usage": header})
    assert usage is not None
    assert usage.buc["1"] == (("instagram", 95.0, 4),)
    assert usage.buc["2"] == (("pages", 100.0, 30), ("messenger", 5.0, 0))
    assert usage.regain_minutes == 30 and usage.max_pct == 100


def test_ad_account_usage() -> None:
    usage = parse_usage(AD)
    assert usage is not None and usage.ad_account_pct == pytest.approx(9.67) and usage.ad_account_reset_seconds == 100


def test_all_three_together() -> None:
    usage = parse_usage(httpx.Headers({**APP, **BUC, **AD}))
    assert usage is not None and usage.max_pct == 91


def test_missing_headers_mean_unknown_not_zero() -> None:
    assert parse_usage(httpx.Headers({"content-type": "application/json"})) is None
    assert parse_usage({}) is None


@pytest.mark.parametrize(
    "headers",
    [
        {"x-app-usage": "{not json"},
        {"x-app-usage": "[1,2,3]"},
        {"x-app-usage": '{"call_count":"91"}'},
        {"x-app-usage": '{"call_count":true,"cpu_time":null}'},
        {"x-app-usage": '{"call_count":NaN,"total_time":Infinity}'},
        {"x-app-usage": '{"call_count":-5}'},
        {"x-app-usage": ""},
        {"x-app-usage": "[" * 100_000},
        {"x-business-use-case-usage": '{"1": {"type": "pages"}}'},
        {"x-business-use-case-usage": '{"1": ["x", 3, null]}'},
        {"x-business-use-case-usage": '"just a string"'},
        {"x-ad-account-usage": '{"acc_id_util_pct": "high"}'},
    ],
)
def test_malformed_headers_are_ignored(headers: dict[str, str]) -> None:
    assert parse_usage(headers) is None


def test_a_malformed_header_does_not_hide_a_good_one() -> None:
    usage = parse_usage({"x-app-usage": "{broken", "x-ad-account-usage": '{"acc_id_util_pct": 50}'})
    assert usage is not None and usage.app_pct is None and usage.ad_account_pct == 50


def test_random_garbage_never_raises() -> None:
    rng = random.Random(7)
    pieces = ['{', '}', '[', ']', '"call_count"', ':', ',', '1e999', '-1', 'true', '"x"', '{"type":', '0.5', ' ']
    for _ in range(500):
        raw = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        for name in ("x-app-usage", "x-business-use-case-usage", "x-ad-account-usage"):
            usage = parse_usage({name: raw})
            assert usage is None or usage.max_pct is None or usage.max_pct >= 0


# --- The caps that guard against hostile headers ------------------------------------------------
# A proxy or a compromised edge can send any header; each cap below is pinned at its boundary.

MAX_HEADER = 16_384


def _app_header(total: int) -> str:
    """A valid X-App-Usage value exactly `total` characters long (an ignored string field pads it)."""
    head, tail = '{"call_count":5,"pad":"', '"}'
    return head + "x" * (total - len(head) - len(tail)) + tail


def test_a_header_of_16_kib_is_read_and_one_byte_more_is_not() -> None:
    at_cap = _app_header(MAX_HEADER)
    assert len(at_cap) == MAX_HEADER
    usage = parse_usage({"x-app-usage": at_cap})
    assert usage is not None and usage.app_raw == {"call_count": 5}
    assert parse_usage({"x-app-usage": _app_header(MAX_HEADER + 1)}) is None
    # An oversized header does not hide a good one beside it.
    both = parse_usage({"x-app-usage": _app_header(MAX_HEADER + 1), "x-ad-account-usage": '{"acc_id_util_pct": 3}'})
    assert both is not None and both.app_pct is None and both.ad_account_pct == 3


@pytest.mark.parametrize("value", ["-0.5", "-1", "-1e-9"])
def test_any_negative_number_is_not_usage(value: str) -> None:
    assert parse_usage({"x-app-usage": f'{{"call_count":{value}}}'}) is None
    usage = parse_usage({"x-app-usage": '{"call_count":0,"cpu_time":0.0}'})
    assert usage is not None and usage.app_raw == {"call_count": 0.0, "cpu_time": 0.0} and usage.app_pct == 0


def test_a_plain_dict_is_searched_case_insensitively_past_other_headers() -> None:
    headers = {"Content-Type": "application/json", "ETag": '"1"', "X-App-Usage": '{"call_count":12}'}
    usage = parse_usage(headers)
    assert usage is not None and usage.app_pct == 12


def test_with_two_spellings_the_exact_name_wins_then_the_first_one() -> None:
    exact = parse_usage({"X-App-Usage": '{"call_count":1}', "x-app-usage": '{"call_count":2}'})
    assert exact is not None and exact.app_pct == 2
    first = parse_usage({"X-App-Usage": '{"call_count":1}', "X-APP-USAGE": '{"call_count":2}'})
    assert first is not None and first.app_pct == 1


def test_non_text_keys_and_values_are_skipped() -> None:
    usage = parse_usage({1: "x", "X-App-Usage": 5, "x-ad-account-usage": '{"acc_id_util_pct": 4}'})  # type: ignore[dict-item]
    assert usage is not None and usage.app_pct is None and usage.ad_account_pct == 4


def test_a_broken_app_header_leaves_the_app_fields_empty() -> None:
    for raw in ("{broken", "[1]", '"text"'):
        usage = parse_usage({"x-app-usage": raw, "x-ad-account-usage": '{"acc_id_util_pct": 50}'})
        assert usage is not None and usage.app_raw == {} and usage.app_pct is None


def test_names_and_types_are_cut_at_64_characters() -> None:
    key, business, kind = "k" * 65, "9" * 65, "t" * 65
    usage = parse_usage({
        "x-app-usage": f'{{"{key}":7}}',
        "x-business-use-case-usage": f'{{"{business}":[{{"type":"{kind}","call_count":3}}]}}',
    })
    assert usage is not None
    assert usage.app_raw == {"k" * 64: 7.0}
    assert usage.buc == {"9" * 64: (("t" * 64, 3.0, 0),)}
    exact = parse_usage({"x-app-usage": f'{{"{"k" * 64}":7}}'})
    assert exact is not None and exact.app_raw == {"k" * 64: 7.0}


def test_only_64_businesses_and_64_entries_each_are_read() -> None:
    import json

    businesses = {str(i): [{"type": "pages", "call_count": i}] for i in range(65)}
    usage = parse_usage({"x-business-use-case-usage": json.dumps(businesses)})
    assert usage is not None and sorted(usage.buc, key=int) == [str(i) for i in range(64)]
    entries = [{"type": f"t{i}", "call_count": i} for i in range(65)]
    usage = parse_usage({"x-business-use-case-usage": json.dumps({"1": entries})})
    assert usage is not None and [e[0] for e in usage.buc["1"]] == [f"t{i}" for i in range(64)]
    assert usage.max_pct == 63


def test_one_bad_business_or_entry_does_not_stop_the_rest() -> None:
    header = ('{"a": {"type": "pages"}, "b": "x", "c": [1, "x", null, {"type": "empty"},'
              ' {"type": "pages", "call_count": 9}], "d": [{"type": "ig", "total_time": 4}]}')
    usage = parse_usage({"x-business-use-case-usage": header})
    assert usage is not None
    assert usage.buc == {"c": (("pages", 9.0, 0),), "d": (("ig", 4.0, 0),)}


def test_an_entry_with_only_a_regain_time_counts_and_one_with_nothing_does_not() -> None:
    usage = parse_usage({"x-business-use-case-usage": '{"1":[{"type":"pages","estimated_time_to_regain_access":5}]}'})
    assert usage is not None and usage.buc == {"1": (("pages", 0.0, 5),)} and usage.regain_minutes == 5
    assert parse_usage({"x-business-use-case-usage": '{"1":[{"type":"pages"}]}'}) is None
    untyped = parse_usage({"x-business-use-case-usage": '{"1":[{"type":7,"call_count":1}]}'})
    assert untyped is not None and untyped.buc == {"1": (("unknown", 1.0, 0),)}


@pytest.mark.parametrize(("raw", "capped"), [(10_000_000, 10_000_000), (10_000_001, 10_000_000), (1e300, 10_000_000),
                                             (9_999_999.9, 9_999_999)])
def test_regain_and_reset_times_are_capped_at_ten_million(raw: float, capped: int) -> None:
    buc = parse_usage({"x-business-use-case-usage": f'{{"1":[{{"type":"pages","call_count":1,'
                                                    f'"estimated_time_to_regain_access":{raw!r}}}]}}'})
    assert buc is not None and buc.regain_minutes == capped and buc.buc["1"][0][2] == capped
    ad = parse_usage({"x-ad-account-usage": f'{{"acc_id_util_pct":1,"reset_time_duration":{raw!r}}}'})
    assert ad is not None and ad.ad_account_reset_seconds == capped


def test_an_ad_account_header_with_only_a_reset_time_is_usage() -> None:
    usage = parse_usage({"x-ad-account-usage": '{"reset_time_duration": 60}'})
    assert usage is not None and usage.ad_account_pct is None and usage.ad_account_reset_seconds == 60
