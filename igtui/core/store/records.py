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

Conversion is total: a row never makes a mapper raise. Anyone who can write the file can put
any value in any plain column (a string where a time goes, 1e300, a bogus kind, broken JSON,
bytes that are not UTF-8), and one such row must not stop a listing or a bulk run. A row that
holds a value igtui never writes becomes a model with `damage` set (naming the columns) and safe
defaults where the values were bad; every consumer then treats it as damaged (SECURITY.md).
The common case stays one constructor call plus one chain of type checks per row; only a row
that fails them is mapped column by column.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from igtui.core.models import DEFAULT_GRAPH_VERSION, PLATFORMS, Account, AccountStatus, App, TokenKind

if TYPE_CHECKING:
    from igtui.core.activity import PendingFlow

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


# ── what a sound value looks like (anything else marks its row damaged) ───────────────────────

NAME_MAX = 4096
"""Characters of a name or id at most (app and account names, ids, kinds); Meta's are far shorter."""
TEXT_MAX = 1 << 20
"""Characters of a free-text column at most (scopes, reasons, Meta's messages)."""
TIME_MIN, TIME_MAX = 0, 10**11
"""Unix seconds a stored time may hold: from 1970 to year 5138. Wider values overflow datetime
(or its arithmetic: `issued_at + 24 h`), and igtui never writes one."""
COUNT_MAX = 1 << 62
"""A generation or failure count past this is not one igtui wrote (and would overflow SQLite)."""
WITHIN_MAX = 365


class BadText:
    """A TEXT value that is not UTF-8, as the lenient text factory hands it over: never a str,
    so every check below refuses it (see `lenient_text`)."""

    __slots__ = ("raw",)

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def __repr__(self) -> str:
        return "BadText(…)"


