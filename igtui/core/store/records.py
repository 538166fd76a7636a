"""Row ↔ model mapping for the store. Cheap on purpose: listing 10,000 accounts maps tuples.

Times are integer Unix seconds for account fields and float seconds for log rows (sub-second
order matters in the request log). Scope lists are space-joined text (scope names never hold a
space); granular scopes, which carry target ids, are JSON — parsed only when present.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from igtui.core.models import (
    Account,
    AccountStatus,
    App,
    Exchange,
    PendingFlow,
    RefreshEvent,
    RefreshResult,
    TokenKind,
    Trigger,
    Usage,
)

_KINDS = {k.value: k for k in TokenKind}
_STATUSES = {s.value: s for s in AccountStatus}
_fromts = datetime.fromtimestamp


def dt(value: int | float | None) -> datetime | None:
    return None if value is None else _fromts(int(value), UTC)


def dt_exact(value: float | None) -> datetime | None:
    return None if value is None else _fromts(value, UTC)


def epoch(at: datetime | None) -> int | None:
    return None if at is None else int(at.timestamp())


def epoch_exact(at: datetime | None) -> float | None:
    return None if at is None else at.timestamp()


def join_scopes(scopes: Sequence[str]) -> str:
    return " ".join(scopes)


def split_scopes(text: str | None) -> tuple[str, ...]:
    return tuple(text.split()) if text else ()


def dump_granular(granular: Sequence[tuple[str, Sequence[str]]]) -> str:
    return json.dumps([[scope, list(ids)] for scope, ids in granular]) if granular else ""


def load_granular(text: str | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not text:
        return ()
    return tuple((str(scope), tuple(str(i) for i in ids)) for scope, ids in json.loads(text))


APP_COLUMNS = (
    "id, name, platform, app_id, redirect_uris, scopes, graph_version, base_url, refresh_within_days, "
    "created_at, updated_at, blocked_kind, blocked_reason, blocked_at"
)


def app_from_row(r: Sequence) -> App:
    return App(
        id=r[0],
        name=r[1],
        platform=r[2],
        app_id=r[3],
        redirect_uris=tuple(json.loads(r[4])),
        scopes=split_scopes(r[5]),
        graph_version=r[6],
        base_url=r[7],
        refresh_within_days=r[8],
        created_at=dt(r[9]),
        updated_at=dt(r[10]),
        blocked_kind=r[11],
        blocked_reason=r[12],
        blocked_at=dt(r[13]),
    )


ACCOUNT_SELECT = (
    "SELECT a.id, p.name, p.platform, a.username, a.ig_user_id, a.app_scoped_id, a.account_type, a.token_kind, "
    "a.scopes, a.granular_scopes, a.requested_scopes, a.issued_at, a.expires_at, a.expires_known, "
    "a.data_access_expires_at, a.refreshed_at, a.status, a.status_reason, a.retry_at, a.failures, "
    "a.refresh_within_days, a.generation, a.last_verified_at, a.last_verify_ok, a.last_verify_message, "
    "a.page_id, a.created_at FROM accounts a JOIN apps p ON p.id = a.app"
)

ACCOUNT_TOKEN_SELECT = ACCOUNT_SELECT.replace(" FROM accounts a ", ", a.token FROM accounts a ", 1)
"""`ACCOUNT_SELECT` plus the token ciphertext as column 27 (`account_from_row` ignores it)."""

_ACCOUNT_COLUMNS = ACCOUNT_SELECT[len("SELECT ") : ACCOUNT_SELECT.index(" FROM ")]
ACCOUNT_JSON_SELECT = (
    f"SELECT json_group_array(json_array({_ACCOUNT_COLUMNS}, hex(a.token))) "
    "FROM accounts a JOIN apps p ON p.id = a.app"
)
"""Many account rows (plus the token ciphertext in hex, as column 27) as ONE JSON row.

