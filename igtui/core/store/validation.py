"""Validation of app-registry fields, shared by the CLI and the TUI (so neither grows its own).

Every failure is a `ValidationError` with one plain line; user input is quoted with
`safetext.echo`, so a control character shows as an escape and a 5,000-character argument is cut
to a recognisable start (the CLI also passes messages through `safetext.plain`).
"""

from __future__ import annotations

import re
import urllib.parse

from igtui.core.errors import ValidationError
from igtui.core.models import PLATFORMS, Platform
from igtui.core.safetext import echo

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_APP_ID = re.compile(r"^[0-9]{1,32}$")
_GRAPH_VERSION = re.compile(r"^v[0-9]{1,3}\.0$")


def validate_name(name: str) -> str:
    """App names: 1–64 of letters, digits, '.', '_' or '-', starting with a letter or digit (no '/')."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValidationError(
            f"app name {echo(name)} is not allowed: use 1–64 letters, digits, '.', '_' or '-' (no '/' or spaces)"
        )
    return name


def validate_platform(platform: str) -> Platform:
    """One of `PLATFORMS`: the platform decides the login endpoints and which scopes exist."""
    if platform not in PLATFORMS:
        raise ValidationError(f"platform {echo(platform)} is not one of: {', '.join(PLATFORMS)}")
    return platform


def validate_app_id(app_id: str) -> str:
    """Meta app ids are numeric strings (kept as str: they exceed JavaScript's safe integers)."""
    value = (app_id or "").strip()
    if not _APP_ID.match(value):
        raise ValidationError(f"app id {echo(app_id)} must be a numeric string such as 123456789012345")
    return value


def _http_url(value: str, what: str) -> urllib.parse.SplitResult:
    if not isinstance(value, str) or not value or value != value.strip() or any(ord(c) < 0x21 for c in value):
        raise ValidationError(f"{what} {echo(value)} must be an absolute http(s) URL without spaces")
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"{what} {echo(value)} must be an absolute http:// or https:// URL")
    try:
        _ = parts.port  # urllib parses the port lazily: reading it is the check
    except ValueError:
        raise ValidationError(f"{what} {echo(value)} has an invalid port") from None
    if parts.username or parts.password:
        # Not echoed: the URL's password is the one thing this message must not repeat.
        raise ValidationError(f"{what} must not contain a user name or password")
    return parts


def validate_redirect_uri(uri: str) -> str:
    """Absolute http(s) URL, no fragment (Meta matches redirect URIs exactly)."""
    parts = _http_url(uri, "redirect URI")
    if parts.fragment:
        raise ValidationError(f"redirect URI {echo(uri)} must not have a #fragment")
    return uri


def validate_redirect_uris(uris: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """At least one valid redirect URI, duplicates dropped in order (a login needs one to send Meta)."""
    if not uris:
        raise ValidationError("at least one redirect URI is needed")
    seen: list[str] = []
    for uri in uris:
        validate_redirect_uri(uri)
        if uri not in seen:
            seen.append(uri)
    return tuple(seen)


def validate_base_url(url: str | None) -> str | None:
    """An origin (scheme://host[:port]) that replaces every Meta host; a path is refused."""
    if url is None or url == "":
        return None
    parts = _http_url(url, "base URL")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValidationError(f"base URL {echo(url)} must be an origin such as http://127.0.0.1:8000 (no path)")
    return f"{parts.scheme}://{parts.netloc}"


def validate_graph_version(version: str) -> str:
    """A Graph API version such as v25.0: it becomes part of every request path, so nothing else passes."""
    if not isinstance(version, str) or not _GRAPH_VERSION.match(version):
        raise ValidationError(f"graph version {echo(version)} must look like v25.0")
    return version


def validate_refresh_within(days: int | None) -> int | None:
    """A refresh window of 1–59 whole days, or None for the default.

    Why 59: a long-lived token lasts 60 days, so a window of 60 or more would make it due the
    moment it is issued.
    """
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 59:
        raise ValidationError(f"refresh window {echo(days)} must be a whole number of days from 1 to 59")
    return days


__all__ = [
    "validate_app_id",
    "validate_base_url",
    "validate_graph_version",
    "validate_name",
    "validate_platform",
    "validate_redirect_uri",
    "validate_redirect_uris",
    "validate_refresh_within",
]
