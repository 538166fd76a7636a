"""Sinks in the store: their sealed configuration, the plain copy for listing, delivery state.

Why sealed: a sink decides where a token goes (see `igtui.core.delivery.config`). Its whole
configuration is encrypted with the data key bound to the sink's row id (`Vault.encrypt_field`,
table `sinks`, column `config`), so a configuration edited, forged or moved from another row fails
to open, and delivery uses only what opened. The plain columns (`kind`, `target`, `format`, `var`,
`account_id`) let `sink list` and `status` work without a passphrase; `open_sinks` compares them
with the sealed copy and refuses any difference.

Why state per sink: delivery is at least once. `delivered_generation` is the account generation
the sink last received; a sink behind its account's generation is pending, and every refresh run
delivers pending sinks first and last (`pending_sink_ids` is one indexed join), so a kill between
storing a token and delivering it is caught up by the next run. A failed delivery touches only
the sink's own row (never the token) and is retried on later runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, cast

from igtui.core.errors import NotFound, RecordDamaged, ValidationError
from igtui.core.models import Account
from igtui.core.secret import Secret
from igtui.core.store import logrecords as logrec
from igtui.core.store import records as rec
from igtui.core.store.accounts import IN_CHUNK
from igtui.core.store.base import StoreBase

if TYPE_CHECKING:
    from igtui.core.delivery.config import Sink, SinkConfig
    from igtui.core.store.tokens import TokensMixin

_SINK_SELECT = (
    "SELECT s.id, s.account_id, CASE WHEN a.id IS NULL THEN NULL ELSE p.name || '/' || a.username END,"
    " CAST(s.kind AS BLOB), CAST(s.target AS BLOB), CAST(s.format AS BLOB), CAST(s.var AS BLOB), s.created_at,"
    " s.delivered_generation, a.generation, s.delivered_at, s.last_attempt_at, CAST(s.last_error AS BLOB),"
    " s.failures, CAST(s.last_output AS BLOB), CAST(s.config AS BLOB)"
    " FROM sinks s LEFT JOIN accounts a ON a.id = s.account_id LEFT JOIN apps p ON p.id = a.app"
)
# Text columns are read as bytes and decoded here: a value someone wrote outside igtui that is
# not UTF-8 must make its own sink look damaged, not make every listing fail.
OUTPUT_LIMIT = 2000
"""Characters of a command's output kept with the sink and in history (already redacted)."""
ERROR_LIMIT = 500


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _int(value: object) -> int:
    """An integer column; anything else written outside igtui reads as 0 (the seal catches the rest)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _sink(row: Sequence[object]) -> Sink:
    from igtui.core.delivery.config import Sink  # here: a command that reads no sink never loads it

    return Sink(
        id=_int(row[0]),
        account_id=_int(row[1]),
        account=row[2] if isinstance(row[2], str) else None,
        kind=_text(row[3]) or "",
        target=_text(row[4]) or "",
        format=_text(row[5]),
        var=_text(row[6]),
        created_at=rec.dt(row[7]) if isinstance(row[7], int) else None,
        delivered_generation=_int(row[8]),
        account_generation=row[9] if isinstance(row[9], int) else None,
        delivered_at=rec.dt(row[10]) if isinstance(row[10], int) else None,
        last_attempt_at=rec.dt(row[11]) if isinstance(row[11], int) else None,
        last_error=_text(row[12]),
        failures=_int(row[13]),
        last_output=_text(row[14]),
    )


def _damaged(sink_id: int, why: str) -> RecordDamaged:
    return RecordDamaged(
        f"sink {sink_id}: {why} — it was changed outside igtui or is damaged; it is never delivered "
        f"(remove it with `igtui sink remove {sink_id}` and add it again)",
        record=f"sink {sink_id}",
    )


@dataclass(frozen=True, slots=True)
class SinkMaterial:
    """What one delivery needs, read in one snapshot: the sink, its opened configuration (or why
    it was refused), the account and its token at one generation (None: the account is gone)."""

    sink: Sink
    config: SinkConfig | RecordDamaged
    account: Account | None
    token: Secret | RecordDamaged | None
    generation: int | None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """The outcome of one delivery, for `record_deliveries` (and its history row)."""

    sink_id: int
    ok: bool
    generation: int
    """The generation delivered (ok), or the one that failed to be."""
    at: datetime
    trigger: str
    account_id: int | None
    account: str
    message: str
    """Redacted, one line: what history shows."""
    error: str | None = None
    output: str | None = None
    duration_ms: float | None = None


class SinksMixin(StoreBase):
    """Adding, listing, opening and removing sinks; recording their deliveries."""

    def add_sink(self, config: SinkConfig) -> Sink:
        """Store a new sink, its configuration sealed bound to its row id; it starts pending.

        Raises:
            ValidationError: the configuration is unacceptable. NotFound: no such account.
            StoreLocked: not unlocked (sealing needs the data key).
        """
        problem = config.problem()
        if problem:
            raise ValidationError(problem)
        vault = self._require_vault()
        now = rec.epoch(self._clock.now())
        with self._write() as conn:
            self._account(conn, config.account_id)  # NotFound
            row_id = self._next_id(conn, "sinks")
            blob = vault.encrypt_field(Secret(config.dumps().decode(), register=False), table="sinks",
                                       row_id=row_id, column="config")
            conn.execute(
                "INSERT INTO sinks (id, account_id, kind, target, format, var, config, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (row_id, config.account_id, config.kind, config.target, config.format, config.var, blob, now),
            )
            return self._sink_row(conn, row_id)

    @staticmethod
    def _sink_row(conn: sqlite3.Connection, sink_id: int) -> Sink:
        row = conn.execute(f"{_SINK_SELECT} WHERE s.id = ?", (sink_id,)).fetchone()
        if row is None:
            raise NotFound(f"no sink {sink_id} (see `igtui sink list`)")
        return _sink(row)

    def get_sink(self, sink_id: int) -> Sink:
        """One sink as listed (plain copy; decrypts nothing), or NotFound."""
        with self._read() as conn:
            return self._sink_row(conn, sink_id)

    def list_sinks(self, account_id: int | None = None) -> list[Sink]:
        """Every sink (or one account's), by id. Decrypts nothing: what the file claims."""
        with self._read() as conn:
            if account_id is None:
                rows = conn.execute(f"{_SINK_SELECT} ORDER BY s.id").fetchall()
            else:
                rows = conn.execute(f"{_SINK_SELECT} WHERE s.account_id = ? ORDER BY s.id", (account_id,)).fetchall()
        return [_sink(r) for r in rows]

    def remove_sink(self, sink_id: int) -> None:
        """Delete a sink (its history rows stay). Raises NotFound."""
        with self._write() as conn:
            if conn.execute("DELETE FROM sinks WHERE id = ?", (sink_id,)).rowcount == 0:
                raise NotFound(f"no sink {sink_id} (see `igtui sink list`)")

    def pending_sink_ids(self, account_ids: Sequence[int] | None = None) -> list[int]:
        """Sinks whose account holds a newer token than they last received (cheap: one indexed
        join; with no sinks at all, one look at an empty table)."""
        sql = ("SELECT s.id FROM sinks s JOIN accounts a ON a.id = s.account_id"
               " WHERE s.delivered_generation < a.generation")
        with self._read() as conn:
            if account_ids is None:
                return [int(r[0]) for r in conn.execute(sql + " ORDER BY s.id")]
            ids = list(dict.fromkeys(int(i) for i in account_ids))
            out: list[int] = []
            for start in range(0, len(ids), IN_CHUNK):
                chunk = ids[start : start + IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                out += [int(r[0]) for r in conn.execute(f"{sql} AND s.account_id IN ({marks}) ORDER BY s.id", chunk)]
            return out

    def open_sinks(self, sink_ids: Sequence[int]) -> list[SinkMaterial]:
        """Open the sealed configurations of these sinks and read their accounts' current tokens.

        One read snapshot for all of them, so each token comes with the generation it belongs to.
        A configuration that does not open, does not parse or disagrees with the plain columns
        comes back as its `RecordDamaged`; an account's token that does not decrypt, likewise.
        Absent ids are skipped.

        Raises:
            StoreLocked: not unlocked.
        """
        self._require_vault()
        ids = list(dict.fromkeys(int(i) for i in sink_ids))
        rows: list[Sequence[object]] = []
        with self._read() as conn:
            for start in range(0, len(ids), IN_CHUNK):
                chunk = ids[start : start + IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows += conn.execute(f"{_SINK_SELECT} WHERE s.id IN ({marks}) ORDER BY s.id", chunk).fetchall()
        # The token goes through the store's one checked path (`TokensMixin._tokens_of`): a row
        # whose metadata MAC fails (names or ids swapped, an old ciphertext put back), that is
        # damaged, or whose app is, is refused here exactly as for `token get` (SECURITY.md). Each
        # token comes with the account read from the same row, so its generation is the token's.
        tokens = cast("TokensMixin", self)._tokens_of(sorted({_int(r[1]) for r in rows}))
        out: list[SinkMaterial] = []
        for row in rows:
            sink = _sink(row)
            config = self._open_config(sink, row[15])
            found = tokens.get(sink.account_id)
            # The sealed account id decides whose token goes out; the plain one was checked equal.
            if found is None or isinstance(config, RecordDamaged):
                account = found[0] if found else None
                out.append(SinkMaterial(sink, config, account, None, account.generation if account else None))
                continue
            account, token = found
            out.append(SinkMaterial(sink, config, account, token, account.generation))
        return out

    def _open_config(self, sink: Sink, blob: object) -> SinkConfig | RecordDamaged:
        """The sealed configuration, checked against every plain column, or why it is refused."""
        from igtui.core.delivery.config import ConfigError, SinkConfig

        vault = self._require_vault()
        if not isinstance(blob, bytes):
            return _damaged(sink.id, "its configuration is not a sealed value")
        opened = vault.decrypt_field(blob, table="sinks", row_id=sink.id, column="config")
        if opened is None:
            return _damaged(sink.id, "its sealed configuration does not open")
        try:
            config = SinkConfig.loads(opened.reveal().encode())
        except ConfigError as exc:
            return _damaged(sink.id, str(exc))
        plain = {"account_id": sink.account_id, "kind": sink.kind, "target": sink.target, "format": sink.format,
                 "var": sink.var}
        sealed = {"account_id": config.account_id, "kind": config.kind, "target": config.target,
                  "format": config.format, "var": config.var}
        changed = [k for k in plain if plain[k] != sealed[k]]
        if changed:
            return _damaged(sink.id, f"its {', '.join(changed)} differ(s) from the sealed configuration")
        return config

    def record_deliveries(self, records: Sequence[DeliveryRecord]) -> None:
        """Write the outcomes of a delivery pass in ONE transaction: each sink's state and a
        history row per delivery. Never touches an account or its token.

        A success only moves `delivered_generation` forward (MAX), so a slower process that
        delivered an older token can never mark a newer one delivered.
        """
        if not records:
            return
        history: list[tuple[object, ...]] = []
        with self._write() as conn:
            for r in records:
                at = rec.epoch(r.at)
                output = None if r.output is None else r.output[:OUTPUT_LIMIT]
                if r.ok:
                    conn.execute(
                        "UPDATE sinks SET delivered_generation = MAX(delivered_generation, ?), delivered_at = ?,"
                        " last_attempt_at = ?, last_error = NULL, failures = 0, last_output = ? WHERE id = ?",
                        (r.generation, at, at, output, r.sink_id),
                    )
                else:
                    conn.execute(
                        "UPDATE sinks SET last_attempt_at = ?, last_error = ?, failures = failures + 1,"
                        " last_output = ? WHERE id = ?",
                        (at, (r.error or "failed")[:ERROR_LIMIT], output, r.sink_id),
                    )
                message = r.message if r.output is None or not r.output.strip() else f"{r.message}; output: {output}"
                history.append((rec.epoch_exact(r.at), r.trigger, r.account_id, r.account,
                                "delivered" if r.ok else "delivery_failed", None, None, message[:OUTPUT_LIMIT],
                                None, None, None, r.duration_ms))
            marks = f"({logrec.HISTORY_INSERT.marks()})"
            conn.executemany(f"INSERT INTO history ({logrec.HISTORY_INSERT.sql}) VALUES {marks}", history)


__all__ = ["DeliveryRecord", "SinkMaterial", "SinksMixin"]
