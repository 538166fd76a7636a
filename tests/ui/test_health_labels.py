"""Every health the policy can give has words and a colour in the TUI (a new one must not show
as its raw enum value)."""

from __future__ import annotations

from igtui.core.models import Health
from igtui.ui.widgets.health import LABELS, health_text


def test_every_health_has_words_and_a_colour() -> None:
    assert set(LABELS) == set(Health)
    for health in Health:
        text = health_text(health)
        assert text.plain == LABELS[health][0] and text.style
