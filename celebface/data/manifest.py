"""WORK_DIR/manifest.jsonl: one JSON line per photo, written as photos finish, so an interrupted run resumes."""
from __future__ import annotations

import json
from pathlib import Path


def read_records(path: Path) -> dict[str, dict]:
    """The per-photo lines of a (possibly interrupted) manifest.jsonl, by file; broken lines are dropped."""
    out: dict[str, dict] = {}
    if path.exists():
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                    out[rec["file"]] = rec
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue
    return out
