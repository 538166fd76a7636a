"""Hosts: five Meta origins, or one override origin for all of them."""

from __future__ import annotations

import pytest

from igtui.core.errors import ValidationError
from igtui.core.graph.hosts import Hosts

NAMES = ("www_instagram", "api_instagram", "graph_instagram", "www_facebook", "graph_facebook")


def test_default_hosts_are_the_five_meta_origins() -> None:
    hosts = Hosts()
    assert [getattr(hosts, n) for n in NAMES] == [
        "https://www.instagram.com",
        "https://api.instagram.com",
        "https://graph.instagram.com",
        "https://www.facebook.com",
        "https://graph.facebook.com",
    ]


@pytest.mark.parametrize("base", ["http://127.0.0.1:54321", "http://127.0.0.1:54321/", "https://proxy.example/meta/"])
def test_base_url_maps_every_host_to_one_origin(base: str) -> None:
    hosts = Hosts(base)
    assert {getattr(hosts, n) for n in NAMES} == {base.rstrip("/")}


@pytest.mark.parametrize(
    "bad",
    ["", "127.0.0.1:8000", "/just/a/path", "ftp://host", "file:///etc/passwd", "http://", "http://user:pw@host",
     "http://host/?access_token=x", "http://host/#frag", "http://host:99999", "http://ho st", "javascript:alert(1)"],
)
def test_bad_base_url_is_a_validation_error(bad: str) -> None:
    with pytest.raises(ValidationError):
        Hosts(bad)
