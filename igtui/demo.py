"""`igtui --demo`: the sandbox on a free loopback port and a throwaway store in every state.

A newcomer needs to see every state a token can be in without owning a Meta app, so the demo
builds them the way they arise for real: the sandbox (igtui's stand-in for Meta) mints the
tokens, the demo saves them as a login would, and the real refresh engine then meets a revoked
token, a throttled account and a healthy one against the sandbox over HTTP. The history and the
request log therefore hold real rows, not fabricated ones.

This module is headless (no Textual import at module level) so that the screenshot script, the
TUI's `--demo` and tests can share it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from igtui.core.clock import Clock, SystemClock, from_epoch
from igtui.core.models import Platform, Profile, TokenKind, Trigger
from igtui.core.secret import Secret
from igtui.core.session import NOTIFY_ENV, Session

DEMO_PASSPHRASE = "demo-passphrase"
"""The throwaway demo store's passphrase. Public on purpose: the store holds only sandbox tokens."""

DAY = 86_400
_T = TypeVar("_T")

# (app name, username, token kind, age in days, what the demo does to it afterwards)
_IG_ACCOUNTS: tuple[tuple[str, float, str], ...] = (
    ("acme.studio", 3, "refresh"),  # healthy, refreshed just now by the engine
    ("northwind.cafe", 50, "none"),  # refresh due: 10 days left; auto-refresh renews it
    ("lumen.photo", 61, "none"),  # expired: 60 days passed without a refresh
    ("harbor.books", 10, "revoke"),  # the user changed their password: needs re-login
    ("tidal.records", 20, "throttle"),  # Meta throttles this account: rate-limited
    ("orbit.gear", 2 / 24, "none"),  # two hours old: healthy, too early to refresh
)
_BLOCKED_APP = {"name": "partner-ig", "app_id": "100000000000003", "secret": "partner-ig-secret-0003"}
"""A second Instagram app, one Meta has deactivated for inactivity: every token of it fails at once."""
_BLOCKED_ACCOUNT = ("atlas.agency", 50.0)  # due, so the engine meets the block for real

_FB_ACCOUNTS: tuple[tuple[str, float], ...] = (
    ("pine.outdoors", 56),  # Facebook Login user token, 4 days left, no refresh endpoint: expiring
    ("cedar.kitchen", 5),  # Facebook Login, healthy
)


@dataclass
class DemoEnv:
    """A running demo: the sandbox, the store and how to tear both down."""

    sandbox: Any
    """The running `igtui.sandbox.server.Sandbox`."""
    home: Path
    """The throwaway IGTUI_HOME (removed by `close`)."""
    store: Any
    """The unlocked `igtui.core.store.Store`."""
    session: Session
    """The wiring every front end on this store uses (its clock is the sandbox's)."""
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    @property
    def clock(self) -> Clock:
        """The clock the sandbox and igtui share."""
        return self.session.clock

    @property
    def locks_dir(self) -> Path:
        """The demo store's refresh-lock directory."""
        return self.session.locks_dir

    def close(self) -> None:
        """Stop the sandbox and delete the throwaway store."""
        for cleanup in reversed(self._cleanups):
            cleanup()
        self._cleanups.clear()


