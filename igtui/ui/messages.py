"""Cross-screen messages. Screens post these upward; the app re-broadcasts state changes
through its `data_version` reactive (messages posted to the App do not reach screens)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from igtui.core.models import RefreshEvent


@dataclass
class AccountsChanged(Message):
    """Accounts or apps changed in the store (a refresh, a login, an edit)."""

    reason: str = ""


@dataclass
class RefreshFinished(Message):
    """One or more refresh attempts finished (manual or auto)."""

    events: list[RefreshEvent]
