"""What `prepare` knows of each photo (PhotoRecord), and WORK_DIR/manifest.jsonl: one JSON line per photo, written
as photos finish, so an interrupted run resumes. manifest.json holds the same records for readers."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Optional

from ..types import Face


@dataclass
class FaceCrop(Face):
    """A detected face and where its square crop is saved, relative to WORK_DIR."""

    crop: str = ""

    def to_dict(self) -> dict:
        return {**super().to_dict(), "crop": self.crop}

    @classmethod
    def from_dict(cls, d: dict) -> "FaceCrop":
        face = Face.from_dict(d)
        return cls(face.box, face.prob, face.landmarks, d.get("crop", ""))


@dataclass
class PhotoRecord:
    """One photo of DATA_DIR: its status, the faces found (main face first), and which face is the person's."""

    file: str  # relative to DATA_DIR
    person: str
    bytes: int
    mtime_ns: int
    settings: str  # the ExtractSettings key the faces were found with
    status: str = "ok"  # ok | several_faces | no_face | unreadable
    error: Optional[str] = None
    width: Optional[int] = None
    height: Optional[int] = None
    faces: list[FaceCrop] = field(default_factory=list)
    n_faces: int = 0  # faces found (only the first MAX_CANDIDATES are kept in `faces`)
    chosen: Optional[int] = None  # index into faces of the person's face
    chosen_by: Optional[str] = None  # "main_face" | "embedding"
    match_distance: Optional[float] = None  # median cosine distance to the person's other photos
    suspect: bool = False  # likely not the labelled person

    @property
    def chosen_face(self) -> Optional[FaceCrop]:
        return None if self.chosen is None else self.faces[self.chosen]

    @property
    def chosen_crop(self) -> Optional[str]:
        face = self.chosen_face
        return None if face is None else face.crop

    def to_dict(self) -> dict:
        d = asdict(self)
        d["faces"] = [f.to_dict() for f in self.faces]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "PhotoRecord":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in d.items() if k in known}
        values["faces"] = [FaceCrop.from_dict(f) for f in d.get("faces", [])]
        return cls(**values)


def read_records(path: Path) -> dict[str, PhotoRecord]:
    """The per-photo lines of a (possibly interrupted) manifest.jsonl, by file; broken lines are dropped."""
    out: dict[str, PhotoRecord] = {}
    if path.exists():
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    rec = PhotoRecord.from_dict(json.loads(line))
                    out[rec.file] = rec
                except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                    continue
    return out
