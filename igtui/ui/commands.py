"""Command palette provider: every screen and every action reachable by name.

Two sources: the app's global commands (go to a screen, refresh all due, help, quit) and the
bindings active on the screen the palette was opened from, so a new binding on a screen is
automatically in the palette under that screen's name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from igtui.ui.app import IgtuiApp

Command = tuple[str, str, Callable[[], Any]]

_HIDDEN_ACTIONS = frozenset({"command_palette", "app.command_palette", "quit", "app.quit", "help", "app.help"})


class IgtuiCommands(Provider):
    """Global commands plus the invoking screen's footer bindings."""

    def _commands(self) -> Iterator[Command]:
        app = cast("IgtuiApp", self.app)
        yield from app.global_commands()
        screen = self.screen
        title = getattr(screen, "TITLE", None) or type(screen).__name__
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or not active.enabled or binding.action in _HIDDEN_ACTIONS:
                continue
            name = f"{title}: {binding.description}"
            if name in seen:
                continue
            seen.add(name)
            # What Widget.run_action does, for a node typed DOMNode: the app runs it with the node as namespace.
            run = partial(app.run_action, binding.action, active.node)
            yield name, f"key {binding.key_display or binding.key}", run

    async def discover(self) -> Hits:
        """What the palette lists before anything is typed: the global commands and this screen's keys."""
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        """The palette's fuzzy match on what the user typed, with the matching letters highlighted."""
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
