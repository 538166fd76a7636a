"""igtui.core is headless (no Textual, no Rich), and headless CLI start-up stays lean.

Static: walk every module under igtui/core and refuse imports of textual, rich, igtui.ui or
igtui.cli — including function-level ones. Runtime: import each core module in a fresh
interpreter and check that neither textual nor rich was loaded; same for igtui.cli and for the
parser with every command module registered (which must not pull in textual or httpx either).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
CORE = REPO / "igtui" / "core"
FORBIDDEN = ("textual", "rich", "igtui.ui", "igtui.cli")


def _core_modules() -> list[str]:
    names = []
    for path in sorted(CORE.rglob("*.py")):
        rel = path.relative_to(REPO).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(node.args[0].value)
    return found


def _is_forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(REPO)))
def test_core_module_has_no_forbidden_import_statically(path: Path) -> None:
    bad = [name for name in _imports(path) if _is_forbidden(name)]
    assert not bad, f"{path.relative_to(REPO)} imports {bad}"


def _loaded_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(m for m in sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=str(REPO))
    assert out.returncode == 0, out.stderr[-2000:]
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_every_core_module_imports_without_textual_or_rich() -> None:
    statement = "\n".join(f"import {name}" for name in _core_modules())
    loaded = _loaded_after("import igtui.core\n" + statement)
    assert not {m for m in loaded if m.split(".")[0] in ("textual", "rich")}


@pytest.mark.parametrize("name", ["igtui", "igtui.core", "igtui.cli", "igtui.core.store", "igtui.core.crypto"])
def test_headless_import_does_not_load_the_tui(name: str) -> None:
    loaded = _loaded_after(f"import {name}")
    assert "textual" not in loaded and "rich" not in loaded


def test_cli_parser_with_all_commands_stays_lean() -> None:
    """Building the parser imports every command module: none may pull in textual or httpx."""
    loaded = _loaded_after("from igtui.cli import build_parser\nbuild_parser()")
    heavy = {m for m in loaded if m.split(".")[0] in ("textual", "rich", "httpx", "httpcore", "sqlite_utils")}
    assert not heavy, f"start-up imports {sorted(heavy)}"


def test_app_show_path_does_not_import_textual_or_httpx(tmp_path: Path) -> None:
    """Run `igtui app show` for real (in-process in a child) and inspect sys.modules afterwards."""
    home = tmp_path / "home"
    env = {**os.environ, "PYTHONPATH": str(REPO), "IGTUI_HOME": str(home), "IGTUI_PASSPHRASE": "pw-for-tests"}
    kdf = ["--kdf-memory", "19456", "--kdf-iterations", "2", "--kdf-lanes", "1"]

    def run(*a: str, **k: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "igtui", *a], env=env, capture_output=True, text=True, **k)

    assert run("init", *kdf).returncode == 0
    assert run("app", "add", "demo", "--platform", "instagram", "--app-id", "1", "--redirect-uri",
               "https://localhost/cb", "--secret-stdin", input="demo-secret-xyz\n").returncode == 0
    code = (
        "import sys, json\nfrom igtui.cli import main\nrc = main(['app', 'show', 'demo'])\n"
        "print(json.dumps([rc, sorted(sys.modules)]))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    rc, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert rc == 0, out.stderr
    heavy = {m for m in loaded if m.split(".")[0] in ("textual", "rich", "httpx", "httpcore", "sqlite_utils")}
    assert not heavy, f"`igtui app show` imports {sorted(heavy)}"


HAND_OVER_NEVER_LOADS = ("igtui.core.activity", "_hashlib", "unicodedata", "igtui.core.delivery.config", "httpx",
                         "asyncio", "textual", "igtui.core.delivery.command", "base64")
"""What a command that only hands a stored token over must not load (ARCHITECTURE.md, "start-up
stays lean"): each was measured in `igtui exec ACCOUNT -- true`'s start (bench/bench_exec.py)."""


@pytest.mark.parametrize("argv", [["token", "get", "demo/user00001"], ["exec", "demo/user00001", "--", "true"]],
                         ids=["token-get", "exec"])
def test_handing_a_token_over_loads_nothing_it_does_not_use(tmp_path: Path, argv: list[str]) -> None:
    """`token get` and `exec` run for real (in-process in a child); sys.modules afterwards."""
    from datetime import UTC, datetime

    from igtui.core.crypto import KdfParams
    from igtui.core.models import Profile, TokenKind
    from igtui.core.secret import Secret
    from igtui.core.store import Store

    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    store = Store.create(home / "igtui.db", Secret("pw-for-tests"), kdf=KdfParams(memory_kib=19456, iterations=2,
                                                                                 lanes=1))
    store.add_app(name="demo", platform="instagram", app_id="100000000000001",
                  redirect_uris=["https://localhost/callback"], scopes=["instagram_business_basic"],
                  secret=Secret("demo-ig-secret-0001"))
    store.bulk_save_logins("demo", [(Profile(id="26000000000000001", user_id="17841400000000001", username="user00001"),
                                     Secret("IGAA-hand-over-canary", register=False))],
                           kind=TokenKind.IG_LONG, issued_at=datetime.now(UTC), expires_at=None)
    store.lock()
    env = {**os.environ, "PYTHONPATH": str(REPO), "IGTUI_HOME": str(home), "IGTUI_PASSPHRASE": "pw-for-tests"}
    code = (
        "import sys, json\nfrom igtui.cli import main\n"
        f"rc = main({argv!r})\nsys.stdout.flush()\nprint(json.dumps([rc, sorted(sys.modules)]))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    rc, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert rc == 0, out.stderr
    if argv[0] == "token":
        assert "IGAA-hand-over-canary" in out.stdout  # it did hand the token over
    unwanted = sorted(m for m in loaded if m in HAND_OVER_NEVER_LOADS or m.split(".")[0] in HAND_OVER_NEVER_LOADS)
    assert not unwanted, f"`igtui {' '.join(argv)}` loads {unwanted}"
