"""Row ↔ model mapping for the store's two logs: the refresh history and the request log.

Rows are read by column name, as in `igtui.core.store.records` (positions resolved by name once,
at import). Written values are built as one tuple per row, each value taken from the model field
of the column's own name, in the order of the `*_INSERT` column list: a bulk refresh writes a
history row per account, so no per-row dict is built on the way in.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from igtui.core import models
from igtui.core.models import RefreshResult, Trigger
from igtui.core.store.records import Columns, Row, at_exact, dt, epoch, epoch_exact

if TYPE_CHECKING:
    from igtui.core.activity import Exchange, RefreshEvent, Usage

# The row readers name the activity records as `models.X`: `igtui.core.models` loads them on the
# first row (see igtui/core/activity.py for why not at import), and after that it is a plain
# attribute read, where an import statement in the function would cost ~1 µs per row.

# ── refresh history ──────────────────────────────────────────────────────────────────────────

HISTORY = Columns.bare(
    "id", "at", "trigger", "account_id", "account", "result", "error_code", "error_subcode",
    "message", "fbtrace_id", "old_expires_at", "new_expires_at", "duration_ms",
)
HISTORY_COLUMNS = HISTORY.sql
HISTORY_INSERT = HISTORY.without("id")
"""The columns `history_values` fills, in its order (SQLite allocates the id)."""

_H_ID, _H_AT, _H_TRIGGER = HISTORY["id"], HISTORY["at"], HISTORY["trigger"]
_H_ACCOUNT_ID, _H_ACCOUNT, _H_RESULT = HISTORY["account_id"], HISTORY["account"], HISTORY["result"]
_H_CODE, _H_SUBCODE, _H_MESSAGE = HISTORY["error_code"], HISTORY["error_subcode"], HISTORY["message"]
_H_FBTRACE_ID, _H_DURATION = HISTORY["fbtrace_id"], HISTORY["duration_ms"]
_H_OLD_EXPIRES_AT, _H_NEW_EXPIRES_AT = HISTORY["old_expires_at"], HISTORY["new_expires_at"]


def history_values(e: RefreshEvent) -> tuple[object, ...]:
    """An event's values for `HISTORY_INSERT`, in that column order (a tuple: one per refreshed account)."""
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


def history_from_row(r: Row) -> RefreshEvent:
    """A `HISTORY` row as a RefreshEvent; an unknown trigger or result raises rather than show a guess."""
    return models.RefreshEvent(
        id=r[_H_ID],
        at=at_exact(r[_H_AT]),
        trigger=Trigger(r[_H_TRIGGER]),
        account_id=r[_H_ACCOUNT_ID],
        account=r[_H_ACCOUNT],
        result=RefreshResult(r[_H_RESULT]),
        error_code=r[_H_CODE],
        error_subcode=r[_H_SUBCODE],
        message=r[_H_MESSAGE],
        fbtrace_id=r[_H_FBTRACE_ID],
        old_expires_at=dt(r[_H_OLD_EXPIRES_AT]),
        new_expires_at=dt(r[_H_NEW_EXPIRES_AT]),
        duration_ms=r[_H_DURATION],
    )


# ── request log ──────────────────────────────────────────────────────────────────────────────

EXCHANGE = Columns.bare(
    "id", "at", "method", "url", "status", "latency_ms", "app_name", "account", "error_code",
    "error_subcode", "fbtrace_id", "error_message", "usage", "pid",
)
EXCHANGE_COLUMNS = EXCHANGE.sql
EXCHANGE_INSERT = EXCHANGE.without("id")
"""The columns `exchange_values` fills, in its order (SQLite allocates the id)."""

_X_ID, _X_AT, _X_METHOD, _X_URL = EXCHANGE["id"], EXCHANGE["at"], EXCHANGE["method"], EXCHANGE["url"]
_X_STATUS, _X_LATENCY, _X_APP_NAME = EXCHANGE["status"], EXCHANGE["latency_ms"], EXCHANGE["app_name"]
_X_ACCOUNT, _X_CODE, _X_SUBCODE = EXCHANGE["account"], EXCHANGE["error_code"], EXCHANGE["error_subcode"]
_X_FBTRACE_ID, _X_MESSAGE = EXCHANGE["fbtrace_id"], EXCHANGE["error_message"]
_X_USAGE, _X_PID = EXCHANGE["usage"], EXCHANGE["pid"]


def dump_usage(usage: Usage | None) -> str | None:
    """Rate-limit usage as JSON text (its own column: the log view charts it without a join)."""
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
    """The inverse of `dump_usage`, tolerant of keys an older igtui did not write."""
    if not text:
        return None
    d = json.loads(text)
    return models.Usage(
        app_pct=d.get("app_pct"),
        app_raw=dict(d.get("app_raw") or {}),
        buc={k: tuple((str(t), float(p), int(m)) for t, p, m in v) for k, v in (d.get("buc") or {}).items()},
        ad_account_pct=d.get("ad_account_pct"),
        regain_minutes=d.get("regain_minutes"),
    )


def exchange_values(x: Exchange) -> tuple[object, ...]:
    """An exchange's values for `EXCHANGE_INSERT`, in that column order (a tuple: one per request)."""
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


def exchange_from_row(r: Row) -> Exchange:
    """An `EXCHANGE` row as an Exchange, its usage parsed back so the log view can show it."""
    return models.Exchange(
        id=r[_X_ID],
        at=at_exact(r[_X_AT]),
        method=r[_X_METHOD],
        url=r[_X_URL],
        status=r[_X_STATUS],
        latency_ms=r[_X_LATENCY],
        app_name=r[_X_APP_NAME],
        account=r[_X_ACCOUNT],
        error_code=r[_X_CODE],
        error_subcode=r[_X_SUBCODE],
        fbtrace_id=r[_X_FBTRACE_ID],
        error_message=r[_X_MESSAGE],
        usage=load_usage(r[_X_USAGE]),
        pid=r[_X_PID],
    )


__all__ = [
    "EXCHANGE",
    "EXCHANGE_COLUMNS",
    "EXCHANGE_INSERT",
    "HISTORY",
    "HISTORY_COLUMNS",
    "HISTORY_INSERT",
    "dump_usage",
    "exchange_from_row",
    "exchange_values",
    "history_from_row",
    "history_values",
    "load_usage",
]
