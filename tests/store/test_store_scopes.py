"""Scope catalogue and validation."""

from __future__ import annotations

import pytest

from igtui.core.errors import ValidationError
from igtui.core.scopes import (
    BASIC_DISPLAY_GONE,
    PRESETS,
    least_privilege_hint,
    parse_scope_list,
    required_scopes,
    scopes_for,
    validate_scopes,
)


def test_catalogue_has_both_platforms_with_descriptions() -> None:
    ig = {s.name for s in scopes_for("instagram")}
    fb = {s.name for s in scopes_for("facebook")}
    assert {
        "instagram_business_basic",
        "instagram_business_content_publish",
        "instagram_business_manage_comments",
        "instagram_business_manage_messages",
        "instagram_business_manage_insights",
    } == ig
    assert {"instagram_basic", "instagram_content_publish", "pages_show_list", "business_management"} <= fb
    assert all(s.description for s in scopes_for("instagram") + scopes_for("facebook"))
    assert required_scopes("instagram") == ("instagram_business_basic",)
    assert "instagram_basic" in required_scopes("facebook")


def test_presets_are_valid_and_include_required() -> None:
    for platform, presets in PRESETS.items():
        assert set(presets) == {"read-only", "publishing", "comments", "messaging", "insights"}
        for names in presets.values():
            assert validate_scopes(platform, names) == names


def test_typo_names_the_closest() -> None:
    with pytest.raises(ValidationError, match="did you mean instagram_business_manage_comments"):
        validate_scopes("instagram", ["instagram_business_basic", "instagram_business_manage_coments"])


@pytest.mark.parametrize(
    ("name", "replacement"),
    [
        ("business_basic", "instagram_business_basic"),
        ("business_content_publish", "instagram_business_content_publish"),
        ("business_manage_comments", "instagram_business_manage_comments"),
        ("business_manage_messages", "instagram_business_manage_messages"),
        ("instagram_business_content_publishing", "instagram_business_content_publish"),
    ],
)
def test_retired_names_give_their_replacement(name: str, replacement: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_scopes("instagram", ["instagram_business_basic", name])
    assert f"use {replacement}" in str(info.value)
    assert "retired" in str(info.value)


@pytest.mark.parametrize("platform", ["instagram", "facebook"])
@pytest.mark.parametrize("name", ["user_profile", "user_media"])
def test_basic_display_is_gone(platform: str, name: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_scopes(platform, [name])  # type: ignore[arg-type]
    assert BASIC_DISPLAY_GONE in str(info.value)
    assert "Basic Display was shut down on 4 Dec 2024; use instagram_business_basic" in str(info.value)


def test_other_platforms_scope_is_explained() -> None:
    with pytest.raises(ValidationError, match="belongs to Facebook Login"):
        validate_scopes("instagram", ["instagram_business_basic", "instagram_basic"])
    with pytest.raises(ValidationError, match="belongs to Instagram Login"):
        validate_scopes("facebook", ["instagram_basic", "pages_show_list", "instagram_business_basic"])


def test_required_scope_missing() -> None:
    with pytest.raises(ValidationError, match="instagram_business_basic is required"):
        validate_scopes("instagram", ["instagram_business_content_publish"])
    assert validate_scopes("instagram", ["instagram_business_content_publish"], require=False)


def test_dedup_and_parse() -> None:
    assert parse_scope_list("a, b c,,") == ["a", "b", "c"]
    assert validate_scopes("instagram", ["instagram_business_basic", " instagram_business_basic"]) == (
        "instagram_business_basic",
    )


def test_least_privilege_hint() -> None:
    assert least_privilege_hint("instagram", PRESETS["instagram"]["read-only"]) is None
    everything = [s.name for s in scopes_for("instagram")]
    assert "optional scopes" in (least_privilege_hint("instagram", everything) or "")
    assert "Business Manager" in (least_privilege_hint("facebook", ["instagram_basic", "ads_read"]) or "")
