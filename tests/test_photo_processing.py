"""The photo pipeline on real camera and phone files, hostile uploads, and the photo store."""
import hashlib
import io
import math
import os
import re
import struct
import subprocess
import sys
import time
import zlib
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageCms, ImageStat, PngImagePlugin

from fieldlog.services.records.photos import PhotoRejected, process_photo
from fieldlog.storage import LocalFolderStore, PhotoStore, photo_keys
from tests.conftest import testdata_photos as shared_photos

REPO = Path(__file__).resolve().parents[1]
TESTDATA = shared_photos()
LIMITS = {"max_bytes": 25 * 1024 * 1024, "max_pixels": 60_000_000}
ACCEPTED = ["jpg_gps_DSCN0010.jpg", "jpg_gps_DSCN0021.jpg", "heic_mobile_iphone_13_pro_max.HEIC",
            "jpg_mobile_HMD_Nokia_8.3_5G.jpg", "jpg_orientation_portrait_6.jpg",
            "jpg_orientation_landscape_3.jpg", "jpg_invalid_image00971.jpg"]
METADATA_MARKERS = set(range(0xE1, 0xF0)) | {0xFE}  # APP1..APP15 and COM


def real(name: str) -> bytes:
    """Return the bytes of one of the shared real photos."""
    path = TESTDATA / name
    if not path.is_file():
        pytest.fail(f"real test photo missing: {path} (set FIELDLOG_TESTDATA)")
    return path.read_bytes()


def process(data: bytes, **limits: int):
    return process_photo(data, **{**LIMITS, **limits})


def rejected(data: bytes, **limits: int) -> str:
    """Process `data` expecting a rejection; return its code."""
    with pytest.raises(PhotoRejected) as info:
        process(data, **limits)
    assert info.value.message and info.value.message[0].isupper()
    return info.value.code


