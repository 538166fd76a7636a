"""Command palette provider: every screen, every action, every account and app, by the words people type.

Sources, in the order they rank on a tie:

* the app's global commands (`IgtuiApp.global_commands`: go to a screen, refresh all due, help);
* the bindings of the screen the palette was opened from (its keys, under its `TITLE`): a new
  binding on a screen is in the palette by itself. Widgets' own keys (a table's cursor, an input's
  editing keys) are not commands and are left out;
* the token commands for the account selected on home (inspect, reveal, copy, verify, its reads,
  log in again) and a login to its app (the scope screen), so "reveal" or "scope" works from any
  screen, not only from the one whose key does it. On home they rank before home's own keys,
  which act on the same selection but do not name it;
* every account ("app/username", opens its token) and every app by name (edit it, log in to it),
  read once per palette opening in a thread (`startup`): the palette never runs I/O on the loop.

Why words as well as titles: a title says what a command does ("Go to: Token reads (audit)"),
but people type what they want ("who read", "scope", "reveal"). Each command carries search
words, and an exact word beats a prefix, a prefix beats a substring, and those beat the fuzzy
letters-in-order match on the title. Names from the store are shown as plain text (a `Content`
never parsed as markup) and never put in the help line, which the palette parses as markup.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import FuzzySearch
from textual.screen import ModalScreen, Screen
from textual.worker import WorkerCancelled, WorkerFailed

from igtui.core.errors import IgtuiError
from igtui.ui.text import safe_str

if TYPE_CHECKING:
    from igtui.ui.app import IgtuiApp


class Command(NamedTuple):
    """One palette entry: what it says, a help line (our words only), what it runs, what finds it."""

    title: str
    help: str
    run: Callable[[], Any]
    words: tuple[str, ...] = ()


_HIDDEN_ACTIONS = frozenset({"command_palette", "app.command_palette", "quit", "app.quit", "help", "app.help"})
"""Screen bindings already offered as global commands (or the palette itself)."""

_GLOBAL_ACTIONS = frozenset({"app.open('history')", "app.open('log')", "app.open('audit')", "app.open('add_app')",
                             "app.refresh_due"})
"""Home's keys for screens the global commands already open (their help names the key)."""

_MOVES = re.compile(r"^(cursor|scroll|page)_")
"""Plain movements (a table's j/k, PgDn…): never commands, whichever node binds them."""

_TEXTUAL_ACTIONS = frozenset(
    b.action for b in (*Screen.BINDINGS, *App.BINDINGS, *ModalScreen.BINDINGS) if isinstance(b, Binding)
)
"""Textual's own screen and app keys (focus next, copy selected text…): plumbing, not igtui's commands."""


ACTION_WORDS: dict[str, tuple[str, ...]] = {
    "inspect": ("token", "inspect", "open", "details"),
    "login": ("login", "log in", "scope", "scopes", "permissions", "new account"),
    "relogin": ("login", "log in", "relogin", "re-login", "scope", "scopes", "permissions"),
    "refresh": ("refresh", "renew", "extend"),
    "force_refresh": ("force", "refresh", "renew"),
    "filter": ("filter", "search", "find"),
    "focus_filter": ("filter", "search", "find"),
    "clear_filters": ("clear", "filter", "reset"),
    "clear_filter": ("clear", "filter", "reset"),
    "sort": ("sort", "order"),
    "edit_app": ("edit", "app", "settings", "secret", "redirect"),
    "delete": ("delete", "remove", "forget"),
    "toggle_reveal": ("token", "reveal", "show", "unmask"),
    "copy": ("token", "copy", "clipboard"),
    "show_copy": ("copy", "show", "manual copy", "select"),
    "verify": ("verify", "check", "validate"),
    "audit": ("audit", "reads", "who read"),
    "next": ("login", "log in", "continue", "next"),
    "preset": ("preset", "scopes"),
    "copy_url": ("copy", "url", "authorize", "link"),
    "qr": ("qr", "code", "phone"),
    "show_url": ("url", "show", "link"),
    "toggle_pause": ("pause", "freeze", "resume"),
    "toggle_follow": ("follow", "newest", "tail"),
    "save": ("save",),
    "back": ("back", "close"),
    "pop_screen": ("back", "close"),
}
"""Search words of screen bindings, by action name (arguments dropped: `preset('comments')` → preset)."""

