"""An unexpected crash prints one redacted line, never Textual's traceback with locals.

Textual's own crash path renders `Traceback(show_locals=True)`: a local that
held a token would be printed to the terminal on the way out. IgtuiApp replaces that hook.
"""

from __future__ import annotations

from typing import Any

import pytest

from igtui.core.secret import Secret
from igtui.ui.app import crash_report

CANARY = "IGAAcanaryTOKENvalue0123456789abcdef"


def _explode() -> None:
    token = Secret(CANARY).reveal()  # a local holding a raw token, as a refresh would have
    raise RuntimeError(f"boom while holding {token}")


def _caught() -> BaseException:
    try:
        _explode()
    except RuntimeError as exc:
        return exc
    raise AssertionError("unreachable")


@pytest.mark.parametrize("debug", [False, True])
def test_crash_report_never_shows_the_secret(debug: bool) -> None:
    text = crash_report(_caught(), debug=debug)
    assert CANARY not in text
    assert "RuntimeError" in text
    assert ("Traceback" in text) is debug
    if not debug:
        assert text.count("\n") == 0


async def test_a_crash_inside_the_app_leaves_no_token_on_screen_or_stderr(
    make_app: Any, seeded: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_app()
    with pytest.raises(RuntimeError):
        async with app.run_test(size=(80, 24)) as pilot:
            app.call_later(_explode)
            await pilot.pause(0.2)
    rendered = "".join(str(r) for r in app._exit_renderables)
    out = capsys.readouterr()
    assert CANARY not in rendered + out.out + out.err
    assert app.return_code == 1
