"""Add or edit a Meta app. The secret sits in a password field and is never shown back.

Every field is checked with the store's validators (the same ones the CLI uses) and its error appears
under the field; the store write runs in a worker. Editing with the secret left empty keeps
the stored secret.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Header, Input, Label, Select, Static

from igtui.core import scopes as catalogue
from igtui.core.errors import ValidationError
from igtui.core.models import DEFAULT_GRAPH_VERSION, Platform
from igtui.core.secret import Secret
from igtui.ui.base import IgtuiScreen
from igtui.ui.text import safe

FIELDS: tuple[tuple[str, str, str], ...] = (
    ("name", "Name", "a short name, e.g. shop-ig"),
    ("app_id", "App ID", "numeric; for Instagram Login the Instagram App ID"),
    ("secret", "App secret", "from the app dashboard"),
    ("redirect_uris", "Redirect URIs", "space or comma separated, exactly as registered"),
    ("scopes", "Default scopes", "space or comma separated (empty: required only)"),
    ("graph_version", "Graph version", DEFAULT_GRAPH_VERSION),
    ("base_url", "Base URL", "optional: send every Meta host to one origin (sandbox)"),
    ("refresh_within_days", "Refresh window", "optional: days before expiry to refresh (1-59)"),
)


class AppEditorScreen(IgtuiScreen):
    """Add (`app_name=None`) or edit one app."""

    TITLE = "App"
    CSS_PATH = "app_editor.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(self, app_name: str | None) -> None:
        super().__init__()
        self._editing = app_name

    def compose(self) -> ComposeResult:
        """The add/edit form: platform, each field with its error line under it, Cancel and Save."""
        yield Header()
        with VerticalScroll(id="form"):
            title = "Add an app" if self._editing is None else f"Edit app {self._editing}"
            yield Static(safe(title), id="title")
            yield Label("Platform")
            yield Select(
                [("Instagram Login (graph.instagram.com)", "instagram"), ("Facebook Login (Pages)", "facebook")],
                value="instagram",
                allow_blank=False,
                id="platform",
            )
            for key, label, placeholder in FIELDS:
                yield Label(label)
                if key == "secret" and self._editing is not None:
                    placeholder = "leave empty to keep the stored secret"
                yield Input(placeholder=placeholder, id=key, password=key == "secret", select_on_focus=False)
                yield Static("", id=f"{key}-error", classes="error")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        """Hide the error lines, fill the form when editing an existing app, and focus the name field."""
        for error in self.query(".error"):
            error.display = False
        if self._editing is not None:
            self.load(self._editing)
        self.query_one("#name", Input).focus()

    @work(group="app-load", exclusive=True, exit_on_error=False)
    async def load(self, name: str) -> None:
        """Fill the form from the stored app; the secret field stays empty (a stored secret is never shown)."""
        app = await asyncio.to_thread(self.igtui.services.store.get_app, name)
        self.query_one("#platform", Select).value = app.platform
        values = {
            "name": app.name,
            "app_id": app.app_id,
            "redirect_uris": " ".join(app.redirect_uris),
            "scopes": " ".join(app.scopes),
            "graph_version": app.graph_version,
            "base_url": app.base_url or "",
            "refresh_within_days": "" if app.refresh_within_days is None else str(app.refresh_within_days),
        }
        for key, value in values.items():
            self.query_one(f"#{key}", Input).value = value

    def _value(self, key: str) -> str:
        return self.query_one(f"#{key}", Input).value.strip()

    def _show(self, key: str, message: str | None) -> None:
        widget = self.query_one(f"#{key}-error", Static)
        widget.update(Text(message or "", style="red"))
        widget.display = bool(message)

    def collect(self) -> dict[str, Any] | None:
        """Validate every field; show each error under its field; None when any failed."""
        from igtui.core.store import validation as v

        # The Select offers only the two platforms; a wrong value is refused by the checks below.
        platform = cast("Platform", str(self.query_one("#platform", Select).value))
        out: dict[str, Any] = {}
        checks: dict[str, Callable[[], Any]] = {
            "name": lambda: v.validate_name(self._value("name")),
            "app_id": lambda: v.validate_app_id(self._value("app_id")),
            "redirect_uris": lambda: v.validate_redirect_uris(
                catalogue.parse_scope_list(self._value("redirect_uris"))
            ),
            "scopes": lambda: catalogue.validate_scopes(
                platform, catalogue.parse_scope_list(self._value("scopes")) or catalogue.required_scopes(platform)
            ),
            "graph_version": lambda: v.validate_graph_version(self._value("graph_version") or DEFAULT_GRAPH_VERSION),
            "base_url": lambda: v.validate_base_url(self._value("base_url") or None),
            "refresh_within_days": lambda: v.validate_refresh_within(_int(self._value("refresh_within_days"))),
        }
        ok = True
        for key, check in checks.items():
            try:
                out[key] = check()
                self._show(key, None)
            except ValidationError as error:
                self._show(key, error.message)
                ok = False
        secret = self.query_one("#secret", Input).value
        if self._editing is None and not secret:
            self._show("secret", "the app secret is needed")
            ok = False
        else:
            self._show("secret", None)
        out["platform"] = platform
        out["secret"] = Secret(secret) if secret else None
        return out if ok else None

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.app.pop_screen()

    def action_save(self) -> None:
        """Ctrl+S: save the app; refuses, with each error under its field, while any field is invalid."""
        values = self.collect()
        if values is not None:
            self.save(values)

    @work(group="app-save", exclusive=True, exit_on_error=False)
    async def save(self, values: dict[str, Any]) -> None:
        """Write the app off the loop and go back; a refused write (e.g. a taken name) shows under the name field."""
        store = self.igtui.services.store
        editing = self._editing
        try:
            if editing is None:
                await asyncio.to_thread(
                    lambda: store.add_app(
                        name=values["name"], platform=values["platform"], app_id=values["app_id"],
                        redirect_uris=values["redirect_uris"], scopes=values["scopes"], secret=values["secret"],
                        graph_version=values["graph_version"], base_url=values["base_url"],
                        refresh_within_days=values["refresh_within_days"],
                    )
                )
            else:
                await asyncio.to_thread(
                    lambda: store.update_app(
                        editing, new_name=values["name"], app_id=values["app_id"],
                        redirect_uris=values["redirect_uris"], scopes=values["scopes"],
                        graph_version=values["graph_version"], base_url=values["base_url"],
                        refresh_within_days=values["refresh_within_days"], secret=values["secret"],
                    )
                )
        except ValidationError as error:
            self._show("name", error.message)  # e.g. the name is taken
            return
        self.query_one("#secret", Input).value = ""
        self.igtui.changed()
        self.notify(f"Saved app {values['name']}.", markup=False)
        self.app.pop_screen()


def _int(text: str) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValidationError(f"refresh window {text!r} must be a whole number of days") from None
