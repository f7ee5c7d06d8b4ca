"""Time and measure the refusal of each reported XLSX bomb, and a real 5,000-row register.

Usage: .venv/bin/python bench/bench_spreadsheet_guard.py   (goal: each within 3 s, ≤ 100 MB)
"""
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fieldlog import create_app  # noqa: E402
from fieldlog.errors import Invalid  # noqa: E402
from fieldlog.services.common import spreadsheets  # noqa: E402
from tests.test_spreadsheet_guard import build_bombs  # noqa: E402


def main() -> None:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.test_request_context():
        print(f"{'file':32} {'bytes':>9} {'seconds':>8} {'peak MB':>8}  answer")
        for name, data in build_bombs().items():
            tracemalloc.start()
            started = time.perf_counter()
            try:
                rows = sum(1 for _ in spreadsheets.iter_xlsx_rows(data))
                answer = f"read {rows} rows (NOT refused)"
            except Invalid as exc:
                answer = exc.message[:60]
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            print(f"{name:32} {len(data):9,} {seconds:8.2f} {peak:8.1f}  {answer}")


if __name__ == "__main__":
    main()
