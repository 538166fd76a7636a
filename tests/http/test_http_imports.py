"""The pure parts of the HTTP door must not drag httpx in (the store and `igtui log` use them)."""

from __future__ import annotations

import subprocess
import sys

PURE = ("igtui.core.graph", "igtui.core.graph.hosts", "igtui.core.graph.redact", "igtui.core.graph.errors",
        "igtui.core.graph.ratelimit", "igtui.core.logsafe")


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_pure_modules_do_not_import_httpx_textual_or_rich() -> None:
    loaded = _loaded_after("\n".join(f"import {m}" for m in PURE) + "\nfrom igtui.core.graph import redact_url")
    assert not {"httpx", "textual", "rich"} & loaded


def test_lazy_export_reaches_the_client() -> None:
    loaded = _loaded_after("from igtui.core.graph import GraphClient, MetaApi")
    assert "httpx" in loaded and "textual" not in loaded and "rich" not in loaded
