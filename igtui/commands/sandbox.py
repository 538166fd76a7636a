"""`igtui sandbox`: run the Meta stand-in in the foreground (demo, tests, benchmarks).

It prints exactly two lines on stdout and flushes them, so a test that starts it as a
subprocess can read the port and the admin token:

    igtui sandbox listening on URL (admin: URL/__sandbox/state)
    igtui sandbox admin token: TOKEN

URL names the address actually bound (`http://0.0.0.0:PORT`, `http://[::1]:PORT`, the real
port when 0 was asked). TOKEN is this run's random admin token, which every admin request
must send as `Authorization: Bearer TOKEN`; `--admin-token-file FILE` also writes it to FILE
(mode 0600, before the lines are printed, removed again on exit), so a script need not parse
stdout. SIGINT and SIGTERM stop it cleanly with exit 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `sandbox` command."""
    parser = subparsers.add_parser(
        "sandbox",
        help="serve a stand-in for Meta's OAuth and Graph endpoints on loopback",
        description="Serve Instagram Login and Facebook Login endpoints (consent pages, token "
        "exchange, refresh, /me, debug_token, /me/accounts) with demo apps and accounts, plus an "
        "admin JSON API under /__sandbox/ for shifting the clock, revoking, expiring, throttling "
        "and failing requests.",
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to bind (default 127.0.0.1; anything else is reachable "
                        "from the network: its Meta endpoints need no token, its admin API "
                        "needs the printed one)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--seed", type=int, default=None,
                        help="make tokens and codes deterministic")
    parser.add_argument("--no-demo", action="store_true",
                        help="start empty, without the demo apps and accounts")
    parser.add_argument("--shape", choices=("observed", "documented"), default="observed",
                        help="reply shape of the demo apps' code exchange and /me "
                        "(default: observed, as Meta really answers)")
    parser.add_argument("--accounts", type=int, default=0, metavar="N",
                        help="add N extra Instagram accounts to the demo Instagram app")
    parser.add_argument("--admin-token-file", metavar="FILE", default=None,
                        help="also write the admin token to FILE (mode 0600; removed on exit)")
    parser.set_defaults(func=run)


def _write_token(path: str, token: str) -> None:
    """Write the token 0600, never through a symlink someone planted at `path`."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (token + "\n").encode())
    finally:
        os.close(fd)


def _remove_token(path: str, token: str) -> None:
    """Remove the token file, unless something else has been written there since."""
    import contextlib
    import os

    with contextlib.suppress(OSError), open(path, encoding="utf-8") as handle:
        if handle.read().strip() == token:
            os.unlink(path)


def _is_loopback(address: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM."""
    from igtui.core.errors import UsageError
    from igtui.sandbox import Sandbox

    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be between 0 and 65535")
    if args.accounts < 0 or args.accounts > 200_000:
        raise UsageError("--accounts must be between 0 and 200000")
    if args.accounts and args.no_demo:
        raise UsageError("--accounts adds to the demo Instagram app; drop --no-demo")
    try:
        sandbox = Sandbox(host=args.host, port=args.port, seed=args.seed, demo=not args.no_demo,
                          shape=args.shape, accounts=args.accounts)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    token_file: str | None = args.admin_token_file
    if token_file is not None:
        try:
            _write_token(token_file, sandbox.admin_token)
        except OSError as exc:
            sandbox.stop()
            raise UsageError(f"cannot write --admin-token-file {token_file}: "
                             f"{exc.strerror or exc}") from exc
    if not _is_loopback(sandbox.bound_host):
        print(f"igtui sandbox: warning: bound to {sandbox.bound_host}; anyone who can reach it can use its "
              "Meta endpoints (the admin API needs the token)", file=sys.stderr, flush=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        sandbox.start()
        print(f"igtui sandbox listening on {sandbox.bound_url} "
              f"(admin: {sandbox.bound_url}/__sandbox/state)\n"
              f"igtui sandbox admin token: {sandbox.admin_token}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
        if token_file is not None:
            _remove_token(token_file, sandbox.admin_token)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
