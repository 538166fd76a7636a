"""The refresh policy: the 24-hour rule, the due window, Facebook Login warnings, backoff."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest
from refresh_helpers import NOW, fb, ig_long

from igtui.core.models import AccountStatus, App, Health, TokenKind
from igtui.core.refresh import policy
from igtui.core.refresh.policy import (
    assess,
    backoff,
    can_refresh,
    health,
    is_due,
    is_expired,
    is_too_early,
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
    app = App(
        id=1, name="demo-ig", platform="instagram", app_id="1", redirect_uris=(), scopes=(), refresh_within_days=20
    )
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
    assert (
        health(replace(acc, status=AccountStatus.NEEDS_RELOGIN, status_reason="password changed"), NOW)
        is Health.NEEDS_RELOGIN
    )
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


# --- Boundaries, unknown expiries and next_refresh_at -------------------------------------------
# `next_refresh_at` is what `igtui status --json` prints; "exactly now" boundaries are pinned to the
# microsecond, so a `<` that becomes `<=` (or back) fails a test.

US = timedelta(microseconds=1)


def _app(**kw: object) -> App:
    base = App(id=1, name="demo-ig", platform="instagram", app_id="1", redirect_uris=(), scopes=())
    return replace(base, **kw)  # type: ignore[arg-type]


def test_a_token_expiring_exactly_now_is_expired() -> None:
    acc = ig_long(50 * D)
    assert acc.expires_at is not None
    assert is_expired(acc, acc.expires_at)
    assert not is_expired(acc, acc.expires_at - US)
    assert not can_refresh(acc, acc.expires_at) and can_refresh(acc, acc.expires_at - US)
    exact = assess(acc, acc.expires_at)
    assert (exact.health, exact.reason) == (Health.EXPIRED, "token expired; log in again")
    assert not is_expired(replace(acc, expires_at=None), NOW)


def test_data_access_ending_exactly_now_is_expired() -> None:
    acc = fb(TokenKind.FB_USER, 50 * D, timedelta(0))
    a = assess(acc, NOW)
    assert (a.health, a.reason) == (Health.EXPIRED, "data access expired; log in again")
    assert assess(acc, NOW - US).health is Health.EXPIRING


def test_the_24_hour_rule_starts_exactly_at_24_hours() -> None:
    acc = ig_long(24 * H, lifetime=10 * D)
    assert refreshable_after(acc) == NOW
    assert not is_too_early(acc, NOW) and is_too_early(acc, NOW - US)
    assert can_refresh(acc, NOW) and not can_refresh(acc, NOW - US)
    assert is_due(acc, NOW) and not is_due(acc, NOW - US)
    a = assess(acc, NOW)
    assert (a.health, a.reason) == (Health.REFRESH_DUE, "refresh due: 9d 00h left")
    assert a.next_refresh_at == NOW
    early = assess(acc, NOW - 2 * H)
    assert early.health is Health.HEALTHY and early.reason == "9d 02h left; refreshable in 2h 00m"


def test_an_unknown_issue_time_lets_meta_decide() -> None:
    acc = ig_long(2 * H, issued_at=None)
    assert refreshable_after(acc) is None and not is_too_early(acc, NOW)
    assert can_refresh(acc, NOW)


def test_a_backoff_ending_exactly_now_is_over() -> None:
    acc = replace(ig_long(50 * D), status=AccountStatus.REFRESH_FAILED, retry_at=NOW, status_reason="Meta 500")
    assert is_due(acc, NOW) and not is_due(acc, NOW - US)
    a = assess(acc, NOW)
    assert (a.health, a.reason) == (Health.REFRESH_FAILED, "Meta 500")  # no "next try": it is now
    later = assess(acc, NOW - H)
    assert later.reason == "Meta 500; next try in 1h 00m" and later.next_refresh_at == NOW
    assert assess(replace(acc, status_reason=None), NOW - H).reason == "the last refresh failed; next try in 1h 00m"
    limited = replace(acc, status=AccountStatus.RATE_LIMITED)
    assert assess(limited, NOW).health is Health.REFRESH_DUE
    r = assess(limited, NOW - 30 * timedelta(minutes=1))
    assert (r.health, r.reason, r.next_refresh_at) == (Health.RATE_LIMITED, "rate limited; next try in 30m 00s", NOW)


def test_exactly_n_days_left_is_healthy_for_instagram_and_facebook() -> None:
    ig = ig_long(45 * D)  # 15 days left
    assert assess(ig, NOW).health is Health.HEALTHY and assess(ig, NOW).reason == "15d 00h left"
    assert assess(ig, NOW + US).health is Health.REFRESH_DUE
    user = fb(TokenKind.FB_USER, 15 * D, 80 * D)
    assert assess(user, NOW) == assess(user, NOW)  # pure
    a = assess(user, NOW)
    assert (a.health, a.reason, a.ends_at) == (Health.HEALTHY, "expires in 15d 00h", user.expires_at)
    assert assess(user, NOW + US).health is Health.EXPIRING


def test_an_instagram_token_of_unknown_expiry_is_due_and_says_so() -> None:
    acc = ig_long(3 * D, expires_at=None, expires_known=False)
    assert is_due(acc, NOW) and is_due(acc, NOW, within_days=1)
    a = assess(acc, NOW)
    assert a == policy.Assessment(Health.REFRESH_DUE, "expiry unknown; a refresh will learn it", None,
                                  acc.issued_at + 24 * H)  # type: ignore[operator]
    young = ig_long(2 * H, expires_at=None, expires_known=False)
    # Too young to refresh, but never checked since it was stored with an unknown expiry: due
    # for its one /me (the engine verifies instead of refreshing), and no longer once checked.
    assert is_due(young, NOW) and "checks the token" in assess(young, NOW).reason
    assert not is_due(replace(young, last_verified_at=NOW), NOW)
    assert assess(young, NOW).next_refresh_at == NOW + 22 * H
    # No issue time and no expiry: nothing says when; igtui may try at once.
    assert assess(replace(acc, issued_at=None), NOW).next_refresh_at is None


def test_next_refresh_at_is_the_later_of_the_window_and_the_24_hour_rule() -> None:
    acc = ig_long(2 * D)  # 58 days left, window 15: due in 43 days
    assert assess(acc, NOW).next_refresh_at == acc.expires_at - 15 * D  # type: ignore[operator]
    assert assess(acc, NOW, within_days=20).next_refresh_at == acc.expires_at - 20 * D  # type: ignore[operator]
    assert assess(replace(acc, refresh_within_days=30), NOW).next_refresh_at == acc.expires_at - 30 * D  # type: ignore[operator]
    young = ig_long(2 * H, lifetime=10 * D)  # inside the window already: the 24-hour rule decides
    assert assess(young, NOW).next_refresh_at == young.issued_at + 24 * H  # type: ignore[operator]
    backing = replace(acc, status=AccountStatus.REFRESH_FAILED, retry_at=acc.expires_at)
    assert assess(backing, NOW).next_refresh_at == acc.expires_at  # the backoff is the latest gate


def test_a_token_that_expires_before_it_may_be_refreshed_has_no_next_refresh() -> None:
    exact = ig_long(2 * H, lifetime=24 * H)  # refreshable exactly when it expires: too late
    a = assess(exact, NOW)
    assert a.health is Health.EXPIRING and a.reason == "expires in 22h 00m, before it may be refreshed; log in again"
    assert a.next_refresh_at is None
    assert assess(ig_long(2 * H, lifetime=24 * H + US), NOW).health is Health.HEALTHY
    for status in (AccountStatus.REFRESH_FAILED, AccountStatus.RATE_LIMITED):
        failed = replace(exact, status=status, retry_at=NOW + H)
        assert assess(failed, NOW).next_refresh_at is None
    failed_ok = replace(ig_long(2 * H, lifetime=24 * H + US), status=AccountStatus.REFRESH_FAILED, retry_at=NOW + H)
    assert assess(failed_ok, NOW).next_refresh_at == NOW + 22 * H


def test_needs_relogin_has_no_next_refresh_and_keeps_its_reason() -> None:
    acc = replace(ig_long(50 * D), status=AccountStatus.NEEDS_RELOGIN)
    a = assess(acc, NOW)
    assert (a.health, a.reason, a.next_refresh_at, a.ends_at) == (Health.NEEDS_RELOGIN, "needs a new login", None,
                                                                  acc.expires_at)
    assert assess(replace(acc, status_reason="password changed"), NOW).reason == "password changed"


def test_a_blocked_app_outranks_the_token_and_an_unblocked_one_changes_nothing() -> None:
    acc = ig_long(2 * D)
    assert assess(acc, NOW, app=_app()) == assess(acc, NOW)
    a = assess(acc, NOW, app=_app(blocked_kind="restricted", blocked_reason="fix it in the App Dashboard"))
    assert a == policy.Assessment(Health.APP_BLOCKED, "app demo-ig blocked by Meta: fix it in the App Dashboard",
                                  acc.expires_at)
    bare = assess(acc, NOW, app=_app(blocked_kind="restricted"))
    assert bare.reason == "app demo-ig blocked by Meta: restricted"


def test_an_instagram_short_token_without_expiry_still_needs_a_login() -> None:
    short = ig_long(10 * timedelta(minutes=1), token_kind=TokenKind.IG_SHORT, expires_at=None)
    assert assess(short, NOW) == policy.Assessment(Health.EXPIRING, "short-lived token; log in again", None)
    timed = ig_long(10 * timedelta(minutes=1), lifetime=H, token_kind=TokenKind.IG_SHORT)
    assert assess(timed, NOW).reason == "short-lived token, expires in 50m 00s; log in again"


@pytest.mark.parametrize(
    ("kind", "known", "reason"),
    [
        (TokenKind.FB_PAGE, True, "never expires"),
        (TokenKind.FB_PAGE, False, "expiry unknown; verify to learn it"),
        (TokenKind.FB_USER, True, "never expires"),
        (TokenKind.FB_USER, False, "expiry unknown; verify to learn it"),
    ],
)
def test_facebook_tokens_without_any_end(kind: TokenKind, known: bool, reason: str) -> None:
    acc = fb(kind, None, expires_known=known)
    assert assess(acc, NOW) == policy.Assessment(Health.HEALTHY, reason, None)
    assert not is_due(acc, NOW)


def test_facebook_says_expires_when_both_ends_coincide() -> None:
    both = fb(TokenKind.FB_USER, 5 * D, 5 * D)
    assert assess(both, NOW).reason == "expires in 5d 00h; Facebook Login cannot be refreshed, log in again"
    token_first = fb(TokenKind.FB_USER, 5 * D, 6 * D)
    assert assess(token_first, NOW).reason.startswith("expires in 5d 00h")
    data_first = fb(TokenKind.FB_USER, 6 * D, 5 * D)
    assert assess(data_first, NOW).reason.startswith("data access expires in 5d 00h")
    assert assess(fb(TokenKind.FB_USER, None, 20 * D), NOW).reason == "data access expires in 20d 00h"


def _jitter(seed: int) -> float:
    return random.Random(seed).uniform(-0.2, 0.2)


@pytest.mark.parametrize("seed", [1, 2, 3, 7])
def test_backoff_is_five_minutes_doubling_times_the_jitter(seed: int) -> None:
    for failures in (1, 2, 3, 6):
        expected = timedelta(minutes=5) * 2 ** (failures - 1) * (1 + _jitter(seed))
        assert backoff(failures, rng=random.Random(seed)) == expected


def test_backoff_caps_at_six_hours_before_and_after_the_jitter() -> None:
    for seed in range(20):
        assert backoff(7, rng=random.Random(seed)) == min(timedelta(minutes=320) * (1 + _jitter(seed)), 6 * H)
        # From 8 failures on the delay is the cap itself, jittered downwards only (4 h 48 m to 6 h).
        capped = min(6 * H * (1 + _jitter(seed)), 6 * H)
        assert backoff(8, rng=random.Random(seed)) == capped
        assert backoff(10**6, rng=random.Random(seed)) == capped


def test_backoff_counts_no_failures_as_one() -> None:
    for failures in (0, -3):
        assert backoff(failures, rng=random.Random(5)) == backoff(1, rng=random.Random(5))


def test_backoff_without_an_rng_uses_the_global_one() -> None:
    random.seed(11)
    first = backoff(2)
    random.seed(11)
    assert backoff(2) == first == timedelta(minutes=10) * (1 + random.Random(11).uniform(-0.2, 0.2))
