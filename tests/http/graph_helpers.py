"""Shared helpers for the HTTP-door tests: canary secrets, a recording MockTransport."""

from __future__ import annotations

import json
import secrets
import traceback
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from igtui.core.models import App


def canary(prefix: str = "CANARY") -> str:
    """A fresh, unmistakable fake secret (long enough to pass token validation)."""
    return f"{prefix}{secrets.token_hex(12)}"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers={
        "content-type": "application/json", **(headers or {})})


class Recorder:
    """A MockTransport handler that records requests and answers from a script or a function."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response] | Iterable[httpx.Response]) -> None:
        self.requests: list[httpx.Request] = []
        if callable(answer):
            self._answer = answer
        else:
            queue = list(answer)
            self._answer = lambda _request: queue.pop(0) if len(queue) > 1 else queue[0]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._answer(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    @property
    def calls(self) -> int:
        return len(self.requests)


def everything_about(error: BaseException) -> str:
    """All the text an exception could show: str, repr, attributes, the full formatted chain."""
    parts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    parts += [repr(v) for v in vars(error).values()]
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        parts.append(repr(link))
        parts.append(str(link))
        link = link.__cause__ or link.__context__
    return "\n".join(parts)


def make_app(platform: str = "instagram", base_url: str | None = None) -> App:
    return App(
        id=1,
        name=f"demo-{platform[:2]}",
        platform=platform,  # type: ignore[arg-type]
        app_id="100000000000001" if platform == "instagram" else "200000000000002",
        redirect_uris=("https://localhost/callback",),
        scopes=("instagram_business_basic",),
        base_url=base_url,
    )
