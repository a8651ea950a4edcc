"""Video jobs: POST /api/videos starts one (answers its id), GET /api/videos/{id} gives progress, then the result.

The upload (within the server's size limit) is written to a private temporary file and its header checked
before the job is accepted (an unreadable, audio-only or too long video is refused at once). Jobs run in a
small pool of background threads (at most `video_workers` at a time, at most `max_pending` waiting: more get
503); each job's file is deleted when it ends, and only the last `keep` finished jobs are remembered.
"""
from __future__ import annotations

import logging
import os
import tempfile
import threading
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

from fastapi import APIRouter, File, HTTPException, UploadFile
from pydantic import BaseModel

from ..errors import VideoError
from ..io.video import MAX_DURATION, is_video_name, probe_video
from ..recognition.video import VideoResult, predict_video
from .guard import read_upload, upload_name

log = logging.getLogger("celebface.serve")

#: Videos analysed at the same time, and videos waiting (beyond them the server answers 503).
VIDEO_WORKERS = 1
MAX_PENDING = 4
#: Finished jobs remembered for GET.
KEEP_JOBS = 100


class VideoJob(BaseModel):
    """A video job as GET /api/videos/{id} answers it."""

    id: str
    status: Literal["queued", "running", "done", "failed"]
    progress: float  # 0 to 1
    video: str
    result: Optional[VideoResult] = None
    error: Optional[str] = None


@dataclass
class _Job:
    id: str
    name: str
    path: Path
    status: str = "queued"
    progress: float = 0.0
    result: Optional[VideoResult] = None

    def view(self) -> VideoJob:
        error = self.result.error if self.result is not None else None
        return VideoJob(id=self.id, status=self.status, progress=round(self.progress, 3), video=self.name,
                        result=self.result, error=error)


class VideoJobs:
    """The job table and the worker pool.

    :param rec: the loaded recogniser.
    :param fps: frames sampled per second.
    :param max_duration: longest video accepted, in seconds.
    """

    def __init__(self, rec, fps: float = 2.0, max_duration: float = MAX_DURATION, workers: int = VIDEO_WORKERS,
                 max_pending: int = MAX_PENDING, keep: int = KEEP_JOBS) -> None:
        self.rec, self.fps, self.max_duration = rec, fps, max_duration
        self.max_pending, self.keep = max_pending, keep
        self.pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="celebface-video")
        self.jobs: OrderedDict[str, _Job] = OrderedDict()
        self.lock = threading.Lock()

    def submit(self, data: bytes, name: str) -> _Job:
        """Store the upload, check its header, queue the job; VideoError if it cannot be a video job."""
        suffix = Path(name).suffix.lower() if is_video_name(name) else ".video"
        fd, tmp = tempfile.mkstemp(prefix="celebface-video-", suffix=suffix)
        os.close(fd)
        job = _Job(id=uuid.uuid4().hex, name=name, path=Path(tmp))
        with self.lock:
            if sum(j.status in ("queued", "running") for j in self.jobs.values()) >= self.max_pending:
                job.path.unlink(missing_ok=True)
                raise HTTPException(503, f"{self.max_pending} videos are already being analysed or waiting; "
                                         f"try again in a minute")
            self.jobs[job.id] = job
        try:
            job.path.write_bytes(data)
            self._check(job)
        except BaseException:
            self._forget(job)
            raise
        self.pool.submit(self._run, job)
        self._trim()
        return job

    def _check(self, job: _Job) -> None:
        """415 for a file that is not a readable video, 422 for one over the duration limit."""
        try:
            info = probe_video(job.path, float("inf"))
        except VideoError as exc:
            raise HTTPException(415, str(exc).replace(str(job.path), job.name)) from None
        if info.duration and info.duration > self.max_duration:
            raise HTTPException(422, f"{job.name}: {info.duration:,.0f} s long, over this server's "
                                     f"{self.max_duration:,.0f} s limit; send a shorter video")

    def _forget(self, job: _Job) -> None:
        job.path.unlink(missing_ok=True)
        with self.lock:
            self.jobs.pop(job.id, None)

    def _run(self, job: _Job) -> None:
        job.status = "running"

        def progress(done: float, total: float) -> None:
            job.progress = min(1.0, done / total) if total else 0.0

        try:
            job.result = predict_video(self.rec, job.path, fps=self.fps, max_duration=self.max_duration,
                                       progress=progress, label=job.name)
            job.status = "failed" if job.result.error else "done"
            job.progress = 1.0 if job.status == "done" else job.progress
        except Exception as exc:  # a bug: logged, the job fails, the server goes on
            log.error("video job %s failed", job.id, exc_info=exc)
            job.result = VideoResult(video=job.name, fps_sampled=self.fps,
                                     error="internal error while analysing the video; see the server log")
            job.status = "failed"
        finally:
            job.path.unlink(missing_ok=True)

    def _trim(self) -> None:
        with self.lock:
            finished = [k for k, j in self.jobs.items() if j.status in ("done", "failed")]
            for k in finished[: max(0, len(finished) - self.keep)]:
                del self.jobs[k]

    def get(self, job_id: str) -> _Job:
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"no video job {job_id!r} (unknown, or forgotten after {self.keep} newer jobs)")
        return job


def video_routes(ctx, auth: list, jobs: Optional[VideoJobs] = None) -> APIRouter:
    """POST /api/videos and GET /api/videos/{id}.

    :param ctx: the app's ServiceContext (recogniser and upload limit).
    :param auth: the token dependency list.
    :param jobs: the job table (default: one for ctx.rec).
    """
    router = APIRouter(dependencies=auth)
    jobs = jobs or VideoJobs(ctx.rec)

    @router.post("/api/videos", summary="Start finding who appears when in a video", status_code=202,
                 response_model=VideoJob,
                 responses={413: {"description": "Upload too large"},
                            415: {"description": "Not a readable video (or audio only)"},
                            422: {"description": "Longer than the server's limit"},
                            503: {"description": "Too many videos waiting"}})
    def start(file: UploadFile = File(..., description="The video (MP4, MOV, MKV, WebM, AVI ...)")) -> VideoJob:
        """Answers the job's id at once; poll GET /api/videos/{id} for progress and the timeline."""
        data = read_upload(file, ctx.max_upload_bytes)
        return jobs.submit(data, upload_name(file, "video")).view()

    @router.get("/api/videos/{job_id}", summary="A video job's progress, then its timeline", response_model=VideoJob,
                responses={404: {"description": "No such job"}})
    def status(job_id: str) -> VideoJob:
        return jobs.get(job_id).view()

    return router

