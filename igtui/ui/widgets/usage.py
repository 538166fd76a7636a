"""Rate-limit gauges: text bars that warn at 80% and turn critical at 95%.

Meta sends its usage headers (X-App-Usage, X-Business-Use-Case-Usage) only once enough calls
have been made, so a missing header means "unknown", never zero: an app or account without usage data shows '?'.
Pure rendering: the screen feeds it Exchanges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rich.text import Text

from igtui.core.clock import humanize_delta
from igtui.core.graph.codes import RATE_LIMIT_CODES
from igtui.core.models import Exchange
from igtui.ui.text import safe

WARN_PCT = 80.0
CRITICAL_PCT = 95.0


def level_style(pct: float | None) -> str:
    """The colour for a usage level: dim when unknown, then green, yellow from 80 %, red from 95 %."""
    if pct is None:
        return "dim"
    if pct >= CRITICAL_PCT:
        return "bold red"
    if pct >= WARN_PCT:
        return "yellow"
    return "green"


def bar(pct: float | None, width: int = 20) -> Text:
    """'█████░░░░░  45%' coloured by level; '?' when unknown."""
    if pct is None:
        return Text("?".ljust(width) + "    ?", style="dim")
    filled = max(0, min(width, round(width * min(pct, 100.0) / 100.0)))
    text = Text("█" * filled + "░" * (width - filled), style=level_style(pct))
    text.append(f" {pct:4.0f}%", style=level_style(pct))
    if pct >= CRITICAL_PCT:
        text.append(" critical", style="bold red")
    elif pct >= WARN_PCT:
        text.append(" warning", style="yellow")
    return text


@dataclass
class UsageBoard:
    """Latest usage per app and per account, and when throttled ones get access back."""

    by_app: dict[str, float | None] = field(default_factory=dict)
    by_account: dict[str, float | None] = field(default_factory=dict)
    regain_at: dict[str, datetime] = field(default_factory=dict)
    """app name (or account) -> when Meta said access comes back."""

    def feed(self, exchange: Exchange) -> None:
        """Take one exchange's usage, and start (or end) its throttle countdown.

        A reply without usage headers keeps the last known level instead of resetting it. An
        exchange with a throttle code (the same set the error classifier uses) or a 429 starts
        the countdown; a later success for the same account (the same app, for calls that
        name no account) ends it.
        """
        app = exchange.app_name or "(no app)"
        pct = exchange.usage.max_pct if exchange.usage is not None else None
        if exchange.usage is not None or app not in self.by_app:
            self.by_app[app] = pct if exchange.usage is not None else self.by_app.get(app)
        account = exchange.account
        if account and (exchange.usage is not None or account not in self.by_account):
            self.by_account[account] = pct if exchange.usage is not None else self.by_account.get(account)
        minutes = exchange.usage.regain_minutes if exchange.usage is not None else None
        throttled = exchange.error_code in RATE_LIMIT_CODES or exchange.status == 429
        if throttled or minutes:
            at = exchange.at + timedelta(minutes=minutes or 0)
            self.regain_at[exchange.account or app] = max(at, self.regain_at.get(exchange.account or app, at))
        elif exchange.status is not None and exchange.status < 400:
            self.regain_at.pop(exchange.account or app, None)

    def render(self, now: datetime, *, max_accounts: int = 4) -> Text:
        """One bar per app, the `max_accounts` busiest accounts, then each throttle's time left.

        Every name goes through `safe()`: app and account names come from the store and Meta.
        """
        text = Text()
        for lines, (app, pct) in enumerate(sorted(self.by_app.items())):
            if lines:
                text.append("\n")
            label = safe(f"app {app}", limit=22).plain
            text.append(label + " " * max(1, 24 - len(label)), style="bold")
            text.append_text(bar(pct))
        worst = sorted(self.by_account.items(), key=lambda kv: -(kv[1] or -1.0))[:max_accounts]
        for account, pct in worst:
            text.append("\n")
            label = safe(account, limit=22).plain
            text.append(label + " " * max(1, 24 - len(label)))
            text.append_text(bar(pct))
        for who, at in sorted(self.regain_at.items()):
            text.append("\n")
            left = at - now
            if left.total_seconds() > 0:
                back = humanize_delta(left)
                text.append(f"throttled: {safe(who, limit=30).plain} — access back in {back}", style="bold magenta")
            else:
                text.append(f"throttled: {safe(who, limit=30).plain} — access should be back now", style="magenta")
        if not text.plain:
            text.append("No requests yet: usage gauges appear with the first response.", style="dim")
        return text
