"""Fixtures for the sandbox tests: a real Sandbox on a free loopback port, an httpx client
speaking to it over real HTTP, and the admin client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from igtui.sandbox import Sandbox
from igtui.sandbox.admin import SandboxAdmin


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=7) as sandbox:
        yield sandbox


@pytest.fixture
def http(sb: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sb.url, timeout=10, follow_redirects=False) as client:
        yield client


@pytest.fixture
def admin(sb: Sandbox) -> Iterator[SandboxAdmin]:
    with SandboxAdmin(sb.url) as client:
        yield client


