"""The Store API: apps, accounts, compare-and-swap, history, request log, pending flows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from igtui.core.clock import FrozenClock
from igtui.core.errors import (
    CallbackRejected,
    FlowExpired,
    NotFound,
    StoreError,
    StoreLocked,
    StoreMissing,
    UsageError,
    ValidationError,
    WrongPassphrase,
)
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
from igtui.core.store import UNSET, Store

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def add_demo_app(store: Store, name: str = "demo-ig", platform: str = "instagram", secret: str = "demo-ig-secret-0001"):
    scopes = ["instagram_business_basic"] if platform == "instagram" else ["instagram_basic", "pages_show_list"]
    return store.add_app(
        name=name,
        platform=platform,
        app_id="100000000000001",
        redirect_uris=["http://127.0.0.1:8765/callback", "https://localhost/callback"],
        scopes=scopes,
        secret=Secret(secret),
    )


def login(store: Store, app: str = "demo-ig", username: str = "acme.studio", uid: str = "17841400000000001",
          token: str = "IGAA-token-0001"):
    return store.save_login(
        app,
        Profile(id="app-scoped-" + uid[-3:], user_id=uid, username=username, account_type="BUSINESS"),
        kind=TokenKind.IG_LONG,
        token=Secret(token),
        issued_at=T0,
        expires_at=T0 + timedelta(days=60),
        scopes=("instagram_business_basic",),
        requested_scopes=("instagram_business_basic",),
    )


def test_open_missing_and_create_refuses_existing(store_path, passphrase, fast_kdf) -> None:
    with pytest.raises(StoreMissing, match="igtui init"):
        Store.open(store_path)
    Store.create(store_path, passphrase, kdf=fast_kdf)
    with pytest.raises(StoreError, match="will not overwrite"):
        Store.create(store_path, passphrase, kdf=fast_kdf)


def test_app_round_trip_and_listing_needs_no_passphrase(store: Store, store_path) -> None:
    app = add_demo_app(store)
    assert app.redirect_uris == ("http://127.0.0.1:8765/callback", "https://localhost/callback")
    locked = Store.open(store_path)
    assert not locked.unlocked
    assert [a.name for a in locked.list_apps()] == ["demo-ig"]
    assert locked.get_app("demo-ig").app_id == "100000000000001"
    with pytest.raises(StoreLocked):
        locked.app_secret("demo-ig")
    with pytest.raises(WrongPassphrase):
        locked.unlock(Secret("nope"))
    locked.unlock(Secret("correct horse battery staple"))
    assert locked.app_secret("demo-ig").reveal() == "demo-ig-secret-0001"


def test_app_validation(store: Store) -> None:
    add_demo_app(store)
    with pytest.raises(ValidationError, match="already exists"):
        add_demo_app(store)
    bad = dict(name="x", platform="instagram", app_id="1", redirect_uris=["https://a/cb"],
               scopes=["instagram_business_basic"], secret=Secret("s-123456"))
    for field, value, match in [
        ("app_id", "12a", "numeric"),
        ("redirect_uris", ["/cb"], "absolute"),
        ("redirect_uris", ["ftp://x/cb"], "absolute"),
        ("redirect_uris", [], "at least one"),
        ("platform", "tiktok", "platform"),
        ("name", "a/b", "not allowed"),
        ("scopes", ["user_profile"], "Basic Display"),
        ("secret", Secret(""), "empty"),
    ]:
        with pytest.raises(ValidationError, match=match):
            store.add_app(**{**bad, field: value})


def test_update_app_and_rename(store: Store) -> None:
    add_demo_app(store)
    login(store)
    app = store.update_app("demo-ig", new_name="main", scopes=["instagram_business_basic",
                           "instagram_business_manage_comments"], base_url="http://127.0.0.1:9000/",
                           refresh_within_days=10, secret=Secret("rotated-secret-2"))
    assert app.name == "main" and app.base_url == "http://127.0.0.1:9000"
    assert app.refresh_within_days == 10
    assert store.app_secret("main").reveal() == "rotated-secret-2"
    assert store.list_accounts("main")[0].app_name == "main"
    assert store.update_app("main", base_url=None).base_url is None
    assert store.update_app("main", app_id=UNSET).app_id == "100000000000001"
    with pytest.raises(NotFound):
        store.update_app("demo-ig", app_id="2")


def test_remove_app_takes_accounts_and_flows(store: Store) -> None:
    add_demo_app(store)
    login(store)
    store.add_pending_flow(app_name="demo-ig", state=Secret("state-abcdef"), redirect_uri="https://localhost/callback",
                           scopes=["instagram_business_basic"])
    store.remove_app("demo-ig")
    assert store.list_apps() == [] and store.list_accounts() == [] and store.list_pending_flows() == []
    with pytest.raises(NotFound):
        store.remove_app("demo-ig")


def test_save_login_upserts_and_resets_status(store: Store) -> None:
    add_demo_app(store)
    first = login(store)
    assert first.generation == 1 and first.ig_user_id == "17841400000000001"
    assert first.app_scoped_id == "app-scoped-001"
    store.update_account_state(first.id, status=AccountStatus.NEEDS_RELOGIN, status_reason="revoked", failures=3)
    again = login(store, token="IGAA-token-0002")
    assert again.id == first.id and again.generation == 2
    assert again.status is AccountStatus.OK and again.failures == 0 and again.status_reason is None
    assert store.account_token(first.id).reveal() == "IGAA-token-0002"
    assert len(store.list_accounts()) == 1


def test_get_account_refs_and_ambiguity(store: Store) -> None:
    add_demo_app(store)
    add_demo_app(store, name="demo-fb", platform="facebook", secret="demo-fb-secret-0002")
    a = login(store)
    b = login(store, app="demo-fb", uid="17841400000000009")
    assert store.get_account("demo-ig/acme.studio").id == a.id
    assert store.get_account("17841400000000009").id == b.id
    assert store.get_account("demo-fb/acme.studio").id == b.id
    with pytest.raises(UsageError, match=r"ambiguous.*demo-fb/acme\.studio, demo-ig/acme\.studio"):
        store.get_account("acme.studio")
    with pytest.raises(NotFound):
        store.get_account("nobody")
    assert store.get_account_by_id(a.id).username == "acme.studio"
    store.remove_account(a.id)
    with pytest.raises(NotFound):
        store.get_account_by_id(a.id)
    with pytest.raises(NotFound):
        store.remove_account(a.id)


def _event(account_id: int | None, result=RefreshResult.REFRESHED, at=T0) -> RefreshEvent:
    return RefreshEvent(at=at, trigger=Trigger.CLI, account_id=account_id, account="demo-ig/acme.studio", result=result)


def test_replace_token_compare_and_swap(store: Store) -> None:
    add_demo_app(store)
    acc = login(store)
    new_exp = T0 + timedelta(days=90)
    done = store.replace_token(acc.id, expected_generation=acc.generation, token=Secret("IGAA-new-token"),
                               issued_at=T0, expires_at=new_exp, event=_event(acc.id))
    assert done is not None and done.generation == acc.generation + 1 and done.expires_at == new_exp
    assert done.refreshed_at == T0
    assert store.account_token(acc.id).reveal() == "IGAA-new-token"
    stale = store.replace_token(acc.id, expected_generation=acc.generation, token=Secret("IGAA-lost-race"),
                                issued_at=T0, expires_at=new_exp, event=_event(acc.id))
    assert stale is None
    assert store.account_token(acc.id).reveal() == "IGAA-new-token"
    assert len(store.list_history(account_id=acc.id)) == 1  # the lost race wrote nothing
    with pytest.raises(ValidationError):
        store.replace_token(acc.id, expected_generation=done.generation, token=Secret(""),
                            issued_at=T0, expires_at=new_exp, event=_event(acc.id))


def test_update_account_state_fields(store: Store) -> None:
    add_demo_app(store)
    acc = login(store)
    later = T0 + timedelta(hours=2)
    updated = store.update_account_state(
        acc.id, status=AccountStatus.RATE_LIMITED, retry_at=later, last_verified_at=T0, last_verify_ok=False,
        last_verify_message="nope", granular_scopes=(("instagram_basic", ("1", "2")),), expires_known=False,
        expires_at=None,
    )
    assert updated.status is AccountStatus.RATE_LIMITED and updated.retry_at == later
    assert updated.last_verify_ok is False and updated.granular_scopes == (("instagram_basic", ("1", "2")),)
    assert updated.expires_known is False and updated.expires_at is None
    assert updated.generation == acc.generation  # state updates never touch the token
    with pytest.raises(NotFound):
        store.update_account_state(9999, failures=1)


def test_history_newest_first_and_filters(store: Store) -> None:
    add_demo_app(store)
    acc = login(store)
    for i in range(5):
        store.add_history(_event(acc.id, RefreshResult.FAILED if i % 2 else RefreshResult.REFRESHED,
                                 at=T0 + timedelta(minutes=i)))
    rows = store.list_history()
    assert [r.at for r in rows] == sorted((r.at for r in rows), reverse=True)
    assert len(store.list_history(result=RefreshResult.FAILED)) == 2
    assert len(store.list_history(limit=2)) == 2


def _exchange(i: int) -> Exchange:
    return Exchange(at=T0 + timedelta(milliseconds=i), method="GET", url=f"https://graph.instagram.com/me?access_token=***&i={i}",
                    status=200, latency_ms=1.5, app_name="demo-ig",
                    usage=Usage(app_pct=12.0, buc={"1784": (("instagram", 30.0, 0),)}))


def test_exchanges_retention_and_paging(store: Store) -> None:
    store.exchange_retention = 50
    store.add_exchanges([_exchange(i) for i in range(40)])
    store.add_exchanges([_exchange(i) for i in range(40, 80)])
    newest = store.list_exchanges(limit=10)
    assert [x.url.rsplit("=", 1)[1] for x in newest] == [str(i) for i in range(70, 80)]
    assert store.info()["counts"]["exchanges"] == 50  # type: ignore[index]
    after = store.list_exchanges(after_id=newest[4].id, limit=100)
    assert [x.id for x in after] == [x.id for x in newest[5:]]
    assert newest[0].usage is not None and newest[0].usage.max_pct == 30.0


def test_pending_flows_single_use_and_expiry(store: Store, clock: FrozenClock) -> None:
    add_demo_app(store)
    flow = store.add_pending_flow(app_name="demo-ig", state=Secret("state-one-123"),
                                  redirect_uri="https://localhost/callback", scopes=["instagram_business_basic"])
    assert flow.expires_at == clock.now() + timedelta(minutes=10)
    assert store.take_only_pending_flow() == (flow,)
    assert store.take_pending_flow(Secret("state-one-123")) == flow
    with pytest.raises(CallbackRejected):
        store.take_pending_flow(Secret("state-one-123"))
    with pytest.raises(CallbackRejected):
        store.take_pending_flow(Secret("never-issued"))
    store.add_pending_flow(app_name="demo-ig", state=Secret("state-two-456"),
                           redirect_uri="https://localhost/callback", scopes=[])
    clock.advance(timedelta(minutes=11))
    assert store.list_pending_flows() == []
    with pytest.raises(FlowExpired):
        store.take_pending_flow(Secret("state-two-456"))


def test_state_is_stored_only_as_a_hash(store: Store) -> None:
    import sqlite3

    add_demo_app(store)
    store.add_pending_flow(app_name="demo-ig", state=Secret("plain-state-value"),
                           redirect_uri="https://localhost/callback", scopes=[])
    conn = sqlite3.connect(store.path)
    dump = "\n".join(conn.iterdump())
    conn.close()
    assert "plain-state-value" not in dump


def test_bulk_seed_and_listing(store: Store) -> None:
    add_demo_app(store)
    n = store.bulk_save_logins(
        "demo-ig",
        ((Profile(id=f"a{i}", user_id=f"1784{i:011d}", username=f"user{i:05d}"), Secret(f"IGAA-bulk-{i:06d}"))
         for i in range(300)),
        kind=TokenKind.IG_LONG, issued_at=T0, expires_at=T0 + timedelta(days=60), scopes=["instagram_business_basic"],
    )
    assert n == 300
    accounts = store.list_accounts()
    assert len(accounts) == 300 and accounts[0].username == "user00000"
    assert store.account_token(accounts[123].id).reveal() == "IGAA-bulk-000123"
    assert store.account_counts() == {"demo-ig": 300}


def test_change_passphrase(store: Store, store_path) -> None:
    add_demo_app(store)
    old_salt = _salt(store_path)
    store.change_passphrase(Secret("new passphrase"))
    assert _salt(store_path) != old_salt
    reopened = Store.open(store_path)
    with pytest.raises(WrongPassphrase):
        reopened.unlock(Secret("correct horse battery staple"))
    reopened.unlock(Secret("new passphrase"))
    assert reopened.app_secret("demo-ig").reveal() == "demo-ig-secret-0001"


def _salt(path) -> bytes:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT kdf_salt FROM header").fetchone()[0]
    finally:
        conn.close()


def test_store_is_thread_safe(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    add_demo_app(store)

    def work(i: int) -> int:
        acc = login(store, username=f"u{i}", uid=f"1784{i:011d}", token=f"IGAA-thread-{i:04d}")
        store.add_exchanges([_exchange(i)])
        assert store.account_token(acc.id).reveal() == f"IGAA-thread-{i:04d}"
        return acc.id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(work, range(40)))
    assert len(set(ids)) == 40


def test_take_pending_flow_by_id(store: Store, clock: FrozenClock) -> None:
    add_demo_app(store)
    flow = store.add_pending_flow(app_name="demo-ig", state=Secret("state-by-id-1"),
                                  redirect_uri="https://localhost/callback", scopes=[])
    assert store.take_pending_flow_by_id(flow.id) == flow
    with pytest.raises(CallbackRejected):
        store.take_pending_flow_by_id(flow.id)
    with pytest.raises(CallbackRejected):  # consumed by id means the state is gone too
        store.take_pending_flow(Secret("state-by-id-1"))
    late = store.add_pending_flow(app_name="demo-ig", state=Secret("state-by-id-2"),
                                  redirect_uri="https://localhost/callback", scopes=[])
    clock.advance(timedelta(minutes=10, seconds=1))
    with pytest.raises(FlowExpired):
        store.take_pending_flow_by_id(late.id)
    assert store.list_pending_flows() == []


@pytest.mark.parametrize(
    "wrong", ["", " ", "correct horse battery staple ", "x" * 1_000_000, "CORRECT HORSE BATTERY STAPLE"]
)
def test_wrong_passphrases_never_unlock(store: Store, store_path, wrong: str) -> None:
    with pytest.raises(WrongPassphrase):
        Store.open(store_path).unlock(Secret(wrong, register=False))


def test_nfd_form_of_the_right_passphrase_unlocks(store_path, fast_kdf) -> None:
    import unicodedata

    Store.create(store_path, Secret("pässwörd"), kdf=fast_kdf)
    Store.open(store_path).unlock(Secret(unicodedata.normalize("NFD", "pässwörd")))
