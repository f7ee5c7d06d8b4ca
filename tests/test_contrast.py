"""Muted and secondary text reaches WCAG AA (4.5:1) on every light surface of the stylesheet.

The text colours are read from static/css/app.css: the custom properties for muted and secondary
text (--muted, --text-2) and the placeholder colour. The surfaces are every opaque (or nearly
opaque) background colour the stylesheet paints whose relative luminance is at least 0.75: page,
cards, inputs, chips, pills, notes, table heads. Darker fills (progress bars, calendar heat
cells, the coloured day marks) carry white or dark text, never muted text.
"""
import re

from tests.conftest import ROOT

CSS = (ROOT / "static" / "css" / "app.css").read_text(encoding="utf-8")
AA = 4.5
LIGHT = 0.75
HEX = r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?"


def _rgb(colour: str) -> tuple[float, float, float]:
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return tuple(int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4))


def luminance(rgb: tuple[float, float, float]) -> float:
    """Relative luminance (WCAG 2.x) of an sRGB colour with channels in 0..1."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _properties() -> dict[str, str]:
    root = re.search(r":root\s*{([^}]*)}", CSS).group(1)
    return dict(re.findall(rf"--([\w-]+):\s*({HEX})\s*;", root))


def _resolve(value: str, props: dict[str, str]):
    """An RGB triple for a hex, var(--x) or rgba() colour (rgba laid over the page); else None."""
    value = value.strip()
    if m := re.fullmatch(r"var\(--([\w-]+)\)", value):
        value = props.get(m.group(1), "")
    if re.fullmatch(HEX, value):
        return _rgb(value)
    if m := re.fullmatch(r"rgba\(\s*(\d+),\s*(\d+),\s*(\d+),\s*([\d.]+)\s*\)", value):
        alpha = float(m.group(4))
        if alpha < 0.9:
            return None  # a tint over something else: not a surface of its own
        page = _rgb(props["bg"])
        return tuple(alpha * int(m.group(i)) / 255 + (1 - alpha) * page[i - 1] for i in (1, 2, 3))
    return None


def _surfaces(props: dict[str, str]) -> dict[str, tuple]:
    found = {}
    for value in re.findall(r"background(?:-color)?:\s*([^;}!]+)", CSS):
        first = re.match(r"(rgba\([^)]*\)|var\([^)]*\)|#\w+)", value.strip())
        rgb = first and _resolve(first.group(1), props)
        if rgb and luminance(rgb) >= LIGHT:
            found[first.group(1)] = rgb
    return found


def _text_colours(props: dict[str, str]) -> dict[str, tuple]:
    colours = {f"--{name}": _rgb(props[name]) for name in ("muted", "text-2")}
    for value in re.findall(r"::placeholder\s*{\s*color:\s*([^;}]+)", CSS):
        colours[f"placeholder {value.strip()}"] = _resolve(value, props)
    return colours


def test_contrast_formula_matches_wcag_examples():
    assert round(contrast(_rgb("#000"), _rgb("#fff")), 2) == 21.0
    assert round(contrast(_rgb("#6b7380"), _rgb("#f3f4f6")), 2) == 4.35  # the reported defect


def test_the_stylesheet_has_the_expected_surfaces():
    props = _properties()
    surfaces = _surfaces(props)
    for name in ("--bg", "--surface"):
        assert _rgb(props[name.lstrip("-")]) in surfaces.values(), name
    assert len(surfaces) >= 15  # cards, inputs, chips, pills, notes…
    assert set(_text_colours(props)) >= {"--muted", "--text-2"}
    assert any(k.startswith("placeholder") for k in _text_colours(props))


def test_muted_and_secondary_text_reach_4_5_on_every_light_surface():
    props = _properties()
    low = [f"{text} on {where}: {contrast(fg, bg):.2f}"
           for text, fg in _text_colours(props).items()
           for where, bg in _surfaces(props).items() if contrast(fg, bg) < AA]
    assert not low, "muted text under 4.5:1:\n" + "\n".join(sorted(low))


# The red hero cards (home, month, attendance, meetings): white text, the secondary lines of it
# made lighter with opacity, on a gradient; a translucent disc (.hero::after) lies over the
# middle of the gradient, and the month's figures sit on tiles of their own.
HERO_SECONDARY = (".hero-place", ".stat-label", ".stat-value small", ".att-counts dt",
                  ".att-big small", ".mo-fig-value small")
TILE_SECONDARY = (".mo-fig-label", ".mo-fig-sub", ".mo-fig-value small")


def _rule(selector: str) -> str:
    match = re.search(rf"(?:^|\n|}})\s*{re.escape(selector)}\s*{{([^}}]*)}}", CSS)
    assert match, f"no rule for {selector}"
    return match.group(1)


def _opacity(selector: str) -> float:
    found = re.search(r"(?<![-\w])opacity:\s*([\d.]+)", _rule(selector))
    return float(found.group(1)) if found else 1.0


def _over(fg: tuple, alpha: float, bg: tuple) -> tuple:
    return tuple(alpha * f + (1 - alpha) * b for f, b in zip(fg, bg, strict=True))


def _hero_backgrounds(props) -> dict[str, tuple]:
    gradient = re.search(r"background:\s*linear-gradient\(([^;]*)\);", _rule(".hero")).group(1)
    stops = {stop: _resolve(stop, props)
             for stop in re.findall(rf"{HEX}|var\(--[\w-]+\)", gradient)}
    disc = re.search(r"background:\s*rgba\(255, 255, 255, ([\d.]+)\)", _rule(".hero::after"))
    brand = _rgb(props["brand"])
    stops["brand under the disc"] = _over((1, 1, 1), float(disc.group(1)), brand)
    return stops


def test_secondary_white_text_on_the_hero_reaches_4_5():
    props = _properties()
    white = (1.0, 1.0, 1.0)
    tile = re.search(r"background:\s*rgba\((\d+), (\d+), (\d+), ([\d.]+)\)", _rule(".mo-fig"))
    tile_rgb, tile_alpha = tuple(int(tile.group(i)) / 255 for i in (1, 2, 3)), float(tile.group(4))
    low = []
    for where, bg in _hero_backgrounds(props).items():
        for selector in HERO_SECONDARY:
            ratio = contrast(_over(white, _opacity(selector), bg), bg)
            if ratio < AA:
                low.append(f"{selector} on {where}: {ratio:.2f}")
        on_tile = _over(tile_rgb, tile_alpha, bg)
        for selector in TILE_SECONDARY:
            ratio = contrast(_over(white, _opacity(selector), on_tile), on_tile)
            if ratio < AA:
                low.append(f"{selector} on a month tile over {where}: {ratio:.2f}")
    assert not low, "white secondary text under 4.5:1 on the hero:\n" + "\n".join(low)
