"""The sandbox's state: apps, users, pages, codes, tokens, knobs and counters.

Everything here is plain data plus small mutators; nothing speaks HTTP. The HTTP layer takes
`World.lock` around each request, so these methods assume the caller holds it (the lock is
re-entrant, so the admin API may call several of them in a row).

Times are integer Unix seconds of the *sandbox* clock (`SandboxClock`), which tests shift to
make tokens age without waiting.
"""

from __future__ import annotations

import base64
import collections
import os
import random
import threading
from collections.abc import Callable

from igtui.sandbox.clock import SandboxClock
from igtui.sandbox.pushback import Pushback
from igtui.sandbox.records import (
    DATA_ACCESS_SECONDS,
    DEFAULT_BUDGET,
    FB_SCOPES,
    FB_SHORT_SECONDS,
    IG_SCOPES,
    IG_SHORT_SECONDS,
    LONG_LIVED_SECONDS,
    REFRESH_MODES,
    SHAPES,
    TOKEN_KINDS,
    TRACE_STYLES,
    Code,
    FailRule,
    FbUser,
    IgUser,
    Page,
    SbApp,
    Token,
    WorldError,
    expired_message,
    revoke_message,
)


class World(Pushback):
    """All sandbox state behind one re-entrant lock.

    Args:
        clock: The sandbox clock (shiftable).
        seed: Makes tokens, codes and trace ids deterministic when given.
    """

    def __init__(self, clock: SandboxClock, seed: int | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.seed = seed
        self.seeder: Callable[[World], None] | None = None
        """Re-creates the initial apps and users on `reseed()` (set by `Sandbox`)."""
        self._clear()

    def _clear(self) -> None:
        self._rng = random.Random(self.seed) if self.seed is not None else None
        # Trace ids draw from their own stream, so how many responses were sent does not
        # change which tokens and codes a seed gives.
        self._trace_rng = random.Random(f"trace-{self.seed}") if self.seed is not None else None
        self.trace_style = "mixed"
        self.apps: dict[str, SbApp] = {}
        self.ig_users: dict[str, IgUser] = {}
        self.fb_users: dict[str, FbUser] = {}
        self.pages: dict[str, Page] = {}
        self.tokens: dict[str, Token] = {}
        self.codes: dict[str, Code] = {}
        self.page_tokens: dict[tuple[str, str], str] = {}
        self.buc: dict[tuple[str, str], list[int]] = {}
        self.calls: collections.Counter[str] = collections.Counter()
        self.ok_calls: collections.Counter[str] = collections.Counter()
        self.fail_rules: list[FailRule] = []
        self._ig_seq = 0
        self._fb_seq = 0
        self._page_seq = 0

    def reseed(self) -> None:
        """Back to the initial world: state, counters and clock offset (same seed)."""
        with self.lock:
            self._clear()
            self.clock.reset()
            if self.seeder is not None:
                self.seeder(self)

    # ── randomness ────────────────────────────────────────────────────────────────

    def _random_bytes(self, n: int) -> bytes:
        return self._rng.randbytes(n) if self._rng is not None else os.urandom(n)

    def random_string(self, n_bytes: int) -> str:
        """Alphanumeric text (base64 with its punctuation folded into letters)."""
        raw = base64.b64encode(self._random_bytes(n_bytes)).decode("ascii")
        return raw.replace("+", "a").replace("/", "b").rstrip("=")

    def _trace_bytes(self, n: int) -> bytes:
        return self._trace_rng.randbytes(n) if self._trace_rng is not None else os.urandom(n)

    def fbtrace_id(self) -> str:
        """A trace id as Meta makes them, in the world's `trace_style`.

        "legacy": 11 characters of standard base64, always with a `+` or `/` in it (`GNV+FOvDX3z`);
        "modern": URL-safe, 23–26 characters, starting with "A" (`Ax-_gPAuFEee6GdsfwecVmrjtu`);
        "mixed" (the default): one in three legacy, chosen by the seed's stream.
        """
        raw = self._trace_bytes(20)
        style = self.trace_style
        if style == "mixed":
            style = "legacy" if raw[0] % 3 == 0 else "modern"
        if style == "legacy":
            text = base64.b64encode(raw[1:10]).decode("ascii")[:11]
            if "+" not in text and "/" not in text:
                at = raw[10] % 11
                text = text[:at] + "+/"[raw[11] & 1] + text[at + 1:]
            return text
        length = 22 + raw[1] % 4
        return "A" + base64.urlsafe_b64encode(raw[2:]).decode("ascii")[:length]

    def set_trace_style(self, style: str) -> None:
        """Choose which fbtrace_id style replies carry, so a client's parsing of each can be tested."""
        if style not in TRACE_STYLES:
            raise WorldError(f"trace style must be one of {', '.join(TRACE_STYLES)}")
        self.trace_style = style

    def now(self) -> int:
        """Sandbox time in Unix seconds, the unit every record in the world uses."""
        return int(self.clock.now().timestamp())

    # ── apps and users ────────────────────────────────────────────────────────────

    def create_app(
        self,
        *,
        platform: str,
        app_id: str,
        secret: str,
        redirect_uris: list[str],
        name: str | None = None,
        shape: str = "observed",
        refresh_mode: str = "new_keep_old",
        omit_expires_in: bool = False,
        budget: int = DEFAULT_BUDGET,
    ) -> SbApp:
        """Register an app (replacing one with the same id)."""
        if platform not in ("instagram", "facebook"):
            raise WorldError("platform must be instagram or facebook")
        if not str(app_id).isdigit():
            raise WorldError("app_id must be numeric")
        if not secret:
            raise WorldError("secret must not be empty")
        if not redirect_uris or not all(isinstance(u, str) and u for u in redirect_uris):
            raise WorldError("redirect_uris must be a non-empty list of strings")
        app = SbApp(
            platform=platform,
            app_id=str(app_id),
            secret=secret,
            name=name or f"sandbox-{platform}-{app_id}",
            redirect_uris=list(redirect_uris),
            index=len(self.apps) + 1,
        )
        self.update_app(
            app, shape=shape, refresh_mode=refresh_mode, omit_expires_in=omit_expires_in,
            budget=budget,
        )
        self.apps[app.app_id] = app
        return app

    def update_app(self, app: SbApp, **knobs: object) -> SbApp:
        """Change an app's knobs, validating each."""
        for key, value in knobs.items():
            if value is None:
                continue
            if key == "shape":
                if value not in SHAPES:
                    raise WorldError(f"shape must be one of {', '.join(SHAPES)}")
                app.shape = str(value)
            elif key == "refresh_mode":
                if value not in REFRESH_MODES:
                    raise WorldError(f"refresh_mode must be one of {', '.join(REFRESH_MODES)}")
                app.refresh_mode = str(value)
            elif key == "omit_expires_in":
                app.omit_expires_in = bool(value)
            elif key == "budget":
                if not isinstance(value, int) or value < 1:
                    raise WorldError("budget must be a positive integer")
                app.budget = value
            elif key == "redirect_uris":
                if not isinstance(value, list) or not value:
                    raise WorldError("redirect_uris must be a non-empty list")
                app.redirect_uris = [str(v) for v in value]
            elif key == "name":
                app.name = str(value)
            elif key == "secret":
                app.secret = str(value)
            else:
                raise WorldError(f"unknown app knob {key!r}")
        return app

    def app(self, app_id: object) -> SbApp:
        """The app with this id (ids arrive as strings or numbers).

        Raises:
            WorldError: no such app (status 404, which the admin API answers with).
        """
        found = self.apps.get(str(app_id))
        if found is None:
            raise WorldError("unknown app_id", 404)
        return found

    def create_ig_user(
        self,
        username: str,
        *,
        name: str | None = None,
        account_type: str = "BUSINESS",
        user_id: str | None = None,
        page_id: str | None = None,
    ) -> IgUser:
        """Add an Instagram professional account (ids 1784140000000000N in creation order)."""
        if not username or not isinstance(username, str):
            raise WorldError("username must be a non-empty string")
        if username in self.ig_users:
            raise WorldError(f"Instagram user {username!r} exists", 409)
        self._ig_seq += 1
        user = IgUser(
            username=username,
            user_id=user_id or str(17_841_400_000_000_000 + self._ig_seq),
            name=name if name is not None else username.replace(".", " ").title(),
            account_type=account_type,
            seq=self._ig_seq,
            page_id=page_id,
        )
        self.ig_users[username] = user
        return user

    def create_fb_user(self, username: str, *, name: str | None = None) -> FbUser:
        """Add a Facebook user (ids 1020000000000000N in creation order), who may then own Pages."""
        if not username or username in self.fb_users:
            raise WorldError(f"Facebook user {username!r} exists or is empty", 409)
        self._fb_seq += 1
        user = FbUser(username=username, fb_id=str(10_200_000_000_000_000 + self._fb_seq),
                      name=name or username.replace(".", " ").title())
        self.fb_users[username] = user
        return user

    def create_page(self, owner: str, name: str, *, ig_username: str | None,
                    category: str = "Brand") -> Page:
        """A Page owned by `owner`, linked to a new IG business account `ig_username`."""
        fb_user = self.fb_users[owner]
        self._page_seq += 1
        page = Page(page_id=str(1_030_000_000_000_000 + self._page_seq), name=name,
                    category=category, owner=owner, ig_username=ig_username)
        if ig_username is not None:
            self.create_ig_user(ig_username, page_id=page.page_id)
        self.pages[page.page_id] = page
        fb_user.pages.append(page.page_id)
        return page

    def app_scoped_id(self, app: SbApp, user: IgUser) -> str:
        """`/me.id` on Instagram Login: differs per app and from `user_id` (a real quirk)."""
        return str(26_000_000_000_000_000 + app.index * 100_000_000 + user.seq)

    # ── codes and tokens ──────────────────────────────────────────────────────────

    def issue_code(self, app: SbApp, username: str, redirect_uri: str,
                   scopes: tuple[str, ...]) -> Code:
        """Mint a single-use authorization code for a consented login (it lives `CODE_SECONDS`)."""
        code = Code(value="AQ" + self.random_string(48), app_id=app.app_id,
                    platform=app.platform, username=username, redirect_uri=redirect_uri,
                    scopes=scopes, created_at=self.now())
        self.codes[code.value] = code
        return code

    def issue_token(
        self,
        app: SbApp,
        username: str,
        kind: str,
        *,
        scopes: tuple[str, ...] | None = None,
        age_seconds: int = 0,
        page_id: str | None = None,
        data_access_expires_at: int | None = None,
    ) -> Token:
        """Mint a token of `kind` for a user, as if issued `age_seconds` ago."""
        if kind not in TOKEN_KINDS:
            raise WorldError(f"kind must be one of {', '.join(TOKEN_KINDS)}")
        if kind.startswith("ig") != (app.platform == "instagram"):
            raise WorldError(f"kind {kind} does not belong to a {app.platform} app")
        issued = self.now() - int(age_seconds)
        lifetime = {
            "ig_short": IG_SHORT_SECONDS,
            "ig_long": LONG_LIVED_SECONDS,
            "fb_short": FB_SHORT_SECONDS,
            "fb_user": LONG_LIVED_SECONDS,
            "fb_page": None,
        }[kind]
        if scopes is None:
            scopes = IG_SCOPES if app.platform == "instagram" else FB_SCOPES[:8]
        if app.platform == "facebook" and data_access_expires_at is None:
            data_access_expires_at = issued + DATA_ACCESS_SECONDS
        prefix = "IGAA" if kind.startswith("ig") else "EAAG"
        token = Token(
            value=prefix + self.random_string(72),
            kind=kind,
            app_id=app.app_id,
            username=username,
            issued_at=issued,
            expires_at=None if lifetime is None else issued + lifetime,
            scopes=tuple(scopes),
            page_id=page_id,
            data_access_expires_at=data_access_expires_at,
        )
        self.tokens[token.value] = token
        return token

    def token_problem(self, token: Token) -> tuple[int | None, str] | None:
        """Why a known token cannot be used now: (subcode, message), or None when it is fine."""
        if token.revoked is not None:
            return token.revoked, revoke_message(token.revoked, token.app_id)
        if token.expires_at is not None and self.now() >= token.expires_at:
            return 463, expired_message(token.expires_at, self.now())
        return None

    def tokens_of(self, username: str) -> list[Token]:
        """Every token issued to `username`, valid or not."""
        return [t for t in self.tokens.values() if t.username == username]

    def resolve_tokens(self, target: str) -> list[Token]:
        """A token string, or every token of a user (IG or FB username)."""
        if target in self.tokens:
            return [self.tokens[target]]
        if target in self.ig_users or target in self.fb_users:
            return self.tokens_of(target)
        raise WorldError("no such token or username", 404)


__all__ = ["World"]
