"""Words for sink trouble, shared by `igtui status`, the TUI's home and `igtui sink list`.

Pure (no I/O): callers pass the sinks they listed (`Store.list_sinks`, no passphrase). A failing
sink makes its account's health `delivery_failed` (status exit 4) unless the account already
has worse trouble, and the reason names the sink and its error; a pending one is mentioned
without raising the alarm (the next refresh run delivers it; a kill can leave one pending).
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping

from igtui.core.delivery.config import Sink

REASON_LIMIT = 300


def by_account(sinks: Iterable[Sink]) -> dict[int, list[Sink]]:
    """Sinks grouped by their account id."""
    out: dict[int, list[Sink]] = {}
    for sink in sinks:
        out.setdefault(sink.account_id, []).append(sink)
    return out


def sink_label(sink: Sink) -> str:
    """`sink 3 (file /srv/app/.env)`: which sink, in words a user can match to `sink list`."""
    return f"sink {sink.id} ({sink.kind} {sink.target[:120]})"


def delivery_reason(sinks: Iterable[Sink]) -> str | None:
    """One phrase about the sinks' trouble (None: every sink holds the newest token)."""
    parts = []
    for sink in sinks:
        if sink.failing:
            parts.append(f"{sink_label(sink)} delivery failed: {(sink.last_error or 'failed')[:REASON_LIMIT]}")
        elif sink.pending:
            parts.append(f"{sink_label(sink)} delivery pending (the next refresh run delivers it)")
    return "; ".join(parts) or None


def apply_to_status(row: MutableMapping[str, object], sinks: list[Sink], *, attention_health: frozenset[str]) -> None:
    """Fold an account's sinks into its `status --json` row (health, attention, reason, `sinks`)."""
    row["sinks"] = [
        {"id": s.id, "kind": s.kind, "target": s.target, "state": s.state,
         "delivered_generation": s.delivered_generation, "last_error": s.last_error, "failures": s.failures}
        for s in sinks
    ]
    reason = delivery_reason(sinks)
    if reason is None:
        return
    if any(s.failing for s in sinks):
        if str(row.get("health")) not in attention_health:
            row["health"] = "delivery_failed"
        row["attention"] = True
    row["reason"] = f"{row.get('reason')}; {reason}"


__all__ = ["apply_to_status", "by_account", "delivery_reason", "sink_label"]
