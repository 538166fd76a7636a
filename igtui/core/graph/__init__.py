"""The one HTTP door: every Meta call goes through `GraphClient` (client.py).

The pure helpers (hosts, redaction, error parsing, rate-limit headers, the request-log writer)
import no httpx, so that the store, the log command and the logging filter can use them
without paying for it.
This package therefore re-exports lazily: `from igtui.core.graph import GraphClient` imports
httpx, `from igtui.core.graph import redact_url` does not.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Hosts": "hosts",
    "redact_url": "redact",
    "redact_headers": "redact",
    "redact_text": "redact",
    "parse_error": "errors",
    "classify": "errors",
    "error_from_redirect": "errors",
    "parse_usage": "ratelimit",
    "GraphClient": "client",
    "GraphResponse": "client",
    "MetaApi": "api",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