_EXACT, _TITLE_WORD, _PREFIX, _ALL_TERMS, _INSIDE, _FUZZY_CAP = 100.0, 90.0, 80.0, 70.0, 60.0, 50.0
"""Score tiers: a command's own search word, a word of its title, a word's prefix, every typed term,
a substring, letters in order. A chosen word beats a title word, so "token" opens the token screen
before "Go to: Token reads". Textual's fuzzy scores for a short exact title reach ~25, so an exact
word here outranks its built-in commands ("keys" opens igtui's help, not Textual's key panel)."""

_FUZZY_PER_LETTER = 2.0
"""A fuzzy title match must score this much per typed letter (Textual's scores favour letters that
start words and run together): "rdue" scores 2.3 on "Refresh all due…", while "reads" scattered
over the same title scores 1.9 and "inspect" over "Log in to … new scopes (new account)" 1.6."""

MAX_NAME_HITS = 30
"""Accounts and apps matched by name, at most: 10,000 accounts must not flood the list."""

_SPLIT = re.compile(r"[^\w./@-]+")


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def rank(query: str, title: str, words: Iterable[str], *, fuzzy: FuzzySearch | None = None) -> float:
    """How well `query` finds a command: a tier (see `_EXACT`…) or 0 for no match.

    The title's own words count as search words too, a tier below the chosen ones. `fuzzy`
    (letters in order, Textual's) applies to the title only, capped below the word tiers; None
    leaves it out (names: substring only).
    """
    q = _norm(query)
    if not q:
        return 0.0
    title_l = title.lower()
    chosen = [_norm(w) for w in words]
    if q in chosen:
        return _EXACT
    pool = chosen + [w for w in _SPLIT.split(title_l) if w]
    best = 0.0
    for word in pool:
        if word == q:
            best = _TITLE_WORD
        elif word.startswith(q):
            best = max(best, _PREFIX)
        elif q in word:
            best = max(best, _INSIDE)
    terms = [t for t in _SPLIT.split(q) if t]
    if best < _ALL_TERMS and len(terms) > 1 and all(any(w.startswith(t) for w in pool) for t in terms):
        best = _ALL_TERMS
    if best < _INSIDE and q in title_l:
        best = _INSIDE
    if not best and fuzzy is not None:
        score, _ = fuzzy.match(q, title_l)
        if score >= _FUZZY_PER_LETTER * len(q):  # "rdue", "addap"; not "reads" scattered over "Refresh all due…"
            best = min(score, _FUZZY_CAP - 1)
    return best


def _display(title: str, query: str, fuzzy: FuzzySearch) -> Content:
    """The title as plain Content (never markup: it may hold a username), the matched letters reversed."""
    content = Content(title)
    score, offsets = fuzzy.match(_norm(query), title.lower()) if query else (0.0, ())
    if score:
        for offset in offsets:
            if not title[offset].isspace():
                content = content.stylize("reverse", offset, offset + 1)
    return content


