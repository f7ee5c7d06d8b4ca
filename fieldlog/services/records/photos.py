"""Check an uploaded photo, read its EXIF facts and derive the sizes that are served.

Plain functions with no Flask or database dependency: the upload calls precheck_photo()
in the request, the photo job (`processing`) calls process_photo() and stores what it returns.
"""
from __future__ import annotations

import hashlib
import io
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pillow_heif
from PIL import ExifTags, Image, ImageCms

pillow_heif.register_heif_opener()

DISPLAY_EDGE = 1600
THUMB_EDGE = 320
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp",
                 "HEIF": "image/heic"}
# Real progressive JPEGs have about ten scans; thousands make libjpeg re-run over the
# whole image each time (a CPU bomb), so refuse files with absurdly many.
_MAX_JPEG_SCANS = 100
_HEVC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_OTHER_IMAGES = (b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*", b"%PDF-", b"8BPS",
                 b"\x00\x00\x01\x00", b"\xff\x0a", b"\x00\x00\x00\x0cJXL ", b"qoif")
# A 0xFF in entropy-coded data that is not a stuffed 0xFF00: a restart marker, fill or marker.
_ENTROPY_END = re.compile(rb"\xff[^\x00]")
_EXIF_TIME = re.compile(r"(\d{4})[:-](\d\d)[:-](\d\d)[ T](\d\d):(\d\d):(\d\d)")
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}  # as ImageOps.exif_transpose
_ACCEPTED = "Please send a JPEG, PNG, WebP or HEIC photo."
_MESSAGES = {
    "empty_file": "The file is empty. Please choose the photo again.",
    "not_an_image": f"This file is not a photo. {_ACCEPTED}",
    "unsupported_format": f"This kind of file is not accepted. {_ACCEPTED}",
    "too_many_pixels": "The photo has too many pixels to process. Please send a smaller photo.",
    "corrupt_image": "The photo file is damaged or incomplete. Please take or send it again.",
}


class PhotoRejected(Exception):
    """An upload that is not a photo we accept: `code` is stable, `message` is for the user."""

    def __init__(self, code: str, message: str | None = None) -> None:
        self.code = code
        self.message = message or _MESSAGES[code]
        super().__init__(self.message)


@dataclass(frozen=True)
class PhotoFacts:
    taken_at: datetime | None  # camera local time, naive
    lat: float | None
    lon: float | None
    camera_make: str | None
    camera_model: str | None
    width: int  # of the upright original
    height: int
    format: str  # JPEG, PNG, WEBP or HEIF
    orientation: int | None  # the EXIF orientation that was applied


@dataclass(frozen=True)
class CheckedPhoto:
    facts: PhotoFacts
    content_type: str
    sha256: str


@dataclass(frozen=True)
class ProcessedPhoto:
    facts: PhotoFacts
    original: bytes
    display: bytes
    thumb: bytes
    sha256: str
    content_type: str


def precheck_photo(data: bytes, *, max_bytes: int, max_pixels: int) -> CheckedPhoto:
    """Refuse what can be refused without decoding pixels; return the type and the facts.

    Milliseconds even for a HEIC: the upload runs this in the request and leaves the decoding
    to the photo job, so a cut, holed, oversized or foreign file is still refused at once.
    """
    fmt, decodable, exif, header = _checked_header(data, max_bytes, max_pixels)
    return CheckedPhoto(facts=read_facts(header, exif, full_size=header.size),
                        content_type=CONTENT_TYPES[fmt], sha256=hashlib.sha256(data).hexdigest())


def _checked_header(data: bytes, max_bytes: int, max_pixels: int):
    if not data:
        raise PhotoRejected("empty_file")
    if len(data) > max_bytes:
        raise PhotoRejected("too_large", f"The photo is larger than {max_bytes / 1_048_576:.3g}"
                            " MB, the most that is accepted. Please send a smaller one.")
    fmt = _sniff(data)
    decodable, exif = _check_container(data, fmt)
    header = _open(decodable, fmt, max_pixels)
    if fmt in ("PNG", "WEBP") and getattr(header, "is_animated", False):
        raise PhotoRejected("unsupported_format", "Animated images are not accepted. "
                            "Please send a still photo.")
    return fmt, decodable, exif, header


