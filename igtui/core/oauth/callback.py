"""Validate a redirect URL (pasted by the user or received by the loopback listener) before its code is used.

The authorization code is a bearer credential for one hour, so a URL is checked from the outside
in and refused at the first doubt: size, then normalisation of exactly the things a terminal paste
or Meta adds (whitespace, bracketed-paste markers, a trailing `#_` or `#_=_`), then the redirect
target against the app's registered URIs, then duplicate parameters, then a redirect error, and
only then the `state` and the `code`. Matching `state` to a pending flow is the store's job (it
keeps only a hash); this module only makes sure there is exactly one well-formed value to look up,
and that a bare code is only taken when exactly one flow could own it.

Every refusal is a `CallbackRejected` (or `ConsentDenied`) with one plain line that never repeats
the code or the state.
"""

from __future__ import annotations

import re
import string
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

from igtui.core.errors import CallbackRejected, ConsentDenied
from igtui.core.models import PendingFlow
from igtui.core.safetext import plain
from igtui.core.secret import Secret

MAX_INPUT_BYTES = 4096
"""A real redirect URL is a few hundred bytes; anything past 4 KiB is a mistake or an attack
(a megabyte pasted by accident must not reach a parser or freeze the TUI)."""

MAX_CODE_LENGTH = 1024
MIN_CODE_LENGTH = 16
"""Meta's codes are hundreds of characters; a short word ("hello", "yes") is a mistaken paste."""
MAX_STATE_LENGTH = 256

_PASTE_START = "\x1b[200~"
_PASTE_END = "\x1b[201~"

_CODE_CHARS = frozenset(string.ascii_letters + string.digits + "-._~+/=")
"""RFC 3986 unreserved characters plus base64's `+/=`: what Meta's codes are made of, nothing a
terminal or a URL parser could reinterpret (a NUL, a homoglyph, a 10 KB blob is refused before
it reaches the network)."""

_STATE_CHARS = frozenset(string.ascii_letters + string.digits + "-_")
"""igtui's states come from `secrets.token_urlsafe`; anything else cannot be one of ours."""

_AUTHORIZE_PATHS = re.compile(r"/(oauth/authorize|dialog/oauth)/?$")

_DEFAULT_PORTS = {"http": 80, "https": 443}

PASTE_HINT = "paste the URL your browser was redirected to"

META_FRAGMENTS = ("#_=_", "#_")
"""What Meta appends to a redirect: Facebook Login adds `#_=_`, Instagram Login `#_`, and a URL
copied from the address bar carries it.
They carry nothing, so exactly these are dropped; any other fragment is refused (it could hide an
implicit-flow token or a crafted URL)."""


@dataclass(frozen=True, slots=True)
class Callback:
    """A redirect that passed every structural check; its state still has to match a pending flow.

    Attributes:
        code: The authorization code (single use, one hour).
        state: The echoed state, or None when the user pasted a bare code.
        redirect_uri: The registered redirect URI the URL matched (or the only pending flow's, for a
            bare code); the code exchange must send exactly this string.
    """

    code: Secret
    state: Secret | None
    redirect_uri: str


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    host: str
    port: int | None
    path: str


