"""Row ↔ model mapping for the store. Cheap on purpose: listing 10,000 accounts maps tuples.

Rows are read by column name. Each SELECT list is a `Columns`, and a mapper finds a value's
position by the column's name, so adding or moving a column cannot make a mapper read the wrong
one. Mappers resolve their positions once, at import, into module constants: a row then costs
what a literal index costs (sqlite3.Row looks a name up by a linear scan per access, measured at
about 40 % more per account; a dict lookup per field, 10–20 % more per log row). The two logs'
rows are mapped in `igtui.core.store.logrecords`.

Times are integer Unix seconds for account fields and float seconds for log rows (sub-second
order matters in the request log). Scope lists are space-joined text (scope names never hold a
space); granular scopes, which carry target ids, are JSON — parsed only when present.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from igtui.core.models import Account, AccountStatus, App, PendingFlow, TokenKind

Row = Sequence[Any]
"""A row as SQLite hands it over (a tuple), or one decoded from a JSON aggregate (a list)."""

_KINDS = {k.value: k for k in TokenKind}
_STATUSES = {s.value: s for s in AccountStatus}
_fromts = datetime.fromtimestamp


class Columns(dict[str, int]):
    """An ordered SELECT list: each column's name maps to its position in the row.

    Built from `name=SQL expression` pairs in row order; `sql` is the comma-joined expressions,
    exactly what goes between SELECT and FROM. A dict (a plain C lookup) so that `row[COLS["x"]]`
    stays cheap, and so that a misspelt name fails loudly with KeyError instead of reading some
    other column.
    """

    sql: str
    names: tuple[str, ...]
    exprs: dict[str, str]

    def __init__(self, **columns: str) -> None:
        super().__init__((name, i) for i, name in enumerate(columns))
        self.names = tuple(columns)
        self.exprs = dict(columns)
        self.sql = ", ".join(columns.values())

    @classmethod
    def bare(cls, *names: str) -> Columns:
        """Columns selected by their plain names (a query on one table, no join)."""
        return cls(**{name: name for name in names})

    def plus(self, **more: str) -> Columns:
        """These columns followed by `more` (a wider SELECT that the same mappers still read)."""
        return Columns(**self.exprs, **more)

    def without(self, name: str) -> Columns:
        """These columns less one (the INSERT list of a table whose id SQLite allocates)."""
        return Columns(**{n: e for n, e in self.exprs.items() if n != name})

    def marks(self) -> str:
        """`?, ?, …`: one placeholder per column, for an INSERT of these columns."""
        return ", ".join("?" * len(self.names))


def dt(value: float | None) -> datetime | None:
    """An account time (whole Unix seconds) as an aware UTC datetime; None stays None."""
    return None if value is None else _fromts(int(value), UTC)


def dt_exact(value: float | None) -> datetime | None:
    """A log time (float seconds, sub-second order kept) as an aware UTC datetime."""
    return None if value is None else _fromts(value, UTC)


def at_exact(value: float) -> datetime:
    """A log time from a NOT NULL column: `dt_exact` where the schema guarantees a value."""
    return _fromts(value, UTC)


def epoch(at: datetime | None) -> int | None:
    """Whole Unix seconds for an account time column (sub-second precision is meaningless there)."""
    return None if at is None else int(at.timestamp())


def epoch_exact(at: datetime | None) -> float | None:
    """Float Unix seconds for a log time column, so rows written in one second keep their order."""
    return None if at is None else at.timestamp()


def join_scopes(scopes: Sequence[str]) -> str:
    """Scopes as one TEXT column: space-joined (scope names never contain a space)."""
    return " ".join(scopes)


def split_scopes(text: str | None) -> tuple[str, ...]:
    """The inverse of `join_scopes`; NULL or empty is no scopes."""
    return tuple(text.split()) if text else ()


def dump_granular(granular: Sequence[tuple[str, Sequence[str]]]) -> str:
    """Granular scopes (scope, target ids) as JSON; empty text when there are none (the common case)."""
    return json.dumps([[scope, list(ids)] for scope, ids in granular]) if granular else ""


def load_granular(text: str | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The inverse of `dump_granular`; parses JSON only when there is any."""
    if not text:
        return ()
    return tuple((str(scope), tuple(str(i) for i in ids)) for scope, ids in json.loads(text))


def json_rows(text: str | None) -> list[Any]:
    """The rows of a `json_group_array` of `json_array` (lists) or `json_object` (dicts); NULL is none."""
    return json.loads(text) if text else []


# ── apps ─────────────────────────────────────────────────────────────────────────────────────