def process_photo(data: bytes, *, max_bytes: int, max_pixels: int) -> ProcessedPhoto:
    """Validate an uploaded photo and derive its facts and its display and thumbnail JPEGs."""
    fmt, decodable, exif, header = _checked_header(data, max_bytes, max_pixels)
    img = _open(decodable, fmt, max_pixels)
    try:
        header.verify()  # PNG: every chunk CRC; the others have little to verify
        if fmt == "JPEG":
            # Decode at 1/2..1/8 scale when that still covers the display size: libjpeg
            # still reads every coefficient, so a cut file is still caught.
            img.draft("RGB", _fit_size(img.size, DISPLAY_EDGE, ceil=True))
        img.load()
    except Exception as exc:  # decoders raise many types on hostile input; all mean "corrupt"
        raise PhotoRejected("corrupt_image") from exc
    facts = read_facts(img, exif, full_size=header.size)
    plain = _flatten(img)
    display = plain.resize(_fit_size(plain.size, DISPLAY_EDGE), Image.Resampling.LANCZOS,
                           reducing_gap=3.0)
    # Colour-convert after resizing: the same result at a tenth of the cost for 12 MP.
    display = _to_srgb(display, img.info.get("icc_profile"))
    if fmt != "HEIF" and facts.orientation in _TRANSPOSE:
        # libheif already applied HEIF's own rotation, so HEIF is never turned twice.
        display = display.transpose(_TRANSPOSE[facts.orientation])
    thumb = display.resize(_fit_size(display.size, THUMB_EDGE), Image.Resampling.LANCZOS)
    return ProcessedPhoto(
        facts=facts, original=data,
        display=_jpeg(display, quality=82, progressive=True),
        thumb=_jpeg(thumb, quality=80, progressive=False),
        sha256=hashlib.sha256(data).hexdigest(), content_type=CONTENT_TYPES[fmt],
    )


def read_facts(img: Image.Image, exif_block: bytes | None = None, *,
               full_size: tuple[int, int] | None = None) -> PhotoFacts:
    """Read time, place, camera and upright size from an image or a raw EXIF block.

    `full_size` is the size before draft() shrank the decode.
    """
    exif, exif_ifd, gps = _exif_parts(img, exif_block)
    fmt = "JPEG" if img.format == "MPO" else str(img.format)
    width, height = full_size or img.size
    orientation = exif.get(ExifTags.Base.Orientation)
    orientation = orientation if orientation in range(1, 9) else None
    if fmt == "HEIF":
        # pillow_heif resets the EXIF tag to 1 after libheif rotates; report the camera's value.
        orientation = img.info.get("original_orientation") or orientation
    elif orientation in (5, 6, 7, 8):
        width, height = height, width
    taken_at = (_exif_time(exif_ifd.get(ExifTags.Base.DateTimeOriginal))
                or _exif_time(exif_ifd.get(ExifTags.Base.DateTimeDigitized))
                or _exif_time(exif.get(ExifTags.Base.DateTime)))
    lat, lon = _gps_point(gps)
    return PhotoFacts(taken_at=taken_at, lat=lat, lon=lon,
                      camera_make=_text(exif.get(ExifTags.Base.Make)),
                      camera_model=_text(exif.get(ExifTags.Base.Model)),
                      width=width, height=height, format=fmt, orientation=orientation)


