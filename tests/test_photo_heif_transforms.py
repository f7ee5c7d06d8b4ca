"""HEIF rotation and mirroring live in the container (irot/imir), not only in EXIF.

Phones write HEIF whose pixels are stored sideways with an `irot` box saying how to turn
them; the EXIF orientation may say 1 (or repeat the turn). The stored display image must be
upright either way: the container's transforms applied once, EXIF never applied on top.
"""
import io
import re
import struct

import pillow_heif
import pytest
from PIL import Image, ImageChops, ImageStat

from fieldlog.services.records.photos import process_photo
from tests.conftest import testdata_photos as shared_photos

TESTDATA = shared_photos()
LIMITS = {"max_bytes": 25 * 1024 * 1024, "max_pixels": 60_000_000}
# What a viewer does for each EXIF orientation (as ImageOps.exif_transpose).
UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
           4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
           6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}


def source(name: str, size: tuple[int, int] | None = None) -> Image.Image:
    """Return a real photo as RGB, resized to `size` if given."""
    img = Image.open(TESTDATA / name).convert("RGB")
    return img.resize(size) if size else img


def heif_with_transform(img: Image.Image, orientation: int, *, exif_says: int) -> bytes:
    """Encode `img` as HEIF whose container turns it as EXIF `orientation` would.

    pillow_heif writes irot/imir from the EXIF orientation; the EXIF tag in the file is then
    rewritten to `exif_says` (1 as many Android phones do, or the same value as Apple does).
    """
    exif = Image.Exif()
    exif[274] = orientation
    exif[306] = "2026:05:04 10:11:12"
    out = io.BytesIO()
    # x265's fastest preset: the same container boxes, a fraction of the time for 16 MP.
    img.save(out, "HEIF", exif=exif.tobytes(), quality=80, enc_params={"preset": "ultrafast"})
    data = out.getvalue()
    start = re.search(rb"Exif\x00\x00(II\*\x00|MM\x00\*)", data).start() + 6
    order = "<" if data[start:start + 2] == b"II" else ">"
    ifd = start + struct.unpack(order + "L", data[start + 4:start + 8])[0]
    for k in range(struct.unpack(order + "H", data[ifd:ifd + 2])[0]):
        entry = ifd + 2 + 12 * k
        if struct.unpack(order + "H", data[entry:entry + 2])[0] == 274:
            value = entry + 8
            return data[:value] + struct.pack(order + "H", exif_says) + data[value + 2:]
    raise AssertionError("no orientation tag written")


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel (0..255) of two same-sized RGB images."""
    assert a.size == b.size, (a.size, b.size)
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


@pytest.mark.parametrize("orientation", [6, 3, 5])
@pytest.mark.parametrize("exif_says", [1, "same"])
def test_heif_container_rotation_and_mirror_are_applied_once(orientation, exif_says):
    photo_src = source("jpg_gps_DSCN0010.jpg")
    data = heif_with_transform(photo_src, orientation,
                               exif_says=orientation if exif_says == "same" else 1)
    transforms = {t[0] for t in pillow_heif.open_heif(io.BytesIO(data))[0]._c_image.transformations}
    assert transforms & {"irot", "imir"}  # the turn is in the container
    expected = photo_src.transpose(UPRIGHT[orientation])

    photo = process_photo(data, **LIMITS)

    display = Image.open(io.BytesIO(photo.display)).convert("RGB")
    assert (photo.facts.width, photo.facts.height) == expected.size
    assert difference(display, expected) < 8  # upright: only coding noise
    wrong = [photo_src.transpose(t) for t in UPRIGHT.values() if t != UPRIGHT[orientation]]
    assert all(difference(display, w) > 3 * difference(display, expected)
               for w in wrong if w.size == display.size)


def test_phone_heif_of_4608_by_3456_with_irot_and_exif_orientation_1_is_stored_upright():
    photo_src = source("jpg_mobile_HMD_Nokia_8.3_5G.jpg", (4608, 3456))
    data = heif_with_transform(photo_src, 6, exif_says=1)

    photo = process_photo(data, **LIMITS)

    display = Image.open(io.BytesIO(photo.display)).convert("RGB")
    assert display.size == (1200, 1600)
    assert (photo.facts.width, photo.facts.height) == (3456, 4608)
    expected = photo_src.transpose(Image.Transpose.ROTATE_270).resize(display.size)
    assert difference(display, expected) < 8
    assert difference(display, photo_src.transpose(Image.Transpose.ROTATE_90).resize(
        display.size)) > 3 * difference(display, expected)
