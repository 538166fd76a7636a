"""parse_usage: both X-App-Usage forms, BUC, ad account; missing = unknown; malformed = ignored."""

from __future__ import annotations

import random

import httpx
import pytest

from igtui.core.graph.ratelimit import parse_usage

# Verbatim from reference §9 (sns-sdks/python-facebook tests/test_ratelimit.py).
APP = {"x-app-usage": '{"call_count":91,"total_cputime":15,"total_time":12}'}
BUC = {"x-business-use-case-usage": '{"112130216863063":[{"type":"pages","call_count":1,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":0,"ads_api_access_tier":"development_access"}]}'}
AD = {"x-ad-account-usage": '{"acc_id_util_pct":9.67,"reset_time_duration":100,"ads_api_access_tier":"standard_access"}'}


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
    header = ('{"1":[{"type":"instagram","call_count":20,"total_cputime":95,"total_time":3,"estimated_time_to_regain_access":4}],'
              '"2":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":30},{"type":"messenger","call_count":5}]}')
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