def _sniff(data: bytes) -> str:
    """Name the accepted format from the magic bytes (never the filename), or reject."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp":
        end = min(int.from_bytes(data[:4], "big"), 512, len(data))
        brands = {data[i:i + 4] for i in range(16, end - 3, 4)} | {data[8:12]}
        if data[8:12] in _HEVC_BRANDS or (
                brands & {b"mif1", b"msf1"} and not brands & {b"avif", b"avis"}):
            return "HEIF"
        raise PhotoRejected("unsupported_format")  # AVIF, MP4/MOV video and the like
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if data.startswith(_OTHER_IMAGES) or (head.startswith(b"<") and b"<svg" in head):
        raise PhotoRejected("unsupported_format")
    raise PhotoRejected("not_an_image")


def _open(data: bytes, fmt: str, max_pixels: int) -> Image.Image:
    """Open the header only, refusing more pixels than allowed before any pixel is decoded."""
    try:
        img = Image.open(io.BytesIO(data), formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard: an error above 2x MAX_IMAGE_PIXELS, a warning above it (an
        # exception when warnings are errors, as in the tests).
        raise PhotoRejected("too_many_pixels") from exc
    except Exception as exc:
        raise PhotoRejected("corrupt_image") from exc
    # Pillow only warns between 1x and 2x its global limit, so hold to that limit as well.
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    if img.width * img.height > limit or 0 in img.size:
        raise PhotoRejected("too_many_pixels" if img.width * img.height else "corrupt_image")
    return img


def _check_container(data: bytes, fmt: str) -> tuple[bytes, bytes | None]:
    """Reject cut or holed files, which decoders pad with grey; return what to decode."""
    if fmt == "JPEG":
        return _split_jpeg(data)
    pos = 0
    while fmt == "HEIF" and pos < len(data):  # each top-level box must end inside the file
        size, head = int.from_bytes(data[pos:pos + 4], "big"), 8
        if size == 1:
            size, head = int.from_bytes(data[pos + 8:pos + 16], "big"), 16
        elif size == 0:
            break  # the last box runs to the end of the file
        if size < head or pos + size > len(data):
            raise PhotoRejected("corrupt_image")
        pos += size
    if fmt == "WEBP" and int.from_bytes(data[4:8], "little") + 8 > len(data):
        raise PhotoRejected("corrupt_image")
    return data, None


def _split_jpeg(data: bytes) -> tuple[bytes, bytes | None]:
    """Walk a JPEG's markers; return it without metadata segments, and its EXIF block.

    libjpeg only warns about cuts, holes and lost restart intervals, so check them here.
    The decoder gets no metadata (EXIF, XMP, MPF, COM): Pillow warns on malformed
    metadata, and whether a photo is accepted must not depend on the warnings filter.
    """
    pos, scans, n, kept, start, exif = 2, 0, len(data), [], 0, None
    while True:
        pos = first_ff = data.find(b"\xff", pos)  # tolerate stray bytes between segments
        while 0 <= pos < n and data[pos] == 0xFF:
            pos += 1  # fill bytes may precede any marker
        if pos < 0 or pos >= n:
            raise PhotoRejected("corrupt_image")  # cut before EOI
        marker = data[pos]
        if marker == 0xD9:  # what follows EOI (previews, MPF images, video) is not decoded
            return b"".join(kept) + data[start:pos + 1], exif
        length = int.from_bytes(data[pos + 1:pos + 3], "big")
        if marker < 0xC0 or 0xD0 <= marker <= 0xD8 or length < 2 or pos + 1 + length > n:
            raise PhotoRejected("corrupt_image")
        body, end = data[pos + 3:pos + 1 + length], pos + 1 + length
        if marker == 0xE1 and exif is None and body.startswith(b"Exif\x00\x00"):
            exif = body
        if marker == 0xFE or (0xE1 <= marker <= 0xEF and marker != 0xEE and not (
                marker == 0xE2 and body.startswith(b"ICC_PROFILE\x00"))):
            kept.append(data[start:first_ff])
            start = end  # keep APP0 JFIF, APP2 ICC and APP14 Adobe (colour transform)
        pos = end
        if marker != 0xDA:
            continue
        scans += 1
        if scans > _MAX_JPEG_SCANS:
            raise PhotoRejected("corrupt_image")
        next_rst = 0
        while (m := _ENTROPY_END.search(data, pos)) and 0xD0 <= data[m.start() + 1] <= 0xD7:
            if data[m.start() + 1] != 0xD0 + next_rst:
                raise PhotoRejected("corrupt_image")  # a restart interval went missing
            next_rst, pos = (next_rst + 1) % 8, m.end()
        if m is None:
            raise PhotoRejected("corrupt_image")
        pos = m.start()


def _exif_parts(img: Image.Image, block: bytes | None) -> tuple[dict, dict, dict]:
    """Return the base, Exif and GPS directories; what cannot be read comes back empty."""
    parts: list[dict] = []
    try:
        exif = img.getexif() if block is None else Image.Exif()
        if block is not None:
            exif.load(block)
        parts.append(dict(exif))
        parts.append(dict(exif.get_ifd(ExifTags.IFD.Exif)))
        parts.append(dict(exif.get_ifd(ExifTags.IFD.GPSInfo)))
    except Exception:  # malformed EXIF raises (or warns) in many ways; the facts are optional
        pass
    parts += [{}] * (3 - len(parts))
    return parts[0], parts[1], parts[2]


def _exif_time(value: Any) -> datetime | None:
    """Parse an EXIF 'YYYY:MM:DD HH:MM:SS' stamp; blanks and impossible dates give None."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    match = _EXIF_TIME.match(value.strip(" \x00")) if isinstance(value, str) else None
    try:
        return datetime(*map(int, match.groups())) if match else None
    except ValueError:  # "0000:00:00 00:00:00" and friends
        return None