def start_demo(
    *, clock: Clock | None = None, seed: int | None = 7, home: Path | None = None, exercise: bool = True
) -> DemoEnv:
    """Start the sandbox and build a demo store with accounts in every state.

    Args:
        clock: Shared by the sandbox and igtui (a FrozenClock gives deterministic screenshots).
        seed: Makes the sandbox's tokens deterministic.
        home: Where to put the store; a fresh temporary directory by default (removed on close).
        exercise: Run the real engine against the sandbox to produce the revoked, throttled and
            refreshed states (and their history and request-log rows).

    Returns:
        The running demo; call `close()` when done.
    """
    from igtui.core.crypto import KdfParams
    from igtui.core.scopes import preset
    from igtui.core.store import Store
    from igtui.sandbox.admin import SandboxAdmin
    from igtui.sandbox.demo import DEMO_FB_APP, DEMO_IG_APP, DEMO_REDIRECT_URIS
    from igtui.sandbox.server import Sandbox

    clock = clock or SystemClock()
    cleanups: list[Callable[[], None]] = []
    owned_home = home is None
    root = Path(tempfile.mkdtemp(prefix="igtui-demo-")) if home is None else home
    if owned_home:
        cleanups.append(lambda: shutil.rmtree(root, ignore_errors=True))
    sandbox = Sandbox(clock=clock, seed=seed).start()
    cleanups.append(sandbox.stop)
    try:
        # The terminal's variables (TMUX, SSH_CONNECTION) still matter to the TUI; the user's
        # notify command does not: demo accounts must not page anyone.
        environ = {k: v for k, v in os.environ.items() if k not in (NOTIFY_ENV, "IGTUI_PASSPHRASE")}
        session = Session.resolve({**environ, "IGTUI_HOME": str(root)}, clock=clock)
        # The demo store is throwaway and its passphrase public, so it uses the cheapest KDF
        # igtui accepts (the OWASP floor) to start instantly; real stores use the default.
        store = Store.create(session.paths.database, Secret(DEMO_PASSPHRASE), kdf=KdfParams.TESTING, clock=clock)
        store.unlock(Secret(DEMO_PASSPHRASE))
        demo_apps: tuple[tuple[dict[str, str], Platform], ...] = ((DEMO_IG_APP, "instagram"), (DEMO_FB_APP, "facebook"))
        for spec, platform in demo_apps:
            store.add_app(
                name=spec["name"], platform=platform, app_id=spec["app_id"],
                redirect_uris=list(DEMO_REDIRECT_URIS), scopes=preset(platform, "publishing"),
                secret=Secret(spec["secret"]),
                base_url=sandbox.url,
            )
        env = DemoEnv(sandbox=sandbox, home=root, store=store, session=session, _cleanups=cleanups)
        with SandboxAdmin(sandbox.url, token=sandbox.admin_token) as admin:
            _add_blocked_app(env, admin)
            _seed_accounts(env, admin, DEMO_IG_APP["app_id"], DEMO_FB_APP["app_id"])
            if exercise:
                asyncio.run(_exercise(env, admin, DEMO_IG_APP["app_id"]))
        return env
    except BaseException:
        for cleanup in reversed(cleanups):
            cleanup()
        raise


def _save(env: DemoEnv, app_name: str, issued: dict[str, Any], kind: TokenKind, username: str) -> None:
    """Store a sandbox-minted token as a finished login would."""
    profile = Profile(
        id=str(issued.get("app_scoped_id") or issued["user_id"]),
        user_id=str(issued["user_id"]),
        username=username,
        account_type=issued.get("account_type"),
        name=issued.get("name"),
    )
    env.store.save_login(
        app_name, profile, kind=kind, token=Secret(issued["access_token"]),
        issued_at=from_epoch(issued["issued_at"]), expires_at=from_epoch(issued["expires_at"]),
        scopes=issued.get("scopes") or (), requested_scopes=issued.get("scopes") or (),
        data_access_expires_at=from_epoch(issued.get("data_access_expires_at")),
        page_id=issued.get("page_id"),
    )


def _add_blocked_app(env: DemoEnv, admin: Any) -> None:
    """Register the partner app in the sandbox and the store, with one account; `_exercise`
    blocks it in the sandbox so that the engine records the block as it would from Meta."""
    from igtui.sandbox.demo import DEMO_REDIRECT_URIS

    spec = _BLOCKED_APP
    admin.create_app("instagram", spec["app_id"], spec["secret"], DEMO_REDIRECT_URIS, name=spec["name"])
    username, age_days = _BLOCKED_ACCOUNT
    admin.create_users(spec["app_id"], [username])
    env.store.add_app(name=spec["name"], platform="instagram", app_id=spec["app_id"],
                      redirect_uris=list(DEMO_REDIRECT_URIS), scopes=["instagram_business_basic"],
                      secret=Secret(spec["secret"]), base_url=env.sandbox.url)
    issued = admin.issue_token(spec["app_id"], username, "ig_long", age_seconds=int(age_days * DAY))
    _save(env, spec["name"], issued, TokenKind.IG_LONG, username)


