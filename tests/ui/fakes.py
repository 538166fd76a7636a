"""Test doubles for the few things a snapshot must not depend on (a random OAuth state)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from igtui.core.models import PendingFlow
from igtui.core.secret import Secret

FIXED_AUTHORIZE_URL = (
    "https://www.instagram.com/oauth/authorize?client_id=100000000000001"
    "&redirect_uri=https%3A%2F%2Flocalhost%2Fcallback&response_type=code"
    "&scope=instagram_business_basic%2Cinstagram_business_content_publish&state=SNAPSHOT-STATE"
)


class FixedStartLogin:
    """A LoginFlow whose start() is deterministic; finish() is never reached in snapshots."""

    def __init__(self, store: Any, client: Any, clock: Any) -> None:
        self.clock = clock

    def start(self, app_name: str, scopes: Sequence[str] | None = None, **_: Any) -> Any:
        from igtui.core.oauth.flow import StartedLogin

        now: datetime = self.clock.now()
        flow = PendingFlow(1, app_name, "instagram", "https://localhost/callback", tuple(scopes or ()), now,
                           now + timedelta(minutes=10))
        return StartedLogin(FIXED_AUTHORIZE_URL, flow.expires_at, flow, Secret("SNAPSHOT-STATE"),
                            "https://localhost/callback")

    async def finish(self, url_or_code: str, *, on_step: Any = None) -> list[Any]:
        raise AssertionError("snapshots do not finish a login")
