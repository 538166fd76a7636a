"""The five Meta origins igtui talks to, or one origin standing in for all of them.

Meta splits the login dance over five hosts: the consent pages on www.instagram.com and
www.facebook.com, Instagram's code exchange on api.instagram.com, and the two Graph hosts. The
sandbox, and any proxy a user puts in front of Meta, serve all of them on one origin;
`Hosts(base_url)` is the single place that knows this, so that no other module builds a Meta
URL by hand.
"""

from __future__ import annotations

import urllib.parse

from igtui.core.errors import ValidationError

WWW_INSTAGRAM = "https://www.instagram.com"
API_INSTAGRAM = "https://api.instagram.com"
GRAPH_INSTAGRAM = "https://graph.instagram.com"
WWW_FACEBOOK = "https://www.facebook.com"
GRAPH_FACEBOOK = "https://graph.facebook.com"


def validate_base_url(base_url: str) -> str:
    """Check an override origin and return it without a trailing slash.

    It must be absolute http(s) with a host, and carry no credentials, query or fragment:
    whatever is here ends up in every request-log row, so a password in it would leak.

    Raises:
        ValidationError: the value is not such a URL.
    """
    text = base_url.strip() if isinstance(base_url, str) else ""
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError:
        raise ValidationError("base URL is not a valid URL") from None
    del port
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("base URL must be an absolute http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise ValidationError("base URL must not contain a user name or password")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise ValidationError("base URL must not have a query or fragment")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in text):
        raise ValidationError("base URL must not contain spaces or control characters")
    return text.rstrip("/")


class Hosts:
    """Origins (scheme://host[:port], no trailing slash) for each Meta host.

    Args:
        base_url: When given, every Meta host maps to this one origin (sandbox, proxies).

    Raises:
        ValidationError: base_url is not an absolute http(s) URL.
    """

    __slots__ = ("api_instagram", "base_url", "graph_facebook", "graph_instagram", "www_facebook", "www_instagram")

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = validate_base_url(base_url) if base_url is not None else None
        one = self.base_url
        self.www_instagram: str = one or WWW_INSTAGRAM
        self.api_instagram: str = one or API_INSTAGRAM
        self.graph_instagram: str = one or GRAPH_INSTAGRAM
        self.www_facebook: str = one or WWW_FACEBOOK
        self.graph_facebook: str = one or GRAPH_FACEBOOK

    def __repr__(self) -> str:
        return f"Hosts(base_url={self.base_url!r})"


__all__ = ["Hosts", "validate_base_url"]
