"""Paint believable visit photos for the demo county: a village house, the hills, the people.

Pure Pillow, no files: each call draws a new scene from the caller's random generator and
saves it as a phone would, a JPEG with EXIF time, GPS position and camera.
"""
import functools
import io
import math
import random
from datetime import datetime

from PIL import ExifTags, Image, ImageDraw, ImageFilter
from PIL.TiffImagePlugin import IFDRational

SIZE = (1200, 900)
Color = tuple[int, int, int]


def scene_jpeg(rng: random.Random, *, taken_at: datetime, point: tuple[float, float] | None,
               camera: tuple[str, str]) -> bytes:
    """Return a JPEG of a painted village scene; `taken_at` is the camera's local time."""
    kind = rng.choices(["courtyard", "landscape", "indoor"], weights=[5, 3, 2])[0]
    img = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(img)
    if kind == "indoor":
        _indoor(rng, img, draw)
    else:
        horizon = _outdoors(rng, img, draw, houses=1 if kind == "courtyard" else rng.randint(2, 4))
        if kind == "courtyard":
            ground = horizon + rng.randint(240, 440)
            _house(rng, draw, rng.randint(-150, 850), ground, rng.randint(320, 660))
            _people(rng, draw, rng.randint(1, 3), ground + rng.randint(40, 160),
                    rng.randint(170, 260))
        _foreground(rng, draw)
    img = _grain(rng, img)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=84, exif=_exif(taken_at, point, camera))
    return out.getvalue()


def _shade(rng: random.Random, color: Color, spread: int = 18) -> Color:
    return tuple(max(0, min(255, c + rng.randint(-spread, spread))) for c in color)


def _gradient(top: Color, bottom: Color, size: tuple[int, int]) -> Image.Image:
    mask = Image.linear_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


def _outdoors(rng: random.Random, img: Image.Image, draw: ImageDraw.ImageDraw,
              houses: int) -> int:
    """Draw sky, hills, fields and far houses; return the horizon's height."""
    width, height = SIZE
    horizon = rng.randint(200, 420)
    overcast = rng.random() < 0.45  # Guizhou: 天无三日晴
    grey = rng.randint(-25, 25)
    top = (tuple(c + grey for c in (168, 172, 178)) if overcast
           else _shade(rng, (96, 146, 210)))
    img.paste(_gradient(top, _shade(rng, (222, 226, 230)), (width, horizon + 160)))
    for layer in range(rng.randint(2, 4)):  # far hills pale and blue, near ones dark green
        near = layer / 3
        base = horizon - rng.randint(20, 110) + int(near * 90)
        color = _shade(rng, (int(120 - 60 * near), int(140 - 20 * near), int(150 - 90 * near)))
        waves = [(rng.uniform(0.002, 0.012), rng.uniform(0, 6.3), rng.randint(15, 80))
                 for _ in range(3)]
        ridge = [(x, base - sum(a * math.sin(f * x + p) for f, p, a in waves))
                 for x in range(0, width + 20, 20)]
        draw.polygon([*ridge, (width, height), (0, height)], fill=color)
    y = horizon + rng.randint(40, 90)
    field_colors = [(118, 140, 62), (164, 150, 84), (140, 116, 76), (96, 128, 70)]
    while y < height:  # terraces: bands that curve with the slope
        band = rng.randint(30, 90)
        tilt, bend = rng.uniform(-0.08, 0.08), rng.uniform(-30, 30)
        edge = [(x, y + tilt * x + bend * math.sin(x / width * math.pi))
                for x in range(0, width + 40, 40)]
        draw.polygon([*edge, (width, height), (0, height)],
                     fill=_shade(rng, rng.choice(field_colors)))
        draw.line(edge, fill=_shade(rng, (84, 74, 52)), width=3)
        y += band
    for _ in range(houses if houses > 1 else 0):
        _house(rng, draw, rng.randint(40, width - 200), horizon + rng.randint(60, 160),
               rng.randint(90, 170))
    for _ in range(rng.randint(2, 6)):
        _tree(rng, draw, rng.randint(0, width), horizon + rng.randint(30, 300))
    return horizon


