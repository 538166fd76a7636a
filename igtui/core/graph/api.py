"""MetaApi: the typed Meta calls igtui makes, for one app, on either login platform.

Each method knows its endpoint (authorize, code exchange, long-lived exchange, refresh,
introspection: one per step of each platform's login), sends secrets only as `Secret` through
GraphClient, and turns Meta's loosely typed replies into models. Meta's documented shapes and
its real ones differ (a `data[0]` wrapper or a flat object, ids as numbers or strings,
permissions as a list or a comma string, `expires_in` sometimes missing), so every parser here
accepts all of them. Every token Meta hands back is checked before anyone sees it
(`check_token`): an empty, absurdly long or non-ASCII "token" is an error, not a login, so it
can never be stored over a good one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

from igtui.core.clock import from_epoch
from igtui.core.errors import ApiError, UsageError
from igtui.core.graph.client import GraphClient, GraphResponse
from igtui.core.graph.hosts import Hosts
from igtui.core.graph.redact import redact_text
from igtui.core.ints import parse_int
from igtui.core.models import App, DebugTokenInfo, PageAccount, Profile, TokenGrant
from igtui.core.safetext import plain
from igtui.core.secret import Secret

TOKEN_MIN_LENGTH = 16
TOKEN_MAX_LENGTH = 2048
MAX_EXPIRES_IN = 10 * 365 * 86400
MAX_PAGES = 10
"""How many /me/accounts pages to follow: a loop in paging.next must not spin forever."""

_IG_ME_FIELDS = "id,user_id,username,account_type,name"
_FB_ME_FIELDS = "id,name"
_PAGES_FIELDS = "id,name,access_token,instagram_business_account{id,username}"


def _unusable(what: str = "token") -> ApiError:
    return ApiError(f"Meta returned an unusable {what}")


def check_token(value: Any) -> Secret:
    """`value` as a Secret if it looks like a token: 16..2048 printable ASCII, no spaces.

    Raises:
        ApiError: "Meta returned an unusable token".
    """
    if (
        not isinstance(value, str)
        or not TOKEN_MIN_LENGTH <= len(value) <= TOKEN_MAX_LENGTH
        or not all("!" <= ch <= "~" for ch in value)
    ):
        raise _unusable()
    return Secret(value)


def check_expires_in(value: Any) -> int | None:
    """Seconds until expiry if sane (0 < x <= 10 years); anything else means unknown (None).

    Never raises: an `expires_in` of "²", "nan" or 1e300 next to a good token must not cost
    the token (Meta may already have retired the old one); the caller stores it with its
    expiry unknown instead. Parsed by `parse_int`, so only ASCII digits count.
    """
    return parse_int(value, lo=1, hi=MAX_EXPIRES_IN)


def _id(value: Any) -> str | None:
    """Meta's number-or-string ids, as str (big ints stay exact: Python's json keeps them)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value) if value >= 0 else None
    if isinstance(value, str):
        text = value.strip()
        if 0 < len(text) <= 64 and text.isprintable() and " " not in text:
            return text
    return None


MAX_EPOCH = 32_503_680_000
"""3000-01-01 UTC. Larger "timestamps" are not Meta's; `datetime` itself stops at year 9999, so
an unbounded epoch would raise out of `from_epoch` (and later out of date arithmetic)."""


def _epoch(value: Any) -> int | None:
    """A Unix time from debug_token (number, numeric string or integral float), else None."""
    return parse_int(value, lo=0, hi=MAX_EPOCH, floats=True)


def _code(value: Any) -> int | None:
    """A Graph error code or subcode inside debug_token's `error` (non-negative), else None."""
    return parse_int(value, lo=0)


def _str(value: Any, limit: int = 256) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value[:limit]


def _scopes(value: Any) -> tuple[str, ...]:
    """Permissions as a list or as a comma (or space) separated string."""
    if isinstance(value, str):
        items: list[Any] = value.replace(" ", ",").split(",")
    elif isinstance(value, list):
        items = value
    else:
        return ()
    out: list[str] = []
    for item in items:
        if isinstance(item, dict):  # /me/permissions style {"permission": ..., "status": ...}
            item = item.get("permission") if item.get("status", "granted") == "granted" else None
        if isinstance(item, str) and item.strip() and item.strip() not in out:
            out.append(item.strip()[:128])
    return tuple(out)


