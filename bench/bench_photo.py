"""Time process_photo() on a 12 MP camera JPEG, the iPhone HEIC and the Nokia phone JPEG.

Run from the repository: .venv/bin/python bench/bench_photo.py [--runs N]
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # a script in bench/ is not on the package's path by itself

from PIL import Image, ImageChops  # noqa: E402

from fieldlog.services.records.photos import process_photo  # noqa: E402

TESTDATA = Path(os.environ.get("FIELDLOG_TESTDATA")
                or ROOT.parent / "shared" / "testdata" / "photos")
LIMITS = {"max_bytes": 25 * 1024 * 1024, "max_pixels": 60_000_000}


def camera_jpeg(size: tuple[int, int] = (4000, 3000)) -> bytes:
    """Make a 12 MP JPEG that compresses like a photo (gradients, grain) with EXIF time and GPS."""
    tile, bands = Image.effect_noise((256, 256), 24), []
    for band in range(3):
        grain = Image.new("L", size)
        for x in range(0, size[0], 256):
            for y in range(0, size[1], 256):
                grain.paste(tile.rotate(90 * ((x // 256 + y // 256 + band) % 4)), (x, y))
        gradient = Image.linear_gradient("L").rotate(90 * band).resize(size)
        bands.append(ImageChops.blend(gradient, grain, 0.35))
    exif = Image.Exif()
    exif.update({0x010F: "Bench", 0x0110: "Camera 12MP", 0x0112: 1})
    exif.get_ifd(0x8769)[0x9003] = "2025:06:01 09:30:00"
    exif.get_ifd(0x8825).update({1: "N", 2: (30.0, 15.0, 12.5), 3: "E", 4: (114.0, 20.0, 5.25)})
    out = io.BytesIO()
    Image.merge("RGB", bands).save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def bench(label: str, path: Path, runs: int) -> None:
    """Time one file in this (fresh) process, so peak RSS belongs to it alone."""
    data = path.read_bytes()
    baseline = peak_rss_mb()
    process_photo(data, **LIMITS)  # warm-up: plugin set-up, colour tables
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        photo = process_photo(data, **LIMITS)
        times.append((time.perf_counter() - started) * 1000)
    facts = photo.facts
    print(f"{label:<24} {len(data) / 1e6:4.1f} MB {facts.width}x{facts.height:<5} "
          f"median {statistics.median(times):5.0f} ms  max {max(times):5.0f} ms  "
          f"peak RSS {peak_rss_mb():4.0f} MB (+{peak_rss_mb() - baseline:.0f} over imports)  "
          f"display {len(photo.display) // 1024} KiB, thumb {len(photo.thumb) // 1024} KiB",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--one", nargs=2, metavar=("LABEL", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--generate", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        bench(args.one[0], Path(args.one[1]), args.runs)
        return
    if args.generate:
        Path(args.generate).write_bytes(camera_jpeg())
        return
    print(f"Python {sys.version.split()[0]}, Pillow {Image.__version__}, "
          f"{os.cpu_count()} CPUs, {args.runs} timed runs each after one warm-up")
    with tempfile.TemporaryDirectory() as tmp:
        generated = Path(tmp) / "camera-12mp.jpg"
        # Each step runs in its own process: a child starts with its parent's peak RSS.
        subprocess.run([sys.executable, __file__, "--generate", str(generated)], check=True,
                       timeout=120)
        cases = [("generated 12 MP JPEG", generated),
                 ("Nokia 8.3 5G JPEG", TESTDATA / "jpg_mobile_HMD_Nokia_8.3_5G.jpg"),
                 ("iPhone 13 Pro Max HEIC", TESTDATA / "heic_mobile_iphone_13_pro_max.HEIC")]
        for label, path in cases:
            subprocess.run([sys.executable, __file__, "--runs", str(args.runs),
                            "--one", label, str(path)], check=True, timeout=120)


if __name__ == "__main__":
    main()
