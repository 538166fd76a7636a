"""Benchmark: 1,000 Graph calls through GraphClient vs 1,000 bare httpx calls, same sandbox endpoint.

Both sides run sequentially on one event loop against the same `igtui sandbox` instance on
loopback, calling `GET /v25.0/me` with a real sandbox token, and both decode the JSON. The
figure printed is the ratio GraphClient / bare httpx (target: within 1.2x). The two sides are
interleaved over several rounds and the median round is reported, because the machine is
shared and noisy.

    python bench/bench_graph_client.py            # IGTUI_BENCH_CALLS=1000 IGTUI_BENCH_ROUNDS=5
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402  (bench scripts are run from the repo, not installed)

from igtui.core.graph.client import GraphClient  # noqa: E402
from igtui.core.models import Exchange  # noqa: E402
from igtui.core.secret import Secret  # noqa: E402
from igtui.sandbox.admin import SandboxAdmin  # noqa: E402
from igtui.sandbox.demo import DEMO_IG_APP  # noqa: E402
from igtui.sandbox.server import Sandbox  # noqa: E402

CALLS = int(os.environ.get("IGTUI_BENCH_CALLS", "1000"))
ROUNDS = int(os.environ.get("IGTUI_BENCH_ROUNDS", "5"))
TARGET = 1.2


async def bare(url: str, params: dict[str, str], calls: int) -> float:
    async with httpx.AsyncClient(timeout=15.0, follow_redirects=False) as client:
        started = time.perf_counter()
        for _ in range(calls):
            response = await client.get(url, params=params)
            response.raise_for_status()
            response.json()
        return time.perf_counter() - started


async def through_client(url: str, params: dict[str, object], calls: int) -> float:
    exchanges: list[Exchange] = []
    async with GraphClient(on_exchange=exchanges.append) as graph:
        started = time.perf_counter()
        for _ in range(calls):
            await graph.request("GET", url, params=params, app_name="demo-ig", account="acme.studio")
        elapsed = time.perf_counter() - started
    assert len(exchanges) == calls
    return elapsed


async def run(url: str, token: str) -> list[tuple[float, float]]:
    raw_params = {"fields": "id,user_id,username", "access_token": token}
    secret_params: dict[str, object] = {"fields": "id,user_id,username", "access_token": Secret(token)}
    await bare(url, raw_params, 50)  # warm-up both paths (imports, connection, caches)
    await through_client(url, secret_params, 50)
    rounds = []
    for index in range(ROUNDS):
        if index % 2:
            client_s = await through_client(url, secret_params, CALLS)
            bare_s = await bare(url, raw_params, CALLS)
        else:
            bare_s = await bare(url, raw_params, CALLS)
            client_s = await through_client(url, secret_params, CALLS)
        rounds.append((bare_s, client_s))
    return rounds


def main() -> int:
    with Sandbox(seed=1) as sandbox:
        with SandboxAdmin(sandbox.url) as admin:
            admin.update_app(DEMO_IG_APP["app_id"], budget=10**9)  # keep the usage header below 100 %
            token = admin.issue_token(DEMO_IG_APP["app_id"], "acme.studio")["access_token"]
        rounds = asyncio.run(run(f"{sandbox.url}/v25.0/me", token))
    ratios = [client_s / bare_s for bare_s, client_s in rounds]
    for n, ((bare_s, client_s), ratio) in enumerate(zip(rounds, ratios, strict=True), 1):
        print(f"round {n}: bare httpx {bare_s * 1000 / CALLS:.3f} ms/call, GraphClient {client_s * 1000 / CALLS:.3f} "
              f"ms/call, ratio {ratio:.3f}")
    median = statistics.median(ratios)
    verdict = "OK" if median <= TARGET else "OVER TARGET"
    print(f"graph client vs bare httpx, {CALLS} calls x {ROUNDS} rounds: median ratio {median:.3f} "
          f"(target <= {TARGET}) {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