def _unwrap(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The object itself, from `{"data": [{...}]}`, `{"data": {...}}` or a flat reply."""
    data = body.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return data[0]
    if isinstance(data, dict):
        return data
    return body


def _grant(body: Mapping[str, Any]) -> TokenGrant:
    obj = _unwrap(body)
    token_type = obj.get("token_type")
    return TokenGrant(
        access_token=check_token(obj.get("access_token")),
        expires_in=check_expires_in(obj.get("expires_in")),
        token_type=token_type[:32] if isinstance(token_type, str) else None,
        user_id=_id(obj.get("user_id")),
        permissions=_scopes(obj.get("permissions")),
    )


class MetaApi:
    """Typed Meta calls for one app.

    Args:
        client: The HTTP door.
        app: The app; its platform picks the endpoints, its base_url the hosts.
    """

    def __init__(self, client: GraphClient, app: App) -> None:
        self._client = client
        self._app = app
        self._hosts = Hosts(app.base_url)
        self._version = app.graph_version.strip("/")

    @property
    def hosts(self) -> Hosts:
        """The Meta origins this app's calls go to (one origin for all five under a base-URL override)."""
        return self._hosts

    @property
    def _instagram(self) -> bool:
        return self._app.platform == "instagram"

    async def _call(self, method: str, url: str, *, params: Mapping[str, Any] | None = None,
                    data: Mapping[str, Any] | None = None, idempotent: bool | None = None,
                    account: str | None = None) -> GraphResponse:
        return await self._client.request(method, url, params=params, data=data, idempotent=idempotent,
                                          app_name=self._app.name, account=account)

    def authorize_url(self, *, state: Secret, scopes: Sequence[str], redirect_uri: str) -> str:
        """The consent page URL (no HTTP). The state travels in it; the caller stores its hash."""
        if self._instagram:
            base = f"{self._hosts.www_instagram}/oauth/authorize"
            query = {
                "client_id": self._app.app_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": ",".join(scopes),
                "state": state.reveal(),
            }
        else:
            base = f"{self._hosts.www_facebook}/{self._version}/dialog/oauth"
            query = {
                "client_id": self._app.app_id,
                "redirect_uri": redirect_uri,
                "state": state.reveal(),
                "response_type": "code",
                "scope": ",".join(scopes),
            }
        return f"{base}?{urlencode(query)}"

    async def exchange_code(self, *, code: Secret, redirect_uri: str, secret: Secret) -> TokenGrant:
        """Trade the one-time code for a short-lived token. Never retried: a code is single-use."""
        if self._instagram:
            response = await self._call(
                "POST",
                f"{self._hosts.api_instagram}/oauth/access_token",
                data={
                    "client_id": self._app.app_id,
                    "client_secret": secret,
                    "grant_type": "authorization_code",
                    "redirect_uri": redirect_uri,
                    "code": code,
                },
                idempotent=False,
            )
        else:
            response = await self._call(
                "GET",
                f"{self._hosts.graph_facebook}/{self._version}/oauth/access_token",
                params={
                    "client_id": self._app.app_id,
                    "redirect_uri": redirect_uri,
                    "client_secret": secret,
                    "code": code,
                },
                idempotent=False,
            )
        return _grant(response.json)

    async def long_lived(self, *, short: Secret, secret: Secret) -> TokenGrant:
        """Exchange a short-lived token for a long-lived one (ig_exchange_token / fb_exchange_token)."""
        if self._instagram:
            response = await self._call(
                "GET",
                f"{self._hosts.graph_instagram}/access_token",
                params={"grant_type": "ig_exchange_token", "client_secret": secret, "access_token": short},
            )
        else:
            response = await self._call(
                "GET",
                f"{self._hosts.graph_facebook}/{self._version}/oauth/access_token",
                params={
                    "grant_type": "fb_exchange_token",
                    "client_id": self._app.app_id,
                    "client_secret": secret,
                    "fb_exchange_token": short,
                },
            )
        return _grant(response.json)

    async def refresh(self, *, token: Secret, account: str | None = None) -> TokenGrant:
        """Refresh an Instagram Login long-lived token (Facebook Login has no refresh endpoint).

        Raises:
            UsageError: the app uses Facebook Login.
        """
        if not self._instagram:
            raise UsageError("Facebook Login tokens cannot be refreshed: log in again")
        # Never retried by the client: if a reply is lost after Meta issued a new token (and
        # perhaps invalidated the old one), a blind retry answers 190 and hides what happened.
        # The refresh engine owns that case (its intent record), so one attempt per call.
        response = await self._call(
            "GET",
            f"{self._hosts.graph_instagram}/refresh_access_token",
            params={"grant_type": "ig_refresh_token", "access_token": token},
            idempotent=False,
            account=account,
        )
        return _grant(response.json)

    async def me(self, *, token: Secret, account: str | None = None) -> Profile:
        """Who the token belongs to. Instagram: both ids (`id` app-scoped, `user_id` the IG id)."""
        if self._instagram:
            url = f"{self._hosts.graph_instagram}/{self._version}/me"
            fields = _IG_ME_FIELDS
        else:
            url = f"{self._hosts.graph_facebook}/{self._version}/me"
            fields = _FB_ME_FIELDS
        response = await self._call("GET", url, params={"fields": fields, "access_token": token}, account=account)
        obj = _unwrap(response.json)
        ident = _id(obj.get("id"))
        if ident is None:
            raise ApiError("Meta's /me reply has no usable id")
        name = _str(obj.get("name"))
        username = _str(obj.get("username")) or (name if not self._instagram else None)
        if username is None:
            raise ApiError("Meta's /me reply has no username")
        account_type = _str(obj.get("account_type"), 64)
        return Profile(id=ident, user_id=_id(obj.get("user_id")), username=username,
                       account_type=account_type, name=name)

    async def debug_token(self, *, token: Secret, secret: Secret, account: str | None = None) -> DebugTokenInfo:
        """Facebook's token introspection: expiry (0 = never), data-access expiry, granular scopes."""
        app_token = Secret(f"{self._app.app_id}|{secret.reveal()}")
        response = await self._call(
            "GET",
            f"{self._hosts.graph_facebook}/{self._version}/debug_token",
            params={"input_token": token, "access_token": app_token},
            account=account,
        )
        obj = _unwrap(response.json)
        expires = _epoch(obj.get("expires_at"))
        data_access = _epoch(obj.get("data_access_expires_at"))
        issued = _epoch(obj.get("issued_at"))
        granular: list[tuple[str, tuple[str, ...]]] = []
        raw_granular = obj.get("granular_scopes")
        for entry in raw_granular if isinstance(raw_granular, list) else ():
            if isinstance(entry, dict) and isinstance(entry.get("scope"), str):
                targets = entry.get("target_ids")
                ids = tuple(t for t in (_id(x) for x in targets) if t) if isinstance(targets, list) else ()
                granular.append((entry["scope"][:128], ids))
        raw_error = obj.get("error")
        error = raw_error if isinstance(raw_error, dict) else {}
        message = error.get("message")
        kind = obj.get("type")
        return DebugTokenInfo(
            is_valid=obj.get("is_valid") is True,
            type=kind[:32] if isinstance(kind, str) else None,
            app_id=_id(obj.get("app_id")),
            user_id=_id(obj.get("user_id")),
            expires_at=from_epoch(expires) if expires else None,
            never_expires=expires == 0,
            data_access_expires_at=from_epoch(data_access) if data_access else None,
            issued_at=from_epoch(issued) if issued else None,
            scopes=_scopes(obj.get("scopes")),
            granular_scopes=tuple(granular),
            error_code=_code(error.get("code")),
            error_subcode=_code(error.get("subcode", error.get("error_subcode"))),
            error_message=plain(redact_text(message), limit=200) if isinstance(message, str) else None,
        )

    async def pages(self, *, token: Secret, account: str | None = None) -> list[PageAccount]:
        """The user's Pages (/me/accounts) with their linked Instagram business accounts.

        Follows `paging.next` at most MAX_PAGES times, and only on the Graph origin itself: the
        next URL carries the token, so it must not be sent anywhere else.
        """
        origin = self._hosts.graph_facebook
        url: str | None = f"{origin}/{self._version}/me/accounts"
        params: dict[str, Any] | None = {"fields": _PAGES_FIELDS, "access_token": token}
        out: list[PageAccount] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            assert url is not None
            response = await self._call("GET", url, params=params, account=account)
            data = response.json.get("data")
            for page in data if isinstance(data, list) else ():
                parsed = _page(page)
                if parsed is not None and parsed.page_id not in seen:
                    seen.add(parsed.page_id)
                    out.append(parsed)
            url = _next_page(response.json, origin)
            # Meta's next URL carries the token itself; add it only if this one does not.
            params = None if url is None or "access_token=" in url else {"access_token": token}
            if url is None:
                break
        return out


def _page(page: Any) -> PageAccount | None:
    if not isinstance(page, dict):
        return None
    page_id = _id(page.get("id"))
    if page_id is None:
        return None
    try:
        page_token = check_token(page["access_token"]) if "access_token" in page else None
    except ApiError:
        page_token = None  # not a usable token: not handed over; the user token still works for IG calls
    ig = page.get("instagram_business_account")
    ig = ig if isinstance(ig, dict) else {}
    return PageAccount(
        page_id=page_id,
        page_name=_str(page.get("name")) or page_id,
        page_token=page_token,
        ig_user_id=_id(ig.get("id")),
        ig_username=_str(ig.get("username")),
    )


def _next_page(body: Mapping[str, Any], origin: str) -> str | None:
    paging = body.get("paging")
    nxt = paging.get("next") if isinstance(paging, dict) else None
    if not isinstance(nxt, str) or len(nxt) > 8192:
        return None
    try:
        want, got = urlsplit(origin), urlsplit(nxt)
        same = (got.scheme, got.hostname, got.port) == (want.scheme, want.hostname, want.port)
    except ValueError:
        return None
    return nxt if same else None


__all__ = ["MAX_PAGES", "MetaApi", "check_expires_in", "check_token"]