def _target(url: str) -> _Target | None:
    """The (scheme, host, port, path) of a URL, normalised only where URLs are case-insensitive."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if port is None:
        port = _DEFAULT_PORTS.get(scheme)
    return _Target(scheme, (parts.hostname or "").lower(), port, parts.path or "/")


def normalise(raw: str) -> str:
    """Strip exactly what a paste or Meta adds: bracketed-paste markers, surrounding whitespace, and
    one trailing `#_` (Instagram) or `#_=_` (Facebook), so a URL copied from the address bar works.

    Raises:
        CallbackRejected: The input is empty or over 4 KiB.
    """
    if not isinstance(raw, str):
        raise CallbackRejected("the redirect URL must be text")
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_INPUT_BYTES:
        raise CallbackRejected(f"the pasted text is over {MAX_INPUT_BYTES} bytes; {PASTE_HINT}")
    text = raw.strip()
    # A terminal in bracketed-paste mode wraps the paste in markers; strip one pair, in any
    # nesting with whitespace, and nothing else.
    if text.startswith(_PASTE_START):
        text = text[len(_PASTE_START) :]
    if text.endswith(_PASTE_END):
        text = text[: -len(_PASTE_END)]
    text = text.strip()
    for fragment in META_FRAGMENTS:
        if text.endswith(fragment):
            text = text[: -len(fragment)]
            break
    if not text:
        raise CallbackRejected(f"nothing was pasted; {PASTE_HINT}")
    return text


def _check_ascii(text: str) -> None:
    """Refuse control characters and non-ASCII anywhere (homoglyphs, NUL, terminal escapes)."""
    if not text.isascii():
        raise CallbackRejected(f"the pasted text contains non-ASCII characters; {PASTE_HINT}")
    if not text.isprintable() or " " in text:
        raise CallbackRejected(f"the pasted text contains spaces or control characters; {PASTE_HINT}")


def check_code(value: str) -> Secret:
    """A code that is safe to send: 16–1024 URL-safe ASCII characters.

    Checked before any network call, so a mistaken paste or a crafted value never reaches Meta.
    """
    if not value:
        raise CallbackRejected("the redirect carries an empty code; start the login again")
    if len(value) < MIN_CODE_LENGTH:
        raise CallbackRejected(f"that is too short to be a code; {PASTE_HINT}")
    if len(value) > MAX_CODE_LENGTH:
        raise CallbackRejected(f"the code is longer than {MAX_CODE_LENGTH} characters; {PASTE_HINT}")
    if not all(ch in _CODE_CHARS for ch in value):
        raise CallbackRejected(f"the code contains characters a Meta code never has; {PASTE_HINT}")
    return Secret(value)


def _check_state(value: str) -> Secret:
    if not value or len(value) > MAX_STATE_LENGTH or not all(ch in _STATE_CHARS for ch in value):
        raise CallbackRejected("the state in the URL does not match any pending login; start the login again")
    return Secret(value)


def _match_redirect(url: str, redirect_uris: Sequence[str]) -> str:
    """The registered URI whose scheme, host, port and path equal the URL's, or a refusal.

    This is what stops a pasted authorize URL, or a redirect to a look-alike host carrying a
    real state and code, before its code is used.
    """
    got = _target(url)
    if got is None or got.scheme not in _DEFAULT_PORTS or not got.host:
        raise CallbackRejected(f"that is not a valid http(s) URL; {PASTE_HINT}")
    for uri in redirect_uris:
        if _target(uri) == got:
            return uri
    if _AUTHORIZE_PATHS.search(got.path):
        raise CallbackRejected(f"that is the login (authorize) URL, not the redirect; {PASTE_HINT}")
    shown = plain(f"{got.scheme}://{got.host}{got.path}", limit=120)
    raise CallbackRejected(
        f"the URL goes to {shown}, which is not a registered redirect URI of a pending login; {PASTE_HINT}"
    )


def _single_params(query: str) -> dict[str, str]:
    """Query parameters, refusing any name that appears twice.

    `?state=a&state=b` is ambiguous: never pick the first.
    """
    try:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=False, max_num_fields=50)
    except ValueError:
        raise CallbackRejected(f"the URL has too many parameters; {PASTE_HINT}") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise CallbackRejected(f"the URL has the parameter '{plain(name, limit=40)}' twice; refusing it")
        params[name] = value
    return params


def _redirect_error(params: dict[str, str], state: Secret | None) -> Exception:
    """Turn a redirect's `error` parameters into ConsentDenied or a plain-text CallbackRejected.

    Meta's `error_description` is shown, but only as plain text: it arrives in a URL anyone can craft.
    """
    from igtui.core.graph.errors import error_from_redirect

    err = error_from_redirect(params)
    if params.get("error") == "access_denied" or isinstance(err, ConsentDenied):
        # Meta's description is attacker-controllable text; the fixed sentence says all that matters.
        exc: ConsentDenied | CallbackRejected = ConsentDenied("the login was denied by the user on Meta's consent page")
    else:
        text = plain(str(err) if err is not None else params.get("error", "unknown"), limit=200)
        exc = CallbackRejected(f"Meta ended the login with an error: {text}")
    # The flow this redirect belongs to should end too; the caller consumes it by this state.
    exc.state = state
    return exc


def parse_callback(raw: str, *, pending: Sequence[PendingFlow], redirect_uris: Sequence[str]) -> Callback:
    """Validate a pasted or received redirect URL (or a bare code) before its code is used.

    Args:
        raw: What the user pasted, or the URL the loopback listener received.
        pending: The unexpired pending flows (a bare code is taken only when there is exactly one).
        redirect_uris: Every redirect URI the URL may legitimately go to (the registered ones).

    Returns:
        The code, the state (None for a bare code) and the matched redirect URI.

    Raises:
        CallbackRejected: Any structural problem, with one plain line and no secret in it.
        ConsentDenied: The user pressed "deny" (`error=access_denied`).
    """
    text = normalise(raw)
    _check_ascii(text)
    if "://" not in text:
        return _bare_code(text, pending)
    redirect_uri = _match_redirect(text, redirect_uris)
    parts = urllib.parse.urlsplit(text)
    if "#" in text:
        # Also a bare '#' (empty fragment): nothing Meta sends, so not waved through.
        raise CallbackRejected("the URL has an unexpected #fragment; paste the URL exactly as the browser shows it")
    if parts.username is not None or parts.password is not None:
        raise CallbackRejected(f"the URL carries a user name or password; {PASTE_HINT}")
    params = _single_params(parts.query)
    state = _check_state(params["state"]) if "state" in params else None
    if "error" in params:
        raise _redirect_error(params, state)
    if "code" not in params:
        raise CallbackRejected(f"the URL has no code in it; {PASTE_HINT}")
    if state is None:
        # igtui always sends a state; a redirect without one was not caused by this igtui.
        raise CallbackRejected("the URL has no state, so it cannot belong to a login igtui started")
    return Callback(code=check_code(params["code"]), state=state, redirect_uri=redirect_uri)


def _bare_code(text: str, pending: Sequence[PendingFlow]) -> Callback:
    """A code pasted on its own: only unambiguous when exactly one flow is waiting for one."""
    if "?" in text or "&" in text or "=" in text.rstrip("="):
        raise CallbackRejected(f"that looks like part of a URL; {PASTE_HINT}")
    code = check_code(text)
    if not pending:
        raise CallbackRejected("no login is pending (or it expired); run `igtui login start APP` first")
    if len(pending) > 1:
        raise CallbackRejected(
            f"{len(pending)} logins are pending, so a bare code is ambiguous; paste the whole URL instead"
        )
    return Callback(code=code, state=None, redirect_uri=pending[0].redirect_uri)


__all__ = [
    "MAX_CODE_LENGTH",
    "MAX_INPUT_BYTES",
    "META_FRAGMENTS",
    "PASTE_HINT",
    "Callback",
    "check_code",
    "normalise",
    "parse_callback",
]