def _seed_accounts(env: DemoEnv, admin: Any, ig_app_id: str, fb_app_id: str) -> None:
    for username, age_days, _action in _IG_ACCOUNTS:
        issued = admin.issue_token(ig_app_id, username, "ig_long", age_seconds=int(age_days * DAY))
        _save(env, "demo-ig", issued, TokenKind.IG_LONG, username)
    for username, age_days in _FB_ACCOUNTS:
        issued = admin.issue_token(fb_app_id, username, "fb_user", age_seconds=int(age_days * DAY))
        _save(env, "demo-fb", issued, TokenKind.FB_USER, username)


async def _exercise(env: DemoEnv, admin: Any, ig_app_id: str) -> None:
    """Meet Meta's failure modes for real: a revoked token, a throttled account, a refresh, an
    app Meta blocked."""
    by_name = {account.username: account for account in env.store.list_accounts()}
    admin.block_app(_BLOCKED_APP["app_id"], kind="inactive")
    for username, _age, action in _IG_ACCOUNTS:
        if action == "revoke":
            admin.revoke(username, subcode=460)
        elif action == "throttle":
            admin.throttle(ig_app_id, code=80002, minutes=45, username=username)
    async with env.session.graph(env.store) as client:
        engine = env.session.engine(env.store, client)
        for username, _age, action in _IG_ACCOUNTS:
            if action in ("refresh", "revoke", "throttle"):
                await engine.refresh_account(by_name[username].id, trigger=Trigger.CLI, force=True)
        await engine.refresh_account(by_name[_BLOCKED_ACCOUNT[0]].id, trigger=Trigger.CLI)


class SandboxConsent:
    """Consent in the terminal for `igtui --demo`: the sandbox's own consent page, driven as a browser.

    A newcomer trying the demo over SSH, or with no browser, could not finish a login: consent was
    an HTML form. This submits that very form (GET the page, POST Allow or Deny as a chosen user),
    so the sandbox issues a real code and redirects exactly as it does for a browser; `deliver`
    then takes the redirect to igtui's loopback listener, the way a browser's next request would.
    Nothing is shortcut: igtui checks that redirect like any other. Every call blocks (run it off
    the event loop).

    Args:
        base_url: The sandbox's origin (`Sandbox.url`). No admin token is used: consent is a page
            anyone can open, as on Meta.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def users(self, authorize_url: str) -> list[str]:
        """The sandbox users the consent page offers for this authorize URL."""
        from igtui.sandbox.admin import SandboxAdmin

        with SandboxAdmin(self.base_url) as page:
            return self._guard(lambda: page.consent_users(authorize_url))

    def decide(self, authorize_url: str, username: str | None) -> str:
        """Allow as `username` (None: deny) on the consent page; the redirect URL the sandbox sends back."""
        from igtui.sandbox.admin import SandboxAdmin

        with SandboxAdmin(self.base_url) as page:
            if username is None:
                return self._guard(lambda: page.consent(authorize_url, "", "deny"))
            return self._guard(lambda: page.consent(authorize_url, username, "allow"))

    def deliver(self, location: str) -> int:
        """Open the redirect as the browser would next (for a loopback redirect, igtui's listener gets
        it); the HTTP status of the answer.

        Raises:
            OSError: nothing listens there (the caller finishes the login with the URL itself).
        """
        from igtui.sandbox.admin import open_redirect

        return open_redirect(location)

    @staticmethod
    def _guard(call: Callable[[], _T]) -> _T:
        """The sandbox's refusals and network failures as one plain OAuthError (no URL: it holds the state)."""
        from igtui.core.errors import OAuthError
        from igtui.sandbox.admin import SandboxConsentError

        try:
            return call()
        except SandboxConsentError as exc:
            raise OAuthError(f"the sandbox's consent page refused: {exc.error_message}") from None
        except Exception as exc:
            raise OAuthError(f"the sandbox's consent page did not answer ({type(exc).__name__})") from None


def tui_services(args: Any) -> tuple[Any, Callable[[], None]]:
    """(UiServices, cleanup) for `igtui --demo`; called by igtui.ui.startup."""
    from igtui.ui.services import UiServices

    env = start_demo()
    services = UiServices(store=env.store, session=env.session,
                          store_label=f"demo store (sandbox at {env.sandbox.url})",
                          terminal_consent=SandboxConsent(env.sandbox.url))
    return services, env.close


__all__ = ["DEMO_PASSPHRASE", "DemoEnv", "SandboxConsent", "start_demo", "tui_services"]
