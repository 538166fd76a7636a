"""Fixtures for the sandbox tests: a real Sandbox on a free loopback port, an httpx client
speaking to it over real HTTP, and the admin client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from igtui.core.clock import FrozenClock
from igtui.sandbox import Sandbox
from igtui.sandbox.admin import SandboxAdmin


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    """A seeded sandbox on a frozen base clock: only admin clock shifts move its time."""
    frozen = FrozenClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    with Sandbox(seed=7, clock=frozen) as sandbox:
        yield sandbox


@pytest.fixture
def http(sb: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sb.url, timeout=10, follow_redirects=False) as client:
        yield client


@pytest.fixture
def admin(sb: Sandbox) -> Iterator[SandboxAdmin]:
    with SandboxAdmin(sb.url, token=sb.admin_token) as client:
        yield client


