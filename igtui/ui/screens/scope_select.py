"""Scope selection before a login: the core's scope catalogue in plain words, presets, least privilege.

Required scopes are locked on; retired names are listed, flagged and unselectable, with what
replaced them. On re-login the screen starts from what was requested last time and shows what
Meta actually granted, so a user sees a permission that was declined on the consent page.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.strip import Strip
from textual.widgets import Button, Footer, Header, SelectionList, Static
from textual.widgets.selection_list import Selection

from igtui.core import scopes as catalogue
from igtui.core.errors import ValidationError
from igtui.ui.base import IgtuiScreen
from igtui.ui.text import safe

PRESET_KEYS = ("read-only", "publishing", "comments", "messaging", "insights")


def _prompt(scope: catalogue.Scope) -> Text:
    text = Text(scope.name, style="bold")
    if scope.retired:
        text.append(f"  retired → {scope.replacement}", style="yellow")
        if scope.note:
            text.append(f" ({scope.note})", style="dim")
        return text
    if scope.required:
        text.append("  required", style="cyan")
    text.append(f"  {scope.description}", style="dim")
    return text


def _about(scope: catalogue.Scope | None) -> Text:
    """The highlighted scope in full (the list line is cut at 80 columns)."""
    if scope is None:
        return Text("")
    text = Text(scope.name + ": ", style="bold")
    if scope.retired:
        text.append(f"retired; ask for {scope.replacement} instead. {scope.note or ''}", style="yellow")
    else:
        text.append(scope.description)
    return text


ON, OFF = "[x]", "[ ]"
"""A scope's box, ticked or not: readable in monochrome and under NO_COLOR, where Textual's own
`▐X▌` looks the same on and off (only its colour changes). Three cells, the width it replaces."""


class ScopeList(SelectionList[str]):
    """A SelectionList whose boxes say their state in characters, not only in colour."""

    def render_line(self, y: int) -> Strip:
        """Textual's line, with its three button cells redrawn as `[x]` or `[ ]` in the same styles
        (they carry the option index that makes a click toggle it)."""
        line = super().render_line(y)
        segments = list(line)
        try:
            selection = self.get_option_at_index(self.scroll_offset.y + y)
        except Exception:
            return line  # below the last option: no box on this line
        if len(segments) < 4:
            return line
        box = ON if selection.value in self.selected else OFF
        style = segments[1].style  # the button's own style, option index included
        return Strip([*(Segment(char, style) for char in box), *segments[3:]], line.cell_length)


PRESETS = Binding.Group("Presets", compact=True)


class ScopeSelectScreen(IgtuiScreen):
    """Pick the scopes for a login of one app, then continue to the login screen."""

    TITLE = "Scopes"
    CSS_PATH = "scope_select.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("n", "next", "Log in"),
        # One footer entry, "12345 Presets", so the screen's keys fit 80 columns (each is named on screen).
        Binding("1", "preset('read-only')", "Read-only", group=PRESETS),
        Binding("2", "preset('publishing')", "Publishing", group=PRESETS),
        Binding("3", "preset('comments')", "Comments", group=PRESETS),
        Binding("4", "preset('messaging')", "Messaging", group=PRESETS),
        Binding("5", "preset('insights')", "Insights", group=PRESETS),
    ]

    def __init__(self, app_name: str, *, account_id: int | None = None) -> None:
        super().__init__()
        self._app_name = app_name
        self._account_id = account_id
        self._platform: Any = "instagram"
        self._granted: tuple[str, ...] | None = None
        self._username: str | None = None

    def compose(self) -> ComposeResult:
        """The scope checklist, what the highlighted scope allows, the least-privilege hint and presets."""
        yield Header()
        with Vertical(id="body"):
            yield Static(self._heading(), id="heading")
            yield ScopeList(id="scopes")
            yield Static("", id="about")
            yield Static("", id="hint")
            yield Static("", id="diff")
            presets = "  ".join(f"{i} {name}" for i, name in enumerate(PRESET_KEYS, start=1))
            yield Static(Text("Presets: " + presets), id="presets")
            with Horizontal(id="buttons"):
                yield Button("Log in →", id="next", variant="primary", compact=True)
        yield Footer()

    def _heading(self) -> Text:
        """Whether this is a new login or a re-login of which account (its name once it is read)."""
        if self._account_id is None:
            return safe(f"New login to {self._app_name}: choose the scopes to ask for")
        who = self._username if self._username is not None else "an account"
        return safe(f"Re-login of {who} ({self._app_name}): choose the scopes to ask for")

    def on_mount(self) -> None:
        """Load the app's scopes as soon as the screen shows."""
        self.sub_title = "new login" if self._account_id is None else "re-login"
        self.load()

    @work(group="scopes-load", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        """Tick the account's last request (or the app's defaults); required scopes are locked on,
        retired ones are listed only when already chosen, and a warning names them."""
        store = self.igtui.services.store
        app = await asyncio.to_thread(store.get_app, self._app_name)
        self._platform = app.platform
        chosen = list(app.scopes)
        if self._account_id is not None:
            account = await asyncio.to_thread(store.get_account_by_id, self._account_id)
            self._granted = account.scopes
            self._username = account.username
            self.sub_title = f"re-login of {safe(account.username).plain}"
            self.query_one("#heading", Static).update(self._heading())
            chosen = list(account.requested_scopes or account.scopes or app.scopes)
        if not chosen:
            chosen = list(catalogue.required_scopes(app.platform))
        listing = self.query_one("#scopes", SelectionList)
        listing.clear_options()
        for scope in catalogue.scopes_for(app.platform, include_retired=True):
            if scope.retired and scope.name not in chosen:
                continue  # flag a retired name only where it matters: it is in the saved defaults
            listing.add_option(
                Selection(
                    _prompt(scope),
                    scope.name,
                    scope.required or (scope.name in chosen and not scope.retired),
                    disabled=scope.required or scope.retired,
                )
            )
        retired = [n for n in chosen if (s := catalogue.get_scope(app.platform, n)) is not None and s.retired]
        if retired:
            names = ", ".join(retired)
            self.notify(f"Retired scopes in this app's defaults: {names}", severity="warning", markup=False)
        self._update_hint()
        if listing.option_count:
            listing.highlighted = 0
            first = listing.get_option_at_index(0).value
            self.query_one("#about", Static).update(_about(catalogue.get_scope(app.platform, first)))
        listing.focus()

    def selected(self) -> list[str]:
        """The ticked scopes, for the least-privilege hint and for the login."""
        return list(self.query_one("#scopes", SelectionList).selected)

    @on(SelectionList.SelectionHighlighted)
    def _highlighted(self, event: SelectionList.SelectionHighlighted[str]) -> None:
        value = event.selection.value
        self.query_one("#about", Static).update(_about(catalogue.get_scope(self._platform, value)))

    @on(SelectionList.SelectedChanged)
    def _changed(self) -> None:
        self._update_hint()

    def _update_hint(self) -> None:
        chosen = self.selected()
        hint = catalogue.least_privilege_hint(self._platform, chosen)
        text = Text("Least privilege: ", style="bold")
        text.append(
            hint or "this selection is lean — ask only for what the app uses.", style="yellow" if hint else "green"
        )
        self.query_one("#hint", Static).update(text)
        diff = Text()
        if self._granted is not None:
            granted = set(self._granted)
            asked = set(chosen)
            declined = sorted(asked - granted)
            diff.append("Last login granted: ", style="bold")
            diff.append(", ".join(sorted(granted)) or "nothing")
            if declined:
                diff.append("\nNot granted last time: ", style="bold yellow")
                diff.append(", ".join(declined), style="yellow")
        self.query_one("#diff", Static).update(diff)

    def action_preset(self, name: str) -> None:
        """1–5: replace the selection by a named preset (required scopes stay ticked)."""
        wanted = set(catalogue.preset(self._platform, name))
        listing = self.query_one("#scopes", SelectionList)
        listing.deselect_all()
        for value in wanted:
            listing.select(value)
        for value in catalogue.required_scopes(self._platform):
            listing.select(value)
        self._update_hint()

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        if event.button.id == "next":
            self.action_next()

    def action_next(self) -> None:
        """n: continue to the login with the ticked scopes; refuses, saying why, a set that is not valid."""
        try:
            chosen = catalogue.validate_scopes(self._platform, self.selected())
        except ValidationError as error:
            self.notify(error.message, severity="error", markup=False)
            return
        from igtui.ui.screens.login_flow import LoginFlowScreen, Relogin

        relogin = None
        if self._account_id is not None and self._username is not None:
            relogin = Relogin(self._account_id, self._username)
        self.app.push_screen(LoginFlowScreen(self._app_name, chosen, relogin=relogin))