Why: pysqlite releases and re-takes the GIL around every sqlite3_step, i.e. per row; a worker
thread reading a batch of rows while the event loop is busy pays a GIL hand-off per row (measured
in bulk refreshes). One aggregated row is one step. Types survive: INTEGER→int, TEXT→str,
NULL→None; the blob travels as hex. Decode with `json_rows`.
"""


def json_rows(text: str | None) -> list[list]:
    """The rows of an `ACCOUNT_JSON_SELECT` (or any json_group_array of json_array) result."""
    return json.loads(text) if text else []


def account_from_row(r: Sequence) -> Account:
    return Account(
        id=r[0],
        app_name=r[1],
        platform=r[2],
        username=r[3],
        ig_user_id=r[4],
        app_scoped_id=r[5],
        account_type=r[6],
        token_kind=_KINDS[r[7]],
        scopes=split_scopes(r[8]),
        granular_scopes=load_granular(r[9]),
        requested_scopes=split_scopes(r[10]),
        issued_at=None if r[11] is None else _fromts(r[11], UTC),
        expires_at=None if r[12] is None else _fromts(r[12], UTC),
        expires_known=bool(r[13]),
        data_access_expires_at=None if r[14] is None else _fromts(r[14], UTC),
        refreshed_at=None if r[15] is None else _fromts(r[15], UTC),
        status=_STATUSES.get(r[16], AccountStatus.OK),
        status_reason=r[17],
        retry_at=None if r[18] is None else _fromts(r[18], UTC),
        failures=r[19],
        refresh_within_days=r[20],
        generation=r[21],
        last_verified_at=None if r[22] is None else _fromts(r[22], UTC),
        last_verify_ok=None if r[23] is None else bool(r[23]),
        last_verify_message=r[24],
        page_id=r[25],
        created_at=None if r[26] is None else _fromts(r[26], UTC),
    )


HISTORY_COLUMNS = (
    "id, at, trigger, account_id, account, result, error_code, error_subcode, message, fbtrace_id, "
    "old_expires_at, new_expires_at, duration_ms"
)


def history_values(e: RefreshEvent) -> tuple:
    return (
        epoch_exact(e.at),
        e.trigger.value,
        e.account_id,
        e.account,
        e.result.value,
        e.error_code,
        e.error_subcode,
        e.message,
        e.fbtrace_id,
        epoch(e.old_expires_at),
        epoch(e.new_expires_at),
        e.duration_ms,
    )


def history_from_row(r: Sequence) -> RefreshEvent:
    return RefreshEvent(
        id=r[0],
        at=dt_exact(r[1]),  # type: ignore[arg-type]
        trigger=Trigger(r[2]),
        account_id=r[3],
        account=r[4],
        result=RefreshResult(r[5]),
        error_code=r[6],
        error_subcode=r[7],
        message=r[8],
        fbtrace_id=r[9],
        old_expires_at=dt(r[10]),
        new_expires_at=dt(r[11]),
        duration_ms=r[12],
    )


EXCHANGE_COLUMNS = (
    "id, at, method, url, status, latency_ms, app_name, account, error_code, error_subcode, fbtrace_id, "
    "error_message, usage, pid"
)


def dump_usage(usage: Usage | None) -> str | None:
    if usage is None:
        return None
    return json.dumps(
        {
            "app_pct": usage.app_pct,
            "app_raw": usage.app_raw,
            "buc": {k: [list(e) for e in v] for k, v in usage.buc.items()},
            "ad_account_pct": usage.ad_account_pct,
            "regain_minutes": usage.regain_minutes,
        }
    )


def load_usage(text: str | None) -> Usage | None:
    if not text:
        return None
    d = json.loads(text)
    return Usage(
        app_pct=d.get("app_pct"),
        app_raw=dict(d.get("app_raw") or {}),
        buc={k: tuple((str(t), float(p), int(m)) for t, p, m in v) for k, v in (d.get("buc") or {}).items()},
        ad_account_pct=d.get("ad_account_pct"),
        regain_minutes=d.get("regain_minutes"),
    )


def exchange_values(x: Exchange) -> tuple:
    return (
        epoch_exact(x.at),
        x.method,
        x.url,
        x.status,
        x.latency_ms,
        x.app_name,
        x.account,
        x.error_code,
        x.error_subcode,
        x.fbtrace_id,
        x.error_message,
        dump_usage(x.usage),
        x.pid,
    )


def exchange_from_row(r: Sequence) -> Exchange:
    return Exchange(
        id=r[0],
        at=dt_exact(r[1]),  # type: ignore[arg-type]
        method=r[2],
        url=r[3],
        status=r[4],
        latency_ms=r[5],
        app_name=r[6],
        account=r[7],
        error_code=r[8],
        error_subcode=r[9],
        fbtrace_id=r[10],
        error_message=r[11],
        usage=load_usage(r[12]),
        pid=r[13],
    )


FLOW_SELECT = (
    "SELECT f.id, p.name, p.platform, f.redirect_uri, f.scopes, f.created_at, f.expires_at "
    "FROM pending_flows f JOIN apps p ON p.id = f.app"
)


def flow_from_row(r: Sequence) -> PendingFlow:
    return PendingFlow(
        id=r[0],
        app_name=r[1],
        platform=r[2],
        redirect_uri=r[3],
        scopes=split_scopes(r[4]),
        created_at=dt_exact(r[5]),  # type: ignore[arg-type]
        expires_at=dt_exact(r[6]),  # type: ignore[arg-type]
    )
