"""The screen's side of accessibility mode (screens/accessibility.py): the high-contrast palette
is stronger than the normal one, every kv file reads its colours from the palette (Kivy's
`#:import` names are global: one file importing `W` as the plain module would freeze the colours
of every rule applied after it), and the type scales."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from screens.accessibility import HIGH_CONTRAST, NORMAL, type_scales

SCREENS = Path(__file__).resolve().parent.parent / "screens"


def luminance(rgba: tuple) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(float(c)) for c in rgba[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple, b: tuple) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("ink", ["INK", "MUTED", "ACCENT", "ACCENT_DARK", "GREEN", "RED"])
def test_high_contrast_is_aaa_and_stronger_than_normal(ink):
    strong = contrast(HIGH_CONTRAST[ink], HIGH_CONTRAST["BG"])
    assert strong >= 7.0, (ink, strong)  # WCAG AAA for body text
    assert strong > contrast(NORMAL[ink], NORMAL["BG"]), ink


def test_white_on_the_accent_buttons_is_stronger_too():
    for fill in ("ACCENT", "ACCENT_DARK", "RED"):
        assert contrast(HIGH_CONTRAST["WHITE"], HIGH_CONTRAST[fill]) >= 7.0, fill


def test_every_kv_file_reads_colours_from_the_palette():
    for kv in SCREENS.glob("*.kv"):
        for line in kv.read_text(encoding="utf-8").splitlines():
            found = re.match(r"#:import\s+W\s+(\S+)", line)
            if found:
                assert found.group(1) == "screens.accessibility.PALETTE", (kv.name, line)


def test_large_text_is_a_quarter_larger_in_both_scripts():
    assert type_scales(1.0, "hi", False) == pytest.approx((1.0, 1.15))
    assert type_scales(1.0, "en", False) == pytest.approx((1.0, 1.0))
    assert type_scales(1.35, "hi", True) == pytest.approx((1.35 * 1.25, 1.35 * 1.25 * 1.15))
