"""The indexes home's paged reads run on (`igtui.core.store.account_pages`).

Kept in its own module so the migration that adds them is reviewed with the queries it serves:
each index expression is the exact text the queries order by (SQLite uses an expression index
only for the same expression on the same columns).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

ENDS = ("CASE WHEN expires_at IS NULL THEN data_access_expires_at"
        " WHEN data_access_expires_at IS NULL THEN expires_at"
        " ELSE min(expires_at, data_access_expires_at) END")
"""When the token stops working: the earlier of its expiry and its data access expiry (the
policy's `_ends_at`)."""
NAME = "lower(username)"
"""The username as home sorts it."""
HOME_INDEXES: tuple[str, ...] = (
    f"CREATE INDEX accounts_home_username ON accounts({NAME}, id)",
    f"CREATE INDEX accounts_home_app ON accounts(app, {NAME}, id)",
    f"CREATE INDEX accounts_home_ends ON accounts(({ENDS}), {NAME}, id)",
)
"""By username (the username and status orders, the status order skipping the few flagged
accounts), by app then username (one range per app), and by the token's end then username (the
expiry order; tokens without an end are the NULL range of the same index)."""


def m008_home_pages(db: Database) -> None:
    """Home reads a page at a time in each of its orders: one index per order, ending in the id
    (every order is total), built over the existing rows in the migration's transaction."""
    for statement in HOME_INDEXES:
        db.execute(statement)


NAMES = "accounts_names"
"""The trigram index of the accounts' lower-case usernames (home's filter)."""
NAMES_TABLE = (f"CREATE VIRTUAL TABLE {NAMES} USING fts5(name, content='',"
               " tokenize='trigram case_sensitive 1')")
"""Contentless (it holds trigrams and rowids, not the names), and case-sensitive over `lower()`'d
names, so a match is exactly `instr(lower(username), needle)`: the scan it replaces."""
_NAME_OF = "lower(coalesce({row}.username, ''))"
NAMES_TRIGGERS: tuple[str, ...] = (
    f"CREATE TRIGGER {NAMES}_insert AFTER INSERT ON accounts BEGIN"
    f" INSERT INTO {NAMES}(rowid, name) VALUES (new.id, {_NAME_OF.format(row='new')}); END",
    f"CREATE TRIGGER {NAMES}_delete AFTER DELETE ON accounts BEGIN"
    f" INSERT INTO {NAMES}({NAMES}, rowid, name) VALUES ('delete', old.id, {_NAME_OF.format(row='old')}); END",
    f"CREATE TRIGGER {NAMES}_rename AFTER UPDATE OF username ON accounts BEGIN"
    f" INSERT INTO {NAMES}({NAMES}, rowid, name) VALUES ('delete', old.id, {_NAME_OF.format(row='old')});"
    f" INSERT INTO {NAMES}(rowid, name) VALUES (new.id, {_NAME_OF.format(row='new')}); END",
)
"""Every writer keeps the index current (igtui, another igtui process, an edit with sqlite3):
SQLite runs the triggers. A contentless table deletes a row by being told its old text, which
the triggers have. A refresh rewrites the token, not the username, so it never touches the index."""


def m009_home_filter(db: Database) -> None:
    """Home's filter finds a username by a trigram index instead of reading every account.

    Why: a filter that keeps one account of 100,000 made SQLite walk the whole order index and
    test every row (150 ms), on every key typed. Needles of three characters or more are looked
    up here (under a millisecond when few match; `account_pages` decides per needle).

    A SQLite built without FTS5 or its trigram tokenizer (before 3.34) cannot create the table;
    the migration then leaves it out and the filter scans, as before: a store must open on
    every SQLite igtui supports. The existing names are indexed in the migration's transaction.
    """
    import sqlite3

    try:
        db.execute(NAMES_TABLE)
    except sqlite3.OperationalError:  # no fts5 module, or no trigram tokenizer
        return
    for statement in NAMES_TRIGGERS:
        db.execute(statement)
    db.execute(f"INSERT INTO {NAMES}(rowid, name) SELECT id, {_NAME_OF.format(row='accounts')} FROM accounts")
