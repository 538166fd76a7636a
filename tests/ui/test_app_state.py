"""A blocked app is shown above its accounts on home, in words, and goes away once cleared.

Offline (seeded store): the state is written by the store as the engine would after Meta's
app-level error, and cleared as after a call that succeeded again.
"""

from __future__ import annotations

from typing import Any

import pytest
from ui_helpers import SMALL, settle

pytestmark = pytest.mark.usefixtures("seeded")


def _banner(app: Any) -> Any:
    return app.screen.query_one("#app-state")


async def test_blocked_app_banner_shows_words_and_clears(make_app: Any, store: Any) -> None:
    if not hasattr(store, "set_app_blocked"):
        pytest.skip("the store cannot record a blocked app yet (App.blocked_reason)")
    store.set_app_blocked("demo-ig", kind="restricted",
                          reason="Meta restricted the app [@click=app.quit]x[/]; see the App Dashboard")
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        banner = _banner(app)
        assert banner.display
        text = str(banner.render())
        # Words, not only colour: readable in monochrome; Meta's text stays literal.
        assert "⛔ demo-ig: Meta blocked this app" in text
        assert "[@click=app.quit]x[/]" in text
        assert "1 app blocked" in str(app.screen.query_one("#summary").render())
        store.clear_app_blocked("demo-ig")
        app.changed()
        for _ in range(50):  # bounded wait for the reload worker
            await settle(pilot)
            if not _banner(app).display:
                break
        assert not _banner(app).display
