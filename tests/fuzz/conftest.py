"""Fuzz settings: a few hundred examples per target by default, 10,000 in the slow run.

`python -m pytest` runs the fast tests only; `python -m pytest -m slow tests/fuzz` runs the
10,000-example ones. The slow fuzz tests are deselected here, unless a `-m` expression is
given, rather than by a project-wide `addopts = -m "not slow"`: that would also drop the
existing slow crash-loop trials from the default run, which CI counts on.

Hypothesis keeps no example database (`database=None`), and its other caches (constants,
Unicode tables) go to a directory under the system's temporary directory instead of
`./.hypothesis`, so nothing is written into the repository. No deadline: a shared CI
machine's pauses are not bugs.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

_HOME = Path(tempfile.gettempdir()) / f"igtui-hypothesis-{os.getuid()}"
set_hypothesis_home_dir(str(_HOME))

FAST_EXAMPLES = 300
SLOW_EXAMPLES = 10_000

_COMMON = {"database": None, "deadline": None, "derandomize": False,
           "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much]}
FAST = settings(max_examples=FAST_EXAMPLES, **_COMMON)  # type: ignore[arg-type]
SLOW = settings(max_examples=SLOW_EXAMPLES, **_COMMON)  # type: ignore[arg-type]

RUNS: Counter[str] = Counter()
"""Inputs run per target in this session (printed at the end), for the closing figures."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the slow fuzz tests unless `-m` is given; when they run, give each 30 minutes
    instead of the project's 5 (10,000 examples take minutes on a busy machine)."""
    if config.getoption("markexpr", ""):
        for item in items:
            if "tests/fuzz/" in item.nodeid and item.get_closest_marker("slow"):
                item.add_marker(pytest.mark.timeout(1800))
        return
    keep, drop = [], []
    for item in items:
        (drop if "tests/fuzz/" in item.nodeid and item.get_closest_marker("slow") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RUNS:
        terminalreporter.section("fuzz inputs run per target")
        for target, count in sorted(RUNS.items()):
            terminalreporter.write_line(f"{target}: {count}")
