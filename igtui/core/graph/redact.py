"""Redaction: what the request log, exceptions and log records may show of a URL or text.

Three layers, because redacting at each call site always misses some path (httpx logs the full
URL at INFO, and its exception messages embed it). Key-based rules blank the *values* of
parameters and headers that carry secrets, wherever they appear (query, fragment, form body,
JSON, header lines). Exact-match rules erase every value registered in
`igtui.core.secret.known_secrets()`, which catches a secret that reached some text by a path no
key rule foresaw (a token inside a nested URL, an exception text).

Neither of those knows a secret this process never loaded: a token of another app, or an app
secret typed into some other tool, that Meta echoes back in an error message ("Malformed access
token IGAA…"). So shape rules (`redact_shapes`) erase what *looks* like a credential:

* Meta's token prefixes: `IGAA…` (Instagram Login), `IGQ…` (Basic Display, `IGQV…`/`IGQW…`),
  `EAA…` (Facebook Login), each followed by a long URL-safe run; and a bare `IG…` run long and
  mixed enough to be nothing else;
* a Meta app secret: 32 hex digits standing alone;
* a long URL-safe run right after a word that names a credential (`token`, `secret`, `code`,
  `password`, `passphrase`, `proof`, and key names built on them: `app_secret`, `client_token`…),
  in prose, `key=value` or JSON form.

What must stay readable is bounded on purpose: Instagram ids are digit strings (a digit-only
run is never taken for a credential), and `fbtrace_id`s are 11 characters (legacy, with `+` or
`/`) or at most ~26 URL-safe ones starting with "A": shorter than every token rule's minimum, and
never starting with a token prefix.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping

from igtui.core.secret import known_secrets

MASK = "***"

SECRET_KEYS: frozenset[str] = frozenset(
    {
        "access_token",
        "client_secret",
        "code",
        "fb_exchange_token",
        "input_token",
        "appsecret_proof",
        "state",
        "code_verifier",
        "refresh_token",
        "password",
        "passphrase",
    }
)
"""Parameter names whose values are secrets: tokens, the app secret, codes, `appsecret_proof`
(token plus proof is enough to call the API), `state` and passwords."""

SECRET_HEADERS: frozenset[str] = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
"""Header names whose values are secrets (compared lower-case)."""

_URL_HEADERS = frozenset({"location", "content-location", "referer"})

_KEYS_RE = "|".join(sorted(SECRET_KEYS, key=len, reverse=True))
# A key starts after a non-word character, or right after an encoded '?' or '&' (%3F, %26).
_NOT_WORD_BEFORE = r"(?:(?<![A-Za-z0-9_])|(?<=%3[Ff])|(?<=%26))"
# key=value and key%3Dvalue (a URL nested inside another URL's parameter).
_KV_RE = re.compile(
    _NOT_WORD_BEFORE + r"(" + _KEYS_RE + r")(=|%3[Dd])(?!\*\*\*)((?:(?!%26)[^&\s\"'#<>,;])+)",
    re.IGNORECASE,
)
# "key": "value" (JSON) and 'key': 'value' (Python reprs); an unterminated value (a truncated
# body) is blanked to the end of the text.
_JSON_RE = re.compile(
    r"([\"'])(" + _KEYS_RE + r")\1(\s*:\s*)([\"'])((?:\\.|(?!\4).)*)(?:\4|$)",
    re.IGNORECASE,
)
_HEADER_RE = re.compile(
    r"(?im)^(\s*)(authorization|proxy-authorization|cookie|set-cookie)(\s*:\s*)(.+?)(\r?)$"
)
_SCHEME_RE = re.compile(r"(?i)\b(bearer|oauth)(\s+)(?!\*\*\*)([A-Za-z0-9._~+/=|%-]{16,})")
"""`Bearer <token>` / `OAuth <token>`. Sixteen characters at least: Meta's own prose says "Invalid
OAuth access token", and "access" is a word, not a credential (every real token is far longer)."""


_TOKEN_PREFIX_RE = re.compile(r"(?<![A-Za-z0-9_\-])(?:IGAA|IGQ|EAA)[A-Za-z0-9_\-]{20,}")
"""Meta's token prefixes followed by 20+ URL-safe characters. Real tokens are 150+ characters and
sandbox ones 76, so a token cut short by a body cap is still caught; an fbtrace_id never starts
with these prefixes (modern ones start with "A", legacy ones are 11 characters)."""

_IG_RUN_RE = re.compile(r"(?<![A-Za-z0-9_\-])IG[A-Za-z0-9_\-]{38,}")
"""Any other `IG…` run of 40+ characters (a token prefix Meta may introduce). Only redacted when it
mixes upper case, lower case and digits (see `_looks_random`), so `IGTUI_PASSPHRASE_COMMAND_TIMEOUT`
and the like stay."""

_HEX_SECRET_RE = re.compile(r"(?<![A-Za-z0-9])(?=[0-9]*[A-Fa-f])[0-9A-Fa-f]{32}(?![A-Za-z0-9])")
"""A Meta app secret: exactly 32 hex digits with at least one letter, standing alone (a digit-only
run is an id, and 32 hex inside a longer run belongs to something the other rules judge)."""