def opened(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def encoded(img: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **options)
    return out.getvalue()


def noise(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A photo-like image: gradients plus noise, so JPEG sizes and decoding are realistic."""
    tile, bands = Image.effect_noise((256, 256), 40), []
    for band in range(3):
        grain = Image.new("L", size)
        for x in range(0, size[0], 256):
            for y in range(0, size[1], 256):
                grain.paste(tile.rotate(90 * ((x + y + band) % 4)), (x, y))
        gradient = Image.linear_gradient("L").rotate(90 * band).resize(size)
        bands.append(ImageChops.add(gradient, grain, scale=2.0))
    return Image.merge("RGB", bands).convert(mode)


def jpeg_markers(data: bytes) -> list[int]:
    """List the marker codes of a JPEG up to its first scan."""
    pos, markers = 2, []
    while data[pos + 1] != 0xDA:
        markers.append(data[pos + 1])
        pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
    return markers


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance, good enough at 50 m."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of white rows: a few hundred KB that decode to width*height pixels."""
    row, packer = b"\x00" + b"\xff" * ((width + 7) // 8), zlib.compressobj(1)
    idat = [packer.compress(row * 100) for _ in range(height // 100)]
    idat += [packer.compress(row * (height % 100)), packer.flush()]
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", b"".join(idat)) + png_chunk(b"IEND", b""))


def png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + png_chunk(b"IEND", b""))


def comment_and_xmp() -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "secret")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta/>")
    return info


def with_gps(lat: tuple, lat_ref: str, lon: tuple, lon_ref: str) -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: lat_ref, 2: lat, 3: lon_ref, 4: lon})
    return encoded(noise((64, 48)), "JPEG", exif=exif)


# --- real camera and phone files ---------------------------------------------------------

@pytest.mark.parametrize(("name", "taken_at", "lat", "lon"), [
    ("jpg_gps_DSCN0010.jpg", datetime(2008, 10, 22, 16, 28, 39),
     43 + 28 / 60 + 2.814 / 3600, 11 + 53 / 60 + 6.45599999 / 3600),
    ("jpg_gps_DSCN0021.jpg", datetime(2008, 10, 22, 16, 38, 20),
     43 + 28 / 60 + 1.49399999 / 3600, 11 + 53 / 60 + 4.33799999 / 3600),
])
def test_camera_jpeg_gives_time_and_place_from_exif(name, taken_at, lat, lon):
    data = real(name)
    photo = process(data)
    assert photo.facts.taken_at == taken_at
    assert photo.facts.lat == pytest.approx(lat, abs=1e-7)
    assert photo.facts.lon == pytest.approx(lon, abs=1e-7)
    assert photo.facts.lat == pytest.approx(43.46, abs=0.01)
    assert photo.facts.lon == pytest.approx(11.88, abs=0.01)
    assert (photo.facts.camera_make, photo.facts.camera_model) == ("NIKON", "COOLPIX P6000")
    assert (photo.facts.width, photo.facts.height, photo.facts.format) == (640, 480, "JPEG")
    assert photo.original == data
    assert photo.sha256 == hashlib.sha256(data).hexdigest()
    assert photo.content_type == "image/jpeg"


def test_two_nikon_shots_are_ten_minutes_and_about_fifty_metres_apart():
    first, second = process(real("jpg_gps_DSCN0010.jpg")), process(real("jpg_gps_DSCN0021.jpg"))
    assert (second.facts.taken_at - first.facts.taken_at).total_seconds() == 9 * 60 + 41
    metres = distance_m(first.facts.lat, first.facts.lon, second.facts.lat, second.facts.lon)
    assert 30 < metres < 100


def test_iphone_heic_is_accepted_and_downsized():
    photo = process(real("heic_mobile_iphone_13_pro_max.HEIC"))
    facts = photo.facts
    assert (facts.format, facts.width, facts.height) == ("HEIF", 3024, 4032)
    assert facts.taken_at == datetime(2022, 2, 16, 12, 55, 41)
    assert (facts.lat, facts.lon) == (None, None)
    assert (facts.camera_make, facts.camera_model) == ("Apple", "iPhone 13 Pro Max")
    assert facts.orientation == 6  # the camera's value; libheif has already turned the pixels
    assert photo.content_type == "image/heic"
    assert opened(photo.display).size == (1200, 1600)
    assert opened(photo.thumb).size == (240, 320)


def test_nokia_phone_jpeg():
    photo = process(real("jpg_mobile_HMD_Nokia_8.3_5G.jpg"))
    facts = photo.facts
    assert (facts.width, facts.height) == (4608, 1976)  # the full size, though decoded at 1/2
    assert facts.taken_at == datetime(2022, 8, 14, 14, 12, 31)
    assert facts.lat == pytest.approx(60 + 8 / 60 + 48.14 / 3600, abs=1e-7)
    assert facts.lon == pytest.approx(24 + 54 / 60 + 24.38 / 3600, abs=1e-7)
    assert (facts.camera_make, facts.camera_model) == ("HMD Global", "Nokia 8.3 5G")
    assert opened(photo.display).size == (1600, 686)
    assert opened(photo.thumb).size == (320, 137)


@pytest.mark.parametrize(("name", "orientation", "turn", "size"), [
    ("jpg_orientation_portrait_6.jpg", 6, Image.Transpose.ROTATE_270, (450, 600)),
    ("jpg_orientation_landscape_3.jpg", 3, Image.Transpose.ROTATE_180, (600, 450)),
])
def test_exif_orientation_comes_out_upright(name, orientation, turn, size):
    data = real(name)
    photo = process(data)
    assert photo.facts.orientation == orientation
    assert (photo.facts.width, photo.facts.height) == size
    display = opened(photo.display)
    assert display.size == size
    assert opened(photo.thumb).size == tuple(320 * edge // max(size) for edge in size)
    # A naive decode ignores the tag; colour-manage it as the pipeline does, then compare.
    naive = opened(data)
    naive = ImageCms.profileToProfile(naive, ImageCms.ImageCmsProfile(
        io.BytesIO(naive.info["icc_profile"])), ImageCms.createProfile("sRGB"), outputMode="RGB")
    corner = (0, 0, 150, 150)
    upright = mean_difference(display.crop(corner), naive.transpose(turn).crop(corner))
    as_stored = mean_difference(display.crop(corner), naive.crop(corner))
    assert upright < 8
    assert as_stored > 3 * upright


@pytest.mark.parametrize("name", ACCEPTED)
def test_served_sizes_carry_no_metadata(name):
    photo = process(real(name))
    for data, progressive in ((photo.display, True), (photo.thumb, False)):
        img = opened(data)
        assert img.format == "JPEG" and img.mode == "RGB"
        assert len(img.getexif()) == 0
        assert not {"exif", "xmp", "icc_profile", "comment"} & set(img.info)
        assert not METADATA_MARKERS & set(jpeg_markers(data))
        assert bool(img.info.get("progressive")) is progressive
        assert max(img.size) <= 1600
    assert max(opened(photo.display).size) == min(1600, max(photo.facts.width, photo.facts.height))


def test_photo_with_a_hole_in_its_scan_data_is_rejected():
    # Not cut short: a 16 KiB block of 0xFF sits at 0x34000 inside the entropy-coded data
    # (an erased flash block), then the rest and an Olympus preview JPEG follow. libjpeg
    # decodes it with only a warning, grey-padding the damage; the marker walk catches it.
    assert rejected(real("jpg_corrupted.jpg")) == "corrupt_image"


def test_image00971_is_a_web_graphic_without_exif_and_is_accepted():
    # A 636x227 banner exported by Adobe Fireworks/Photoshop CS6: JFIF, no EXIF segment at
    # all, only a 35 KB XMP packet whose exif:PixelYDimension (1020) contradicts the pixels.
    photo = process(real("jpg_invalid_image00971.jpg"))
    facts = photo.facts
    assert (facts.width, facts.height) == (636, 227)
    assert (facts.taken_at, facts.lat, facts.lon, facts.camera_make, facts.orientation) == (
        None, None, None, None, None)
    assert opened(photo.display).size == (636, 227)


def test_malformed_exif_loses_the_facts_but_keeps_the_photo():
    data = bytearray(real("jpg_gps_DSCN0010.jpg"))
    assert data[12:16] == b"II*\x00"  # TIFF header of the EXIF block; IFD0 starts at +8
    struct.pack_into("<H", data, 20, 0xFFFF)  # IFD0 claims 65535 entries
    photo = process(bytes(data))
    assert (photo.facts.width, photo.facts.height) == (640, 480)
    # Pillow warns while skipping the bad entries; as an error (pytest -W error) nothing is
    # read, as a warning (production) the good entries are. Either way no wrong fact.
    assert photo.facts.taken_at in (None, datetime(2008, 10, 22, 16, 28, 39))
    assert opened(photo.display).size == (640, 480)


# --- cut and damaged files -------------------------------------------------------------

def cut(name: str, keep: float) -> bytes:
    data = real(name)
    return data[:int(len(data) * keep)]


@pytest.mark.parametrize("make", [
    pytest.param(lambda: cut("jpg_gps_DSCN0010.jpg", 0.5), id="jpeg-half"),
    pytest.param(lambda: real("jpg_gps_DSCN0010.jpg")[:-2], id="jpeg-no-eoi"),
    pytest.param(lambda: cut("jpg_mobile_HMD_Nokia_8.3_5G.jpg", 0.9), id="big-jpeg-drafted"),
    pytest.param(lambda: cut("heic_mobile_iphone_13_pro_max.HEIC", 0.6), id="heic"),
    pytest.param(lambda: encoded(noise((300, 200)), "PNG")[:-20], id="png"),
    pytest.param(lambda: encoded(noise((300, 200)), "WEBP")[:-300], id="webp"),
    pytest.param(lambda: encoded(noise((300, 200)), "JPEG", progressive=True)[:-500],
                 id="progressive-jpeg"),
])
def test_cut_files_are_rejected(make):
    assert rejected(make()) == "corrupt_image"


def test_lost_restart_interval_is_rejected():
    good = encoded(noise((640, 480)), "JPEG", quality=90, restart_marker_blocks=4)
    assert process(good).facts.width == 640  # restart markers themselves are fine
    restarts = [m.start() for m in re.finditer(rb"\xff[\xd0-\xd7]", good)]
    start, end = restarts[40] - 100, restarts[43] - 100
    # Zeros are valid entropy data, so only the broken RST0..RST7 sequence shows the loss.
    # (A hole that swallows a multiple of eight restart markers would go unnoticed.)
    bad = good[:start] + bytes(end - start) + good[end:]
    assert rejected(bad) == "corrupt_image"


# --- hostile and wrong uploads ---------------------------------------------------------

def test_decompression_bomb_is_refused_from_the_header_fast_and_small():
    bomb = png_bomb(30000, 30000)
    assert len(bomb) < 1_000_000
    started = time.perf_counter()
    assert rejected(bomb) == "too_many_pixels"
    assert time.perf_counter() - started < 1.0
    # Peak memory in a fresh interpreter: decoding would need 900 MB.
    script = ("import resource, sys\nfrom fieldlog.services.records.photos import PhotoRejected,"
              " process_photo\ndata = sys.stdin.buffer.read()\n"
              "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
              "try:\n    process_photo(data, max_bytes=10**8, max_pixels=60_000_000)\n"
              "except PhotoRejected as exc:\n    print(exc.code)\n"
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n")
    result = subprocess.run([sys.executable, "-W", "error", "-c", script], input=bomb,
                            capture_output=True, cwd=REPO, check=True, timeout=60)
    code, grown_kib = result.stdout.decode().split()
    assert code == "too_many_pixels"
    assert int(grown_kib) < 20 * 1024


@pytest.mark.parametrize(("data", "max_pixels"), [
    pytest.param(png_header_only(9000, 7000), 60_000_000, id="over-our-limit"),
    pytest.param(png_header_only(10_000, 10_000), 500_000_000, id="pillow-warning-range"),
    pytest.param(png_header_only(65_000, 65_000), 10**10, id="pillow-error-range"),
])
def test_too_many_pixels_is_refused_whatever_the_limits(data, max_pixels):
    assert rejected(data, max_pixels=max_pixels) == "too_many_pixels"


def test_jpeg_declaring_a_huge_frame_is_refused():
    data = bytearray(encoded(noise((64, 48)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, 60_000, 60_000)
    assert rejected(bytes(data)) == "too_many_pixels"


def test_size_limit_counts_bytes():
    data = real("jpg_gps_DSCN0010.jpg")
    assert process(data, max_bytes=len(data)).original == data
    assert rejected(data, max_bytes=len(data) - 1) == "too_large"
    assert rejected(b"") == "empty_file"


def test_other_formats_and_non_images_are_refused():
    gif = encoded(noise((32, 32)).convert("P"), "GIF")
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    cases = {
        "text": (b"hello, this is not a photo\n", "not_an_image"),
        "html": (b"<!doctype html><html><script>alert(1)</script></html>", "not_an_image"),
        "svg": (svg, "unsupported_format"),
        "gif": (gif, "unsupported_format"),
        "gif-polyglot": (b"GIF89a/*\x00\x00*/=1;alert(1)//", "unsupported_format"),
        "bmp": (encoded(noise((32, 32)), "BMP"), "unsupported_format"),
        "tiff": (encoded(noise((32, 32)), "TIFF"), "unsupported_format"),
        "pdf": (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "unsupported_format"),
        "avif": (encoded(noise((32, 32)), "AVIF"), "unsupported_format"),
        "mp4": (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(64),
                "unsupported_format"),
        "jpeg-magic-then-html": (b"\xff\xd8\xff\xe0" + b"<html><script>alert(1)</script>" * 20,
                                 "corrupt_image"),
    }
    for name, (data, code) in cases.items():
        assert rejected(data) == code, name


def test_html_after_a_real_jpeg_is_kept_as_evidence_but_never_served():
    data = real("jpg_gps_DSCN0010.jpg") + b"<html><script>alert(1)</script></html>"
    photo = process(data)
    assert photo.original == data
    assert b"<script" not in photo.display and b"<script" not in photo.thumb


def test_animated_images_are_refused():
    frames = [noise((40, 30)), noise((40, 30)).rotate(90)]
    for fmt in ("PNG", "WEBP"):
        data = encoded(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
        assert rejected(data) == "unsupported_format", fmt


# --- the formats and modes phones and apps send ------------------------------------------

def test_png_alpha_is_flattened_on_white():
    img = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    img.paste((200, 0, 0, 255), (100, 0, 200, 100))
    photo = process(encoded(img, "PNG"))
    display = opened(photo.display)
    assert (photo.facts.format, photo.content_type) == ("PNG", "image/png")
    assert all(channel > 245 for channel in display.getpixel((20, 50)))
    red, green, blue = display.getpixel((180, 50))
    assert red > 180 and green < 30 and blue < 30


@pytest.mark.parametrize(("mode", "fmt", "options"), [
    ("P", "PNG", {}), ("LA", "PNG", {}), ("L", "JPEG", {}), ("1", "PNG", {}),
    ("CMYK", "JPEG", {}), ("RGB", "WEBP", {"exif": b""}), ("RGBA", "WEBP", {}),
    ("RGB", "JPEG", {"progressive": True, "comment": b"secret", "xmp": b"<x:xmpmeta/>"}),
    ("RGB", "PNG", {"pnginfo": comment_and_xmp()}),
])
def test_every_mode_becomes_a_plain_rgb_jpeg(mode, fmt, options):
    photo = process(encoded(noise((120, 80), mode), fmt, **options))
    display = opened(photo.display)
    assert (display.mode, display.size) == ("RGB", (120, 80))
    assert not METADATA_MARKERS & set(jpeg_markers(photo.display))


def test_16_bit_grey_is_scaled_not_clipped():
    img = Image.new("I;16", (64, 64), 32768)  # mid grey on a 16-bit scale
    display = opened(process(encoded(img, "PNG")).display)
    assert 120 <= display.getpixel((32, 32))[0] <= 135


def test_large_jpeg_is_decoded_reduced_but_reports_its_full_size():
    exif = Image.Exif()
    exif[0x0112] = 8
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 10:00:00"
    photo = process(encoded(noise((4000, 3000)), "JPEG", quality=90, exif=exif))
    assert (photo.facts.width, photo.facts.height, photo.facts.orientation) == (3000, 4000, 8)
    assert photo.facts.taken_at == datetime(2024, 5, 1, 10, 0, 0)
    assert opened(photo.display).size == (1200, 1600)
    assert opened(photo.thumb).size == (240, 320)


@pytest.mark.parametrize(("lat", "lat_ref", "lon", "lon_ref", "expected"), [
    ((33.0, 51.0, 54.0), "S", (151.0, 12.0, 36.0), "E", (-33.865, 151.21)),
    ((40.0, 26.0, 46.0), "N", (3.0, 42.0, 13.0), "W", (40.446111, -3.703611)),
    ((95.0, 0.0, 0.0), "N", (10.0, 0.0, 0.0), "E", (None, None)),  # out of range
    ((30.0, 30.0, 0.0), "N", (114.0, 17.0, 60.0), "E", (30.5, 114.3)),  # rounded up to 60"
    ((43.0, 75.0, 0.0), "N", (10.0, 0.0, 0.0), "E", (None, None)),  # 75 minutes
    ((43.0, 28.0, 2.0), "X", (11.0, 53.0, 6.0), "E", (None, None)),  # no hemisphere
    ((0.0, 0.0, 0.0), "N", (0.0, 0.0, 0.0), "E", (None, None)),  # no fix written as 0,0
])
def test_gps_values_are_signed_and_validated(lat, lat_ref, lon, lon_ref, expected):
    facts = process(with_gps(lat, lat_ref, lon, lon_ref)).facts
    if expected[0] is None:
        assert (facts.lat, facts.lon) == expected
    else:
        assert (facts.lat, facts.lon) == (pytest.approx(expected[0], abs=1e-5),
                                          pytest.approx(expected[1], abs=1e-5))


# --- the photo store -------------------------------------------------------------------

def test_store_round_trip(tmp_path):
    store = LocalFolderStore(tmp_path)
    assert isinstance(store, PhotoStore)
    key = "ab/abcdef0123/display.jpg"
    assert not store.exists(key)
    store.put(key, b"first", "image/jpeg")
    assert store.exists(key) and store.get(key) == b"first"
    assert (tmp_path / "ab" / "abcdef0123" / "display.jpg").read_bytes() == b"first"
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)  # deleting twice is fine, as in S3


def test_store_overwrites_atomically(tmp_path, monkeypatch):
    store = LocalFolderStore(tmp_path)
    store.put("ab/x/original", b"old", "image/jpeg")
    store.put("ab/x/original", b"new", "image/jpeg")
    assert store.get("ab/x/original") == b"new"

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        store.put("ab/x/original", b"half-written", "image/jpeg")
    assert store.get("ab/x/original") == b"new"
    assert sorted(p.name for p in (tmp_path / "ab" / "x").iterdir()) == ["original"]


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../../b", "A/b", "a b", "", "a//b",
                                 "a/", ".hidden", "a/./b", "a\\b", "ab/..", "ab/\u00e9.jpg",
                                 "a\x00b"])
def test_store_refuses_bad_keys(tmp_path, key):
    store = LocalFolderStore(tmp_path / "root")
    for call in (lambda: store.put(key, b"x", "image/jpeg"), lambda: store.get(key),
                 lambda: store.exists(key), lambda: store.delete(key)):
        with pytest.raises(ValueError):
            call()
    assert not (tmp_path / "x").exists() and not (tmp_path / "root").exists()


def test_store_missing_key_is_a_key_error(tmp_path):
    with pytest.raises(KeyError):
        LocalFolderStore(tmp_path).get("ab/nothing/thumb.jpg")


def test_photo_keys_are_sharded_and_valid(tmp_path):
    keys = photo_keys("3F2504E0-4F89-11D3-9A0C-0305E82C3301")
    assert keys == {"original": "3f/3f2504e04f8911d39a0c0305e82c3301/original",
                    "display": "3f/3f2504e04f8911d39a0c0305e82c3301/display.jpg",
                    "thumb": "3f/3f2504e04f8911d39a0c0305e82c3301/thumb.jpg"}
    store = LocalFolderStore(tmp_path)
    for key in keys.values():
        store.put(key, b"x", "image/jpeg")
    with pytest.raises(ValueError):
        photo_keys("../../etc/passwd")