APP = Columns.bare(
    "id", "name", "platform", "app_id", "redirect_uris", "scopes", "graph_version", "base_url",
    "refresh_within_days", "created_at", "updated_at", "blocked_kind", "blocked_reason",
    "blocked_at",
)
APP_COLUMNS = APP.sql

_P_ID, _P_NAME, _P_PLATFORM, _P_APP_ID = APP["id"], APP["name"], APP["platform"], APP["app_id"]
_P_URIS, _P_SCOPES, _P_GRAPH = APP["redirect_uris"], APP["scopes"], APP["graph_version"]
_P_BASE_URL, _P_WITHIN = APP["base_url"], APP["refresh_within_days"]
_P_CREATED_AT, _P_UPDATED_AT = APP["created_at"], APP["updated_at"]
_P_BLOCKED_KIND, _P_BLOCKED_REASON, _P_BLOCKED_AT = APP["blocked_kind"], APP["blocked_reason"], APP["blocked_at"]


def app_from_row(r: Row) -> App:
    """An `APP` row as an App. The secret column is never selected, so an App is safe to print."""
    return App(
        id=r[_P_ID],
        name=r[_P_NAME],
        platform=r[_P_PLATFORM],
        app_id=r[_P_APP_ID],
        redirect_uris=tuple(json.loads(r[_P_URIS])),
        scopes=split_scopes(r[_P_SCOPES]),
        graph_version=r[_P_GRAPH],
        base_url=r[_P_BASE_URL],
        refresh_within_days=r[_P_WITHIN],
        created_at=dt(r[_P_CREATED_AT]),
        updated_at=dt(r[_P_UPDATED_AT]),
        blocked_kind=r[_P_BLOCKED_KIND],
        blocked_reason=r[_P_BLOCKED_REASON],
        blocked_at=dt(r[_P_BLOCKED_AT]),
    )


# ── accounts ─────────────────────────────────────────────────────────────────────────────────

ACCOUNT = Columns(
    id="a.id", app_name="p.name", platform="p.platform", username="a.username",
    ig_user_id="a.ig_user_id", app_scoped_id="a.app_scoped_id", account_type="a.account_type",
    token_kind="a.token_kind", scopes="a.scopes", granular_scopes="a.granular_scopes",
    requested_scopes="a.requested_scopes", issued_at="a.issued_at", expires_at="a.expires_at",
    expires_known="a.expires_known", data_access_expires_at="a.data_access_expires_at",
    refreshed_at="a.refreshed_at", status="a.status", status_reason="a.status_reason",
    retry_at="a.retry_at", failures="a.failures", refresh_within_days="a.refresh_within_days",
    generation="a.generation", last_verified_at="a.last_verified_at",
    last_verify_ok="a.last_verify_ok", last_verify_message="a.last_verify_message",
    page_id="a.page_id", created_at="a.created_at",
)
_ACCOUNT_FROM = " FROM accounts a JOIN apps p ON p.id = a.app"
ACCOUNT_SELECT = f"SELECT {ACCOUNT.sql}{_ACCOUNT_FROM}"

ACCOUNT_WITH_TOKEN = ACCOUNT.plus(token_hex="hex(a.token)")
"""`ACCOUNT` plus the token ciphertext in hex (JSON has no blobs); `account_from_row` ignores it."""
ACCOUNT_JSON_SELECT = f"SELECT json_group_array(json_array({ACCOUNT_WITH_TOKEN.sql})){_ACCOUNT_FROM}"
"""Many `ACCOUNT_WITH_TOKEN` rows as ONE JSON row.

Why: pysqlite releases and re-takes the GIL around every sqlite3_step, i.e. per row; a worker
thread reading a batch of rows while the event loop is busy pays a GIL hand-off per row (measured
in bulk refreshes). One aggregated row is one step. Types survive: INTEGER→int, TEXT→str,
NULL→None; the blob travels as hex. Decode with `json_rows`; each row keeps the column order.
"""

