"""`igtui sandbox`: a stand-in for Meta's OAuth and Graph endpoints on loopback.

Used by newcomers (`igtui --demo`) and as the real HTTP peer of end-to-end tests and benchmarks.
This package may import `igtui.core.clock` but nothing else of igtui, and never textual: it
must behave like Meta, not like igtui.
"""

from __future__ import annotations

from igtui.sandbox.clock import SandboxClock
from igtui.sandbox.demo import (
    DEMO_FB_APP,
    DEMO_FB_USER,
    DEMO_IG_APP,
    DEMO_IG_USERS,
    DEMO_PAGES,
    DEMO_REDIRECT_URIS,
)
from igtui.sandbox.server import Sandbox
from igtui.sandbox.world import World

__all__ = [
    "DEMO_FB_APP",
    "DEMO_FB_USER",
    "DEMO_IG_APP",
    "DEMO_IG_USERS",
    "DEMO_PAGES",
    "DEMO_REDIRECT_URIS",
    "Sandbox",
    "SandboxClock",
    "World",
]
