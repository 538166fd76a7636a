"""Fixtures for the end-to-end tests: a real sandbox over loopback HTTP, and the real `igtui` CLI.

* `sandbox` and `admin`: the refresh tests' sandbox (seed 7) and its admin client. Their helpers
  (seeding a store, minting tokens, the CLI's environment) are plain functions in refresh_support.py.
* `login_sandbox` and `env`: the login tests' sandbox and an `Env`: a store with the apps `ig` and
  `fb`, whose redirect URIs are the paste one and a loopback one on a port the test holds from
  start to end (`oauth_helpers.reserved_port`). Their helpers are in login_support.py.

Test modules import helpers, never fixtures: pytest finds these by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from login_support import FB_SCOPES, Env, ok
from oauth_helpers import FB_APP_ID, FB_SECRET, IG_APP_ID, IG_SECRET, PASTE_URI, reserved_port

from igtui.sandbox.admin import SandboxAdmin
from igtui.sandbox.server import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The refresh tests' sandbox (seed 7), stopped after the test."""
    sb = Sandbox(seed=7)
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def admin(sandbox: Sandbox) -> Iterator[SandboxAdmin]:
    """The admin client of `sandbox`."""
    with SandboxAdmin(sandbox.url, token=sandbox.admin_token) as a:
        yield a


@pytest.fixture
def login_sandbox() -> Iterator[Sandbox]:
    """The login tests' sandbox (its default seed)."""
    with Sandbox().start() as sb:
        yield sb


@pytest.fixture
def env(igtui_home: Path, login_sandbox: Sandbox) -> Iterator[Env]:
    """An initialised store with apps `ig` and `fb` aimed at `login_sandbox`, driven through the CLI."""
    sandbox = login_sandbox
    with reserved_port() as port, SandboxAdmin(sandbox.url, token=sandbox.admin_token) as admin:
        uris = [f"http://127.0.0.1:{port}/callback", PASTE_URI]
        admin.update_app(IG_APP_ID, redirect_uris=uris)
        admin.update_app(FB_APP_ID, redirect_uris=uris)
        e = Env(home=igtui_home, sandbox=sandbox, admin=admin, port=port)
        ok(e.igtui("init", "--kdf-memory", "19456", "--kdf-iterations", "2", "--kdf-lanes", "1"))
        redirects = ["--redirect-uri", e.loopback_uri, "--redirect-uri", PASTE_URI]
        ok(e.igtui("app", "add", "ig", "--platform", "instagram", "--app-id", IG_APP_ID, *redirects,
                   "--base-url", sandbox.url, "--secret-stdin", input=IG_SECRET + "\n"))
        ok(e.igtui("app", "add", "fb", "--platform", "facebook", "--app-id", FB_APP_ID, *redirects,
                   "--scopes", FB_SCOPES, "--base-url", sandbox.url, "--secret-stdin", input=FB_SECRET + "\n"))
        yield e