# Positions by name, resolved once: `account_from_row` runs for every listed account.
_A_ID, _A_APP_NAME, _A_PLATFORM = ACCOUNT["id"], ACCOUNT["app_name"], ACCOUNT["platform"]
_A_USERNAME, _A_IG_USER_ID = ACCOUNT["username"], ACCOUNT["ig_user_id"]
_A_APP_SCOPED_ID, _A_ACCOUNT_TYPE = ACCOUNT["app_scoped_id"], ACCOUNT["account_type"]
_A_TOKEN_KIND, _A_SCOPES = ACCOUNT["token_kind"], ACCOUNT["scopes"]
_A_GRANULAR, _A_REQUESTED = ACCOUNT["granular_scopes"], ACCOUNT["requested_scopes"]
_A_ISSUED_AT, _A_EXPIRES_AT = ACCOUNT["issued_at"], ACCOUNT["expires_at"]
_A_EXPIRES_KNOWN, _A_DATA_ACCESS = ACCOUNT["expires_known"], ACCOUNT["data_access_expires_at"]
_A_REFRESHED_AT, _A_STATUS = ACCOUNT["refreshed_at"], ACCOUNT["status"]
_A_STATUS_REASON, _A_RETRY_AT = ACCOUNT["status_reason"], ACCOUNT["retry_at"]
_A_FAILURES, _A_WITHIN = ACCOUNT["failures"], ACCOUNT["refresh_within_days"]
_A_GENERATION, _A_VERIFIED_AT = ACCOUNT["generation"], ACCOUNT["last_verified_at"]
_A_VERIFY_OK, _A_VERIFY_MESSAGE = ACCOUNT["last_verify_ok"], ACCOUNT["last_verify_message"]
_A_PAGE_ID, _A_CREATED_AT = ACCOUNT["page_id"], ACCOUNT["created_at"]
A_TOKEN_HEX = ACCOUNT_WITH_TOKEN["token_hex"]


def account_from_row(r: Row) -> Account:
    """An `ACCOUNT` (or `ACCOUNT_WITH_TOKEN`) row as an Account; decrypts nothing, so needs no passphrase."""
    return Account(
        id=r[_A_ID],
        app_name=r[_A_APP_NAME],
        platform=r[_A_PLATFORM],
        username=r[_A_USERNAME],
        ig_user_id=r[_A_IG_USER_ID],
        app_scoped_id=r[_A_APP_SCOPED_ID],
        account_type=r[_A_ACCOUNT_TYPE],
        token_kind=_KINDS[r[_A_TOKEN_KIND]],
        scopes=split_scopes(r[_A_SCOPES]),
        granular_scopes=load_granular(r[_A_GRANULAR]),
        requested_scopes=split_scopes(r[_A_REQUESTED]),
        issued_at=None if (v := r[_A_ISSUED_AT]) is None else _fromts(v, UTC),
        expires_at=None if (v := r[_A_EXPIRES_AT]) is None else _fromts(v, UTC),
        expires_known=bool(r[_A_EXPIRES_KNOWN]),
        data_access_expires_at=None if (v := r[_A_DATA_ACCESS]) is None else _fromts(v, UTC),
        refreshed_at=None if (v := r[_A_REFRESHED_AT]) is None else _fromts(v, UTC),
        status=_STATUSES.get(r[_A_STATUS], AccountStatus.OK),
        status_reason=r[_A_STATUS_REASON],
        retry_at=None if (v := r[_A_RETRY_AT]) is None else _fromts(v, UTC),
        failures=r[_A_FAILURES],
        refresh_within_days=r[_A_WITHIN],
        generation=r[_A_GENERATION],
        last_verified_at=None if (v := r[_A_VERIFIED_AT]) is None else _fromts(v, UTC),
        last_verify_ok=None if (v := r[_A_VERIFY_OK]) is None else bool(v),
        last_verify_message=r[_A_VERIFY_MESSAGE],
        page_id=r[_A_PAGE_ID],
        created_at=None if (v := r[_A_CREATED_AT]) is None else _fromts(v, UTC),
    )


# ── pending login flows ──────────────────────────────────────────────────────────────────────

FLOW = Columns(
    id="f.id", app_name="p.name", platform="p.platform", redirect_uri="f.redirect_uri", scopes="f.scopes",
    created_at="f.created_at", expires_at="f.expires_at",
)
FLOW_SELECT = f"SELECT {FLOW.sql} FROM pending_flows f JOIN apps p ON p.id = f.app"

_F_ID, _F_APP_NAME, _F_PLATFORM = FLOW["id"], FLOW["app_name"], FLOW["platform"]
_F_REDIRECT_URI, _F_SCOPES = FLOW["redirect_uri"], FLOW["scopes"]
_F_CREATED_AT, _F_EXPIRES_AT = FLOW["created_at"], FLOW["expires_at"]


def flow_from_row(r: Row) -> PendingFlow:
    """A `FLOW` row as a PendingFlow (its state is never read back: only its hash is stored)."""
    return PendingFlow(
        id=r[_F_ID],
        app_name=r[_F_APP_NAME],
        platform=r[_F_PLATFORM],
        redirect_uri=r[_F_REDIRECT_URI],
        scopes=split_scopes(r[_F_SCOPES]),
        created_at=at_exact(r[_F_CREATED_AT]),
        expires_at=at_exact(r[_F_EXPIRES_AT]),
    )
