"""A small AST mutation tester: does each core module's own test file notice a deliberate fault?

Run it from the repository root:

    python -m tools.mutate                      # every target: one score line each, then survivors
    python -m tools.mutate callback policy      # only targets whose path contains a word
    python -m tools.mutate --list ratelimit     # the mutants, numbered, without running anything
    python -m tools.mutate --show callback:17   # the diff of one mutant
    python -m tools.mutate --fail-under 90      # exit 1 when a module scores under 90 %

How a mutant is made: the module is parsed with `ast`, one site is changed, and the changed tree is
compiled with the original line numbers. The mutations are the classic ones:

* arithmetic operator swaps (`+`/`-`, `*`/`/`, `//`→`*`, `%`→`//`, `**`→`*`, `|`/`&`, `<<`/`>>`);
* comparison boundaries and negations (`<`→`<=` and `>=`, `==`/`!=`, `is`/`is not`, `in`/`not in`);
* `and`/`or`, dropping a `not` or a unary minus;
* int constants ±1 (the boundaries), `True`/`False`;
* `raise …` → `pass`, `return X` → `return None`, `break`/`continue` swapped;
* `if c:` / `while c:` / `x if c else y` → `not c` (a lone comparison is already negated above).

String constants and f-strings are never mutated (a changed message is not a changed behaviour),
nor are annotations, decorators (`@dataclass(frozen=True)` is a declaration) and `__all__`.

How a mutant runs: in a child process (forked on POSIX, a fresh interpreter with `--no-fork`), an
import hook in front of `sys.meta_path` serves the mutated code under the module's real name and
file, and `pytest -x` runs the module's own test files. Nothing on disk changes, so a run can
never leave a mutant behind, and other work in the tree is untouched. A child that fails a test,
fails to collect, or outlives its time limit has killed the mutant; a child whose run never
imported the module is an error (the target table is wrong), never a survivor.

Survivors that are equivalent (no test can tell them apart from the original) are listed in
`EQUIVALENT` with the reason; the score counts them as survivors all the same.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import difflib
import functools
import gc
import importlib.abc
import importlib.machinery
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, ModuleType

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Target:
    """A module under mutation and the test files that must kill its mutants."""

    path: str
    module: str
    tests: tuple[str, ...]


TARGETS: tuple[Target, ...] = (
    Target("igtui/core/oauth/callback.py", "igtui.core.oauth.callback", ("tests/oauth/test_callback.py",)),
    Target("igtui/core/refresh/policy.py", "igtui.core.refresh.policy", ("tests/refresh/test_refresh_policy.py",)),
    Target("igtui/core/graph/ratelimit.py", "igtui.core.graph.ratelimit", ("tests/http/test_http_ratelimit.py",)),
    Target("igtui/core/ints.py", "igtui.core.ints", ("tests/http/test_strict_ints.py",)),
    Target("igtui/core/store/integrity.py", "igtui.core.store.integrity", ("tests/store/test_metadata_mac.py",)),
)

EQUIVALENT: dict[str, tuple[tuple[str, str, str], ...]] = {
    # module path -> ((mutation, text on the site's source line, why no test can tell it apart), ...)
    "igtui/core/oauth/callback.py": (
        ("0 -> -1", "return Callback(code=code, state=None, redirect_uri=pending[0]",
         "a bare code gets here only when exactly one flow is pending: pending[0] and pending[-1] are that flow"),
    ),
    "igtui/core/refresh/policy.py": (
        ("'is' -> 'is not'", "if kind is TokenKind.FB_PAGE and account.expires_known:",
         "this branch and the last return both say 'never expires' for a known expiry, whatever the kind"),
        ("16 -> 17", "min(n - 1, 16)",
         "the exponent cap only bounds the arithmetic: from 8 failures on the 6-hour cap decides"),
        ("16 -> 15", "min(n - 1, 16)",
         "the exponent cap only bounds the arithmetic: from 8 failures on the 6-hour cap decides"),
    ),
    "igtui/core/graph/ratelimit.py": (
        ("0 -> -1", "regain_max = max(regain_max or 0, minutes)",
         "minutes is never negative (_number refuses negatives), so max(0, m) == max(-1, m)"),
    ),
}
"""Survivors known to be equivalent; any other survivor is printed as UNEXPLAINED (a test is missing)."""

# ---------------------------------------------------------------------------------------------
# Making mutants


@dataclass(frozen=True)
class Site:
    """One mutation: where it is and what it does."""

    index: int
    line: int
    kind: str
    description: str
    snippet: str

    def label(self) -> str:
        return f"#{self.index} line {self.line}: {self.description}  in  {self.snippet}"


_COMPARE_SWAPS: dict[type[ast.cmpop], tuple[type[ast.cmpop], ...]] = {
    ast.Lt: (ast.LtE, ast.GtE),
    ast.LtE: (ast.Lt, ast.Gt),
    ast.Gt: (ast.GtE, ast.LtE),
    ast.GtE: (ast.Gt, ast.Lt),
    ast.Eq: (ast.NotEq,),
    ast.NotEq: (ast.Eq,),
    ast.Is: (ast.IsNot,),
    ast.IsNot: (ast.Is,),
    ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,),
}

_BINOP_SWAPS: dict[type[ast.operator], tuple[type[ast.operator], ...]] = {
    ast.Add: (ast.Sub,),
    ast.Sub: (ast.Add,),
    ast.Mult: (ast.Div,),
    ast.Div: (ast.Mult,),
    ast.FloorDiv: (ast.Mult,),
    ast.Mod: (ast.FloorDiv,),
    ast.Pow: (ast.Mult,),
    ast.BitOr: (ast.BitAnd,),
    ast.BitAnd: (ast.BitOr,),
    ast.LShift: (ast.RShift,),
    ast.RShift: (ast.LShift,),
}

_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
    ast.Pow: "**", ast.BitOr: "|", ast.BitAnd: "&", ast.LShift: "<<", ast.RShift: ">>",
    ast.And: "and", ast.Or: "or",
}


def _is_text(node: ast.expr) -> bool:
    """Whether an operator chain has a string literal or f-string in it."""
    if isinstance(node, ast.BinOp):
        return _is_text(node.left) or _is_text(node.right)
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


class _Mutator(ast.NodeTransformer):
    """Walks a module in a fixed order, numbering every mutation site; applies the `target`-th.

    With `target=None` it only records the sites. The walk before the target is identical in both
    modes, so a site's number names the same mutation each time.
    """

    def __init__(self, source: str, target: int | None) -> None:
        self.source = source
        self.target = target
        self.sites: list[Site] = []
        self.applied: Site | None = None

    # -- bookkeeping

    def _snippet(self, node: ast.AST) -> str:
        """The source line the site starts on (whitespace squeezed, cut at 90 characters)."""
        line = getattr(node, "lineno", 0)
        lines = self.source.splitlines()
        text = lines[line - 1] if 0 < line <= len(lines) else ast.unparse(node)
        first = " ".join(text.split())
        return first if len(first) <= 90 else first[:87] + "..."

    def _offer(self, node: ast.AST, kind: str, description: str, make: Callable[[], ast.AST]) -> ast.AST | None:
        site = Site(len(self.sites), getattr(node, "lineno", 0), kind, description, self._snippet(node))
        self.sites.append(site)
        if site.index != self.target:
            return None
        self.applied = site
        return ast.copy_location(make(), node)

    # -- what is never mutated

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        return node  # f-strings are strings, and their expressions only shape the text

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return self._function(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        # Defaults and the body are code; annotations and decorators are declarations.
        node.args.defaults = [self.visit(d) for d in node.args.defaults]
        node.args.kw_defaults = [None if d is None else self.visit(d) for d in node.args.kw_defaults]
        node.body = self._body(node.body)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        node.body = self._body(node.body)
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return node
        return self.generic_visit(node)

    def _body(self, body: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in body:
            new = self.visit(stmt)
            out.extend(new if isinstance(new, list) else [new])
        return out

    # -- mutations

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        for i, op in enumerate(node.ops):
            for swap in _COMPARE_SWAPS.get(type(op), ()):
                ops = list(node.ops)
                ops[i] = swap()
                desc = f"'{_SYMBOLS[type(op)]}' -> '{_SYMBOLS[swap]}'"
                make = functools.partial(ast.Compare, left=node.left, ops=ops, comparators=node.comparators)
                new = self._offer(node, "compare", desc, make)
                if new is not None:
                    return new
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        if _is_text(node):
            return node  # building a string ('a' + b) is a string constant's business, not mutated
        self.generic_visit(node)
        for swap in _BINOP_SWAPS.get(type(node.op), ()):
            desc = f"'{_SYMBOLS[type(node.op)]}' -> '{_SYMBOLS[swap]}'"
            new = self._offer(node, "operator", desc,
                              functools.partial(ast.BinOp, left=node.left, op=swap(), right=node.right))
            if new is not None:
                return new
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        for swap in _BINOP_SWAPS.get(type(node.op), ()):
            desc = f"'{_SYMBOLS[type(node.op)]}=' -> '{_SYMBOLS[swap]}='"
            new = self._offer(node, "operator", desc,
                              functools.partial(ast.AugAssign, target=node.target, op=swap(), value=node.value))
            if new is not None:
                return new
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        swap: type[ast.boolop] = ast.Or if isinstance(node.op, ast.And) else ast.And
        desc = f"'{_SYMBOLS[type(node.op)]}' -> '{_SYMBOLS[swap]}'"
        new = self._offer(node, "boolean", desc, lambda: ast.BoolOp(op=swap(), values=node.values))
        return node if new is None else new

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            new = self._offer(node, "negation", "drop 'not'", lambda: node.operand)
            return node if new is None else new
        if isinstance(node.op, ast.USub) and not isinstance(node.operand, ast.Constant):
            new = self._offer(node, "operator", "drop unary '-'", lambda: node.operand)
            return node if new is None else new
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if isinstance(value, bool):
            new = self._offer(node, "constant", f"{value} -> {not value}", lambda: ast.Constant(not value))
            return node if new is None else new
        if isinstance(value, int):
            for delta in (1, -1):
                changed = value + delta
                new = self._offer(node, "boundary", f"{value} -> {changed}", functools.partial(ast.Constant, changed))
                if new is not None:
                    return new
        return node  # strings, bytes, floats, None: not mutated

    def visit_Raise(self, node: ast.Raise) -> ast.AST:
        self.generic_visit(node)
        new = self._offer(node, "raise", "raise -> pass", lambda: ast.Pass())
        return node if new is None else new

    def visit_Return(self, node: ast.Return) -> ast.AST:
        self.generic_visit(node)
        value = node.value
        constant = isinstance(value, ast.Constant) and (value.value is None or isinstance(value.value, bool))
        if value is None or constant:
            return node  # a bare return / return None has nothing to change; booleans are swapped above
        new = self._offer(node, "return", "return value -> None", lambda: ast.Return(value=ast.Constant(None)))
        return node if new is None else new

    def visit_Break(self, node: ast.Break) -> ast.AST:
        new = self._offer(node, "loop", "break -> continue", lambda: ast.Continue())
        return node if new is None else new

    def visit_Continue(self, node: ast.Continue) -> ast.AST:
        new = self._offer(node, "loop", "continue -> break", lambda: ast.Break())
        return node if new is None else new

    def _negate_test(self, node: ast.If | ast.While | ast.IfExp) -> ast.AST | None:
        test = node.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            return None  # the comparison's own negation is already a mutant
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return None  # dropping the `not` is already a mutant
        if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
            return None
        kind = type(node).__name__.lower()

        def make() -> ast.AST:
            negated = ast.copy_location(ast.UnaryOp(op=ast.Not(), operand=test), test)
            fields = {name: getattr(node, name) for name in node._fields}
            fields["test"] = negated
            return type(node)(**fields)

        return self._offer(test, "condition", f"{kind} condition negated", make)

    def visit_If(self, node: ast.If) -> ast.AST:
        if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return node
        self.generic_visit(node)
        new = self._negate_test(node)
        return node if new is None else new

    def visit_While(self, node: ast.While) -> ast.AST:
        self.generic_visit(node)
        new = self._negate_test(node)
        return node if new is None else new

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        new = self._negate_test(node)
        return node if new is None else new


def sites(source: str) -> list[Site]:
    """Every mutation site of a module's source, numbered in walk order."""
    walker = _Mutator(source, None)
    walker.visit(ast.parse(source))
    return walker.sites