def _house(rng: random.Random, draw: ImageDraw.ImageDraw, x: int, ground: int, w: int) -> None:
    """A two-storey village house: white tiles or timber, grey roof, a door and windows."""
    h = int(w * rng.uniform(0.55, 0.8))
    wall = _shade(rng, rng.choice([(232, 230, 224), (214, 206, 190), (150, 104, 64)]), 12)
    draw.rectangle([x, ground - h, x + w, ground], fill=wall, outline=_shade(rng, (90, 84, 80)))
    roof = _shade(rng, rng.choice([(70, 74, 82), (58, 62, 70), (110, 62, 48)]), 10)
    eave, peak = int(w * 0.08), int(h * rng.uniform(0.3, 0.5))
    draw.polygon([(x - eave, ground - h), (x + w + eave, ground - h),
                  (x + w * 0.75, ground - h - peak), (x + w * 0.25, ground - h - peak)], fill=roof)
    door_w = int(w * 0.16)
    door_x = x + int(w * rng.uniform(0.35, 0.5))
    draw.rectangle([door_x, ground - int(h * 0.45), door_x + door_w, ground],
                   fill=_shade(rng, (92, 52, 30)))
    for wx in (x + int(w * 0.1), x + int(w * 0.7)):
        for wy in (ground - int(h * 0.85), ground - int(h * 0.4)):
            draw.rectangle([wx, wy, wx + int(w * 0.16), wy + int(h * 0.18)],
                           fill=_shade(rng, (70, 96, 118)), outline=(60, 60, 60))
    if rng.random() < 0.5:  # red couplets by the door
        for side in (door_x - int(w * 0.05), door_x + door_w + int(w * 0.015)):
            draw.rectangle([side, ground - int(h * 0.45), side + int(w * 0.035), ground - 4],
                           fill=(196, 38, 34))


