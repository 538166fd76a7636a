"""The canary scan: after real login flows, no token, code or secret appears anywhere it should not.

Every token and code the sandbox ever issued, both app secrets and the passphrase are searched
for — raw, URL-encoded, base64 (both alphabets) and hex — in every file under IGTUI_HOME (the
database, its -wal and -shm, lock files), in `igtui log --json`, and in everything the CLI printed
with `--verbose` (stdout and stderr). The one allowed place is `token get`'s own stdout.

The login `state` is printed on purpose (it is part of the authorize URL the user must open), so
it is scanned for only in the store files and the request log.
"""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.parse
from pathlib import Path

from login_support import PASSPHRASE, Env, loopback_login, ok, paste_login, paste_start
from oauth_helpers import FB_APP_ID, FB_SECRET, IG_APP_ID, IG_SECRET


def forms(secret: str) -> set[str]:
    raw = secret.encode()
    return {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret, safe=""),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
        raw.hex().upper(),
    }


def hits(haystack: bytes, secrets: dict[str, str]) -> list[str]:
    """Names (never values) of the secrets found in `haystack`, with the form that matched."""
    found = []
    for name, secret in secrets.items():
        for form in forms(secret):
            if form.encode() in haystack:
                found.append(f"{name} ({'raw' if form == secret else 'encoded'})")
                break
    return found


def exercise(env: Env) -> list[str]:
    """Run a wide set of flows, every CLI call with --verbose. Returns the tokens `token get` printed."""
    ok(loopback_login(env, "ig", "acme.studio"))
    ok(loopback_login(env, "fb", "dana.rivers"))
    env.admin.update_app(IG_APP_ID, shape="documented")
    env.admin.update_app(FB_APP_ID, omit_expires_in=True)
    ok(paste_login(env, "ig", "northwind.cafe"))
    ok(paste_login(env, "fb", "dana.rivers"))
    got = [ok(env.igtui("--verbose", "token", "get", ref)).stdout.strip()
           for ref in ("acme.studio", "fb/pine.outdoors")]
    for ref in ("acme.studio", "northwind.cafe", "fb/cedar.kitchen"):
        ok(env.igtui("--verbose", "token", "inspect", ref, "--verify", "--json"))
    # Failures carry Meta's error text and our messages: they must be clean too.
    denied = env.admin.consent(paste_start(env, "ig"), "lumen.photo", decision="deny")
    assert env.igtui("--verbose", "login", "finish", denied).code == 1
    first = env.admin.consent(paste_start(env, "ig"), "lumen.photo")
    ok(env.igtui("--verbose", "login", "finish", first))
    assert env.igtui("--verbose", "login", "finish", first).code == 2  # replay
    second = paste_start(env, "ig")
    old = urllib.parse.parse_qs(urllib.parse.urlsplit(first).query)["state"][0]
    new = urllib.parse.parse_qs(urllib.parse.urlsplit(second).query)["state"][0]
    assert env.igtui("--verbose", "login", "finish", first.replace(old, new)).code == 1  # reused code
    env.admin.revoke("acme.studio", 460)
    assert env.igtui("--verbose", "token", "inspect", "acme.studio", "--verify").code == 4
    env.admin.expire("dana.rivers")
    assert env.igtui("--verbose", "token", "inspect", "fb/pine.outdoors", "--verify", "--json").code == 4
    env.admin.throttle(IG_APP_ID, code=4, minutes=5)
    assert env.igtui("--verbose", "token", "inspect", "northwind.cafe", "--verify").code == 1
    env.admin.unthrottle(IG_APP_ID)
    env.admin.fail_next(status=500, count=3, body="graph")
    env.igtui("--verbose", "token", "inspect", "northwind.cafe", "--verify")
    ok(env.igtui("--verbose", "account", "list", "--json"))
    ok(env.igtui("--verbose", "log"))
    return got


def test_no_token_code_or_secret_leaks(env: Env) -> None:
    printed_tokens = exercise(env)
    world = env.sandbox.world
    with world.lock:
        tokens = list(world.tokens) + list(world.page_tokens.values())
        codes = list(world.codes)
    assert len(tokens) >= 8 and len(codes) >= 5  # the flows really ran
    assert set(printed_tokens) <= set(tokens)
    secrets = {f"token#{i}": t for i, t in enumerate(tokens)}
    secrets |= {f"code#{i}": c for i, c in enumerate(codes)}
    secrets |= {"ig app secret": IG_SECRET, "fb app secret": FB_SECRET, "passphrase": PASSPHRASE}
    printed = "".join(run.stdout for run in env.runs)
    states = {f"state#{i}": v for i, v in enumerate(sorted(set(re.findall(r"state=([A-Za-z0-9_-]{40,})", printed))))}
    assert len(states) >= 6

    log = ok(env.igtui("log", "--json", "--limit", "100000"))
    rows = json.loads(log.stdout)
    assert len(rows) >= 20
    problems: dict[str, list[str]] = {}

    def scan(where: str, data: bytes, extra: dict[str, str] | None = None) -> None:
        found = hits(data, secrets | (extra or {}))
        if found:
            problems[where] = found

    files = [Path(d) / f for d, _dirs, names in os.walk(env.home) for f in names]
    assert any(p.name.endswith(".db") for p in files)
    # Control: the scan does see plaintext in these files (usernames are stored in clear).
    assert any(hits(p.read_bytes(), {"control": "northwind.cafe"}) for p in files)
    # Control: every form is recognised.
    assert hits(b"<" + tokens[0].encode().hex().encode() + b">", {"t": tokens[0]}) == ["t (encoded)"]
    assert hits(b"?access_token=" + tokens[0].encode(), {"t": tokens[0]}) == ["t (raw)"]
    for path in files:
        scan(str(path.relative_to(env.home)), path.read_bytes(), states)
    scan("igtui log --json", log.stdout.encode() + log.stderr.encode(), states)
    for run in env.runs:
        name = "igtui " + " ".join(a if len(a) < 40 else a[:20] + "…" for a in run.args)
        if "get" not in run.args:  # `token get` prints the token on stdout: that is its job
            scan(f"{name} (stdout)", run.stdout.encode())
        scan(f"{name} (stderr)", run.stderr.encode())
    assert problems == {}
