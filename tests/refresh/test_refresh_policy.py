"""The refresh policy: the 24-hour rule, the due window, Facebook Login warnings, backoff."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest
from refresh_helpers import NOW, fb, ig_long

from igtui.core.models import App, AccountStatus, Health, TokenKind
from igtui.core.refresh.policy import (
    assess,
    backoff,
    health,
    is_due,
    refreshable_after,
    window_days,
)

H = timedelta(hours=1)
D = timedelta(days=1)


def test_refreshable_after_is_issue_plus_24h() -> None:
    acc = ig_long(2 * H)
    assert refreshable_after(acc) == acc.issued_at + 24 * H  # type: ignore[operator]
    assert refreshable_after(fb(TokenKind.FB_USER, 30 * D)) is None
    assert refreshable_after(ig_long(2 * H, token_kind=TokenKind.IG_SHORT)) is None


@pytest.mark.parametrize(
    ("age", "lifetime", "within", "due"),
    [
        (23 * H + 59 * timedelta(minutes=1), 60 * D, 15, False),  # too early even though window is huge
        (23 * H, 10 * D, 15, False),  # under 24 h: never due
        (24 * H, 10 * D, 15, True),  # exactly 24 h and 9 days left
        (46 * D, 60 * D, 15, True),  # 14 days left → due
        (44 * D, 60 * D, 15, False),  # 16 days left → not due
        (45 * D + H, 60 * D, 15, True),  # just under 15 days left
        (30 * D, 60 * D, 31, True),  # app/account override widens the window
        (61 * D, 60 * D, 15, False),  # expired: cannot be refreshed
    ],
)
def test_is_due_window_and_24h_rule(age: timedelta, lifetime: timedelta, within: int, due: bool) -> None:
    acc = ig_long(age, lifetime=lifetime)
    assert is_due(acc, NOW, within_days=within) is due


def test_due_boundary_exactly_n_days_left_is_not_due() -> None:
    acc = ig_long(45 * D)  # exactly 15 days left
    assert not is_due(acc, NOW, within_days=15)
    assert is_due(acc, NOW + timedelta(seconds=1), within_days=15)


def test_window_override_order() -> None:
    app = App(id=1, name="demo-ig", platform="instagram", app_id="1", redirect_uris=(), scopes=(), refresh_within_days=20)
    acc = ig_long(D)
    assert window_days(acc) == 15
    assert window_days(acc, app) == 20
    assert window_days(replace(acc, refresh_within_days=5), app) == 5
    # The account override drives is_due when no explicit window is passed.
    near = ig_long(50 * D, refresh_within_days=5)  # 10 days left
    assert not is_due(near, NOW)
    assert is_due(replace(near, refresh_within_days=None), NOW)


def test_needs_relogin_and_backing_off_are_never_due() -> None:
    acc = ig_long(50 * D)
    assert is_due(acc, NOW)
    assert not is_due(replace(acc, status=AccountStatus.NEEDS_RELOGIN), NOW)
    assert not is_due(replace(acc, status=AccountStatus.TOKEN_UNCERTAIN), NOW)
    backing = replace(acc, status=AccountStatus.REFRESH_FAILED, retry_at=NOW + H)
    assert not is_due(backing, NOW)
    assert is_due(backing, NOW + 2 * H)


def test_health_ig_long() -> None:
    assert health(ig_long(D), NOW) is Health.HEALTHY
    assert health(ig_long(50 * D), NOW) is Health.REFRESH_DUE
    assert health(ig_long(61 * D), NOW) is Health.EXPIRED
    # Too early is not a failure: a young token with little time left is healthy until refreshable…
    young = ig_long(2 * H, lifetime=10 * D)
    assert health(young, NOW) is Health.HEALTHY
    assert "refreshable in" in assess(young, NOW).reason
    # …unless it will expire before it may be refreshed: then nothing can save it.
    doomed = ig_long(2 * H, lifetime=20 * H)
    assert health(doomed, NOW) is Health.EXPIRING
    assert assess(doomed, NOW).next_refresh_at is None


def test_health_reflects_stored_status() -> None:
    acc = ig_long(50 * D)
    assert health(replace(acc, status=AccountStatus.NEEDS_RELOGIN, status_reason="password changed"), NOW) is Health.NEEDS_RELOGIN
    assert health(replace(acc, status=AccountStatus.RATE_LIMITED, retry_at=NOW + H), NOW) is Health.RATE_LIMITED
    # A rate limit whose time has passed is just due again.
    assert health(replace(acc, status=AccountStatus.RATE_LIMITED, retry_at=NOW - H), NOW) is Health.REFRESH_DUE
    assert health(replace(acc, status=AccountStatus.REFRESH_FAILED, retry_at=NOW + H), NOW) is Health.REFRESH_FAILED
    unc = assess(replace(acc, status=AccountStatus.TOKEN_UNCERTAIN), NOW)
    assert unc.health is Health.TOKEN_UNCERTAIN and "lost" in unc.reason


def test_ig_short_is_never_refreshed() -> None:
    short = ig_long(10 * timedelta(minutes=1), lifetime=H, token_kind=TokenKind.IG_SHORT)
    assert not is_due(short, NOW)
    assert health(short, NOW) is Health.EXPIRING
    assert health(short, NOW + 2 * H) is Health.EXPIRED


def test_facebook_user_token_warns_ahead_of_expiry() -> None:
    far = fb(TokenKind.FB_USER, 40 * D, 80 * D)
    assert health(far, NOW) is Health.HEALTHY
    assert not is_due(far, NOW)
    near = fb(TokenKind.FB_USER, 10 * D, 80 * D)
    a = assess(near, NOW)
    assert a.health is Health.EXPIRING and "log in again" in a.reason and a.reason.startswith("expires")
    assert health(fb(TokenKind.FB_USER, -H, 80 * D), NOW) is Health.EXPIRED


def test_facebook_data_access_expiry_warns_too() -> None:
    acc = fb(TokenKind.FB_USER, 50 * D, 5 * D)
    a = assess(acc, NOW)
    assert a.health is Health.EXPIRING
    assert a.reason.startswith("data access expires")
    assert a.ends_at == acc.data_access_expires_at
    assert health(fb(TokenKind.FB_USER, 50 * D, -D), NOW) is Health.EXPIRED
    # A narrower window makes the same account healthy.
    assert health(acc, NOW, within_days=3) is Health.HEALTHY


def test_facebook_page_token_without_expiry_never_expires() -> None:
    page = fb(TokenKind.FB_PAGE, None)
    a = assess(page, NOW)
    assert a.health is Health.HEALTHY and a.reason == "never expires"
    assert not is_due(page, NOW)
    # A page token that does carry a data-access expiry still warns.
    assert health(fb(TokenKind.FB_PAGE, None, 2 * D), NOW) is Health.EXPIRING


def test_backoff_grows_caps_and_jitters() -> None:
    rng = random.Random(7)
    seq = [backoff(n, rng=rng) for n in range(1, 12)]
    assert timedelta(minutes=4) <= seq[0] <= timedelta(minutes=6)
    assert timedelta(minutes=8) <= seq[1] <= timedelta(minutes=12)
    assert all(b <= timedelta(hours=6) for b in seq)
    assert seq[-1] >= timedelta(hours=4, minutes=48)
    values = {backoff(3, rng=rng) for _ in range(20)}
    assert len(values) > 1  # jittered