def _tree(rng: random.Random, draw: ImageDraw.ImageDraw, x: int, y: int) -> None:
    size = rng.randint(25, 70)
    draw.rectangle([x - 3, y - size // 2, x + 3, y + size // 2], fill=(80, 60, 40))
    for _ in range(3):
        cx, cy = x + rng.randint(-size // 3, size // 3), y - size // 2 + rng.randint(-size // 3, 0)
        r = rng.randint(size // 3, size // 2)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=_shade(rng, (52, 92, 48)))


def _foreground(rng: random.Random, draw: ImageDraw.ImageDraw) -> None:
    """Sometimes frame the shot: a big tree at one edge, or a stone wall along the bottom."""
    width, height = SIZE
    choice = rng.random()
    if choice < 0.3:
        x = rng.choice([rng.randint(-60, 120), rng.randint(1080, 1260)])
        draw.rectangle([x - 18, height // 3, x + 18, height], fill=_shade(rng, (70, 52, 36)))
        for _ in range(5):
            cx, cy, r = x + rng.randint(-160, 160), rng.randint(-40, 260), rng.randint(90, 170)
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=_shade(rng, (44, 78, 40)))
    elif choice < 0.5:
        top = height - rng.randint(60, 160)
        draw.rectangle([0, top, width, height], fill=_shade(rng, (132, 128, 120)))
        for y in range(top, height, 36):  # courses of stone
            offset = rng.randint(0, 80)
            draw.line([(0, y), (width, y)], fill=(92, 88, 84), width=3)
            for x in range(offset, width, rng.randint(70, 110)):
                draw.line([(x, y), (x, y + 36)], fill=(92, 88, 84), width=3)


def _people(rng: random.Random, draw: ImageDraw.ImageDraw, count: int, ground: int,
            tall: int) -> None:
    """Stand a few people in front of the house: villagers and a cadre in a red vest."""
    x = rng.randint(40, 800)
    for _ in range(count):
        h = int(tall * rng.uniform(0.85, 1.1))
        w, head = h // 4, h // 9
        coat = rng.choice([(40, 44, 60), (70, 70, 72), (180, 36, 36), (60, 80, 110), (110, 90, 60)])
        draw.rectangle([x + w // 5, ground - h // 2, x + w - w // 5, ground], fill=(40, 40, 46))
        draw.rounded_rectangle([x, ground - h + 2 * head, x + w, ground - h // 3],
                               radius=w // 4, fill=_shade(rng, coat, 10))
        cx = x + w // 2
        draw.ellipse([cx - head, ground - h, cx + head, ground - h + 2 * head],
                     fill=_shade(rng, (206, 160, 124), 12))
        draw.chord([cx - head, ground - h - 2, cx + head, ground - h + head], 180, 360,
                   fill=_shade(rng, (40, 36, 34), 20))
        x += w + rng.randint(20, 120)


def _indoor(rng: random.Random, img: Image.Image, draw: ImageDraw.ImageDraw) -> None:
    """A main room: whitewashed wall, a window, a calendar, a door, a table, people sitting."""
    width, height = SIZE
    light = rng.randint(-50, 20)  # rooms are often dim
    left, right = rng.randint(430, 720), rng.randint(430, 720)  # the phone is never level
    wall = tuple(c + light for c in _shade(rng, (214, 206, 186), 10))
    img.paste(_gradient(wall, tuple(c - 40 for c in wall), (width, max(left, right))))
    draw.polygon([(0, left), (width, right), (width, height), (0, height)],
                 fill=_shade(rng, (128, 124, 118)))
    floor = (left + right) // 2
    features = rng.sample(range(4), 3)  # window, calendar and door in some order along the wall
    for slot, feature in zip(features, ("window", "calendar", "door"), strict=True):
        x = 60 + slot * 280 + rng.randint(0, 80)
        if feature == "window":
            top = rng.randint(60, 220)
            draw.rectangle([x, top, x + rng.randint(180, 300), top + rng.randint(150, 240)],
                           fill=_shade(rng, (236, 240, 236), 10), outline=(96, 70, 50), width=12)
        elif feature == "calendar":
            draw.rectangle([x, 140, x + 130, 330], fill=(200, 40, 36))
            draw.rectangle([x + 15, 210, x + 115, 310], fill=(240, 228, 200))
        else:
            draw.rectangle([x, floor - 380, x + 170, floor], fill=_shade(rng, (84, 56, 38)))
    tx, tw = rng.randint(150, 650), rng.randint(320, 460)
    draw.rectangle([tx, floor - 20, tx + tw, floor + 10], fill=_shade(rng, (120, 76, 44)))
    draw.rectangle([tx + 20, floor + 10, tx + 40, floor + 170], fill=(96, 60, 36))
    draw.rectangle([tx + tw - 40, floor + 10, tx + tw - 20, floor + 170], fill=(96, 60, 36))
    _people(rng, draw, rng.randint(2, 3), floor + rng.randint(80, 200), rng.randint(260, 360))


@functools.cache
def _noise_field() -> Image.Image:
    """Return a field of sensor noise larger than a photo; photos take crops of it (it is slow)."""
    return Image.effect_noise((SIZE[0] + 300, SIZE[1] + 300), 32).convert("RGB")


def _grain(rng: random.Random, img: Image.Image) -> Image.Image:
    """Soften the drawing and add sensor noise, as a phone camera would."""
    x, y = rng.randint(0, 300), rng.randint(0, 300)
    noise = _noise_field().crop((x, y, x + SIZE[0], y + SIZE[1]))
    soft = img.filter(ImageFilter.BoxBlur(rng.uniform(0.6, 1.3)))
    return Image.blend(soft, noise, rng.uniform(0.04, 0.07))


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round((value - degrees - minutes / 60) * 3600 * 1000)
    return IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds, 1000)


def _exif(taken_at: datetime, point: tuple[float, float] | None,
          camera: tuple[str, str]) -> Image.Exif:
    """Return the EXIF block a phone writes: camera, local time (+08:00) and GPS."""
    exif = Image.Exif()
    stamp = taken_at.strftime("%Y:%m:%d %H:%M:%S")
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = camera
    exif[ExifTags.Base.DateTime] = stamp
    exif[ExifTags.Base.Orientation] = 1
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = stamp
    details[ExifTags.Base.DateTimeDigitized] = stamp
    details[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    if point is not None:
        lat, lon = point
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
        gps[ExifTags.GPS.GPSLatitude] = _dms(abs(lat))
        gps[ExifTags.GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
        gps[ExifTags.GPS.GPSLongitude] = _dms(abs(lon))
    return exif
