"""LoginFlow: authorize URL → validated callback → code exchange → long-lived token → profile → store.

Two platforms, one shape:

* Instagram Login: POST the code (never retried: a code is single use), exchange the short token
  with `ig_exchange_token`, call `/me` for both ids, save one `IG_LONG` account.
* Facebook Login: exchange the code, `fb_exchange_token` (its `expires_in` may be missing), then
  `debug_token` for the real expiry, data-access expiry and granular scopes, then `/me/accounts`
  for the Instagram business accounts behind the user's Pages: one login can add several accounts,
  each holding the long-lived *user* token (`FB_USER`), which is what IG endpoints take.

The pending flow is consumed *before* the code is used, so a replayed URL can never reach Meta
twice. Once the code exchange may have reached Meta (any reply, or a failure after the request
was sent: a read timeout, a broken connection), the code may be spent and the flow stays used:
the user starts again, with a new state. A failure that certainly happened before the request
left this machine (DNS, a refused connection, a connect timeout, a TLS handshake) gives the flow
back, so the same redirect URL can be finished again once the network is back.

Every store call in the async paths runs in a worker thread (`asyncio.to_thread`): a store write
waits for SQLite's write lock, which another process may hold for seconds, and the TUI's event
loop must keep drawing meanwhile.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from igtui.core.clock import Clock
from igtui.core.errors import CallbackRejected, ConsentDenied, IgtuiError, NetworkError, OAuthError
from igtui.core.models import Account, App, DebugTokenInfo, PendingFlow, Profile, TokenGrant, TokenKind
from igtui.core.oauth.callback import Callback, parse_callback
from igtui.core.safetext import plain
from igtui.core.secret import Secret

if TYPE_CHECKING:
    from igtui.core.delivery.deliver import Deliverer, Delivery
    from igtui.core.graph.api import MetaApi
    from igtui.core.graph.client import GraphClient
    from igtui.core.store import Store

STEPS = ("url_issued", "waiting_for_consent", "code_received", "exchanged", "long_lived", "profile", "saved")
"""Every step `on_step` reports, in order (the CLI and the TUI show them)."""

STATE_BYTES = 32
"""secrets.token_urlsafe(32): 256 bits, twice the 128-bit floor."""

MAX_TOKEN_LENGTH = 4096

StepCallback = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class StartedLogin:
    """What `LoginFlow.start` hands back.

    Attributes:
        authorize_url: The consent URL to open (it carries the state: show it to the user only).
        state_expires_at: When the pending flow stops being accepted.
        flow: The pending flow as stored (its state is stored only as a hash).
        state: The state value, kept in memory so the loopback listener can match it.
        redirect_uri: The redirect URI this login uses.
    """

    authorize_url: str
    state_expires_at: datetime
    flow: PendingFlow
    state: Secret
    redirect_uri: str


def _noop(step: str) -> None:
    return


def check_token(grant: TokenGrant, what: str) -> Secret:
    """Refuse an empty, oversized or non-ASCII token before it is stored.

    An empty or malformed "token" in a 200 reply must never replace a good token nor count as a
    login: the caller keeps what it had.
    """
    value = grant.access_token.reveal() if grant.access_token is not None else ""
    if not value:
        raise OAuthError(f"Meta returned no {what}; nothing was saved")
    if len(value) > MAX_TOKEN_LENGTH or not value.isascii() or not value.isprintable() or " " in value:
        raise OAuthError(f"Meta returned a malformed {what}; nothing was saved")
    return grant.access_token


def choose_redirect_uri(app: App, requested: str | None = None) -> str:
    """The redirect URI to use: the one asked for (it must be registered) or the app's first."""
    if not app.redirect_uris:
        raise OAuthError(f"app {plain(app.name)} has no redirect URI; add one with `igtui app edit`")
    if requested is None:
        return app.redirect_uris[0]
    if requested not in app.redirect_uris:
        raise CallbackRejected(
            f"{plain(requested, limit=120)} is not a registered redirect URI of app {plain(app.name)}"
        )
    return requested


