"""Parse Meta's rate-limit headers into a `Usage`, on every response.

The headers are X-App-Usage, X-Business-Use-Case-Usage (BUC, with the minutes until a throttled
app regains access) and X-Ad-Account-Usage. A missing header means *unknown*, never 0 % (Meta
sends them only "once enough calls have been made"), so no header at all gives None. A malformed
header (bad JSON, wrong types, NaN) is ignored: a broken meter must never break a token refresh,
so nothing here raises.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Mapping
from typing import Any

from igtui.core.models import Usage

APP_USAGE = "x-app-usage"
BUC_USAGE = "x-business-use-case-usage"
AD_ACCOUNT_USAGE = "x-ad-account-usage"

_MAX_HEADER = 16_384
"""Longer values are not parsed at all: a hostile proxy could send a huge nested blob."""


def _number(value: Any) -> float | None:
    """A finite, non-negative number, or None (bools, strings, NaN, inf and negatives are not
    usage). Strings are not parsed: Meta sends these as JSON numbers.

    A JSON int too big for a float (10**400 parses as an int) counts as the largest float, as
    1e300 already does (callers cap it), instead of raising OverflowError out of `float()`,
    which would have dropped the whole Usage.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        number = sys.float_info.max if value > 0 else -sys.float_info.max
    if not math.isfinite(number) or number < 0:
        return None
    return number


def _load(raw: str | None) -> Any:
    if not raw or len(raw) > _MAX_HEADER:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None and type(headers) is dict:  # a plain dict is case-sensitive; httpx.Headers is not
        for key, candidate in headers.items():
            if isinstance(key, str) and key.lower() == name:
                value = candidate
                break
    return value if isinstance(value, str) else None


def _app_usage(raw: str | None) -> dict[str, float]:
    """X-App-Usage in either form: call_count/total_time/total_cputime or call_volume/cpu_time."""
    data = _load(raw)
    if not isinstance(data, dict):
        return {}
    out: dict[str, float] = {}
    for key, value in data.items():
        number = _number(value)
        if number is not None and isinstance(key, str):
            out[key[:64]] = number
    return out


def _buc_usage(raw: str | None) -> tuple[dict[str, tuple[tuple[str, float, int], ...]], int | None]:
    """X-Business-Use-Case-Usage: id -> [{type, call_count, total_cputime, total_time, regain}]."""
    data = _load(raw)
    if not isinstance(data, dict):
        return {}, None
    buc: dict[str, tuple[tuple[str, float, int], ...]] = {}
    regain_max: int | None = None
    for business_id, entries in list(data.items())[:64]:
        if not isinstance(entries, list):
            continue
        parsed: list[tuple[str, float, int]] = []
        for entry in entries[:64]:
            if not isinstance(entry, dict):
                continue
            kind = entry.get("type")
            kind = kind[:64] if isinstance(kind, str) else "unknown"
            pcts = [_number(entry.get(k)) for k in ("call_count", "total_cputime", "total_time")]
            known = [p for p in pcts if p is not None]
            regain = _number(entry.get("estimated_time_to_regain_access"))
            if not known and regain is None:
                continue
            minutes = int(min(regain, 10_000_000)) if regain is not None else 0
            parsed.append((kind, max(known) if known else 0.0, minutes))
            if regain is not None:
                regain_max = max(regain_max or 0, minutes)
        if parsed:
            buc[str(business_id)[:64]] = tuple(parsed)
    return buc, regain_max


def _ad_account_usage(raw: str | None) -> tuple[float | None, int | None]:
    """X-Ad-Account-Usage: (acc_id_util_pct, reset_time_duration seconds)."""
    data = _load(raw)
    if not isinstance(data, dict):
        return None, None
    pct = _number(data.get("acc_id_util_pct"))
    reset = _number(data.get("reset_time_duration"))
    return pct, (int(min(reset, 10_000_000)) if reset is not None else None)


def parse_usage(headers: Mapping[str, str]) -> Usage | None:
    """The usage the response's headers report, or None when they report nothing usable.

    Args:
        headers: Response headers (httpx.Headers, or any mapping; names compared lower-case).

    Returns:
        A `Usage`, or None when no rate-limit header was present or every one was malformed.
    """
    try:
        texts = [_header(headers, name) for name in (APP_USAGE, BUC_USAGE, AD_ACCOUNT_USAGE)]
    except Exception:  # an odd headers object is "unknown", not a failed request
        return None
    if texts == [None, None, None]:
        return None
    # Oversized values would be ignored by _load anyway; dropping them here keeps them out of the cache.
    app_text, buc_text, ad_text = (t if t is None or len(t) <= _MAX_HEADER else None for t in texts)
    return _parse(app_text, buc_text, ad_text)


@functools.lru_cache(maxsize=256)
def _parse(app_text: str | None, buc_text: str | None, ad_text: str | None) -> Usage | None:
    """Memoised on the raw header values: consecutive replies usually repeat them, and this
    runs on every response (the GraphClient benchmark's per-call budget is tight). Usage is
    frozen, so sharing one instance between responses is safe."""
    try:
        app_raw = _app_usage(app_text)
        buc, regain = _buc_usage(buc_text)
        ad_pct, ad_reset = _ad_account_usage(ad_text)
    except Exception:  # a meter must never break a request (module docstring)
        return None
    if not app_raw and not buc and ad_pct is None and ad_reset is None:
        return None
    return Usage(
        app_pct=max(app_raw.values()) if app_raw else None,
        app_raw=app_raw,
        buc=buc,
        ad_account_pct=ad_pct,
        regain_minutes=regain,
        ad_account_reset_seconds=ad_reset,
    )


__all__ = ["AD_ACCOUNT_USAGE", "APP_USAGE", "BUC_USAGE", "parse_usage"]
