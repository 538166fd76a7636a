"""How a `Health` looks: words a user understands, with one colour each.

Which healths need a human is the refresh policy's `ATTENTION`, re-exported here for the home
screen's summary: one definition, so the TUI counts what `igtui status` counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text

from igtui.core.models import Health
from igtui.core.refresh.policy import ATTENTION

LABELS: dict[Health, tuple[str, str]] = {
    Health.HEALTHY: ("healthy", "green"),
    Health.REFRESH_DUE: ("refresh due", "yellow"),
    Health.EXPIRING: ("expiring", "dark_orange"),
    Health.EXPIRED: ("expired", "bold red"),
    Health.NEEDS_RELOGIN: ("needs re-login", "bold red"),
    Health.RATE_LIMITED: ("rate-limited", "magenta"),
    Health.REFRESH_FAILED: ("refresh failed", "red"),
    Health.TOKEN_UNCERTAIN: ("uncertain", "red"),
    Health.APP_BLOCKED: ("app blocked", "bold red"),
    Health.DELIVERY_FAILED: ("delivery failed", "red"),
    Health.DAMAGED: ("damaged", "bold red"),
}
"""Every `Health` has its words here (a test checks none is missing): `str(health)` would show
the enum's value, and with no colour."""

__all__ = ["ATTENTION", "LABELS", "assess_account", "health_text"]


def health_text(health: Health) -> Text:
    """The status cell: a fixed word, never text from Meta."""
    label, style = LABELS.get(health, (str(health), ""))
    return Text(label, style=style, no_wrap=True)


def assess_account(account: Any, app: Any, now: datetime) -> Any:
    """The refresh policy's verdict on an account: health, reason and end time.

    The TUI asks the same pure function as `igtui status`, with the same warning window
    (account, then app, then the default) and the app's own state (an app Meta blocked outranks
    the token's), so the two never disagree about an account.
    """
    from igtui.core.refresh.policy import assess, window_days

    return assess(account, now, within_days=window_days(account, app), app=app)
