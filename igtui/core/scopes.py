"""The scope catalogue for both Meta logins (Instagram Login and Facebook Login), as data.

The CLI validates `--scopes` with it and the TUI's scope screen draws from it, so every scope
carries a plain-words description, and retired names carry their replacement. Validation is
strict on purpose: Meta answers a misspelt scope with a confusing error far from the typo
("Business and user permissions are mutually exclusive" for `…content_publishing`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from igtui.core.errors import ValidationError
from igtui.core.models import PLATFORMS, Platform
from igtui.core.safetext import echo

BASIC_DISPLAY_GONE = "Basic Display was shut down on 4 Dec 2024; use instagram_business_basic"


@dataclass(frozen=True, slots=True)
class Scope:
    """One permission a login can ask for."""

    name: str
    platform: Platform
    description: str
    """What granting it lets igtui's user do, in plain words."""
    required: bool = False
    """Every login on this platform must ask for it."""
    retired: bool = False
    replacement: str | None = None
    """For a retired name: what to ask for instead."""
    note: str | None = None
    """Extra context for the retired or unusual case."""


_IG: Platform = "instagram"
_FB: Platform = "facebook"

CATALOGUE: tuple[Scope, ...] = (
    # Instagram API with Instagram Login (Business Login for Instagram)
    Scope(
        "instagram_business_basic", _IG, "Read the account's profile and media. Every login needs it.", required=True
    ),
    Scope("instagram_business_content_publish", _IG, "Publish photos, videos, reels and carousels."),
    Scope("instagram_business_manage_comments", _IG, "Read, reply to, hide and delete comments."),
    Scope("instagram_business_manage_messages", _IG, "Read and send direct messages."),
    Scope("instagram_business_manage_insights", _IG, "Read account and media insights (reach, views…)."),
    # Retired Instagram Login names (deprecated 27 Jan 2025)
    Scope("business_basic", _IG, "Old name.", retired=True, replacement="instagram_business_basic"),
    Scope("business_content_publish", _IG, "Old name.", retired=True, replacement="instagram_business_content_publish"),
    Scope("business_manage_comments", _IG, "Old name.", retired=True, replacement="instagram_business_manage_comments"),
    Scope("business_manage_messages", _IG, "Old name.", retired=True, replacement="instagram_business_manage_messages"),
    Scope("business_manage_insights", _IG, "Old name.", retired=True, replacement="instagram_business_manage_insights"),
    Scope(
        "instagram_business_content_publishing",
        _IG,
        "Misspelling seen in old docs.",
        retired=True,
        replacement="instagram_business_content_publish",
        note="Meta rejects it with 'Business and user permissions are mutually exclusive'",
    ),
    # Basic Display (both platforms refuse it)
    Scope(
        "user_profile", _IG, "Basic Display.", retired=True, replacement="instagram_business_basic",
        note=BASIC_DISPLAY_GONE,
    ),
    Scope(
        "user_media", _IG, "Basic Display.", retired=True, replacement="instagram_business_basic",
        note=BASIC_DISPLAY_GONE,
    ),
    # Instagram API with Facebook Login
    Scope(
        "instagram_basic",
        _FB,
        "Read the Instagram business account's profile and media. Every login needs it.",
        required=True,
    ),
    Scope(
        "pages_show_list",
        _FB,
        "List the Facebook Pages you manage (how igtui finds the linked Instagram accounts).",
        required=True,
    ),
    Scope("pages_read_engagement", _FB, "Read Page content and engagement; needed with most Instagram permissions."),
    Scope("instagram_content_publish", _FB, "Publish photos, videos, reels and carousels."),
    Scope("instagram_manage_comments", _FB, "Read, reply to, hide and delete comments."),
    Scope("instagram_manage_insights", _FB, "Read account and media insights."),
    Scope("instagram_manage_messages", _FB, "Read and send direct messages."),
    Scope("business_management", _FB, "Reach Pages and accounts owned through a Business Manager."),
    Scope(
        "ads_management", _FB, "Manage ads; only needed when the Page role comes through Business Manager ads access."
    ),
    Scope(
        "ads_read", _FB, "Read ads data; only needed when the Page role comes through Business Manager ads access."
    ),
)

PRESETS: dict[Platform, dict[str, tuple[str, ...]]] = {
    "instagram": {
        "read-only": ("instagram_business_basic",),
        "publishing": ("instagram_business_basic", "instagram_business_content_publish"),
        "comments": ("instagram_business_basic", "instagram_business_manage_comments"),
        "messaging": ("instagram_business_basic", "instagram_business_manage_messages"),
        "insights": ("instagram_business_basic", "instagram_business_manage_insights"),
    },
    "facebook": {
        "read-only": ("instagram_basic", "pages_show_list"),
        "publishing": ("instagram_basic", "pages_show_list", "pages_read_engagement", "instagram_content_publish"),
        "comments": ("instagram_basic", "pages_show_list", "pages_read_engagement", "instagram_manage_comments"),
        "messaging": ("instagram_basic", "pages_show_list", "pages_read_engagement", "instagram_manage_messages"),
        "insights": ("instagram_basic", "pages_show_list", "pages_read_engagement", "instagram_manage_insights"),
    },
}
"""Named bundles, smallest first; 'read-only' is exactly the required scopes."""

