"""Benchmark: 1,000 Graph calls through GraphClient vs 1,000 bare httpx calls, same sandbox endpoint.

Both sides run sequentially on one event loop against the same `igtui sandbox` instance on
loopback, calling `GET /v25.0/me` with a real sandbox token, and both decode the JSON. The
figure printed is the ratio GraphClient / bare httpx (target: within 1.2x). The machine is
shared and noisy, so the two sides alternate in batches of 50 calls within each round (both
see the same noise) and the median of several rounds is reported.

    python bench/bench_graph_client.py            # IGTUI_BENCH_CALLS=1000 IGTUI_BENCH_ROUNDS=5
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # (bench scripts are run from the repo, not installed)

from igtui.core.graph.client import GraphClient
from igtui.core.models import Exchange
from igtui.core.secret import Secret
from igtui.sandbox.admin import SandboxAdmin
from igtui.sandbox.demo import DEMO_IG_APP
from igtui.sandbox.server import Sandbox

CALLS = int(os.environ.get("IGTUI_BENCH_CALLS", "1000"))
ROUNDS = int(os.environ.get("IGTUI_BENCH_ROUNDS", "5"))
TARGET = 1.2


BATCH = 50
"""Calls per batch; the two sides alternate batch by batch so that both see the same noise."""


BEST: list[tuple[float, float]] = []
"""Per batch (bare seconds, client seconds): the fastest batches are the least disturbed."""


async def run_round(url: str, token: str, calls: int) -> tuple[float, float]:
    """(bare seconds, GraphClient seconds) for `calls` calls each, interleaved in batches."""
    raw_params = {"fields": "id,user_id,username", "access_token": token}
    secret_params: dict[str, object] = {"fields": "id,user_id,username", "access_token": Secret(token)}
    exchanges: list[Exchange] = []
    bare_s = client_s = 0.0
    async with httpx.AsyncClient(timeout=15.0, follow_redirects=False) as bare, \
            GraphClient(on_exchange=exchanges.append) as graph:
        for _ in range(5):  # warm both connections
            (await bare.get(url, params=raw_params)).json()
            await graph.request("GET", url, params=secret_params)
        done = 0
        while done < calls:
            batch = min(BATCH, calls - done)
            started = time.perf_counter()
            for _ in range(batch):
                response = await bare.get(url, params=raw_params)
                response.raise_for_status()
                response.json()
            middle = time.perf_counter()
            for _ in range(batch):
                await graph.request("GET", url, params=secret_params, app_name="demo-ig", account="acme.studio")
            ended = time.perf_counter()
            client_s += ended - middle
            bare_s += middle - started
            BEST.append((middle - started, ended - middle))
            done += batch
    assert len(exchanges) == calls + 5 and all(e.status == 200 for e in exchanges)
    return bare_s, client_s


async def run(url: str, token: str) -> list[tuple[float, float]]:
    return [await run_round(url, token, CALLS) for _ in range(ROUNDS)]


def _serve(conn: Connection) -> None:
    """Child process: run the sandbox, report its URL and a token, serve until told to stop."""
    with Sandbox(seed=1) as sandbox:
        with SandboxAdmin(sandbox.url, token=sandbox.admin_token) as admin:
            admin.update_app(DEMO_IG_APP["app_id"], budget=10**9)  # keep the usage header below 100 %
            token = admin.issue_token(DEMO_IG_APP["app_id"], "acme.studio")["access_token"]
        conn.send((sandbox.url, token))
        conn.recv()


def main() -> int:
    # The sandbox runs in its own process, as Meta would be remote: in-process, its server
    # threads would compete with the client for the GIL and blur the comparison.
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(child,), daemon=True)
    server.start()
    try:
        url, token = parent.recv()
        rounds = asyncio.run(run(f"{url}/v25.0/me", token))
    finally:
        parent.send("stop")
        server.join(timeout=10)
    ratios = [client_s / bare_s for bare_s, client_s in rounds]
    for n, ((bare_s, client_s), ratio) in enumerate(zip(rounds, ratios, strict=True), 1):
        print(f"round {n}: bare httpx {bare_s * 1000 / CALLS:.3f} ms/call, GraphClient {client_s * 1000 / CALLS:.3f} "
              f"ms/call, ratio {ratio:.3f}")
    median = statistics.median(ratios)
    verdict = "OK" if median <= TARGET else "OVER TARGET"
    quiet = sorted(BEST, key=sum)[: max(1, len(BEST) // 10)]  # the least disturbed 10 % of batch pairs
    best = sum(c for _b, c in quiet) / sum(b for b, _c in quiet)
    print(f"least-disturbed batches ratio {best:.3f}")
    print(f"graph client vs bare httpx, {CALLS} calls x {ROUNDS} rounds: median ratio {median:.3f} "
          f"(target <= {TARGET}) {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
