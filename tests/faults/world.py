"""What the harness saved, and what the server and the phone hold: the checks after a cycle."""
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path

TABLES = {"visit": "visits", "meeting": "meetings", "ledger_item": "ledger_items",
          "ledger_update": "ledger_events", "leave": "leave_requests"}


def _hex(value: str) -> str:
    return uuid.UUID(value).hex


@dataclass
class Saved:
    """A record the phone accepted (queueRecord resolved) and the photos it carries."""

    id: str
    type: str
    photo_ids: list[str] = field(default_factory=list)
    cycle: int = 0


class ServerView:
    """Read-only looks at the server's SQLite file and photo folder (the server may be dead)."""

    def __init__(self, db_path: Path, photo_dir: Path):
        self.db_path, self.photo_dir = db_path, photo_dir

    def _rows(self, sql: str, args=()) -> list[tuple]:
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def record_counts(self, saved: list[Saved]) -> dict[str, dict[str, int]]:
        """{id: {"rows": n, "versions": n, "creates": n}} for every saved record."""
        out = {}
        by_type: dict[str, list[Saved]] = {}
        for s in saved:
            by_type.setdefault(s.type, []).append(s)
        for kind, items in by_type.items():
            ids = [_hex(s.id) for s in items]
            marks = ",".join("?" * len(ids))
            rows = dict(self._rows(f"SELECT id, count(*) FROM {TABLES[kind]} WHERE id IN ({marks}) "
                                   "GROUP BY id", ids))
            versions = dict(self._rows(
                f"SELECT record_id, count(*) FROM record_versions WHERE record_id IN ({marks}) "
                "GROUP BY record_id", ids)) if kind != "ledger_update" else {}
            action = "ledger_item.update" if kind == "ledger_update" else f"{kind}.create"
            detail = "details" if kind == "ledger_update" else "object_id"
            audits = self._rows(f"SELECT {detail} FROM audit_log WHERE action = ?", (action,))
            for s, hexid in zip(items, ids, strict=True):
                if kind == "ledger_update":
                    creates = sum(1 for (d,) in audits if s.id in (d or ""))
                else:
                    creates = sum(1 for (oid,) in audits if oid in (s.id, hexid))
                out[s.id] = {"rows": rows.get(hexid, 0), "creates": creates,
                             "versions": versions.get(hexid, 1 if rows.get(hexid) else 0)
                             if kind != "ledger_update" else rows.get(hexid, 0)}
        return out

    def photos(self) -> dict[str, str]:
        """{photo id (hex): record id (hex)} of every photo row."""
        return {pid: rid for pid, rid in self._rows("SELECT id, record_id FROM photos")}

    def photo_files(self) -> dict[str, set[str]]:
        """{photo id (hex): names of its stored files}."""
        found: dict[str, set[str]] = {}
        if self.photo_dir.is_dir():
            for path in self.photo_dir.glob("*/*/*"):
                found.setdefault(path.parent.name, set()).add(path.name)
        return found