def _gps_point(gps: dict) -> tuple[float | None, float | None]:
    """Return (lat, lon) in decimal degrees, or (None, None) unless both are sane."""
    lat = _coordinate(gps.get(2), gps.get(1), "N", "S", 90.0)
    lon = _coordinate(gps.get(4), gps.get(3), "E", "W", 180.0)
    if lat is None or lon is None or (lat == 0 and lon == 0) or _text(gps.get(9)) == "V":
        return None, None  # 0,0 is what phones write without a fix; status V means void
    return lat, lon


def _coordinate(value: Any, ref: Any, plus: str, minus: str, limit: float) -> float | None:
    """Turn EXIF degrees/minutes/seconds and a hemisphere letter into signed degrees."""
    ref = (_text(ref) or "").upper()
    parts = value if isinstance(value, tuple) else (value,)
    try:  # IFDRational(n, 0) becomes nan; strings and None raise
        numbers = [float(part) for part in parts]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = sum(x / 60 ** i for i, x in enumerate(numbers))
    if (ref not in (plus, minus) or not 1 <= len(numbers) <= 3 or degrees > limit
            or not all(math.isfinite(x) and 0 <= x for x in numbers)
            or any(x > 60 for x in numbers[1:])):  # 60 itself is a rounding artefact
        return None  # and without the hemisphere the sign would be a guess
    return -degrees if ref == minus else degrees


def _text(value: Any) -> str | None:
    """Return a printable, trimmed EXIF string or None."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    return "".join(ch for ch in value if ch.isprintable()).strip()[:100] or None


def _fit_size(size: tuple[int, int], edge: int, *, ceil: bool = False) -> tuple[int, int]:
    """Scale `size` down so its long edge is at most `edge`; never up."""
    scale = min(1.0, edge / max(size))
    rounding = math.ceil if ceil else round
    return max(1, int(rounding(size[0] * scale))), max(1, int(rounding(size[1] * scale)))


def _flatten(img: Image.Image) -> Image.Image:
    """Return an 8-bit RGB, L or CMYK image: alpha flattened on white, 16-bit scaled down."""
    if img.mode == "I" or img.mode.startswith("I;16"):
        # convert("L") clips 16-bit values at 255; scale them down instead.
        img = img.convert("I").point(lambda v: v / 256).convert("L")
    if img.mode in ("RGBA", "LA", "PA", "RGBa") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        img = Image.new("RGB", rgba.size, "white")
        img.paste(rgba, mask=rgba.getchannel("A"))
    return img if img.mode in ("RGB", "L", "CMYK") else img.convert("RGB")


def _to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """Return `img` as sRGB RGB, honouring the ICC profile embedded in the original."""
    if icc and img.mode in ("RGB", "CMYK"):
        try:
            # Fresh profile objects per call: littleCMS profiles are not safe to share
            # between threads, transforms built from them are.
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
            return ImageCms.profileToProfile(img, source, srgb, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken profile is no reason to refuse the photo
    return img if img.mode == "RGB" else img.convert("RGB")


def _jpeg(img: Image.Image, *, quality: int, progressive: bool) -> bytes:
    """Encode as a JPEG that carries no metadata at all (no EXIF, XMP, ICC or comment)."""
    img.info = {}  # Pillow copies comment and other info into the file by default
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, progressive=progressive)
    return out.getvalue()
