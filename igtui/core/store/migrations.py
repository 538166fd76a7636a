"""The store's schema, as sqlite-utils migrations (one set, named "igtui").

Secret columns (`apps.secret`, `accounts.token`) hold `nonce‖ciphertext‖tag` blobs only; every
other column is plain metadata so that listing needs no passphrase. Tables that carry encrypted
fields use AUTOINCREMENT so a row id (part of the AAD) is never reused.

`KNOWN_MIGRATIONS` and `SCHEMA_VERSION` let `Store.open` refuse a store written by a newer igtui
*before* opening it for writing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # sqlite_utils is imported only when a migration actually runs (start-up cost)
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

MIGRATION_SET = "igtui"

_M001 = """
CREATE TABLE header (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    store_uuid TEXT NOT NULL,
    kdf TEXT NOT NULL,
    kdf_memory_kib INTEGER NOT NULL,
    kdf_iterations INTEGER NOT NULL,
    kdf_lanes INTEGER NOT NULL,
    kdf_salt BLOB NOT NULL,
    wrapped_dek BLOB NOT NULL,
    crypto_version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    passphrase_changed_at INTEGER
);
CREATE TABLE apps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    platform TEXT NOT NULL,
    app_id TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    scopes TEXT NOT NULL,
    graph_version TEXT NOT NULL,
    base_url TEXT,
    refresh_within_days INTEGER,
    secret BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app INTEGER NOT NULL REFERENCES apps(id),
    username TEXT NOT NULL,
    ig_user_id TEXT NOT NULL,
    app_scoped_id TEXT,
    account_type TEXT,
    token_kind TEXT NOT NULL,
    token BLOB NOT NULL,
    scopes TEXT NOT NULL DEFAULT '',
    granular_scopes TEXT NOT NULL DEFAULT '',
    requested_scopes TEXT NOT NULL DEFAULT '',
    issued_at INTEGER,
    expires_at INTEGER,
    expires_known INTEGER NOT NULL DEFAULT 1,
    data_access_expires_at INTEGER,
    refreshed_at INTEGER,
    status TEXT NOT NULL DEFAULT 'ok',
    status_reason TEXT,
    retry_at INTEGER,
    failures INTEGER NOT NULL DEFAULT 0,
    refresh_within_days INTEGER,
    generation INTEGER NOT NULL DEFAULT 0,
    last_verified_at INTEGER,
    last_verify_ok INTEGER,
    last_verify_message TEXT,
    page_id TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (app, ig_user_id)
);
CREATE INDEX accounts_username ON accounts(username);
CREATE INDEX accounts_app_username ON accounts(app, username, id);
CREATE INDEX accounts_ig_user_id ON accounts(ig_user_id);
CREATE TABLE history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    trigger TEXT NOT NULL,
    account_id INTEGER,
    account TEXT NOT NULL,
    result TEXT NOT NULL,
    error_code INTEGER,
    error_subcode INTEGER,
    message TEXT,
    fbtrace_id TEXT,
    old_expires_at INTEGER,
    new_expires_at INTEGER,
    duration_ms REAL
);
CREATE INDEX history_account ON history(account_id, id);
CREATE TABLE exchanges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    method TEXT NOT NULL,
    url TEXT NOT NULL,
    status INTEGER,
    latency_ms REAL NOT NULL,
    app_name TEXT,
    account TEXT,
    error_code INTEGER,
    error_subcode INTEGER,
    fbtrace_id TEXT,
    error_message TEXT,
    usage TEXT,
    pid INTEGER
);
CREATE TABLE pending_flows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app INTEGER NOT NULL REFERENCES apps(id),
    state_hash TEXT NOT NULL UNIQUE,
    redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
