"""Typed records that flow between the stages: a detected face, and what prediction says about a photo.

Face is a plain dataclass (the detector's output, also stored in manifests); FaceResult and PhotoResult are
pydantic models, so the CLI's `--json`, the Python API and the REST API's schema (shown in /docs) are one thing.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

from pydantic import BaseModel, Field


@dataclass
class Face:
    """One detected face: box [x1, y1, x2, y2] and 5 landmarks in original-photo pixels, detector probability."""

    box: list[float]
    prob: float
    landmarks: list[list[float]] = field(default_factory=list)

    @property
    def area(self) -> float:
        return max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1])

    def to_dict(self) -> dict:
        """The face as stored in manifests, at full precision: a crop made again from the stored box (after the
        crop settings changed) must be the very crop made from the detector's box. Rounded to 0.1 px, as before,
        one photo in seven came out a pixel off, which moved a celeb5 seed by a photo."""
        d = asdict(self)
        d["box"] = [float(v) for v in self.box]
        d["prob"] = float(self.prob)
        d["landmarks"] = [[float(x), float(y)] for x, y in self.landmarks]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Face":
        return cls(box=list(d["box"]), prob=float(d["prob"]), landmarks=[list(p) for p in d.get("landmarks", [])])


@dataclass(frozen=True)
class Match:
    """What a matcher says of one face: the name (or "unknown"), the classifier's confidence, the open-set
    score compared with the threshold, and the three best candidates."""

    name: str
    confidence: float
    score: float
    top: list[tuple[str, float]]


class FaceResult(BaseModel):
    """One face in a photo. A face too poor to be named (quality below the threshold) has `name` null, a `reason`,
    and neutral figures: confidence 0, score 0, top empty (it is not matched against the people at all)."""

    box: list[float] = Field(description="[x1, y1, x2, y2] in the photo's pixels, clipped to the photo")
    detector_prob: float = Field(description="MTCNN's probability that this is a face")
    name: Optional[str] = Field(description='The person, "unknown" below the threshold, or null for a face too '
                                            'poor to name (see reason)')
    confidence: float = Field(description="The classifier's probability for that person (0 when name is null)")
    score: float = Field(description="The open-set score compared with the model's threshold (0 when name is null)")
    top: list[tuple[str, float]] = Field(description="The three best candidates with their probabilities "
                                                     "(empty when name is null)")
    quality: float = Field(ge=0.0, le=1.0, description="Face quality in [0, 1] (size, detector probability, "
                                                       "landmark geometry, sharpness); below 0.5 the face is not named")
    reason: Optional[str] = Field(None, description='Why name is null: "too small", "not a face" or "too blurred"')


class PhotoResult(BaseModel):
    """Every face of one photo, main face first; `error` says why a photo could not be read."""

    image: str
    width: Optional[int] = None
    height: Optional[int] = None
    faces: list[FaceResult] = Field(default_factory=list)
    error: Optional[str] = None

    def to_json(self) -> str:
        return self.model_dump_json()
