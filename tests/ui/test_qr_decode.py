"""The login QR code decodes from the cells on screen, with a real decoder (zxing-cpp).

The whole screen, as the compositor renders it, becomes a bitmap: each cell gives two pixels, its
top and bottom half, each the glyph's foreground where the half block covers it (`▀` top, `▄`
bottom, `█` both) and its background elsewhere, dark or light by luminance. Colours count, so a
code drawn light-on-dark or cut off by the dialog fails here as it would fail on a phone.
"""

from __future__ import annotations

from typing import Any

import pytest
import zxingcpp  # the test extra (pyproject.toml): a missing decoder fails, never skips, this test
from fakes import FIXED_AUTHORIZE_URL, FixedStartLogin
from rich.color import Color
from textual.pilot import Pilot
from ui_helpers import settle

pytestmark = pytest.mark.usefixtures("seeded")

SHORT_URL = "https://www.instagram.com/oauth/authorize?client_id=1&state=short"
"""Short enough that its code fits at 80×24 (a real authorize URL does not)."""

DEMO_RELOGIN_URL = (
    "http://127.0.0.1:38021/oauth/authorize?client_id=100000000000001"
    "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback&response_type=code"
    "&scope=instagram_business_basic%2Cinstagram_business_content_publish%2Cinstagram_business_manage_comments"
    "%2Cinstagram_business_manage_messages%2Cinstagram_business_manage_insights"
    "&state=yWBVCxFIPUsjAtqqCMmwrb2T9kznzvEkWmiFqA0tA-x"
)
"""As long as `igtui --demo`'s re-login with all five scopes: its code (69×36) must fit 120×36."""


def _dark(color: Color | None, default_dark: bool) -> bool:
    if color is None:
        return default_dark
    red, green, blue = color.get_truecolor()
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue < 128


def screen_bitmap(app: Any) -> list[list[bool]]:
    """The screen as rendered, one pixel per half cell (True = dark)."""
    rows: list[list[bool]] = []
    for strip in app.screen._compositor.render_strips():
        top: list[bool] = []
        bottom: list[bool] = []
        for segment in strip:
            style = segment.style
            fg = _dark(style.color if style else None, default_dark=False)
            bg = _dark(style.bgcolor if style else None, default_dark=True)
            for char in segment.text:
                top.append(fg if char in "▀█" else bg)
                bottom.append(fg if char in "▄█" else bg)
        rows += [top, bottom]
    return rows


def decode(bitmap: list[list[bool]], scale: int = 4) -> list[str]:
    """zxing-cpp's reading of the bitmap, each pixel `scale`×`scale` (8-bit grey, no extra quiet zone)."""
    height, width = len(bitmap) * scale, len(bitmap[0]) * scale
    data = bytearray()
    for row in bitmap:
        line = b"".join(bytes([0 if dark else 255]) * scale for dark in row)
        data += line * scale
    image = memoryview(bytes(data)).cast("B", shape=[height, width])
    return [result.text for result in zxingcpp.read_barcodes(image)]


def screen_text(app: Any, selector: str | None = None) -> str:
    """The text on screen, or only in the region of the widget `selector` (the screen below shows around it)."""
    strips = app.screen._compositor.render_strips()
    if selector is None:
        return "\n".join(strip.text for strip in strips)
    region = app.screen.query_one(selector).region
    return "\n".join(strip.crop(region.x, region.right).text for strip in strips[region.y:region.bottom])


async def _open_qr(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    for key in ("l", "n", "f3"):
        await pilot.press(key)
        await settle(pilot)


def test_the_code_of_an_authorize_url_needs_more_than_80x24() -> None:
    from igtui.ui.dialogs.qr import needed_size

    width, height = needed_size(FIXED_AUTHORIZE_URL)
    assert width <= 80 and height > 24  # so the 80×24 test below sees the message, not a code


async def test_at_80x24_the_dialog_says_what_size_it_needs(make_app: Any) -> None:
    from igtui.ui.dialogs.qr import QrDialog, needed_size

    app = make_app(login_factory=FixedStartLogin)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_qr(pilot)
        assert isinstance(app.screen, QrDialog) and not app.screen.fits
        width, height = needed_size(FIXED_AUTHORIZE_URL)
        text = " ".join(screen_text(app, "#qr").split())
        assert f"needs a terminal of at least {width}×{height}; this one is 80×24" in text
        assert text.endswith("show it (F4).")  # the whole message
        assert "Esc closes" in screen_text(app, "#qr-title")  # and the way out
        assert not any(char in text for char in "▀▄█")  # never half a code
        assert decode(screen_bitmap(app)) == []


async def test_decodes_at_the_smallest_size_that_fits_and_at_120x36(make_app: Any) -> None:
    from igtui.ui.dialogs.qr import QrDialog, needed_size

    smallest = needed_size(FIXED_AUTHORIZE_URL)
    for size in (smallest, (120, 36)):
        app = make_app(login_factory=FixedStartLogin)
        async with app.run_test(size=size) as pilot:
            await _open_qr(pilot)
            assert isinstance(app.screen, QrDialog) and app.screen.fits, size
            assert decode(screen_bitmap(app)) == [FIXED_AUTHORIZE_URL], size
            assert "Esc closes" in screen_text(app, "#qr-title")  # the line of words is not cut off either


async def test_one_row_short_of_the_need_shows_the_message_and_resizing_brings_the_code(make_app: Any) -> None:
    from igtui.ui.dialogs.qr import needed_size

    width, height = needed_size(FIXED_AUTHORIZE_URL)
    app = make_app(login_factory=FixedStartLogin)
    async with app.run_test(size=(width, height - 1)) as pilot:
        await _open_qr(pilot)
        assert decode(screen_bitmap(app)) == [] and "needs a terminal" in screen_text(app)
        await pilot.resize_terminal(width, height)
        await settle(pilot)
        assert decode(screen_bitmap(app)) == [FIXED_AUTHORIZE_URL]


async def test_a_short_url_decodes_at_80x24(make_app: Any) -> None:
    from igtui.ui.dialogs.qr import QrDialog

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(QrDialog(SHORT_URL))
        await settle(pilot)
        assert decode(screen_bitmap(app)) == [SHORT_URL]


async def test_the_demos_longest_url_decodes_at_120x36(make_app: Any) -> None:
    from igtui.ui.dialogs.qr import QrDialog

    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.push_screen(QrDialog(DEMO_RELOGIN_URL))
        await settle(pilot)
        assert decode(screen_bitmap(app)) == [DEMO_RELOGIN_URL]
