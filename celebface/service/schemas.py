"""The API's response bodies, as pydantic models (shown in /docs)."""
from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, Field

from ..types import FaceResult, PhotoResult

__all__ = ["FaceResult", "PhotoResult", "Health", "People", "EnrolResult", "Problem"]


class Problem(BaseModel):
    """Every error: one sentence that says what is wrong and what to do."""

    detail: str


class Health(BaseModel):
    status: str = "ok"
    model: dict[str, Any] = Field(default_factory=dict, description="backbone, classes, threshold, ...")
    people: int
    can_enroll: bool
    token_required: bool
    max_upload_bytes: int
    max_pixels: int


class People(BaseModel):
    people: list[str]
    count: int
    can_enroll: bool


class EnrolResult(BaseModel):
    name: str
    updated: bool = Field(description="True if the person was known already (their faces were added to)")
    replaced: bool = False
    photos: int
    faces: int
    skipped: list[str] = Field(default_factory=list, description="photos not used, and why")
    seconds: float
    date: str
    people: list[str] = Field(default_factory=list, description="everyone the model now knows")
    note: Optional[str] = None