_BY_KEY: dict[tuple[str, str], Scope] = {(s.platform, s.name): s for s in CATALOGUE}


def scopes_for(platform: Platform, *, include_retired: bool = False) -> tuple[Scope, ...]:
    """The catalogue for one platform, current scopes first in catalogue order."""
    return tuple(s for s in CATALOGUE if s.platform == platform and (include_retired or not s.retired))


def get_scope(platform: Platform, name: str) -> Scope | None:
    """The catalogue entry for a scope name on one platform, or None when igtui does not know it."""
    return _BY_KEY.get((platform, name))


def required_scopes(platform: Platform) -> tuple[str, ...]:
    """The scopes every login of this platform needs (the 'read-only' preset, and the minimum the TUI keeps ticked)."""
    return tuple(s.name for s in scopes_for(platform) if s.required)


def preset(platform: Platform, name: str) -> tuple[str, ...]:
    """The scopes of a named preset.

    Raises:
        ValidationError: no such preset for this platform (the message lists the ones there are).
    """
    try:
        return PRESETS[platform][name]
    except KeyError:
        known = ", ".join(PRESETS.get(platform, {}))
        raise ValidationError(f"no preset {echo(name)} for {platform}; choose from: {known}") from None


def _check_one(platform: Platform, name: str) -> str:
    scope = get_scope(platform, name)
    if scope is not None and not scope.retired:
        return name
    if scope is None:  # a retired name of the other login still deserves its replacement story
        other_scope = get_scope("facebook" if platform == "instagram" else "instagram", name)
        if other_scope is not None and other_scope.retired:
            scope = other_scope
    if scope is not None:  # retired
        if scope.note == BASIC_DISPLAY_GONE:
            raise ValidationError(f"scope {echo(name)}: {BASIC_DISPLAY_GONE}")
        extra = f" ({scope.note})" if scope.note else ""
        raise ValidationError(f"scope {echo(name)} was retired; use {scope.replacement}{extra}")
    if name in ("user_profile", "user_media"):
        raise ValidationError(f"scope {echo(name)}: {BASIC_DISPLAY_GONE}")
    other: Platform = "facebook" if platform == "instagram" else "instagram"
    elsewhere = get_scope(other, name)
    if elsewhere is not None and not elsewhere.retired:
        hint = "instagram_basic" if platform == "facebook" else "instagram_business_basic"
        login = "Facebook Login" if other == "facebook" else "Instagram Login"
        raise ValidationError(f"scope {echo(name)} belongs to {login}, not this {platform} app (e.g. use {hint} here)")
    current = [s.name for s in scopes_for(platform)]
    close = difflib.get_close_matches(name, current, n=1, cutoff=0.5)
    if close:
        raise ValidationError(f"unknown scope {echo(name)}; did you mean {close[0]}?")
    raise ValidationError(f"unknown scope {echo(name)} for {platform}; valid: {', '.join(current)}")


def parse_scope_list(text: str) -> list[str]:
    """Split 'a,b c' (commas and/or spaces, as Meta accepts) into names."""
    return [part for part in text.replace(",", " ").split() if part]


def validate_scopes(platform: Platform, names: Iterable[str], *, require: bool = True) -> tuple[str, ...]:
    """Check scope names against the catalogue; return them de-duplicated, in the given order.

    Args:
        require: insist on the platform's required scope(s) (every real login needs them).

    Raises:
        ValidationError: a typo (with the closest valid name), a retired name (with its
            replacement), a Basic Display scope, another platform's scope, or a missing required one.
    """
    if platform not in PLATFORMS:
        raise ValidationError(f"platform {echo(platform)} is not one of: {', '.join(PLATFORMS)}")
    out: list[str] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        _check_one(platform, name)
        if name not in out:
            out.append(name)
    if require:
        missing = [r for r in required_scopes(platform) if r not in out]
        if missing:
            raise ValidationError(f"{', '.join(missing)} is required for every {platform} login; add it to the scopes")
    return tuple(out)


def least_privilege_hint(platform: Platform, names: Sequence[str]) -> str | None:
    """A one-line nudge towards fewer scopes, or None when the selection is already lean.

    It names the smallest preset that covers the selection, and flags scopes that are rarely
    needed (ads) or selections that ask for everything.
    """
    picked = [(n, s) for n in names if (s := get_scope(platform, n)) is not None and not s.retired]
    chosen = [n for n, _ in picked]
    if not chosen:
        return None
    rare = [n for n in chosen if n in ("ads_management", "ads_read", "business_management")]
    if rare:
        return f"{', '.join(rare)}: only needed when your Page access comes through Business Manager; drop it otherwise"
    optional = [n for n, s in picked if not s.required]
    if len(optional) >= 3:
        return (
            f"{len(optional)} optional scopes selected; each widens what a leaked token can do — "
            f"keep only what this app uses (presets: {', '.join(PRESETS[platform])})"
        )
    for bundle in PRESETS[platform].values():
        if set(chosen) == set(bundle):
            return None
    return None


__all__ = [
    "BASIC_DISPLAY_GONE",
    "CATALOGUE",
    "PRESETS",
    "Scope",
    "get_scope",
    "least_privilege_hint",
    "parse_scope_list",
    "preset",
    "required_scopes",
    "scopes_for",
    "validate_scopes",
]
