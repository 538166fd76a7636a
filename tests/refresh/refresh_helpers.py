"""Account builders for the refresh tests (pure data, no store)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from igtui.core.models import Account, AccountStatus, TokenKind

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def ig_long(age: timedelta, *, lifetime: timedelta = timedelta(days=60), **kw: object) -> Account:
    """An Instagram long-lived token issued `age` before NOW."""
    issued = NOW - age
    acc = Account(
        id=1,
        app_name="demo-ig",
        platform="instagram",
        username="acme.studio",
        ig_user_id="17841400000000001",
        app_scoped_id="990001",
        account_type="BUSINESS",
        token_kind=TokenKind.IG_LONG,
        scopes=("instagram_business_basic",),
        issued_at=issued,
        expires_at=issued + lifetime,
    )
    return replace(acc, **kw)  # type: ignore[arg-type]


def fb(kind: TokenKind, expires_in: timedelta | None, data_in: timedelta | None = None, **kw: object) -> Account:
    acc = Account(
        id=2,
        app_name="demo-fb",
        platform="facebook",
        username="pine.outdoors",
        ig_user_id="17841400000000101",
        app_scoped_id="1001",
        account_type="BUSINESS",
        token_kind=kind,
        scopes=("instagram_basic",),
        issued_at=NOW - timedelta(days=1),
        expires_at=None if expires_in is None else NOW + expires_in,
        data_access_expires_at=None if data_in is None else NOW + data_in,
    )
    return replace(acc, **kw)  # type: ignore[arg-type]


__all__ = ["NOW", "AccountStatus", "fb", "ig_long"]
