"""`SandboxAdmin`: a small synchronous client of the sandbox's /__sandbox/ admin API.

Test and demo tooling, not core: it uses its own httpx client. `consent()` drives the consent
page the way a browser would (GET the page, read the form, POST it) and returns the redirect
`Location`, so end-to-end tests exercise the same HTML a person clicks through.
"""

from __future__ import annotations

import html.parser
import json
import re
import urllib.parse
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import httpx

from igtui.sandbox.server import admin_token_for


class SandboxAdminError(Exception):
    """The admin API refused a request; `status` and `message` say why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"sandbox admin {status}: {message}")
        self.status = status
        self.message = message


class SandboxConsentError(Exception):
    """The consent page showed an error instead of a form (Invalid platform app, …)."""

    def __init__(self, status: int, error_message: str, body: dict[str, Any] | None) -> None:
        super().__init__(error_message)
        self.status = status
        self.error_message = error_message
        self.body = body


class _FormReader(html.parser.HTMLParser):
    """Collects the consent form's action and the fields a browser would submit."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: list[tuple[str, str]] = []
        self.options: list[str] = []
        self.grants: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Note the form's action, its hidden fields, the ticked scopes and the user choices."""
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.fields.append((a.get("name", ""), a.get("value", "")))
        elif tag == "input" and a.get("type") == "checkbox" and "checked" in a:
            self.grants.append(a.get("value", ""))
        elif tag == "option":
            self.options.append(a.get("value", ""))


