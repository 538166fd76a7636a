"""`igtui sandbox`: run the Meta stand-in in the foreground (demo, tests, benchmarks).

It prints exactly one line on stdout, `igtui sandbox listening on URL (admin: URL/__sandbox/state)`,
and flushes it, so a test that starts it as a subprocess can read the port. SIGINT and SIGTERM
stop it cleanly with exit 0.
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
                        "from the network, admin API included)")
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
    parser.set_defaults(func=run)


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
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"igtui sandbox: warning: bound to {args.host}; anyone who can reach it can use "
              "the admin API", file=sys.stderr, flush=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        sandbox.start()
        print(f"igtui sandbox listening on {sandbox.url} (admin: {sandbox.url}/__sandbox/state)",
              flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