def lenient_text(raw: bytes) -> str | BadText:
    """A connection's text factory for re-reading rows whose TEXT failed to decode.

    Why: sqlite3 raises for a whole SELECT when one TEXT cell is not UTF-8, which would let one
    row stop every listing. The re-read gets `BadText` for that cell and the row is damaged.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return BadText(raw)


def is_decode_failure(exc: BaseException) -> bool:
    """Whether a SELECT failed because of a value in a row rather than the file (so re-read leniently).

    sqlite3 says "Could not decode to UTF-8"; SQLite's JSON functions refuse a BLOB in a
    TEXT column ("JSON cannot hold BLOB values").
    """
    text = str(exc)
    return "decode" in text or "JSON cannot hold BLOB" in text or "malformed JSON" in text


def _is_name(v: object) -> bool:
    return type(v) is str and 0 < len(v) <= NAME_MAX


def _is_opt_name(v: object) -> bool:
    return v is None or (type(v) is str and len(v) <= NAME_MAX)


def _is_opt_text(v: object) -> bool:
    return v is None or (type(v) is str and len(v) <= TEXT_MAX)


def _is_time(v: object) -> bool:
    return v is None or ((type(v) is int or type(v) is float) and TIME_MIN <= v < TIME_MAX)


def _is_flag(v: object) -> bool:
    return (type(v) is int or type(v) is float) and v in (0, 1)


def _is_opt_flag(v: object) -> bool:
    return v is None or _is_flag(v)


def _is_count(v: object) -> bool:
    return type(v) is int and 0 <= v < COUNT_MAX


def _is_within(v: object) -> bool:
    return v is None or (type(v) is int and 0 <= v <= WITHIN_MAX)


def _granular_ok(v: object) -> bool:
    if v is None or v == "":
        return True
    if type(v) is not str or len(v) > TEXT_MAX:
        return False
    try:
        load_granular(v)
    except Exception:
        return False
    return True


def _uris_ok(v: object) -> bool:
    if type(v) is not str or len(v) > TEXT_MAX:
        return False
    try:
        uris = json.loads(v)
    except ValueError:
        return False
    return type(uris) is list and all(_is_name(u) for u in uris)


_WHY = {
    _is_name: "not a name",
    _is_opt_name: "not a name",
    _is_opt_text: "not text",
    _is_time: "not a time",
    _is_flag: "not 0 or 1",
    _is_opt_flag: "not 0 or 1",
    _is_count: "not a count",
    _is_within: "not a number of days",
    _granular_ok: "not granular scopes (JSON)",
    _uris_ok: "not a JSON list of URIs",
}


def _problems(r: Row, checks: Sequence[tuple[str, int, Any]]) -> list[str]:
    """'column: why' for every column of `r` whose value fails its check (empty: a sound row)."""
    out = []
    for column, pos, check in checks:
        try:
            ok = bool(check(r[pos]))
        except Exception:
            ok = False
        if not ok:
            out.append(f"{column}: {_WHY.get(check, 'not a value igtui writes')}")
    return out


def _ts(v: Any) -> datetime | None:
    """A checked time column as a datetime (None where the value was bad: the row is damaged)."""
    return _fromts(v, UTC) if v is not None and _is_time(v) else None


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


_APP_CHECKS: tuple[tuple[str, int, Any], ...] = (
    ("id", _P_ID, _is_count),
    ("name", _P_NAME, _is_name),
    ("platform", _P_PLATFORM, lambda v: v in PLATFORMS),
    ("app_id", _P_APP_ID, _is_name),
    ("redirect_uris", _P_URIS, _uris_ok),
    ("scopes", _P_SCOPES, _is_opt_text),
    ("graph_version", _P_GRAPH, _is_name),
    ("base_url", _P_BASE_URL, _is_opt_name),
    ("refresh_within_days", _P_WITHIN, _is_within),
    ("created_at", _P_CREATED_AT, _is_time),
    ("updated_at", _P_UPDATED_AT, _is_time),
    ("blocked_kind", _P_BLOCKED_KIND, _is_opt_name),
    ("blocked_reason", _P_BLOCKED_REASON, _is_opt_text),
    ("blocked_at", _P_BLOCKED_AT, _is_time),
)


def app_problems(r: Row) -> list[str]:
    """'column: why' for each column of an `APP` row holding a value igtui never writes."""
    return _problems(r, _APP_CHECKS)


def _good(r: Row, pos: int, check: Any, default: Any) -> Any:
    try:
        return r[pos] if check(r[pos]) else default
    except Exception:
        return default


def app_from_row(r: Row) -> App:
    """An `APP` row as an App. The secret column is never selected, so an App is safe to print.

    Never raises: a row with a value igtui never writes comes back with `damage` set and safe
    defaults in the bad columns (apps are few, so every row is checked column by column).
    """
    problems = app_problems(r)
    row_id = r[_P_ID] if _is_count(r[_P_ID]) else -1
    if not problems:
        return App(
            id=row_id,
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
    return App(
        id=row_id,
        name=_good(r, _P_NAME, _is_name, f"app#{row_id}"),
        platform=_good(r, _P_PLATFORM, lambda v: v in PLATFORMS, "instagram"),
        app_id=_good(r, _P_APP_ID, _is_name, ""),
        redirect_uris=tuple(json.loads(r[_P_URIS])) if _good(r, _P_URIS, _uris_ok, None) else (),
        scopes=split_scopes(_good(r, _P_SCOPES, _is_opt_text, None)),
        graph_version=_good(r, _P_GRAPH, _is_name, DEFAULT_GRAPH_VERSION),
        base_url=_good(r, _P_BASE_URL, _is_opt_name, None),
        refresh_within_days=_good(r, _P_WITHIN, _is_within, None),
        created_at=_ts(r[_P_CREATED_AT]),
        updated_at=_ts(r[_P_UPDATED_AT]),
        blocked_kind=_good(r, _P_BLOCKED_KIND, _is_opt_name, None),
        blocked_reason=_good(r, _P_BLOCKED_REASON, _is_opt_text, None),
        blocked_at=_ts(r[_P_BLOCKED_AT]),
        damage="; ".join(problems),
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
    page_id="a.page_id", created_at="a.created_at", app_row="a.app",
)
# LEFT JOIN: an account whose `app` column points at no app is still listed (as damaged), not
# silently dropped from every listing.
_ACCOUNT_FROM = " FROM accounts a LEFT JOIN apps p ON p.id = a.app"
ACCOUNT_FROM = _ACCOUNT_FROM
ACCOUNT_SELECT = f"SELECT {ACCOUNT.sql}{_ACCOUNT_FROM}"

ACCOUNT_WITH_TOKEN = ACCOUNT.plus(token_hex="hex(a.token)", mac_hex="hex(a.mac)")
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
_A_APP_ROW = ACCOUNT["app_row"]
A_TOKEN_HEX = ACCOUNT_WITH_TOKEN["token_hex"]
A_MAC_HEX = ACCOUNT_WITH_TOKEN["mac_hex"]


_ACCOUNT_CHECKS: tuple[tuple[str, int, Any], ...] = (
    ("id", _A_ID, _is_count),
    ("app", _A_APP_ROW, _is_count),
    ("app", _A_APP_NAME, _is_name),
    ("app", _A_PLATFORM, lambda v: v in PLATFORMS),
    ("username", _A_USERNAME, _is_name),
    ("ig_user_id", _A_IG_USER_ID, _is_name),
    ("app_scoped_id", _A_APP_SCOPED_ID, _is_opt_name),
    ("account_type", _A_ACCOUNT_TYPE, _is_opt_name),
    ("token_kind", _A_TOKEN_KIND, lambda v: v in _KINDS),
    ("scopes", _A_SCOPES, _is_opt_text),
    ("granular_scopes", _A_GRANULAR, _granular_ok),
    ("requested_scopes", _A_REQUESTED, _is_opt_text),
    ("issued_at", _A_ISSUED_AT, _is_time),
    ("expires_at", _A_EXPIRES_AT, _is_time),
    ("expires_known", _A_EXPIRES_KNOWN, _is_flag),
    ("data_access_expires_at", _A_DATA_ACCESS, _is_time),
    ("refreshed_at", _A_REFRESHED_AT, _is_time),
    ("status", _A_STATUS, lambda v: v in _STATUSES),
    ("status_reason", _A_STATUS_REASON, _is_opt_text),
    ("retry_at", _A_RETRY_AT, _is_time),
    ("failures", _A_FAILURES, _is_count),
    ("refresh_within_days", _A_WITHIN, _is_within),
    ("generation", _A_GENERATION, _is_count),
    ("last_verified_at", _A_VERIFIED_AT, _is_time),
    ("last_verify_ok", _A_VERIFY_OK, _is_opt_flag),
    ("last_verify_message", _A_VERIFY_MESSAGE, _is_opt_text),
    ("page_id", _A_PAGE_ID, _is_opt_name),
    ("created_at", _A_CREATED_AT, _is_time),
)


def account_problems(r: Row) -> list[str]:
    """'column: why' for each column of an `ACCOUNT` row holding a value igtui never writes
    ('app' also when the row points at no app, or at a damaged app's name or platform)."""
    return list(dict.fromkeys(_problems(r, _ACCOUNT_CHECKS)))


def _sound(r: Row) -> bool:
    """The fast check of a whole row: the same rules as `_ACCOUNT_CHECKS`, in one expression.

    Why both: this runs for every listed account (100,000 in a bulk run) and costs about what a
    constructor call does; the table runs only for a row this refuses and names its columns.
    A test checks that the two agree on every column and kind of garbage.
    """
    t, f, n = int, float, None
    v = r[_A_USERNAME]
    if type(v) is not str or not 0 < len(v) <= NAME_MAX:
        return False
    v = r[_A_IG_USER_ID]
    if type(v) is not str or not 0 < len(v) <= NAME_MAX:
        return False
    v = r[_A_APP_NAME]
    if type(v) is not str or not 0 < len(v) <= NAME_MAX:
        return False
    if r[_A_PLATFORM] not in PLATFORMS or r[_A_TOKEN_KIND] not in _KINDS or r[_A_STATUS] not in _STATUSES:
        return False
    for pos in _COUNTS:
        v = r[pos]
        if type(v) is not t or not 0 <= v < COUNT_MAX:
            return False
    for pos in _TIMES:
        v = r[pos]
        if v is not n and ((type(v) is not t and type(v) is not f) or not TIME_MIN <= v < TIME_MAX):
            return False
    for pos in _OPT_NAMES:
        v = r[pos]
        if v is not n and (type(v) is not str or len(v) > NAME_MAX):
            return False
    for pos in _OPT_TEXTS:
        v = r[pos]
        if v is not n and (type(v) is not str or len(v) > TEXT_MAX):
            return False
    v = r[_A_EXPIRES_KNOWN]
    if (type(v) is not t and type(v) is not f) or v not in (0, 1):
        return False
    v = r[_A_VERIFY_OK]
    if v is not n and ((type(v) is not t and type(v) is not f) or v not in (0, 1)):
        return False
    v = r[_A_WITHIN]
    return v is n or (type(v) is t and 0 <= v <= WITHIN_MAX)


_COUNTS = (_A_ID, _A_APP_ROW, _A_FAILURES, _A_GENERATION)
_TIMES = (_A_ISSUED_AT, _A_EXPIRES_AT, _A_DATA_ACCESS, _A_REFRESHED_AT, _A_RETRY_AT, _A_VERIFIED_AT, _A_CREATED_AT)
_OPT_NAMES = (_A_APP_SCOPED_ID, _A_ACCOUNT_TYPE, _A_PAGE_ID)
_OPT_TEXTS = (_A_SCOPES, _A_REQUESTED, _A_STATUS_REASON, _A_VERIFY_MESSAGE, _A_GRANULAR)


def account_from_row(r: Row) -> Account:
    """An `ACCOUNT` (or `ACCOUNT_WITH_TOKEN`) row as an Account; decrypts nothing, so needs no passphrase.

    Never raises: a row holding a value igtui never writes comes back with `damage` set.
    """
    if _sound(r):
        try:
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
                status=_STATUSES[r[_A_STATUS]],
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
        except Exception:  # e.g. granular scopes that parse as JSON but not as scopes
            pass
    return _damaged_account(r)


def _damaged_account(r: Row) -> Account:
    """A row that failed the checks, column by column: the sound values kept, safe defaults for
    the rest (an empty scope list, no times, status OK, generation 0), `damage` naming them."""
    problems = account_problems(r) or ["row: not a row igtui writes"]
    row_id = r[_A_ID] if _is_count(r[_A_ID]) else -1
    app_row = r[_A_APP_ROW] if _is_count(r[_A_APP_ROW]) else "?"
    granular = _good(r, _A_GRANULAR, _granular_ok, None)
    return Account(
        id=row_id,
        app_name=_good(r, _A_APP_NAME, _is_name, f"app#{app_row}"),
        platform=_good(r, _A_PLATFORM, lambda v: v in PLATFORMS, "instagram"),
        username=_good(r, _A_USERNAME, _is_name, f"#{row_id}"),
        ig_user_id=_good(r, _A_IG_USER_ID, _is_name, ""),
        app_scoped_id=_good(r, _A_APP_SCOPED_ID, _is_opt_name, None),
        account_type=_good(r, _A_ACCOUNT_TYPE, _is_opt_name, None),
        token_kind=_KINDS.get(_good(r, _A_TOKEN_KIND, lambda v: v in _KINDS, None), TokenKind.IG_LONG),
        scopes=split_scopes(_good(r, _A_SCOPES, _is_opt_text, None)),
        granular_scopes=load_granular(granular) if granular else (),
        requested_scopes=split_scopes(_good(r, _A_REQUESTED, _is_opt_text, None)),
        issued_at=_ts(r[_A_ISSUED_AT]),
        expires_at=_ts(r[_A_EXPIRES_AT]),
        expires_known=bool(_good(r, _A_EXPIRES_KNOWN, _is_flag, 1)),
        data_access_expires_at=_ts(r[_A_DATA_ACCESS]),
        refreshed_at=_ts(r[_A_REFRESHED_AT]),
        status=_STATUSES.get(_good(r, _A_STATUS, lambda v: v in _STATUSES, None), AccountStatus.OK),
        status_reason=_good(r, _A_STATUS_REASON, _is_opt_text, None),
        retry_at=_ts(r[_A_RETRY_AT]),
        failures=_good(r, _A_FAILURES, _is_count, 0),
        refresh_within_days=_good(r, _A_WITHIN, _is_within, None),
        generation=_good(r, _A_GENERATION, _is_count, 0),
        last_verified_at=_ts(r[_A_VERIFIED_AT]),
        last_verify_ok=None if (v := _good(r, _A_VERIFY_OK, _is_opt_flag, None)) is None else bool(v),
        last_verify_message=_good(r, _A_VERIFY_MESSAGE, _is_opt_text, None),
        page_id=_good(r, _A_PAGE_ID, _is_opt_name, None),
        created_at=_ts(r[_A_CREATED_AT]),
        damage="; ".join(problems),
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
    from igtui.core.activity import PendingFlow

    return PendingFlow(
        id=r[_F_ID],
        app_name=r[_F_APP_NAME],
        platform=r[_F_PLATFORM],
        redirect_uri=r[_F_REDIRECT_URI],
        scopes=split_scopes(r[_F_SCOPES]),
        created_at=at_exact(r[_F_CREATED_AT]),
        expires_at=at_exact(r[_F_EXPIRES_AT]),
    )