def mutant_tree(source: str, index: int) -> ast.Module:
    """The module's tree with mutation `index` applied (index -1: the original, unchanged)."""
    tree = ast.parse(source)
    if index < 0:
        return tree
    walker = _Mutator(source, index)
    mutated: ast.Module = walker.visit(copy.deepcopy(tree))
    if walker.applied is None:
        raise ValueError(f"no mutation #{index}")
    return ast.fix_missing_locations(mutated)


def mutant_diff(source: str, path: str, index: int) -> str:
    """A unified diff between the original (as `ast.unparse` writes it) and mutant `index`."""
    before = (ast.unparse(ast.parse(source)) + "\n").splitlines(keepends=True)
    after = (ast.unparse(mutant_tree(source, index)) + "\n").splitlines(keepends=True)
    return "".join(difflib.unified_diff(before, after, f"{path} (original)", f"{path} (mutant #{index})", n=2))


# ---------------------------------------------------------------------------------------------
# Running one mutant (inside the child process)

NOT_IMPORTED = 99
"""The child's exit status when its tests never imported the target module."""


class _MutantFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the mutated code as the target module, under its real name and file."""

    def __init__(self, module: str, path: str, code: CodeType) -> None:
        self.module = module
        self.path = path
        self.code = code
        self.loaded = False

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.module:
            return None
        return importlib.util.spec_from_file_location(fullname, self.path, loader=self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        self.loaded = True
        exec(self.code, module.__dict__)  # running the mutant is the point


def pytest_args(target: Target) -> list[str]:
    """`pytest` arguments for one mutant run: stop at the first failure, no cache, quiet."""
    return [*target.tests, "-x", "-q", "--no-header", "-n", "0", "-p", "no:cacheprovider", "-p", "no:randomly",
            "-p", "no:hypothesispytest", "-p", "no:benchmark", "-p", "no:cov"]


def run_child(target: Target, source_file: str, index: int, *, quiet: bool = True,
              modules_out: str | None = None) -> int:
    """Run the target's tests against mutant `index` in this process; the pytest exit status.

    With `modules_out`, the names of the modules the run imported from outside the repository are
    written there (the baseline's list, which the parent preloads before forking the mutants).
    """
    import pytest

    source = Path(source_file).read_text(encoding="utf-8")
    real_path = str(REPO_ROOT / target.path)
    code = compile(mutant_tree(source, index), real_path, "exec", dont_inherit=True)
    if target.module in sys.modules:
        return NOT_IMPORTED
    finder = _MutantFinder(target.module, real_path, code)
    sys.meta_path.insert(0, finder)
    if quiet:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
    os.chdir(REPO_ROOT)
    status = int(pytest.main(pytest_args(target)))
    if modules_out is not None:
        Path(modules_out).write_text("\n".join(_outside_modules()), encoding="utf-8")
    if not finder.loaded:
        return NOT_IMPORTED
    return status


def _outside_modules() -> list[str]:
    """Loaded modules that live outside the repository: they cannot import the target."""
    root = str(REPO_ROOT)
    names = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None) or ""
        if name.endswith("__main__") or file.startswith(root) or name.split(".")[0] in ("igtui", "tests", "tools"):
            continue
        names.append(name)
    return sorted(names)


def _preload(names: Sequence[str]) -> None:
    """Import what the baseline run imported (pytest, its plugins, third-party libraries), so that
    each forked mutant starts with them loaded. Failures only cost speed."""
    import importlib

    for name in names:
        try:
            importlib.import_module(name)
        except BaseException:
            continue  # a module that will not preload is loaded by the child
    # pytest runs gc.collect() five times at exit; frozen objects are not scanned again in each child.
    gc.freeze()


# ---------------------------------------------------------------------------------------------
# Running many mutants (in the parent)


@dataclass
class _Job:
    index: int
    started: float
    pid: int | None = None
    proc: subprocess.Popen[bytes] | None = None

    def poll(self) -> int | None:
        if self.proc is not None:
            return self.proc.poll()
        assert self.pid is not None
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return None
        return os.waitstatus_to_exitcode(status)

    def kill(self) -> None:
        pid = self.proc.pid if self.proc is not None else self.pid
        assert pid is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()
        else:
            os.waitpid(pid, 0)


@dataclass
class Outcome:
    site: Site | None
    status: str  # killed, survived, timeout, error
    seconds: float
    detail: str = ""


@dataclass
class Report:
    target: Target
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def killed(self) -> int:
        return sum(o.status in ("killed", "timeout") for o in self.outcomes)

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "error"]

    @property
    def survivors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "survived"]

    @property
    def score(self) -> float:
        counted = self.total - len(self.errors)
        return 100.0 * self.killed / counted if counted else 0.0


def _start(target: Target, source_file: str, index: int, fork: bool, modules_out: str | None = None) -> _Job:
    if fork:
        pid = os.fork()
        if pid == 0:  # the child
            try:
                os.setpgid(0, 0)
                status = run_child(target, source_file, index, modules_out=modules_out)
            except BaseException:
                status = 98  # anything escaping the child is a tool error, never a kill
            os._exit(status)
        return _Job(index, time.monotonic(), pid=pid)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.mutate", "--child", target.path, source_file, str(index)],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    return _Job(index, time.monotonic(), proc=proc)


def _classify(status: int) -> tuple[str, str]:
    if status == 0:
        return "survived", ""
    if status in (1, 2):  # a test failed, or collection failed (the mutant breaks the import)
        return "killed", ""
    if status == 3:  # pytest internal error raised from inside the mutant
        return "killed", "internal error"
    if status < 0:  # killed by a signal (e.g. the mutant crashed the interpreter)
        return "killed", f"signal {-status}"
    reasons = {NOT_IMPORTED: "the tests never imported the module", 4: "pytest usage error",
               5: "no tests collected", 98: "the child failed before pytest ran"}
    return "error", reasons.get(status, f"exit status {status}")


def run_target(target: Target, *, jobs: int, fork: bool, only: Sequence[int] | None = None,
               progress: bool = True) -> Report:
    """Run every mutant of one target (after checking the unmutated module passes)."""
    source = (REPO_ROOT / target.path).read_text(encoding="utf-8")
    all_sites = sites(source)
    wanted = [s for s in all_sites if only is None or s.index in only]
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False, encoding="utf-8") as snap:
        snap.write(source)  # one snapshot: an edit to the file mid-run cannot mix two versions
    try:
        modules_out = snap.name + ".modules"
        baseline = _start(target, snap.name, -1, fork, modules_out if fork else None)
        while (status := baseline.poll()) is None:
            time.sleep(0.02)
        base_seconds = time.monotonic() - baseline.started
        if status != 0:
            raise SystemExit(f"{target.path}: its tests fail (or never import it) without any mutant "
                             f"(exit status {status}); run `python -m pytest {' '.join(target.tests)}`")
        if fork and os.path.exists(modules_out):
            _preload(Path(modules_out).read_text(encoding="utf-8").split())
            os.unlink(modules_out)
        limit = max(15.0, 6 * base_seconds)
        report = Report(target)
        pending = list(wanted)
        running: dict[int, tuple[Site, _Job]] = {}
        done = 0
        while pending or running:
            while pending and len(running) < jobs:
                site = pending.pop(0)
                running[site.index] = (site, _start(target, snap.name, site.index, fork))
            time.sleep(0.01)
            for index, (site, job) in list(running.items()):
                status = job.poll()
                elapsed = time.monotonic() - job.started
                if status is None and elapsed > limit:
                    job.kill()
                    report.outcomes.append(Outcome(site, "timeout", elapsed))
                elif status is not None:
                    verdict, detail = _classify(status)
                    report.outcomes.append(Outcome(site, verdict, elapsed, detail))
                else:
                    continue
                del running[index]
                done += 1
                if progress and sys.stderr.isatty():
                    print(f"\r{target.path}: {done}/{len(wanted)}", end="", file=sys.stderr, flush=True)
        if progress and sys.stderr.isatty():
            print("\r" + " " * 70 + "\r", end="", file=sys.stderr, flush=True)
    finally:
        os.unlink(snap.name)
    report.outcomes.sort(key=lambda o: o.site.index if o.site else -1)
    return report


def explain(target: Target, site: Site) -> str | None:
    """The recorded reason a survivor is equivalent, if any."""
    for description, text, reason in EQUIVALENT.get(target.path, ()):
        if site.description == description and text in site.snippet:
            return reason
    return None


def _select(words: Sequence[str]) -> list[Target]:
    if not words:
        return list(TARGETS)
    chosen = [t for t in TARGETS if any(w in t.path for w in words)]
    if not chosen:
        raise SystemExit(f"no target matches {' '.join(words)}; targets: {', '.join(t.path for t in TARGETS)}")
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutate", description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help="only targets whose path contains one of these words")
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, help="mutants run at once")
    parser.add_argument("--no-fork", action="store_true", help="a fresh interpreter per mutant (slower)")
    parser.add_argument("--list", action="store_true", help="list the mutants; run nothing")
    parser.add_argument("--show", metavar="TARGET:N", help="print the diff of mutant N of TARGET")
    parser.add_argument("--only", metavar="N,N,…", help="run only these mutant numbers")
    parser.add_argument("--fail-under", type=float, default=None, metavar="PCT",
                        help="exit 1 when a module's score is under PCT")
    parser.add_argument("--child", nargs=3, metavar=("PATH", "SOURCE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        path, source_file, index = args.child
        target = next(t for t in TARGETS if t.path == path)
        return run_child(target, source_file, int(index))

    if args.show:
        word, _, number = args.show.rpartition(":")
        (target,) = _select([word])
        print(mutant_diff((REPO_ROOT / target.path).read_text(encoding="utf-8"), target.path, int(number)))
        return 0

    targets = _select(args.targets)
    if args.list:
        for target in targets:
            found = sites((REPO_ROOT / target.path).read_text(encoding="utf-8"))
            print(f"{target.path}: {len(found)} mutants")
            for site in found:
                print("  " + site.label())
        return 0

    only = [int(n) for n in args.only.split(",")] if args.only else None
    fork = hasattr(os, "fork") and not args.no_fork
    reports = []
    for target in targets:
        started = time.monotonic()
        report = run_target(target, jobs=max(1, args.jobs), fork=fork, only=only)
        reports.append(report)
        print(f"{target.path}: {report.score:.1f} % ({report.killed} of {report.total - len(report.errors)} "
              f"mutants killed, {len(report.survivors)} survived"
              + (f", {len(report.errors)} errors" if report.errors else "")
              + f"; tests {' '.join(target.tests)}; {time.monotonic() - started:.0f} s)", flush=True)
    for report in reports:
        for outcome in report.survivors + report.errors:
            assert outcome.site is not None
            reason = explain(report.target, outcome.site) if outcome.status == "survived" else outcome.detail
            tag = "survived" if outcome.status == "survived" else "ERROR"
            print(f"  {report.target.path} {tag} {outcome.site.label()}")
            print(f"      {'equivalent: ' + reason if reason and tag == 'survived' else reason or 'UNEXPLAINED'}")
    if any(r.errors for r in reports):
        return 2
    if args.fail_under is not None and any(r.score < args.fail_under for r in reports):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
