"""tools/mutate.py: which sites it mutates, that a mutant changes exactly one thing, and that a run
kills a real mutant through the import hook without touching the file on disk."""

from __future__ import annotations

import ast
import hashlib
import textwrap

import pytest

from tools import mutate

TOY = textwrap.dedent(
    '''
    """Docstring 1."""
    from dataclasses import dataclass

    LIMIT = 10
    __all__ = ["LIMIT", "f"]

    @dataclass(frozen=True)
    class Box:
        size: int = 3

    def f(x: int = 2, *, flag: bool = False) -> str:
        """Docstring 2."""
        if x > LIMIT:
            raise ValueError(f"too big: {x + 1}")
        for _ in range(3):
            break
        label = "a" + "b"
        return label if flag else "no"
    '''
)


def _labels(source: str) -> list[str]:
    return [f"{s.line}:{s.description}" for s in mutate.sites(source)]


def test_the_sites_of_a_toy_module() -> None:
    assert _labels(TOY) == [
        "5:10 -> 11", "5:10 -> 9",  # LIMIT
        "10:3 -> 4", "10:3 -> 2",  # a dataclass field's default is code
        "12:2 -> 3", "12:2 -> 1", "12:False -> True",  # the defaults
        "14:'>' -> '>='", "14:'>' -> '<='",
        "15:raise -> pass",
        "16:3 -> 4", "16:3 -> 2",
        "17:break -> continue",
        "19:ifexp condition negated", "19:return value -> None",
    ]


def test_strings_fstrings_annotations_decorators_and_all_are_left_alone() -> None:
    labels = " ".join(_labels(TOY))
    assert "True -> False" not in labels  # @dataclass(frozen=True) is a declaration
    assert "'+'" not in labels  # "a" + "b" builds a string; {x + 1} is inside an f-string
    assert not any(s.line in (6, 9) for s in mutate.sites(TOY))  # __all__, `size: int`


def test_each_mutant_changes_exactly_one_site() -> None:
    original = ast.unparse(ast.parse(TOY))
    for site in mutate.sites(TOY):
        changed = ast.unparse(mutate.mutant_tree(TOY, site.index))
        assert changed != original, site.label()
        compile(mutate.mutant_tree(TOY, site.index), "toy.py", "exec")
        diff = mutate.mutant_diff(TOY, "toy.py", site.index)
        assert sum(line.startswith("+") and not line.startswith("+++") for line in diff.splitlines()) == 1
    with pytest.raises(ValueError, match="no mutation"):
        mutate.mutant_tree(TOY, len(mutate.sites(TOY)))


def test_the_original_is_index_minus_one() -> None:
    assert ast.dump(mutate.mutant_tree(TOY, -1)) == ast.dump(ast.parse(TOY))


def test_every_target_names_an_existing_module_and_test_file() -> None:
    for target in mutate.TARGETS:
        assert (mutate.REPO_ROOT / target.path).is_file()
        assert target.module.replace(".", "/") + ".py" == target.path
        assert all((mutate.REPO_ROOT / t).is_file() for t in target.tests)
        assert mutate.sites((mutate.REPO_ROOT / target.path).read_text(encoding="utf-8"))


def test_a_run_kills_a_real_mutant_and_leaves_the_file_alone() -> None:
    (target,) = [t for t in mutate.TARGETS if t.path.endswith("ratelimit.py")]
    path = mutate.REPO_ROOT / target.path
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    found = mutate.sites(path.read_text(encoding="utf-8"))
    cap = next(s for s in found if s.description == "16384 -> 16385")
    # A fresh interpreter: this test process may already have imported the module.
    report = mutate.run_target(target, jobs=1, fork=False, only=[cap.index], progress=False)
    assert [(o.site, o.status) for o in report.outcomes] == [(cap, "killed")]
    assert report.score == 100.0
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
