"""The token screen records its reads: a reveal (`t`), a copy (`c`) and a show-for-copy (`v`) each
append one audit row (action, account, this process's pid) before the token is shown; masking it
again records nothing, and the chain verifies.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from ui_helpers import SMALL, settle

from igtui.core.clock import FrozenClock
from igtui.core.models import Profile, TokenKind
from igtui.core.secret import Secret


async def test_reveal_copy_and_show_are_audited(make_app: Any, store: Any, clock: FrozenClock) -> None:
    from igtui.ui.screens.token_inspect import TokenInspectScreen

    store.add_app(name="shop", platform="instagram", app_id="1", redirect_uris=["https://localhost/cb"],
                  scopes=["instagram_business_basic"], secret=Secret("shop-secret-ui-audit"))
    token = "IGAA-ui-audit-canary-0123456789"
    account = store.save_login("shop", Profile(id="s1", user_id="17841400000000009", username="acme.studio"),
                               kind=TokenKind.IG_LONG, token=Secret(token), issued_at=clock.now() - timedelta(days=2),
                               expires_at=clock.now() + timedelta(days=58))
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TokenInspectScreen)
        for key in ("t", "t", "c", "v"):  # reveal, mask (no row), copy, show for copy
            await pilot.press(key)
            await settle(pilot)
        assert app.clipboard == token
    rows = store.list_audit(account_id=account.id)
    assert [r.action for r in rows] == ["reveal", "copy", "show"]
    assert {r.caller.pid for r in rows} == {os.getpid()}
    assert all(token not in repr(r) for r in rows)
    assert store.verify_audit().ok
