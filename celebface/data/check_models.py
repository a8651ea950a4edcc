"""What `celebface check` reports, as pydantic models (written as report.json, drawn by check_report)."""
from __future__ import annotations

from typing import Optional

from pydantic import BaseModel


class PhotoIssue(BaseModel):
    file: str
    person: str
    detail: str = ""


class DuplicatePair(BaseModel):
    a: str
    b: str
    how: str  # "exact" (same bytes), "hash" (perceptual hash), "face" (same face capture), "picture" (same look
    # and keypoints; distance = 1 - correlation)
    distance: float


class DuplicateGroup(BaseModel):
    files: list[str]
    people: list[str]
    across_people: bool
    exact: bool  # every member has the same bytes
    pairs: list[DuplicatePair]


class Mislabel(BaseModel):
    file: str
    person: str
    distance_own: float  # median cosine distance to the person's other faces
    best_other: Optional[str] = None  # the other person whose faces are closer, if any
    distance_other: Optional[float] = None


class TinyFace(BaseModel):
    file: str
    person: str
    face_px: int


class PersonCount(BaseModel):
    photos: int
    usable: int  # photos with a face
    distinct: int  # usable photos once near-duplicates count as one


class CheckReport(BaseModel):
    data_dir: str
    photos: int
    people: dict[str, PersonCount]
    unreadable: list[PhotoIssue]
    no_face: list[PhotoIssue]
    several_faces: list[PhotoIssue]
    duplicate_groups: list[DuplicateGroup]
    mislabelled: list[Mislabel]
    tiny_faces: list[TinyFace]
    too_small: list[str]  # people with fewer than 2 distinct usable photos (a split needs 2)
    settings: dict[str, float]
    seconds: float

    def counts(self) -> dict[str, int]:
        """How many findings of each kind (the short table)."""
        groups = self.duplicate_groups
        return {"photos": self.photos, "people": len(self.people), "unreadable": len(self.unreadable),
                "no face": len(self.no_face), "several faces": len(self.several_faces),
                "exact duplicate groups": sum(g.exact for g in groups),
                "near-duplicate groups, one person": sum(not g.exact and not g.across_people for g in groups),
                "near-duplicate groups, across people": sum(not g.exact and g.across_people for g in groups),
                "likely mislabelled": len(self.mislabelled), "tiny faces": len(self.tiny_faces),
                "classes too small to split": len(self.too_small)}