_POSITION_RE = re.compile(
    r"(?i)(?<![A-Za-z0-9])"
    r"((?:token|secret|code|password|passphrase|proof)[A-Za-z_]*)"
    r"((?=[\s\"':=%])[\s\"':=]*(?:%3D)?[\s\"']*)"
    r"([A-Za-z0-9][A-Za-z0-9_\-.~+/|%=]{15,})(?<![.=])"
)
"""A 16+ character run right after a word naming a credential (`token`, `access_token`,
`client_secret`, `appsecret_proof`…) and a separator (space, quote, `:` or `=`): the position of a
token. The run must start with a letter or digit (so a path, `/usr/…` or `~/…`, is not taken for a
value) and is judged by `_looks_like_credential` before it is blanked."""

_POSITION_WORDS = ("token", "secret", "code", "password", "passphrase", "proof")


def _looks_random(run: str) -> bool:
    """Upper case, lower case and digits all present: how a random token looks, not a name."""
    return any(c.isdigit() for c in run) and any(c.islower() for c in run) and any(c.isupper() for c in run)


def _looks_like_credential(run: str) -> bool:
    """A run in a token's position that is a value, not a word or an id.

    It needs a letter (a digit-only run is an Instagram id or a code number), and a digit too
    unless it is 24+ characters long (no English word after "token" is that long, while a random
    16-character secret without a digit is rare but possible).
    """
    if not any(c.isalpha() for c in run):
        return False
    return len(run) >= 24 or any(c.isdigit() for c in run)


def _position_sub(match: re.Match[str]) -> str:
    run = match.group(3)
    if run.startswith(MASK) or not _looks_like_credential(run):
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}{MASK}"


def redact_shapes(text: str) -> str:
    """Erase what looks like a Meta credential, held by this process or not (module docstring).

    Cheap enough for every log line: each rule is one regex pass, and the position rule runs only
    when one of its words occurs.
    """
    text = _TOKEN_PREFIX_RE.sub(MASK, text)
    if "IG" in text:
        text = _IG_RUN_RE.sub(lambda m: MASK if _looks_random(m.group(0)) else m.group(0), text)
    text = _HEX_SECRET_RE.sub(MASK, text)
    lowered = text.lower()
    if any(word in lowered for word in _POSITION_WORDS):
        text = _POSITION_RE.sub(_position_sub, text)
    return text


def _redact_pairs(part: str) -> str:
    """Blank the value of each secret key in a query or fragment string, keeping the rest as-is."""
    pieces = part.split("&")
    changed = False
    for index, piece in enumerate(pieces):
        key, eq, _value = piece.partition("=")
        if eq and urllib.parse.unquote_plus(key).strip().lower() in SECRET_KEYS:
            pieces[index] = f"{key}={MASK}"
            changed = True
    return "&".join(pieces) if changed else part


def redact_url(url: str) -> str:
    """The URL with secret query/fragment values (and any userinfo) replaced by '***'.

    Cheap on purpose: it runs on every request for the request log. Unknown keys keep their
    original encoding, so the logged URL still reads like the one sent.
    """
    url = str(url)
    if "?" not in url and "#" not in url and "@" not in url:
        return url
    rest, hash_, fragment = url.partition("#")
    base, qmark, query = rest.partition("?")
    if "@" in base:
        scheme, sep, after = base.partition("://")
        if sep:
            authority, slash, path = after.partition("/")
            if "@" in authority:
                authority = MASK + "@" + authority.rpartition("@")[2]
                base = f"{scheme}://{authority}{slash}{path}"
    if qmark:
        query = _redact_pairs(query)
    if hash_:
        fragment = _redact_pairs(fragment)
    return base + qmark + query + hash_ + fragment


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers with secret values masked and URLs in Location-like headers redacted.

    Repeated headers (httpx.Headers.multi_items, a list of pairs) are joined with ', '.
    """
    if hasattr(headers, "multi_items"):
        items: Iterable[tuple[str, str]] = headers.multi_items()  # httpx.Headers
    elif isinstance(headers, Mapping):
        items = headers.items()
    else:
        items = headers
    out: dict[str, str] = {}
    for name, value in items:
        lower = str(name).lower()
        if lower in SECRET_HEADERS:
            value = MASK
        elif lower in _URL_HEADERS:
            value = redact_url(str(value))
        else:
            value = redact_text(str(value))
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def redact_known(text: str) -> str:
    """Replace every registered secret form found in `text` with '***' (longest first)."""
    for secret in known_secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_text(text: str) -> str:
    """Free text (a log line, an error body, an exception message) with secrets removed.

    Applies the key rules for `key=value`, `"key": "value"`, header lines and
    `Bearer <token>`, then exact-match replacement of every known secret, then the shape rules
    for credentials this process never held (`redact_shapes`).
    """
    text = str(text)
    if "=" in text or "%3" in text:
        text = _KV_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    if ":" in text:
        text = _JSON_RE.sub(
            lambda m: f"{m.group(1)}{m.group(2)}{m.group(1)}{m.group(3)}{m.group(4)}{MASK}{m.group(4)}", text
        )
        text = _HEADER_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{MASK}{m.group(5)}", text)
    text = _SCHEME_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return redact_shapes(redact_known(text))


__all__ = [
    "MASK",
    "SECRET_HEADERS",
    "SECRET_KEYS",
    "redact_headers",
    "redact_known",
    "redact_shapes",
    "redact_text",
    "redact_url",
]
