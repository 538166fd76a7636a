"""How a `Health` looks: words a user understands, with one colour each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text

from igtui.core.models import Health

LABELS: dict[Health, tuple[str, str]] = {
    Health.HEALTHY: ("healthy", "green"),
    Health.REFRESH_DUE: ("refresh due", "yellow"),
    Health.EXPIRING: ("expiring", "dark_orange"),
    Health.EXPIRED: ("expired", "bold red"),
    Health.NEEDS_RELOGIN: ("needs re-login", "bold red"),
    Health.RATE_LIMITED: ("rate-limited", "magenta"),
    Health.REFRESH_FAILED: ("refresh failed", "red"),
    Health.TOKEN_UNCERTAIN: ("uncertain", "red"),
}

ATTENTION = frozenset(
    {Health.EXPIRED, Health.NEEDS_RELOGIN, Health.REFRESH_FAILED, Health.TOKEN_UNCERTAIN, Health.EXPIRING}
)
"""Health values a human must act on (the summary line counts them)."""


def health_text(health: Health) -> Text:
    """The status cell: a fixed word, never text from Meta."""
    label, style = LABELS.get(health, (str(health), ""))
    return Text(label, style=style, no_wrap=True)


def assess_account(account: Any, app: Any, now: datetime) -> Any:
    """F's pure policy: the account's health, reason and end time (account > app > default window)."""
    from igtui.core.refresh.policy import assess, window_days

    return assess(account, now, within_days=window_days(account, app))
