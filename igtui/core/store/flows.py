"""Pending login flows: an authorize URL was issued and its callback has not come back yet.

Why stored (and not kept in memory): the browser's redirect may be pasted into another igtui
process than the one that started the login. Only sha256(state) is stored, so the file never
holds a usable state; each flow is taken at most once, atomically, so a replayed callback fails.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from igtui.core.errors import CallbackRejected, FlowExpired, ValidationError
from igtui.core.secret import Secret
from igtui.core.store import records as rec
from igtui.core.store.base import StoreBase

if TYPE_CHECKING:
    from igtui.core.activity import PendingFlow

_EXPIRED = "the login expired (10 minutes); start a new login"


def _state_hash(state: Secret) -> str:
    """What the store keeps of a login state: enough to find its flow, useless to an attacker."""
    import hashlib  # here, not at import: opening the store for a listing never needs it

    return hashlib.sha256(state.reveal().encode("utf-8", "surrogatepass")).hexdigest()


class FlowsMixin(StoreBase):
    """Starting, finding and consuming pending login flows."""

    def add_pending_flow(
        self,
        *,
        app_name: str,
        state: Secret,
        redirect_uri: str,
        scopes: Sequence[str],
        ttl: timedelta = timedelta(minutes=10),
    ) -> PendingFlow:
        """Remember a login that issued an authorize URL. Only sha256(state) is stored.

        Expired flows are purged in the same transaction, so abandoned logins do not pile up.

        Raises:
            NotFound: no such app. ValidationError: the state is already in use.
        """
        now = self._clock.now()
        with self._write() as conn:
            app_row_id = self._app_row_id(conn, app_name)
            conn.execute("DELETE FROM pending_flows WHERE expires_at <= ?", (now.timestamp(),))
            try:
                cur = conn.execute(
                    "INSERT INTO pending_flows (app, state_hash, redirect_uri, scopes, created_at, expires_at)"
                    " VALUES (?,?,?,?,?,?)",
                    (
                        app_row_id,
                        _state_hash(state),
                        redirect_uri,
                        rec.join_scopes(scopes),
                        now.timestamp(),
                        (now + ttl).timestamp(),
                    ),
                )
            except sqlite3.IntegrityError:
                raise ValidationError("this login state is already in use; start a new login") from None
            return rec.flow_from_row(conn.execute(f"{rec.FLOW_SELECT} WHERE f.id = ?", (cur.lastrowid,)).fetchone())

    def take_pending_flow(self, state: Secret) -> PendingFlow:
        """Consume the flow for `state` (single use, atomically), so a callback is honoured once.

        An expired flow is consumed too (it could never succeed), then reported as expired.

        Raises:
            CallbackRejected: unknown or already used state. FlowExpired: its time ran out.
        """
        now = self._clock.now().timestamp()
        with self._write() as conn:
            row = conn.execute(f"{rec.FLOW_SELECT} WHERE f.state_hash = ?", (_state_hash(state),)).fetchone()
            if row is None:
                raise CallbackRejected("the login state is unknown or was already used; start a new login")
            conn.execute("DELETE FROM pending_flows WHERE id = ?", (row[rec.FLOW["id"]],))
            flow = rec.flow_from_row(row)
            if row[rec.FLOW["expires_at"]] <= now:
                expired = FlowExpired(_EXPIRED)
            else:
                return flow
        raise expired

    def take_pending_flow_by_id(self, flow_id: int) -> PendingFlow:
        """Consume a flow by its id (a bare pasted code carries no state to find it by).

        Single use and atomic like `take_pending_flow`: of two callers racing for one flow, one
        gets it and the other CallbackRejected.

        Raises:
            CallbackRejected: no such flow, or it was already used. FlowExpired: its time ran out.
        """
        now = self._clock.now().timestamp()
        with self._write() as conn:
            row = conn.execute(f"{rec.FLOW_SELECT} WHERE f.id = ?", (int(flow_id),)).fetchone()
            if row is None:
                raise CallbackRejected("the pending login was already used; start a new login")
            conn.execute("DELETE FROM pending_flows WHERE id = ?", (row[rec.FLOW["id"]],))
            if row[rec.FLOW["expires_at"]] > now:
                return rec.flow_from_row(row)
        raise FlowExpired(_EXPIRED)

    def list_pending_flows(self) -> list[PendingFlow]:
        """Unexpired flows, oldest first (nothing is consumed): callback parsing checks against them."""
        now = self._clock.now().timestamp()
        with self._read() as conn:
            rows = conn.execute(f"{rec.FLOW_SELECT} WHERE f.expires_at > ? ORDER BY f.id", (now,)).fetchall()
        return [rec.flow_from_row(r) for r in rows]

    def take_only_pending_flow(self) -> tuple[PendingFlow, ...]:
        """Every unexpired flow, oldest first; despite its name it takes nothing.

        It is `list_pending_flows` as a tuple, for a bare pasted code: the caller accepts the code
        only when exactly one flow is pending, then consumes that flow with
        `take_pending_flow_by_id`, which re-checks it in its own transaction (so a flow another
        process took in between is refused there, not here).
        """
        return tuple(self.list_pending_flows())


__all__ = ["FlowsMixin"]