"""


def m001_initial(db: Database) -> None:
    """Header, apps, accounts, refresh history, request log, pending login flows."""
    for statement in _M001.split(";"):
        if statement.strip():
            db.execute(statement)


def m002_app_state(db: Database) -> None:
    """An app's own state: Meta can block an app (restricted, Data Use Checkup overdue, deactivated
    for inactivity, not live), which ends every token of that app at once, whatever each token's
    state. `blocked_kind` is NULL while the app works."""
    db.execute("ALTER TABLE apps ADD COLUMN blocked_kind TEXT")
    db.execute("ALTER TABLE apps ADD COLUMN blocked_reason TEXT")
    db.execute("ALTER TABLE apps ADD COLUMN blocked_at INTEGER")


_M004 = """
CREATE TABLE audit (
    id INTEGER PRIMARY KEY CHECK (id >= 1),
    at REAL NOT NULL,
    action TEXT NOT NULL,
    account_id INTEGER,
    account TEXT NOT NULL,
    app TEXT,
    username TEXT,
    sink_id INTEGER,
    detail TEXT,
    uid INTEGER,
    user TEXT,
    pid INTEGER,
    ppid INTEGER,
    parent TEXT,
    tty TEXT,
    ssh_client TEXT,
    sudo_user TEXT,
    mac BLOB NOT NULL
);
CREATE INDEX audit_account ON audit(account_id, id);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    count INTEGER NOT NULL,
    last_mac BLOB,
    mac BLOB
);
INSERT INTO audit_head (id, count, last_mac, mac) VALUES (1, 0, NULL, NULL)
"""


def m004_audit(db: Database) -> None:
    """The audit of token reads (`igtui.core.store.audit`): one row per token that left igtui, and
    the chain head (row count and last MAC, itself MAC'd) that makes a deleted last row visible.

    The row id is the chain position, given by the head inside the write transaction, not by
    AUTOINCREMENT. The head starts unkeyed (a migration has no data key); the first append keys it.
    """
    for statement in _M004.split(";"):
        if statement.strip():
            db.execute(statement)


def m005_sinks(db: Database) -> None:
    """Sinks: where a token is pushed after every login or refresh (`igtui.core.store.sinks`).

    `config` is the sealed configuration (the only copy delivery uses); `kind`, `target`,
    `format`, `var` and `account_id` are a plain copy for listing without a passphrase, checked
    against the sealed one before every delivery. `delivered_generation` below the account's
    generation means a delivery is pending. No foreign key: a removed account leaves its sinks
    orphaned (listed as such, never delivered), as its history rows stay."""
    db.execute(
        "CREATE TABLE sinks ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " account_id INTEGER NOT NULL,"
        " kind TEXT NOT NULL,"
        " target TEXT NOT NULL,"
        " format TEXT,"
        " var TEXT,"
        " config BLOB NOT NULL,"
        " created_at INTEGER NOT NULL,"
        " delivered_generation INTEGER NOT NULL DEFAULT 0,"
        " delivered_at INTEGER,"
        " last_attempt_at INTEGER,"
        " last_error TEXT,"
        " failures INTEGER NOT NULL DEFAULT 0,"
        " last_output TEXT)"
    )
    db.execute("CREATE INDEX sinks_account ON sinks(account_id, delivered_generation)")


def m003_integrity(db: Database) -> None:
    """A MAC per app and account row over the columns that decide where a token goes and whose
    it is (`igtui.core.store.integrity`). NULL until the first unlock computes it: migrating needs
    no passphrase, and that unlock seals the store (the wrapped key's AAD then requires MACs)."""
    db.execute("ALTER TABLE apps ADD COLUMN mac BLOB")
    db.execute("ALTER TABLE accounts ADD COLUMN mac BLOB")


_SOUND_TIME = "({c} IS NULL OR (typeof({c}) IN ('integer', 'real') AND {c} >= 0 AND {c} < 100000000000))"
_SOUND_NAME = "(typeof({c}) = 'text' AND length({c}) BETWEEN 1 AND 4096)"

ACCOUNT_SOUND = " AND ".join(
    [
        "typeof(id) = 'integer'",
        "typeof(app) = 'integer'",
        _SOUND_NAME.format(c="username"),
        _SOUND_NAME.format(c="ig_user_id"),
        "token_kind IN ('ig_short', 'ig_long', 'fb_user', 'fb_page')",
        "status IN ('ok', 'needs_relogin', 'rate_limited', 'refresh_failed', 'token_uncertain')",
        *(_SOUND_TIME.format(c=c) for c in ("issued_at", "expires_at", "data_access_expires_at", "refreshed_at",
                                            "retry_at", "last_verified_at", "created_at")),
        "typeof(expires_known) IN ('integer', 'real') AND expires_known IN (0, 1)",
        "typeof(failures) = 'integer' AND failures >= 0",
        "typeof(generation) = 'integer' AND generation >= 0",
        "(refresh_within_days IS NULL OR (typeof(refresh_within_days) = 'integer'"
        " AND refresh_within_days BETWEEN 0 AND 365))",
        "(granular_scopes IS NULL OR granular_scopes = '' OR (typeof(granular_scopes) = 'text'"
        " AND json_valid(granular_scopes)))",
    ]
)
"""The columns that decide an account's health hold values igtui writes (SQL's cut of
`records._ACCOUNT_CHECKS`: types, ranges, kinds, statuses; what SQL cannot see — text that is not
UTF-8, the shape of the granular-scopes JSON, an app id that names no app — is found when the
row is decoded, by the listings that read every row)."""

ACCOUNT_STATE = (
    f"CASE WHEN coalesce({ACCOUNT_SOUND}, 0) = 0 THEN 'suspect'"
    " WHEN status <> 'ok' THEN status"
    " WHEN token_kind = 'ig_short' THEN 'short_lived'"
    " WHEN token_kind = 'ig_long' AND expires_at IS NULL THEN 'expiry_unknown'"
    " WHEN retry_at IS NOT NULL THEN 'retry'"
    " ELSE 'ok' END"
)
"""`accounts.state`: the part of an account's health that does not depend on the time.

'ok' means: a sound row, status ok, no retry pending, and an expiry that alone decides when it
needs a look (an IG long-lived token with an expiry, or a Facebook token). Anything else needs
a look whatever the time: a suspect row, a status other than ok (needs a login, throttled,
failing, uncertain), a short-lived token (always expiring), an IG long-lived token whose expiry
is unknown (due: a refresh learns it), a retry time left behind. What depends on the time is
selected from the indexed `expires_at` and `data_access_expires_at` (`Store.accounts_to_look_at`)."""


def m006_due_selection(db: Database) -> None:
    """What `refresh --due` and `status` select in SQL instead of reading every account.

    `state` is a VIRTUAL generated column: SQLite computes it from the row on every write, by
    every writer (igtui's, another process's, or an edit outside igtui), so it can never be
    stale and no write path has to remember it; it decides nothing that a full read would not
    decide too (see ARCHITECTURE.md, "Where state lives"). Only its partial index is stored:
    the few accounts not 'ok'. `expires_at` and `data_access_expires_at` get the indexes the
    time-dependent part of the selection ranges over; `refresh_within_days` one for the widest
    window in use. Existing rows are indexed as the indexes are built, in the migration's
    one transaction.
    """
    db.execute(f"ALTER TABLE accounts ADD COLUMN state TEXT GENERATED ALWAYS AS ({ACCOUNT_STATE}) VIRTUAL")
    db.execute("CREATE INDEX accounts_state ON accounts(state) WHERE state <> 'ok'")
    db.execute("CREATE INDEX accounts_expires_at ON accounts(expires_at)")
    db.execute("CREATE INDEX accounts_data_access ON accounts(data_access_expires_at)"
               " WHERE data_access_expires_at IS NOT NULL")
    db.execute("CREATE INDEX accounts_within ON accounts(refresh_within_days) WHERE refresh_within_days IS NOT NULL")


def m007_page_indexes(db: Database) -> None:
    """The indexes the TUI's paged history reads by (`igtui.core.store.pages`): one per ordering
    (time; account name then time; result then time) and per filter (an account's attempts by
    time; a result's by account name), each ending in the rowid, so a page is one seek plus its
    rows and a COUNT walks an index, however many million rows the history holds."""
    db.execute("CREATE INDEX history_at ON history(at)")
    db.execute("CREATE INDEX history_account_at ON history(account_id, at)")
    db.execute("CREATE INDEX history_result_at ON history(result, at)")
    db.execute("CREATE INDEX history_name_at ON history(account, at)")
    db.execute("CREATE INDEX history_result_name_at ON history(result, account, at)")


KNOWN_MIGRATIONS: tuple[str, ...] = ("m001_initial", "m002_app_state", "m003_integrity", "m004_audit", "m005_sinks",
                                     "m006_due_selection", "m007_page_indexes", "m008_home_pages",
                                     "m009_home_filter")
SCHEMA_VERSION = len(KNOWN_MIGRATIONS)
"""Also written to `PRAGMA user_version`."""


def build() -> Migrations:
    """The migration set (built on demand so that opening a current store never imports sqlite_utils)."""
    from sqlite_utils.migrations import Migrations

    migrations = Migrations(MIGRATION_SET)
    migrations(name="m001_initial")(m001_initial)
    migrations(name="m002_app_state")(m002_app_state)
    migrations(name="m003_integrity")(m003_integrity)
    migrations(name="m004_audit")(m004_audit)
    migrations(name="m005_sinks")(m005_sinks)
    migrations(name="m006_due_selection")(m006_due_selection)
    migrations(name="m007_page_indexes")(m007_page_indexes)
    from igtui.core.store.migration_home import m008_home_pages, m009_home_filter

    migrations(name="m008_home_pages")(m008_home_pages)
    migrations(name="m009_home_filter")(m009_home_filter)
    return migrations
