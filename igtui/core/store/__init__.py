"""The encrypted igtui store: one SQLite file, secrets sealed per field (see `igtui.core.crypto`).

Why it looks like this:

* **Short-lived connections.** Every call opens its own connection and closes it, so the Store is
  thread-safe and a TUI and a cron job can share the file. WAL lets readers and one writer
  coexist; every write starts with `BEGIN IMMEDIATE` (a deferred transaction that upgrades to a
  writer gets SQLITE_BUSY *without* honouring the busy timeout), is retried on SQLITE_BUSY, and
  runs with `synchronous=FULL` (a committed token survives power loss) and `secure_delete=ON`.
  Bulk jobs wrap their calls in `reusing_connections()`: each thread then keeps one connection
  (same PRAGMAs) until the block ends (`igtui.core.store.pool`), and batch APIs
  (`replace_tokens` — a group commit of compare-and-swaps —, `get_accounts_with_tokens`,
  `get_accounts`, `account_tokens`) serve many accounts per call. Writers of one process queue
  on a lock rather than on SQLite's sleeping busy handler.
* **Encrypt before INSERT.** A secret reaches SQLite only as ciphertext bound to its row id, so
  the id is allocated inside the write transaction first (AUTOINCREMENT ids are never reused).
* **Plain metadata.** Names, ids, expiry and scopes are ordinary columns: listing decrypts nothing
  and needs no passphrase.
* **Refuse, never repair.** A file that is not SQLite, is truncated, or comes from a newer igtui is
  reported and left byte-for-byte untouched (the newer-schema check runs on a read-only
  connection before anything opens the file for writing).

How it is laid out: `Store` is one facade over a part per concern, each a `StoreBase` subclass
in its own module —

* `base`: the shared state, connections and write transactions, the data key, common lookups;
* `connection`: opening the file, SQLite errors in plain words, the read-only inspection, migrating;
* `lifecycle`: create, open, unlock, lock, change the passphrase, info;
* `apps`, `accounts`, `tokens` (reading and compare-and-swapping tokens), `history` (refresh
  attempts), `exchanges` (the request log), `flows` (pending logins), `sinks` (where tokens
  are pushed, their configuration sealed), `audit` (every token read, MAC-chained);
* `records` maps rows to models by column name; `pool` reuses connections in bulk jobs;
  `migrations` is the schema; `validation` checks app fields for the CLI and the TUI alike.
"""

from __future__ import annotations

from igtui.core.store.accounts import AccountsMixin
from igtui.core.store.apps import AppsMixin
from igtui.core.store.audit import AuditCheck, AuditMixin, AuditRecord
from igtui.core.store.base import UNSET
from igtui.core.store.exchanges import EXCHANGE_RETENTION, ExchangesMixin
from igtui.core.store.flows import FlowsMixin
from igtui.core.store.history import HistoryMixin
from igtui.core.store.lifecycle import LifecycleMixin
from igtui.core.store.sinks import SinksMixin
from igtui.core.store.tokens import TokensMixin, TokenUpdate


class Store(
    LifecycleMixin, AppsMixin, AccountsMixin, TokensMixin, HistoryMixin, ExchangesMixin, FlowsMixin, SinksMixin,
    AuditMixin,
):
    """The encrypted igtui database. Thread-safe: every call opens its own connection (or, inside
    `reusing_connections()`, uses its thread's own pooled one).

    Use `Store.create` (init) or `Store.open` (everything else), then `unlock` before any call that
    reads or writes a secret.
    """


__all__ = ["EXCHANGE_RETENTION", "UNSET", "AuditCheck", "AuditRecord", "Store", "TokenUpdate"]