class SandboxAdmin:
    """Synchronous admin client.

    Args:
        base_url: The sandbox origin, e.g. `Sandbox.url`.
        token: The run's admin token: `Sandbox.admin_token`, or what `igtui sandbox` printed
            (or wrote to `--admin-token-file`). It is sent only to the admin API, as
            `Authorization: Bearer …`. None means the token of the sandbox running in this
            process at exactly `base_url` (`server.admin_token_for`), if there is one; with
            no token every admin call is refused with 401 and only `consent()` (Meta's own
            pages, as a browser opens them) works.
        timeout: Seconds per request.
    """

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        if token is None:
            token = admin_token_for(self.base_url)
        self._auth = {} if token is None else {"Authorization": f"Bearer {token}"}
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, follow_redirects=False)

    def __repr__(self) -> str:
        return f"SandboxAdmin({self.base_url!r}, token={'***' if self._auth else None})"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> SandboxAdmin:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        payload = None if body is None else {k: v for k, v in body.items() if v is not None}
        response = self._http.request(method, "/__sandbox/" + path, json=payload,
                                      headers=self._auth)
        try:
            data = response.json()
        except json.JSONDecodeError as exc:
            # The Host refusal (421) is plain text: say what the sandbox said.
            raise SandboxAdminError(response.status_code,
                                    response.text.strip()[:300] or "not JSON") from exc
        if response.status_code >= 400:
            raise SandboxAdminError(response.status_code, str(data.get("error", data)))
        return data

    # ── state and clock ──────────────────────────────────────────────────────────

    def state(self) -> dict[str, Any]:
        """Apps, clock, counts and knobs (`GET /__sandbox/state`)."""
        return dict(self._call("GET", "state"))

    def reset(self) -> dict[str, Any]:
        """Back to the initial world, with counters and clock offset cleared."""
        return dict(self._call("POST", "reset", {}))

    def shift_clock(self, seconds: float) -> dict[str, Any]:
        """Move sandbox time forward (or back): `{"now", "clock_offset"}`."""
        return dict(self._call("POST", "clock/shift", {"seconds": seconds}))

    def set_clock(self, at: float | str) -> dict[str, Any]:
        """Make sandbox time read `at` (epoch seconds or ISO 8601)."""
        return dict(self._call("POST", "clock/set", {"at": at}))

    # ── apps, accounts, tokens ───────────────────────────────────────────────────

    def create_app(
        self,
        platform: str,
        app_id: str,
        secret: str,
        redirect_uris: Sequence[str],
        *,
        name: str | None = None,
        shape: str = "observed",
        refresh_mode: str = "new_keep_old",
        omit_expires_in: bool = False,
        budget: int | None = None,
    ) -> dict[str, Any]:
        """Register a Meta app in the sandbox; returns its public description (no secret)."""
        return dict(self._call("POST", "apps", {
            "platform": platform, "app_id": app_id, "secret": secret,
            "redirect_uris": list(redirect_uris), "name": name, "shape": shape,
            "refresh_mode": refresh_mode, "omit_expires_in": omit_expires_in, "budget": budget,
        }))

    def update_app(self, app_id: str, **knobs: Any) -> dict[str, Any]:
        """Change knobs: shape, refresh_mode, omit_expires_in, budget, redirect_uris, name, secret."""
        return dict(self._call("POST", "apps/update", {"app_id": app_id, **knobs}))

    def create_accounts(self, app_id: str, count: int, prefix: str = "user", *,
                        issue: str | None = None, age_seconds: int = 0) -> list[dict[str, Any]]:
        """Create `count` users for the app; with `issue` (a token kind) also mint a token each."""
        data = self._call("POST", "accounts", {"app_id": app_id, "count": count,
                                               "prefix": prefix, "issue": issue,
                                               "age_seconds": age_seconds})
        return list(data["accounts"])

    def create_users(self, app_id: str, usernames: Sequence[str], *, name: str | None = None,
                     account_type: str | None = None) -> list[dict[str, Any]]:
        """Create users with exact (possibly hostile) usernames, e.g. for injection tests."""
        data = self._call("POST", "accounts", {"app_id": app_id, "usernames": list(usernames),
                                               "name": name, "account_type": account_type})
        return list(data["accounts"])

    def issue_token(self, app_id: str, username: str, kind: str | None = None,
                    age_seconds: int = 0, *, scopes: Sequence[str] | None = None) -> dict[str, Any]:
        """Mint a token without the browser flow: `access_token`, `expires_at`, ids, scopes…

        `kind` is ig_short, ig_long, fb_short, fb_user or fb_page; None means the platform's
        long-lived kind (ig_long or fb_user). `age_seconds` back-dates the issue time.
        """
        return dict(self._call("POST", "tokens", {
            "app_id": app_id, "username": username, "kind": kind, "age_seconds": age_seconds,
            "scopes": None if scopes is None else list(scopes),
        }))

    def token_info(self, token: str) -> dict[str, Any]:
        """What the sandbox knows about a token (valid, expires_at, error_subcode…)."""
        return dict(self._call("POST", "token_info", {"token": token}))

    # ── knobs ────────────────────────────────────────────────────────────────────

    def revoke(self, target: str, subcode: int = 460) -> dict[str, Any]:
        """Revoke a token, or every current token of a username (458, 459, 460, 463, 464, 467, 492)."""
        return dict(self._call("POST", "revoke", {"target": target, "subcode": subcode}))

    def expire(self, target: str) -> dict[str, Any]:
        """Make a token (or all of a user's tokens) expired as of now."""
        return dict(self._call("POST", "expire", {"target": target}))

    def throttle(self, app_id: str, code: int = 4, minutes: float = 10,
                 username: str | None = None) -> dict[str, Any]:
        """Throttle an app (code 4) or its Instagram BUC (80002, optionally one user)."""
        return dict(self._call("POST", "throttle", {"app_id": app_id, "code": code,
                                                    "minutes": minutes, "username": username}))

    def unthrottle(self, app_id: str) -> dict[str, Any]:
        """Lift the app's throttle."""
        return dict(self._call("POST", "unthrottle", {"app_id": app_id}))

    def set_usage(self, app_id: str, *, calls: int | None = None,
                  budget: int | None = None) -> dict[str, Any]:
        """Set the app's call counter and/or budget, e.g. to show 80 % or 95 % usage."""
        return dict(self._call("POST", "usage", {"app_id": app_id, "calls": calls,
                                                 "budget": budget}))

    def fail_next(self, status: int = 500, count: int = 1, path: str | None = None,
                  body: str | dict[str, Any] = "html", *, delay: float = 0.0,
                  kind: str | None = None) -> dict[str, Any]:
        """Fail the next `count` requests (under `path`): html | truncated | graph | empty | pass | JSON.

        `kind` instead sends one of the 5xx answers Meta itself gives, with its own status (so
        `status` and `body` are ignored): "500_code1" (code 1, served as text/javascript),
        "500_code1_sub99" (code 1, subcode 99, no type, no fbtrace_id), "500_code2_transient"
        (code 2, `is_transient: true`) or "502_html" (Meta's "Sorry, something went wrong." page).
        """
        if kind is not None:
            return dict(self._call("POST", "fail_next", {"kind": kind, "count": count, "path": path,
                                                         "delay": delay or None}))
        return dict(self._call("POST", "fail_next", {"status": status, "count": count,
                                                     "path": path, "body": body,
                                                     "delay": delay or None}))

    def block_app(self, app_id: str, kind: str = "data_use_checkup") -> dict[str, Any]:
        """Meta acts on the app: every Graph call with any token of it (refresh, /me, debug_token,
        the exchanges) fails with Meta's error for `kind` until `unblock_app`.

        Kinds: data_use_checkup, restricted, disabled, inactive, not_live, invalid_app (deleted).
        Returns the app's admin view (`blocked` names the kind).
        """
        return dict(self._call("POST", "block_app", {"app_id": app_id, "kind": kind}))

    def unblock_app(self, app_id: str) -> dict[str, Any]:
        """Undo `block_app`: the app's tokens work again (those still valid on their own)."""
        return dict(self._call("POST", "unblock_app", {"app_id": app_id}))

    def trace_ids(self, style: str) -> dict[str, Any]:
        """fbtrace_id style: "legacy" (11-char base64 with + or /, JSON-escaped `\\/`),
        "modern" (URL-safe, up to 26 chars) or "mixed" (the default; one in three legacy, by seed)."""
        return dict(self._call("POST", "trace_ids", {"style": style}))

    def calls(self) -> dict[str, int]:
        """Requests seen per endpoint (e.g. `calls()["refresh_access_token"]`), errors included."""
        return {k: int(v) for k, v in self._call("GET", "calls")["calls"].items()}

    def ok_calls(self) -> dict[str, int]:
        """Requests per endpoint that got a 2xx/3xx answer."""
        return {k: int(v) for k, v in self._call("GET", "calls")["ok"].items()}

    def reset_calls(self) -> None:
        """Zero the per-endpoint request counters, to count one step of a test on its own."""
        self._call("POST", "calls/reset", {})

    # ── consent, like a browser ──────────────────────────────────────────────────

    def consent_users(self, authorize_url: str) -> list[str]:
        """The users the consent page offers to log in as (GET it, read its choices, as a person would).

        Empty when the page has a free text field instead (more than `consent.MAX_USER_OPTIONS` users).

        Raises:
            SandboxConsentError: the page showed an error (bad client_id, redirect_uri, scope).
        """
        return list(self._consent_form(authorize_url).options)

    def _consent_form(self, authorize_url: str) -> _FormReader:
        split = urllib.parse.urlsplit(authorize_url)
        page = self._http.get(split.path + ("?" + split.query if split.query else ""))
        if page.status_code != 200:
            raise _consent_error(page)
        reader = _FormReader()
        reader.feed(page.text)
        if reader.action is None:
            raise SandboxConsentError(page.status_code, "no consent form on the page", None)
        return reader

    def consent(self, authorize_url: str, username: str, decision: str = "allow", *,
                grant: Sequence[str] | None = None) -> str:
        """GET the consent page, POST its form as `username`; returns the redirect Location.

        Args:
            authorize_url: The URL igtui built (its path and query are sent to this sandbox).
            username: Sandbox user to log in as.
            decision: "allow" or "deny".
            grant: Scopes to leave ticked (default: all the page offers).

        Raises:
            SandboxConsentError: the page showed an error (bad client_id, redirect_uri, scope).
        """
        reader = self._consent_form(authorize_url)
        assert reader.action is not None
        fields = list(reader.fields)
        chosen = reader.grants if grant is None else [g for g in reader.grants if g in grant]
        fields += [("grant", g) for g in chosen]
        fields += [("username", username), ("decision", decision)]
        answer = self._http.post(reader.action, data=_multi(fields))
        if answer.status_code != 302:
            raise _consent_error(answer)
        return answer.headers["location"]


def open_redirect(location: str, *, timeout: float = 10.0) -> int:
    """GET a consent redirect's `Location` as the browser would next, and return the status.

    For a loopback redirect this is what delivers the code to igtui's listener. It goes out with no
    admin token, no proxy from the environment (a proxy would receive the code) and no redirect
    followed; httpx, like a browser, never sends the URL's fragment (Instagram's `#_`).

    Raises:
        OSError: nothing answered there (a refused connection, a timeout).
    """
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            return client.get(location).status_code
    except httpx.TransportError as exc:
        raise OSError(f"nothing answered the redirect ({type(exc).__name__})") from None


def _multi(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in fields:
        out.setdefault(key, []).append(value)
    return out


def _consent_error(response: httpx.Response) -> SandboxConsentError:
    match = re.search(r'<pre id="oauth-error">(.*?)</pre>', response.text, re.S)
    body: dict[str, Any] | None = None
    message = f"HTTP {response.status_code}"
    if match:
        import html as _html

        try:
            body = json.loads(_html.unescape(match.group(1)))
            message = str(body.get("error_message", message)) if body else message
        except json.JSONDecodeError:
            pass
    return SandboxConsentError(response.status_code, message, body)
