"""Pilot flows for the outcomes of the app editor and of deleting an account.

The snapshots show what these screens look like; these tests check what they do: the store holds
what the form said (or nothing, when the form was refused), and the home table follows the store.
Every wait is on a condition with a bound, never a fixed pause.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Static
from ui_helpers import WIDE, settle

from igtui.core.errors import NotFound
from igtui.core.secret import Secret

APP_ID = "100000000000077"
REDIRECT = "https://localhost/callback"


async def _until(pilot: Any, condition: Callable[[], bool], *, what: str, tries: int = 150) -> None:
    """Poll until `condition` holds; only an upper bound on patience, no timing assertion."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"never happened: {what}")


def _table_cells(app: Any) -> list[str]:
    """Every cell of the home table as plain text (the table is the one the user sees)."""
    table = app.screen.query_one(DataTable)
    return [str(cell) for i in range(table.row_count) for cell in table.get_row_at(i)]


def _usernames(app: Any) -> list[str]:
    table = app.screen.query_one(DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


def _app_names(store: Any) -> set[str]:
    return {a.name for a in store.list_apps()}


def _fill(screen: Any, **values: str) -> None:
    for key, value in values.items():
        screen.query_one(f"#{key}", Input).value = value


async def _open_editor(pilot: Any, key: str) -> Any:
    from igtui.ui.screens.app_editor import AppEditorScreen

    await pilot.press(key)
    await _until(pilot, lambda: isinstance(pilot.app.screen, AppEditorScreen), what="the app editor")
    return pilot.app.screen


async def test_adding_an_app_stores_it_and_home_lists_it(make_app: Any, store: Any) -> None:
    from igtui.ui.screens.home import HomeScreen

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        editor = await _open_editor(pilot, "a")
        _fill(editor, name="shop-ig", app_id=APP_ID, secret="shop-secret-0001", redirect_uris=REDIRECT,
              scopes="instagram_business_basic instagram_business_manage_comments",
              base_url="http://127.0.0.1:9999", refresh_within_days="7")
        await pilot.press("ctrl+s")
        await _until(pilot, lambda: isinstance(app.screen, HomeScreen), what="back on home after saving")
        saved = store.get_app("shop-ig")
        assert saved.platform == "instagram"
        assert saved.app_id == APP_ID
        assert saved.redirect_uris == (REDIRECT,)
        assert set(saved.scopes) == {"instagram_business_basic", "instagram_business_manage_comments"}
        assert saved.base_url == "http://127.0.0.1:9999"
        assert saved.refresh_within_days == 7
        assert store.app_secret("shop-ig").reveal() == "shop-secret-0001"
        await _until(pilot, lambda: any("shop-ig" in c for c in _table_cells(app)), what="home lists shop-ig")


async def test_an_invalid_app_id_is_shown_inline_and_nothing_is_saved(make_app: Any, store: Any) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        editor = await _open_editor(pilot, "a")
        _fill(editor, name="shop-ig", app_id="12ab", secret="shop-secret-0001", redirect_uris=REDIRECT)
        await pilot.press("ctrl+s")
        error = editor.query_one("#app_id-error", Static)
        await _until(pilot, lambda: bool(error.display and str(error.content)), what="the app id error")
        assert app.screen is editor  # the form stays open for a fix
        await settle(pilot)
        assert store.list_apps() == []
        with pytest.raises(NotFound):
            store.get_app("shop-ig")
        # only the faulty field complains
        assert not editor.query_one("#name-error", Static).display


def _one_app(store: Any) -> None:
    store.add_app(name="shop-ig", platform="instagram", app_id=APP_ID, redirect_uris=[REDIRECT],
                  scopes=["instagram_business_basic"], secret=Secret("shop-secret-0001"))


async def test_editing_an_app_stores_the_new_base_url_and_scopes(make_app: Any, store: Any) -> None:
    from igtui.ui.screens.home import HomeScreen

    _one_app(store)
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        editor = await _open_editor(pilot, "e")  # the only row: shop-ig's "(no accounts)"
        field = editor.query_one("#app_id", Input)
        await _until(pilot, lambda: field.value == APP_ID, what="the form filled from the store")
        _fill(editor, base_url="http://127.0.0.1:8080",
              scopes="instagram_business_basic instagram_business_content_publish")
        await pilot.press("ctrl+s")
        await _until(pilot, lambda: isinstance(app.screen, HomeScreen), what="back on home after saving")
        saved = store.get_app("shop-ig")
        assert saved.base_url == "http://127.0.0.1:8080"
        assert set(saved.scopes) == {"instagram_business_basic", "instagram_business_content_publish"}
        assert saved.app_id == APP_ID and saved.redirect_uris == (REDIRECT,)  # untouched fields kept
        assert store.app_secret("shop-ig").reveal() == "shop-secret-0001"  # empty secret field keeps it
        assert _app_names(store) == {"shop-ig"}  # edited in place, not added


async def _delete_first_account(pilot: Any, answer: str) -> tuple[int, str]:
    from igtui.ui.dialogs.confirm import ConfirmDialog

    home = pilot.app.screen
    row = home.selected()
    assert row is not None and row.account_id is not None
    await pilot.press("d")
    await _until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), what="the confirmation")
    await pilot.press(answer)
    await _until(pilot, lambda: pilot.app.screen is home, what="the dialog closed")
    await settle(pilot)
    return row.account_id, row.username


async def test_deleting_an_account_after_confirming_removes_it(make_app: Any, store: Any, seeded: Any) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        account_id, username = await _delete_first_account(pilot, "y")
        assert account_id not in {a.id for a in store.list_accounts()}
        assert len(store.list_accounts()) == len(seeded) - 1
        await _until(pilot, lambda: username not in _usernames(app), what="the row gone from the table")


async def test_cancelling_the_delete_keeps_the_account(make_app: Any, store: Any, seeded: Any) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        account_id, username = await _delete_first_account(pilot, "n")
        assert account_id in {a.id for a in store.list_accounts()}
        assert len(store.list_accounts()) == len(seeded)
        assert username in _usernames(app)
