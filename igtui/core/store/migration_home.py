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
