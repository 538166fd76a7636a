"""Fuzz the pure parsers: the callback URL, `decode_body`, `error_from_redirect`, the rate-limit meter.

Property for each: nothing escapes but igtui's own `IgtuiError` subclasses (the documented
refusals, each with its exit code), and what comes back has the promised types.
"""

from __future__ import annotations

import math
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import FAST, RUNS, SLOW
from fuzz_strategies import BODY, HEADERS, NUMBERS, STATUS, TEXT, TOKENISH, USAGE_HEADERS
from hypothesis import given
from hypothesis import strategies as st

from igtui.core.errors import ApiError, ConsentDenied, IgtuiError
from igtui.core.graph.errors import decode_body, error_from_redirect
from igtui.core.graph.ratelimit import parse_usage
from igtui.core.models import PendingFlow, Usage
from igtui.core.oauth.callback import Callback, parse_callback
from igtui.core.secret import Secret

REDIRECTS = ["https://localhost/callback", "http://127.0.0.1:8765/cb"]
NOW = datetime(2026, 12, 1, tzinfo=UTC)
PENDING = [PendingFlow(1, "ig", "instagram", REDIRECTS[0], ("instagram_business_basic",), NOW,
                       NOW + timedelta(minutes=10))]

# ── the callback parser ─────────────────────────────────────────────────────────

PARAM_VALUE = st.one_of(NUMBERS.map(str), TEXT, TOKENISH, st.just("A" * 43), st.just("AQD" + "c" * 60))
PARAMS = st.lists(st.tuples(st.sampled_from(["code", "state", "error", "error_reason", "error_description",
                                             "error_code", "other"]), PARAM_VALUE), max_size=6)


@st.composite
def callback_text(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.text(max_size=200))
    if kind == 1:
        return draw(TOKENISH)
    base = draw(st.sampled_from([*REDIRECTS, "https://evil.example/callback",
                                 "https://www.instagram.com/oauth/authorize", "https://localhost:443/callback/"]))
    pairs = draw(PARAMS)
    query = urllib.parse.urlencode(pairs) if kind == 2 else "&".join(f"{k}={v}" for k, v in pairs)
    text = f"{base}?{query}" if draw(st.booleans()) else base + query
    text += draw(st.sampled_from(["", "#_", "#_=_", "#", "#x", " ", "\n"]))
    if draw(st.booleans()):
        text = f"\x1b[200~{text}\x1b[201~"
    return text


def check_callback(raw: str) -> None:
    RUNS["callback parser (parse_callback)"] += 1
    try:
        result = parse_callback(raw, pending=PENDING, redirect_uris=REDIRECTS)
    except IgtuiError as exc:
        assert isinstance(exc.message, str) and "\n" not in exc.message
        return
    assert isinstance(result, Callback) and isinstance(result.code, Secret)
    assert result.state is None or isinstance(result.state, Secret)
    assert result.redirect_uri in REDIRECTS


@FAST
@given(callback_text())
def test_callback_parser(raw: str) -> None:
    check_callback(raw)


@pytest.mark.slow
@SLOW
@given(callback_text())
def test_callback_parser_slow(raw: str) -> None:
    check_callback(raw)


# ── decode_body ─────────────────────────────────────────────────────────────────

def check_decode(status: int, body: bytes, headers: dict[str, str], now: datetime | None) -> None:
    RUNS["decode_body"] += 1
    payload, error = decode_body(status, body, headers, now=now)
    assert payload is None or isinstance(payload, dict)
    assert error is None or isinstance(error, ApiError)
    if not 200 <= status < 300:
        assert error is not None
    if error is None:
        assert isinstance(payload, dict)
    else:
        assert error.code is None or type(error.code) is int
        assert error.subcode is None or type(error.subcode) is int
        assert isinstance(error.message, str)


@FAST
@given(STATUS, BODY, HEADERS, st.sampled_from([None, NOW]))
def test_decode_body(status: int, body: bytes, headers: dict[str, str], now: datetime | None) -> None:
    check_decode(status, body, headers, now)


@pytest.mark.slow
@SLOW
@given(STATUS, BODY, HEADERS, st.sampled_from([None, NOW]))
def test_decode_body_slow(status: int, body: bytes, headers: dict[str, str], now: datetime | None) -> None:
    check_decode(status, body, headers, now)


# ── error_from_redirect ─────────────────────────────────────────────────────────

REDIRECT_PARAMS = st.dictionaries(
    st.sampled_from(["error", "error_reason", "error_description", "error_code", "state", "code"]),
    st.one_of(PARAM_VALUE, st.lists(PARAM_VALUE, max_size=3)), max_size=5,
)


def check_redirect(params: dict[str, Any]) -> None:
    RUNS["error_from_redirect"] += 1
    error = error_from_redirect(params)
    assert error is None or isinstance(error, ApiError | ConsentDenied)
    if isinstance(error, ApiError):
        assert error.code is None or type(error.code) is int
    if error is not None:
        assert isinstance(error.message, str)


@FAST
@given(REDIRECT_PARAMS)
def test_error_from_redirect(params: dict[str, Any]) -> None:
    check_redirect(params)


@pytest.mark.slow
@SLOW
@given(REDIRECT_PARAMS)
def test_error_from_redirect_slow(params: dict[str, Any]) -> None:
    check_redirect(params)


# ── the rate-limit meter ────────────────────────────────────────────────────────

def _finite(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isfinite(value) and value >= 0)


def check_usage(headers: dict[str, str]) -> None:
    RUNS["rate-limit parser (parse_usage)"] += 1
    usage = parse_usage(headers)
    if usage is None:
        return
    assert isinstance(usage, Usage)
    assert _finite(usage.app_pct) and _finite(usage.ad_account_pct)
    assert all(isinstance(k, str) and _finite(v) for k, v in usage.app_raw.items())
    for entries in usage.buc.values():
        for kind, pct, minutes in entries:
            assert isinstance(kind, str) and _finite(pct) and type(minutes) is int and 0 <= minutes <= 10_000_000
    for whole in (usage.regain_minutes, usage.ad_account_reset_seconds):
        assert whole is None or (type(whole) is int and 0 <= whole <= 10_000_000)
    if usage.regain_minutes is not None:
        NOW + timedelta(minutes=usage.regain_minutes)  # what build_error does with it: must not overflow


@FAST
@given(USAGE_HEADERS)
def test_rate_limit_parser(headers: dict[str, str]) -> None:
    check_usage(headers)


@pytest.mark.slow
@SLOW
@given(USAGE_HEADERS)
def test_rate_limit_parser_slow(headers: dict[str, str]) -> None:
    check_usage(headers)
