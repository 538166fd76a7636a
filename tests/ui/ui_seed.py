"""Deterministic demo data for the TUI tests, snapshots and screenshots.

`seed_demo_store` fills a store with two apps (the sandbox's demo-ig and demo-fb) and accounts in
every health state the home screen can show: healthy, refresh due, expiring, expired, needs
re-login, rate-limited, never-expiring — plus refresh history and request-log rows with usage
gauges at normal, warning (≥80%) and critical (≥95%) levels and one throttle. Every token is
obviously fake.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from igtui.core.models import (
    AccountStatus,
    Exchange,
    Profile,
    RefreshEvent,
    RefreshResult,
    TokenKind,
    Trigger,
    Usage,
)
from igtui.core.secret import Secret

DEMO_REDIRECTS = ("http://127.0.0.1:8765/callback", "https://localhost/callback")
IG_SCOPES = ("instagram_business_basic", "instagram_business_content_publish")
FB_SCOPES = ("instagram_basic", "pages_show_list", "pages_read_engagement")


def fake_token(username: str) -> str:
    """An obviously fake token (never a real Meta token shape)."""
    return f"IGDEMO-FAKE-TOKEN-{username.replace('.', '-')}-0000000000"


def seed_demo_store(
    store: object,
    now: datetime,
    *,
    base_url: str | None = None,
    tokens: Mapping[str, str] | None = None,
    with_log: bool = True,
) -> dict[str, int]:
    """Seed `store` (unlocked) relative to `now`; returns username -> account id.

    Args:
        base_url: The sandbox origin for both apps (None: real Meta hosts, for offline snapshots).
        tokens: Real sandbox tokens by username (pilot tests refresh/verify against the sandbox);
            others get `fake_token(username)`.
        with_log: Also write refresh history and request-log rows.
    """
    s: object = store
    tokens = dict(tokens or {})
    s.add_app(  # type: ignore[attr-defined]
        name="demo-ig", platform="instagram", app_id="100000000000001", redirect_uris=DEMO_REDIRECTS,
        scopes=IG_SCOPES, secret=Secret("demo-ig-secret-0001"), base_url=base_url,
    )
    s.add_app(  # type: ignore[attr-defined]
        name="demo-fb", platform="facebook", app_id="200000000000002", redirect_uris=DEMO_REDIRECTS,
        scopes=FB_SCOPES, secret=Secret("demo-fb-secret-0002"), base_url=base_url,
    )
    day = timedelta(days=1)
    # username, app, kind, issued (ago), expires (from now), ig id suffix
    plan = [
        ("acme.studio", "demo-ig", TokenKind.IG_LONG, 10 * day, 50 * day, 1),
        ("northwind.cafe", "demo-ig", TokenKind.IG_LONG, 52 * day, 8 * day, 2),
        ("lumen.photo", "demo-ig", TokenKind.IG_LONG, 30 * day, 30 * day, 3),
        ("harbor.books", "demo-ig", TokenKind.IG_LONG, 62 * day, -2 * day, 4),
        ("tidal.records", "demo-ig", TokenKind.IG_LONG, 20 * day, 40 * day, 5),
        ("orbit.gear", "demo-ig", TokenKind.IG_LONG, 55 * day, 5 * day, 6),
        ("pine.outdoors", "demo-fb", TokenKind.FB_PAGE, 3 * day, None, 7),
        ("cedar.kitchen", "demo-fb", TokenKind.FB_USER, 55 * day, 5 * day, 8),
    ]
    ids: dict[str, int] = {}
    for username, app, kind, age, left, n in plan:
        ig_id = f"178414000000000{n:02d}"
        account = s.save_login(  # type: ignore[attr-defined]
            app,
            Profile(id=f"9{n:015d}", user_id=ig_id, username=username, account_type="BUSINESS"),
            kind=kind,
            token=Secret(tokens.get(username, fake_token(username))),
            issued_at=now - age,
            expires_at=None if left is None else now + left,
            expires_known=True,
            scopes=IG_SCOPES if app == "demo-ig" else FB_SCOPES,
            requested_scopes=IG_SCOPES if app == "demo-ig" else (*FB_SCOPES, "instagram_manage_insights"),
            data_access_expires_at=now + 80 * day if app == "demo-fb" else None,
            page_id="300000000000007" if app == "demo-fb" else None,
        )
        ids[username] = account.id
    s.update_account_state(  # type: ignore[attr-defined]
        ids["tidal.records"], status=AccountStatus.NEEDS_RELOGIN,
        status_reason="the token was invalidated (the user changed their password)",
        last_verified_at=now - timedelta(hours=2), last_verify_ok=False,
        last_verify_message="Error validating access token (190/460)",
    )
    s.update_account_state(  # type: ignore[attr-defined]
        ids["orbit.gear"], status=AccountStatus.RATE_LIMITED, status_reason="rate limited (code 4)",
        retry_at=now + timedelta(minutes=25), failures=1,
    )
    s.update_account_state(  # type: ignore[attr-defined]
        ids["acme.studio"], last_verified_at=now - timedelta(hours=1), last_verify_ok=True,
        last_verify_message="token valid",
    )
    if with_log:
        _seed_history(s, now, ids)
        _seed_exchanges(s, now)
    return ids


def _seed_history(s: object, now: datetime, ids: Mapping[str, int]) -> None:
    hour = timedelta(hours=1)
    day = timedelta(days=1)
    events = [
        RefreshEvent(now - 30 * hour, Trigger.CRON, ids["acme.studio"], "demo-ig/acme.studio", RefreshResult.REFRESHED,
                     old_expires_at=now + 20 * day, new_expires_at=now + 50 * day, duration_ms=212.0),
        RefreshEvent(now - 20 * hour, Trigger.CRON, ids["lumen.photo"], "demo-ig/lumen.photo", RefreshResult.SKIPPED,
                     message="not due"),
        RefreshEvent(now - 6 * hour, Trigger.AUTO, ids["tidal.records"], "demo-ig/tidal.records",
                     RefreshResult.NEEDS_RELOGIN, error_code=190, error_subcode=460,
                     message="the token was invalidated (password changed)", fbtrace_id="AbCdEfDemoTrace1"),
        RefreshEvent(now - 2 * hour, Trigger.CLI, ids["orbit.gear"], "demo-ig/orbit.gear", RefreshResult.RATE_LIMITED,
                     error_code=4, message="application request limit reached", fbtrace_id="AbCdEfDemoTrace2"),
        RefreshEvent(now - hour, Trigger.TUI, ids["northwind.cafe"], "demo-ig/northwind.cafe", RefreshResult.FAILED,
                     message="network: connection refused", duration_ms=15.0),
    ]
    for event in events:
        s.add_history(event)  # type: ignore[attr-defined]


def _seed_exchanges(s: object, now: datetime) -> None:
    sec = timedelta(seconds=1)
    ig = "https://graph.instagram.com"
    rows = [
        Exchange(now - 50 * sec, "GET", f"{ig}/v25.0/me?fields=user_id,username&access_token=***", 200, 84.0,
                 app_name="demo-ig", account="acme.studio", usage=Usage(app_pct=12.0), pid=4242),
        Exchange(now - 40 * sec, "GET", f"{ig}/refresh_access_token?grant_type=ig_refresh_token&access_token=***", 200,
                 131.0, app_name="demo-ig", account="northwind.cafe",
                 usage=Usage(app_pct=45.0, buc={"17841400000000002": (("instagram", 86.0, 0),)}), pid=4242),
        Exchange(now - 30 * sec, "GET", f"{ig}/v25.0/me?fields=user_id,username&access_token=***", 400, 66.0,
                 app_name="demo-ig", account="tidal.records", error_code=190, error_subcode=460,
                 fbtrace_id="AbCdEfDemoTrace1", error_message="the token was invalidated", pid=5151),
        Exchange(now - 20 * sec, "GET", f"{ig}/refresh_access_token?grant_type=ig_refresh_token&access_token=***", 403,
                 58.0, app_name="demo-ig", account="orbit.gear", error_code=4, fbtrace_id="AbCdEfDemoTrace2",
                 error_message="application request limit reached",
                 usage=Usage(app_pct=97.0, regain_minutes=25), pid=5151),
        Exchange(now - 10 * sec, "GET", "https://graph.facebook.com/v25.0/debug_token?input_token=***&access_token=***",
                 200, 95.0, app_name="demo-fb", account="cedar.kitchen", usage=Usage(app_pct=8.0), pid=4242),
    ]
    s.add_exchanges(rows)  # type: ignore[attr-defined]
