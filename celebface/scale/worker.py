"""One index worker: a loaded model (detector + embedder + matcher, loaded once) that turns a batch of photo and
video paths into index rows. The local pool runs one per process, Ray Data one per actor.

A video gives one row per face per frame sampled at `fps` (its `time` column set); its frames are decoded as a
stream, a couple at a time, and only the rows are kept."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..data.duplicates import file_sha256
from ..io.video import is_video_name
from .parts import TO_END, WorkItem
from .rows import FaceRow, to_table
from .shards import content_hash
from .storage import local_copy, read_source


@dataclass
class _Decoded:
    """A decoded photo (or video frame) and its detected faces, before they are embedded and named."""

    shard: str
    path: str
    sha: str
    img: object  # PIL image
    faces: list
    crops: list
    time: Optional[float] = None


class PhotoIndexer:
    """Callable on a batch {"path": [...], "shard": [...], "start": [...], "end": [...]} (start and end optional;
    a dict of lists or a pyarrow Table, or a Table whose rows hold such lists: several calls at once) -> a Table."""

    def __init__(self, model_dir: str, device: str = "cpu", threads: Optional[int] = None,
                 fps: float = 2.0) -> None:
        """
        :param model_dir: a model folder every node can read
        :param device: "cpu", "cuda" or "auto"
        :param threads: torch threads of this worker (1 when several workers share a machine)
        :param fps: frames sampled per second of video
        """
        from ..recognition.recognizer import load

        if threads:
            import torch

            torch.set_num_threads(threads)
        self.rec = load(Path(model_dir), device)
        self.fps = fps

    def __call__(self, batch):
        cols = batch.to_pydict() if hasattr(batch, "to_pydict") else batch
        if cols["path"] and isinstance(cols["path"][0], list):  # rows of whole calls (Ray: parts.jobs, one a row)
            cols = {k: [x for row in v for x in row] for k, v in cols.items()}
        done: list = []  # per task: its rows, or a _Decoded photo still to embed and name
        n = len(cols["path"])
        starts, ends = list(cols.get("start", [0.0] * n)), list(cols.get("end", [TO_END] * n))
        for path, shard, start, end in zip(list(cols["path"]), list(cols["shard"]), starts, ends):
            path, shard = str(path), str(shard)
            done.append(self.index_video(path, shard, float(start), float(end)) if is_video_name(path)
                        else self.decode_photo(path, shard))
        decoded = [d for d in done if isinstance(d, _Decoded)]
        named = iter(self.rows_of(decoded))  # the batch's faces embedded together: fewer, larger network calls
        rows: list[FaceRow] = []
        for d in done:
            rows += next(named) if isinstance(d, _Decoded) else d
        return to_table(rows, self.rec.identity.dim, self.rec.identity.name)

    def index_photo(self, path: str, shard: str) -> list[FaceRow]:
        """The rows of one photo; an unreadable photo gives one row saying why, never an exception."""
        d = self.decode_photo(path, shard)
        return self.rows_of([d])[0] if isinstance(d, _Decoded) else d

    def decode_photo(self, path: str, shard: str):
        """A photo read, decoded and its faces detected (a _Decoded), or its one row saying why it has none."""
        from ..config import WORK_SIDE
        from ..errors import ImageError
        from ..io.images import load_image

        try:
            data = read_source(path)
        except OSError as exc:
            return [FaceRow(shard, path, "", "unreadable", error=f"cannot read: {exc}")]
        sha = content_hash(data)
        try:
            img = load_image(data, max_side=WORK_SIDE)
        except ImageError as exc:
            return [FaceRow(shard, path, sha, "unreadable", error=str(exc))]
        return self._decoded(img, shard, path, sha)

    def index_video(self, path: str, shard: str, start: float = 0.0, end: float = TO_END) -> list[FaceRow]:
        """The rows of every face in the frames sampled at `fps` (between `start` and `end` seconds for a part of a
        long video: its rows carry the part's start as `segment`); a video that cannot be read (or breaks off)
        gives one row saying why, never an exception."""
        from ..errors import VideoError
        from ..io.video import read_frames

        rows: list[FaceRow] = []
        part = WorkItem(path, shard, start, end).part
        sha = ""
        try:
            with local_copy(path) as local:
                sha = file_sha256(local)
                for frame in read_frames(local, self.fps, start=start, end=None if end == TO_END else end):
                    rows += self.image_rows(frame.image, shard, path, sha, frame.time)
        except (OSError, VideoError) as exc:
            rows = [FaceRow(shard, path, sha, "unreadable", error=f"{exc}")]
        rows = rows or [FaceRow(shard, path, sha, "no_face")]
        for r in rows:
            r.segment = part
        return rows

    def image_rows(self, img, shard: str, path: str, sha: str, time: Optional[float] = None) -> list[FaceRow]:
        """One row per face of a decoded photo or video frame (none if it has no face)."""
        d = self._decoded(img, shard, path, sha, time)
        return self.rows_of([d])[0] if d.faces else []

    def _decoded(self, img, shard: str, path: str, sha: str, time: Optional[float] = None) -> "_Decoded":
        faces, crops = self.rec.face_crops(img)
        return _Decoded(shard, path, sha, img, faces, crops, time)

    def rows_of(self, photos: list["_Decoded"]) -> list[list[FaceRow]]:
        """Each photo's rows (a "no_face" row for a photo without faces), all their faces embedded in one call."""
        crops = [c for d in photos for c in d.crops]
        emb, matches = (self._embed_and_name(crops) if crops else (np.zeros((0, self.rec.identity.dim), np.float32), []))
        out, at = [], 0
        for d in photos:
            n = len(d.faces)
            out.append(self._face_rows(d, emb[at:at + n], matches[at:at + n]) if n
                       else [FaceRow(d.shard, d.path, d.sha, "no_face")])
            at += n
        return out

    def _embed_and_name(self, crops: list) -> tuple[np.ndarray, list]:
        """The crops' identity vectors and what the model names them."""
        feats = self.rec.embed(crops)
        emb = self._face_embeddings(crops, feats)
        return emb, self.rec.name_crops(crops, feats, emb)

    def _face_rows(self, d: "_Decoded", emb: np.ndarray, matches: list) -> list[FaceRow]:
        from ..io.images import scale_of
        from ..recognition.recognizer import face_result

        scale, size = scale_of(d.img)
        rows = []
        for k, (f, q, m) in enumerate(zip(d.faces, self.rec.assess(d.img, d.faces), matches)):
            res = face_result(f, q, m, size, scale)  # name null with a reason for faces too poor to name
            rows.append(FaceRow(d.shard, d.path, d.sha, "ok", time=d.time, face=k, box=res.box,
                                detector_prob=res.detector_prob,
                                face_px=float(min(f.box[2] - f.box[0], f.box[3] - f.box[1]) * scale), name=res.name,
                                confidence=float(res.confidence), score=float(res.score), quality=res.quality,
                                reason=res.reason, embedding=emb[k].astype(np.float32).tolist()))
        return rows

    def _face_embeddings(self, crops, feats: np.ndarray) -> np.ndarray:
        """The model's identity vectors: the features themselves for models named by the gallery, else the identity
        embedder run on the crops."""
        return self.rec.face_features(crops, feats)