class LoginFlow:
    """Runs one or more logins against one store.

    Args:
        store: The unlocked store (pending flows, app secrets, accounts).
        client: The HTTP door; only `finish` uses it (None is fine for `start` alone).
        clock: Time for expiries.
        delivery: Pushes a saved login's token to the account's sinks (None: no sinks, as in
            tests that build a flow alone); `Session.login_flow` always gives one.
        trigger: What the deliveries' history rows name as their cause ("cli" or "tui").
    """

    def __init__(self, store: Store, client: GraphClient | None, clock: Clock, *,
                 delivery: Deliverer | None = None, trigger: str = "cli") -> None:
        self.store = store
        self.client = client
        self.clock = clock
        self.delivery = delivery
        self.trigger = trigger
        self.last_deliveries: list[Delivery] = []
        """The sink deliveries of the latest `finish` (the CLI prints the failures)."""

    # -- start -----------------------------------------------------------------------------------

    def start(
        self,
        app_name: str,
        scopes: Sequence[str] | None = None,
        *,
        redirect_uri: str | None = None,
        on_step: StepCallback | None = None,
    ) -> StartedLogin:
        """Create a pending flow and its authorize URL (no HTTP).

        Args:
            app_name: The registered app.
            scopes: Scopes to ask for; None means the app's defaults.
            redirect_uri: One of the app's redirect URIs; None means its first.
        """
        from igtui.core.graph.api import MetaApi

        app = self.store.get_app(app_name)
        uri = choose_redirect_uri(app, redirect_uri)
        if scopes:
            from igtui.core.scopes import validate_scopes

            # A typo'd scope would only surface on Meta's page; refuse it here with the fix.
            wanted = validate_scopes(app.platform, scopes)
        else:
            wanted = tuple(app.scopes)
        state = Secret(secrets.token_urlsafe(STATE_BYTES))
        flow = self.store.add_pending_flow(app_name=app.name, state=state, redirect_uri=uri, scopes=wanted)
        # authorize_url builds a URL and sends nothing, so `login start` may have no client (None).
        url = MetaApi(self.client, app).authorize_url(state=state, scopes=wanted, redirect_uri=uri)  # type: ignore[arg-type]
        (on_step or _noop)("url_issued")
        return StartedLogin(
            authorize_url=url, state_expires_at=flow.expires_at, flow=flow, state=state, redirect_uri=uri
        )

    # -- finish ----------------------------------------------------------------------------------

    def validate(self, url_or_code: str) -> Callback:
        """Structural checks only (no state lookup, nothing consumed)."""
        pending = self.store.list_pending_flows()
        uris = sorted({uri for app in self.store.list_apps() for uri in app.redirect_uris})
        return parse_callback(url_or_code, pending=pending, redirect_uris=uris)

    def _consume(self, callback: Callback) -> PendingFlow:
        """Take the pending flow the callback belongs to, exactly once.

    A wrong or replayed state, or an expired flow, finds nothing; two logins in flight each get
    their own flow, so their tokens can never be stored against each other's account.
    """
        if callback.state is None:
            pending = self.store.take_only_pending_flow()
            if len(pending) != 1:
                raise CallbackRejected("a bare code needs exactly one pending login; paste the whole URL instead")
            taken = self.store.take_pending_flow_by_id(pending[0].id)
        else:
            taken = self.store.take_pending_flow(callback.state)
        if taken.redirect_uri != callback.redirect_uri:
            raise CallbackRejected("the URL's redirect does not match the login it belongs to; start the login again")
        return taken

    def _end_denied(self, exc: Exception) -> None:
        """A denial or redirect error ends its flow; one for no pending flow is refused as such.

        Raises:
            CallbackRejected / FlowExpired: the redirect's state names no pending login (a replay).
        """
        state = getattr(exc, "state", None)
        if isinstance(state, Secret):
            self.store.take_pending_flow(state)

    async def finish(self, url_or_code: str, *, on_step: StepCallback | None = None) -> list[Account]:
        """Validate the redirect, consume its flow, exchange the code and save the account(s).

        Returns:
            The saved accounts (several for a Facebook login with several linked IG accounts).

        Raises:
            CallbackRejected, ConsentDenied, FlowExpired: the redirect was refused (nothing used).
            ApiError, NetworkError, OAuthError: a Meta step failed; nothing was saved.
        """
        step = on_step or _noop
        refused: Exception | None = None
        try:
            callback = await asyncio.to_thread(self.validate, url_or_code)
        except (ConsentDenied, CallbackRejected) as exc:
            refused = exc
        if refused is not None:
            # A replayed denial is refused here as an unknown state.
            await asyncio.to_thread(self._end_denied, refused)
            raise refused
        flow = await asyncio.to_thread(self._consume, callback)
        step("code_received")
        try:
            app, secret = await asyncio.to_thread(self._app_and_secret, flow.app_name)
        except Exception:
            # Nothing was sent yet (a damaged secret, say): the code is unused, the login pending.
            await asyncio.to_thread(self.give_back, flow, callback.state)
            raise
        if app.platform == "facebook":
            accounts = await self._finish_facebook(app, flow, callback, secret, step)
        else:
            accounts = await self._finish_instagram(app, flow, callback, secret, step)
        await self._deliver(accounts)
        return accounts

    async def _deliver(self, accounts: list[Account]) -> None:
        """A saved login is a new token: push it to the accounts' sinks (igtui.core.delivery).

        The login itself is done and stays done whatever a sink does: a failed delivery is
        recorded on the sink and caught up by the next refresh run.
        """
        self.last_deliveries = []
        if self.delivery is None or not accounts:
            return
        try:
            self.last_deliveries = await asyncio.to_thread(
                self.delivery.deliver_pending, trigger=self.trigger, account_ids=[a.id for a in accounts])
        except IgtuiError as exc:
            if self.delivery.warn is not None:
                self.delivery.warn(f"sinks were not delivered this time: {exc.message}")

    def _app_and_secret(self, app_name: str) -> tuple[App, Secret]:
        app = self.store.get_app(app_name)
        return app, self.store.app_secret(app.name)

    def give_back(self, flow: PendingFlow, state: Secret | None) -> bool:
        """Make a consumed flow pending again, because its code never reached Meta.

        The flow keeps its expiry. With the state (a pasted URL) the same URL finishes it; a bare
        code carried none, so the flow gets a fresh state that nobody knows and the same bare
        code finishes it (it is accepted while exactly one login is pending).

        Returns:
            Whether the flow is pending again (not when it expired meanwhile, or the store failed).
        """
        left = flow.expires_at - self.clock.now()
        if left <= timedelta(0):
            return False
        try:
            self.store.add_pending_flow(
                app_name=flow.app_name,
                state=state if state is not None else Secret(secrets.token_urlsafe(STATE_BYTES)),
                redirect_uri=flow.redirect_uri,
                scopes=flow.scopes,
                ttl=left,
            )
        except IgtuiError:
            return False
        return True

    def _api(self, app: App) -> MetaApi:
        from igtui.core.graph.api import MetaApi

        if self.client is None:
            raise OAuthError("internal: finishing a login needs an HTTP client")
        return MetaApi(self.client, app)

    async def _climb(
        self, api: MetaApi, flow: PendingFlow, callback: Callback, secret: Secret, step: StepCallback
    ) -> tuple[TokenGrant, TokenGrant, Secret]:
        """Code → short-lived → long-lived: the ladder both Meta logins climb first.

        Each rung's token is checked before the next is asked for, so an unusable reply stops
        the login before anything is saved. A code exchange that never left this machine gives
        the flow back (see the module docstring); anything else leaves it used.
        """
        try:
            short = await api.exchange_code(code=callback.code, redirect_uri=flow.redirect_uri, secret=secret)
        except NetworkError as exc:
            if exc.request_sent is not False:
                raise  # it may have reached Meta, which may have spent the code
            pending = await asyncio.to_thread(self.give_back, flow, callback.state)
            if not pending:
                raise
            again = "URL" if callback.state is not None else "code"
            kept = NetworkError(
                f"{exc.message}; Meta never saw the code, so the login is still pending: finish it again "
                f"with the same {again} once the connection works (before {flow.expires_at:%H:%M} UTC)"
            )
            kept.request_sent = False
            raise kept from None
        check_token(short, "short-lived token")
        step("exchanged")
        long = await api.long_lived(short=short.access_token, secret=secret)
        token = check_token(long, "long-lived token")
        step("long_lived")
        return short, long, token

    async def _finish_instagram(
        self, app: App, flow: PendingFlow, callback: Callback, secret: Secret, step: StepCallback
    ) -> list[Account]:
        api = self._api(app)
        short, long, token = await self._climb(api, flow, callback, secret, step)
        profile = await api.me(token=token)
        step("profile")
        now = self.clock.now()
        expires_at = now + timedelta(seconds=long.expires_in) if long.expires_in else None
        account = await asyncio.to_thread(
            self.store.save_login,
            app.name,
            profile,
            kind=TokenKind.IG_LONG,
            token=token,
            issued_at=now,
            expires_at=expires_at,
            expires_known=expires_at is not None,
            scopes=tuple(short.permissions) or tuple(flow.scopes),
            requested_scopes=tuple(flow.scopes),
        )
        step("saved")
        return [account]

    async def _finish_facebook(
        self, app: App, flow: PendingFlow, callback: Callback, secret: Secret, step: StepCallback
    ) -> list[Account]:
        api = self._api(app)
        short, long, token = await self._climb(api, flow, callback, secret, step)
        info = await api.debug_token(token=token, secret=secret)
        if not info.is_valid:
            raise OAuthError("Meta says the new token is not valid; nothing was saved. Log in again")
        pages = await api.pages(token=token)
        linked = [page for page in pages if page.ig_user_id]
        if not linked:
            raise OAuthError(
                "none of this Facebook user's Pages is linked to an Instagram business account "
                "(or business_management was not granted); nothing was saved"
            )
        step("profile")
        now = self.clock.now()
        expires_at, expires_known = _facebook_expiry(now, long, info)

        def save_all() -> list[Account]:
            accounts: list[Account] = []
            for page in linked:
                assert page.ig_user_id is not None
                # id = the IG business account id, no separate app-scoped id on this path.
                profile = Profile(
                    id=page.ig_user_id,
                    user_id=None,
                    username=page.ig_username or page.ig_user_id,
                    account_type="BUSINESS",
                    name=page.page_name,
                )
                accounts.append(
                    self.store.save_login(
                        app.name,
                        profile,
                        kind=TokenKind.FB_USER,
                        token=token,
                        issued_at=now,
                        expires_at=expires_at,
                        expires_known=expires_known,
                        scopes=tuple(info.scopes) or tuple(short.permissions) or tuple(flow.scopes),
                        requested_scopes=tuple(flow.scopes),
                        granular_scopes=tuple(info.granular_scopes),
                        data_access_expires_at=info.data_access_expires_at,
                        page_id=page.page_id,
                    )
                )
            return accounts

        accounts = await asyncio.to_thread(save_all)
        step("saved")
        return accounts


def _facebook_expiry(now: datetime, grant: TokenGrant, info: DebugTokenInfo) -> tuple[datetime | None, bool]:
    """(expires_at, expires_known): `expires_in` first, else debug_token (0 = never), else unknown."""
    if grant.expires_in:
        return now + timedelta(seconds=grant.expires_in), True
    if info.never_expires:
        return None, True
    if info.expires_at is not None:
        return info.expires_at, True
    return None, False


__all__ = ["STEPS", "LoginFlow", "StartedLogin", "check_token", "choose_redirect_uri"]
