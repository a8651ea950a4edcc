"""One index worker: a loaded model (detector + embedder + matcher, loaded once) that turns a batch of photo and
video paths into index rows. The local pool runs one per process, Ray Data one per actor.

A video gives one row per face per frame sampled at `fps` (its `time` column set); its frames are decoded as a
stream, a couple at a time, and only the rows are kept."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from ..data.duplicates import file_sha256
from ..io.video import is_video_name
from .rows import FaceRow, to_table
from .shards import content_hash
from .storage import local_copy, read_source


class PhotoIndexer:
    """Callable on a batch {"path": [...], "shard": [...]} (a dict of lists or a pyarrow Table) -> a Table."""

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
        rows: list[FaceRow] = []
        for path, shard in zip(list(cols["path"]), list(cols["shard"])):
            index = self.index_video if is_video_name(str(path)) else self.index_photo
            rows += index(str(path), str(shard))
        return to_table(rows)

    def index_photo(self, path: str, shard: str) -> list[FaceRow]:
        """The rows of one photo; an unreadable photo gives one row saying why, never an exception."""
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
        rows = self.image_rows(img, shard, path, sha)
        return rows or [FaceRow(shard, path, sha, "no_face")]

    def index_video(self, path: str, shard: str) -> list[FaceRow]:
        """The rows of every face in the frames sampled at `fps`; a video that cannot be read (or breaks off)
        gives one row saying why, never an exception."""
        from ..errors import VideoError
        from ..io.video import read_frames

        rows: list[FaceRow] = []
        try:
            with local_copy(path) as local:
                sha = file_sha256(local)
                for frame in read_frames(local, self.fps):
                    rows += self.image_rows(frame.image, shard, path, sha, frame.time)
        except (OSError, VideoError) as exc:
            return [FaceRow(shard, path, "", "unreadable", error=f"{exc}")]
        return rows or [FaceRow(shard, path, sha, "no_face")]

    def image_rows(self, img, shard: str, path: str, sha: str, time: Optional[float] = None) -> list[FaceRow]:
        """One row per face of a decoded photo or video frame (none if it has no face)."""
        from ..io.images import scale_of
        from ..recognition.recognizer import face_result

        faces, crops = self.rec.face_crops(img)
        if not faces:
            return []
        feats = self.rec.embed(crops)
        emb = self._face_embeddings(crops, feats)
        matches = self.rec.name_crops(crops, feats, emb)
        scale, size = scale_of(img)
        rows = []
        for k, (f, q, m) in enumerate(zip(faces, self.rec.assess(img, faces), matches)):
            res = face_result(f, q, m, size, scale)  # name null with a reason for faces too poor to name
            rows.append(FaceRow(shard, path, sha, "ok", time=time, face=k, box=res.box, detector_prob=res.detector_prob,
                                face_px=float(min(f.box[2] - f.box[0], f.box[3] - f.box[1]) * scale), name=res.name,
                                confidence=float(res.confidence), score=float(res.score), quality=res.quality,
                                reason=res.reason, embedding=emb[k].astype(np.float32).tolist()))
        return rows

    def _face_embeddings(self, crops, feats: np.ndarray) -> np.ndarray:
        """dlib 128-d embeddings: the features themselves for the dlib_face model, else dlib run on the crops."""
        from ..faces.embedders import DlibEmbedder

        if isinstance(self.rec.embedder, DlibEmbedder):
            return feats
        return self.rec.face_features(crops)