class IgtuiCommands(Provider):
    """Global and context commands, the invoking screen's keys, and accounts and apps by name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._accounts: list[tuple[int, str, str]] = []
        """(id, "app/username" as shown, username as shown)."""
        self._apps: list[tuple[str, str]] = []
        """(the app's name as stored, for opening it; as shown)."""
        self._fuzzy = FuzzySearch()

    @property
    def _app(self) -> IgtuiApp:
        return cast("IgtuiApp", self.app)

    def _locked(self) -> bool:
        """Before the unlock dialog succeeds nothing may navigate past it (it would be popped)."""
        return not self._app.services.store.unlocked

    async def startup(self) -> None:
        """Read the account and app names once, in a thread (plain columns: no passphrase needed)."""
        if self._locked():
            return
        store = self._app.services.store
        try:
            accounts = await asyncio.to_thread(store.list_accounts)
            apps = await asyncio.to_thread(store.list_apps)
        except IgtuiError:  # a damaged store: the screens' own commands still work
            return
        self._accounts = [(a.id, f"{safe_str(a.app_name, limit=40)}/{safe_str(a.username, limit=60)}",
                           safe_str(a.username, limit=60)) for a in accounts]
        self._apps = [(a.name, safe_str(a.name, limit=40)) for a in apps]

    # ── the commands ─────────────────────────────────────────────────────────────────────
    def _commands(self) -> Iterator[Command]:
        if self._locked():
            return
        from igtui.ui.screens.home import HomeScreen

        app = self._app
        yield from app.global_commands()
        if isinstance(self.screen, HomeScreen):  # home's own keys mostly act on the selection: say which
            yield from self._selected_commands()
            yield from self._screen_commands()
        else:  # elsewhere this screen's keys come first ("verify" on the audit screen checks its chain)
            yield from self._screen_commands()
            yield from self._selected_commands()

    def _selected_commands(self) -> Iterator[Command]:
        """The home selection's token commands (skipped on the token screen, whose own keys do them)."""
        from igtui.ui.screens.home import HomeScreen
        from igtui.ui.screens.token_inspect import TokenInspectScreen

        home = next((s for s in self._app.screen_stack if isinstance(s, HomeScreen)), None)
        row = home.selected() if home is not None else None
        if row is None:
            return
        app_name = safe_str(row.app_name, limit=40)
        if row.account_id is not None and not isinstance(self.screen, TokenInspectScreen):
            name = f"{app_name}/{safe_str(row.username, limit=60)}"
            account = row.account_id
            yield Command(f"Token: inspect {name}", "Kind, scopes, expiry, last verification (Enter on home)",
                          partial(open_token, self._app, account), ACTION_WORDS["inspect"] + ("token screen",))
            yield Command(f"Token: reveal {name}", "Show it in full (recorded in the audit; t on the token screen)",
                          partial(open_token, self._app, account, "toggle_reveal"), ACTION_WORDS["toggle_reveal"])
            yield Command(f"Token: copy {name}", "To the clipboard, cleared after 30 s (c on the token screen)",
                          partial(open_token, self._app, account, "copy"), ACTION_WORDS["copy"])
            yield Command(f"Token: verify {name} with Meta", "Ask Meta whether it still works (V on the token screen)",
                          partial(open_token, self._app, account, "verify"), ("token",) + ACTION_WORDS["verify"])
            yield Command(f"Token reads of {name}", "Who read this token, when (a on the token screen)",
                          partial(open_reads, self._app, account), ACTION_WORDS["audit"] + ("token",))
            yield Command(f"Log in again to {name} (choose scopes)", "The scope screen, then the login (l on home)",
                          partial(open_login, self._app, row.app_name, account), ACTION_WORDS["relogin"])
        yield Command(f"Log in to {app_name} with new scopes (new account)", "The scope screen, then the login",
                      partial(open_login, self._app, row.app_name), ACTION_WORDS["login"] + ("add account",))

    def _screen_commands(self) -> Iterator[Command]:
        """The keys of the screen the palette was opened from (its own and the app's, not its widgets')."""
        app = self._app
        screen = self.screen
        title = getattr(screen, "TITLE", None) or type(screen).__name__
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            action = binding.action
            bare = action.removeprefix("app.").split("(", 1)[0]
            if (not binding.description or not active.enabled or action in _HIDDEN_ACTIONS
                    or action in _GLOBAL_ACTIONS or action in _TEXTUAL_ACTIONS or _MOVES.match(bare)
                    or not isinstance(active.node, Screen | App)):
                continue
            name = f"{title}: {binding.description}"
            if name in seen:
                continue
            seen.add(name)
            # What Widget.run_action does, for a node typed DOMNode: the app runs it with the node as namespace.
            run = partial(app.run_action, action, active.node)
            words = (*ACTION_WORDS.get(bare, ()), title.lower())
            yield Command(name, f"key {app.get_key_display(binding)} on this screen", run, words)

    def _name_commands(self, query: str) -> list[tuple[float, Command]]:
        """Accounts and apps whose name holds `query` (substring match: cheap for 10,000 names)."""
        q = _norm(query)
        found: list[tuple[float, Command]] = []
        if not q:
            return found
        app = self._app
        for account_id, full, username in self._accounts:
            if q not in full.lower():
                continue
            score = rank(q, full, (username, full))
            found.append((score, Command(f"Account: {full}", "Open its token screen",
                                         partial(open_token, app, account_id), (username, full))))
        for stored, name in self._apps:
            if q not in name.lower():
                continue
            score = rank(q, name, (name,)) + 1  # an app before its accounts ("partner" → the app partner-ig)
            found.append((score, Command(f"App: {name} (edit)", "Its id, secret, redirect URIs and default scopes",
                                         partial(open_app, app, stored), (name,))))
            found.append((score - 0.5, Command(f"Log in to {name} (choose scopes)", "The scope screen, then the login",
                                               partial(open_login, app, stored), (name,))))
        found.sort(key=lambda pair: -pair[0])
        return found[:MAX_NAME_HITS]

    # ── Provider ─────────────────────────────────────────────────────────────────────────
    async def discover(self) -> Hits:
        """What the palette lists before anything is typed: the global commands and this screen's keys."""
        for command in self._commands():
            yield DiscoveryHit(Content(command.title), command.run, text=command.title, help=command.help)

    async def search(self, query: str) -> Hits:
        """Commands whose search words or title match what the user typed, best first; then names."""
        commands = list(self._commands())
        count = len(commands) + 1
        scored = [(rank(query, c.title, c.words, fuzzy=self._fuzzy), c) for c in commands]
        # A tie keeps the order of `_commands` (global first, then screen and selection): a tiny decreasing bonus.
        ranked = [(score + (count - n) / (count * 100), c) for n, (score, c) in enumerate(scored) if score > 0]
        ranked += self._name_commands(query)
        for score, command in ranked:
            yield Hit(score, _display(command.title, query, self._fuzzy), command.run, text=command.title,
                      help=command.help)


# ── where the commands go (names and ids come from the store; every read runs off the loop) ─
def open_token(app: IgtuiApp, account_id: int, action: str | None = None) -> None:
    """The account's token screen over home; with `action`, run that key of it once the token is loaded."""
    from igtui.ui.screens.token_inspect import TokenInspectScreen

    screen = TokenInspectScreen(account_id)
    app.open_screen(screen)
    if action is not None:
        app.run_worker(_run_when_loaded(app, screen, action), group="palette-run", exit_on_error=False)


async def _run_when_loaded(app: IgtuiApp, screen: Screen[Any], action: str) -> None:
    """Wait until `screen` is mounted and the workers it started on mount (its load) are done, then act."""
    for _ in range(200):  # mounting takes a frame or two; give up quietly after ~2 s
        if screen.is_mounted:
            break
        await asyncio.sleep(0.01)
    else:
        return
    loading = [w for w in app.workers if w.node is screen and not w.is_finished]
    if loading:
        try:
            await app.workers.wait_for_complete(loading)
        except (WorkerCancelled, WorkerFailed):  # the screen's own error dialog has said why
            return
    if app.screen is screen:  # the user may have left meanwhile
        await screen.run_action(action)


def open_reads(app: IgtuiApp, account_id: int) -> None:
    """The audit screen for one account's token reads."""
    from igtui.ui.screens.audit import AuditScreen

    app.open_screen(AuditScreen(account_id=account_id))


def open_login(app: IgtuiApp, app_name: str, account_id: int | None = None) -> None:
    """The scope screen for a login to `app_name` (a re-login of `account_id` when given)."""
    from igtui.ui.screens.scope_select import ScopeSelectScreen

    app.open_screen(ScopeSelectScreen(app_name, account_id=account_id))


def open_app(app: IgtuiApp, app_name: str) -> None:
    """The app editor for `app_name`."""
    from igtui.ui.screens.app_editor import AppEditorScreen

    app.open_screen(AppEditorScreen(app_name))
