"""Routes that find the people in a pile of unnamed photos: POST /api/cluster (a job), GET /api/cluster/{id},
each cluster's contact sheet, and enrolling a cluster as a person."""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel

from ..data.cluster import ClusterIndex
from ..errors import CelebfaceError, shown
from ..gallery.names import validate_name
from .guard import read_upload, upload_name
from .context import ServiceContext
from .status import http_status

log = logging.getLogger("celebface.serve")

#: Photos per clustering request, and clustering jobs kept (the oldest finished one is dropped first).
MAX_CLUSTER_PHOTOS = 500
MAX_JOBS = 8


class ClusterJob(BaseModel):
    id: str
    status: str  # "running" | "done" | "failed"
    error: Optional[str] = None
    index: Optional[ClusterIndex] = None


#: Job folders are TMPDIR/celebface-clusters-<server pid>-<random>/<job id>/.
ROOT_PREFIX = "celebface-clusters-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid > 0  # another user's process (or a number no process can have)
    return True


def remove_stale_roots(tmp: Optional[Path] = None) -> list[Path]:
    """Remove the job folders of servers that are gone (killed, crashed); returns what was removed.

    :param tmp: the temporary folder (default: the system's, as tempfile chooses it)
    """
    removed = []
    for p in Path(tmp or tempfile.gettempdir()).glob(f"{ROOT_PREFIX}*"):
        pid = p.name[len(ROOT_PREFIX):].split("-", 1)[0]
        if p.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def _new_root() -> Path:
    remove_stale_roots()
    return Path(tempfile.mkdtemp(prefix=f"{ROOT_PREFIX}{os.getpid()}-"))


@dataclass
class _Jobs:
    root: Path = field(default_factory=_new_root)
    jobs: dict[str, ClusterJob] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def close(self) -> None:
        """Remove every job's folder (the server is shutting down: SIGTERM, Ctrl-C)."""
        shutil.rmtree(self.root, ignore_errors=True)

    def add(self) -> ClusterJob:
        with self.lock:
            done = [j for j in self.jobs.values() if j.status != "running"]
            while len(self.jobs) >= MAX_JOBS and done:
                old = done.pop(0)
                self.jobs.pop(old.id, None)
                shutil.rmtree(self.root / old.id, ignore_errors=True)
            if len(self.jobs) >= MAX_JOBS:
                raise HTTPException(429, f"{MAX_JOBS} clustering jobs are running; try again when one is done")
            job = ClusterJob(id=uuid.uuid4().hex[:12], status="running")
            self.jobs[job.id] = job
            return job

    def get(self, job_id: str) -> ClusterJob:
        job = self.jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"no clustering job {job_id!r} (jobs are kept until the server restarts)")
        return job


def _run(jobs: _Jobs, job: ClusterJob, ctx: ServiceContext, min_faces: int) -> None:
    from ..data.cluster import cluster_photos
    from ..recognition.cluster_names import cluster_namer

    folder = jobs.root / job.id
    try:
        job.index = cluster_photos([folder / "photos"], folder / "clusters", cluster_namer(ctx.rec),
                                   min_faces=min_faces, workers=1, progress=False, model="the served model")
        job.status = "done"
    except CelebfaceError as exc:
        job.status, job.error = "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 (a failed job is reported; the server keeps serving)
        log.error("clustering job %s failed", job.id, exc_info=exc)
        job.status, job.error = "failed", "internal error while clustering; see the server log"
    finally:
        shutil.rmtree(folder / "photos", ignore_errors=True)


def _start(jobs: _Jobs, ctx: ServiceContext, files: list[UploadFile], min_faces: int) -> ClusterJob:
    if len(files) > MAX_CLUSTER_PHOTOS:
        raise HTTPException(422, f"{len(files)} photos sent; at most {MAX_CLUSTER_PHOTOS} per request")
    job = jobs.add()
    photos = jobs.root / job.id / "photos"
    photos.mkdir(parents=True)
    from ..io.images import is_image_name

    for k, f in enumerate(files):  # every upload counts as a photo: one that is not is reported unreadable
        suffix = Path(upload_name(f)).suffix.lower()[:6]
        name = f"{k:05d}{suffix if is_image_name(Path('x' + suffix)) else '.jpg'}"
        (photos / name).write_bytes(read_upload(f, ctx.max_upload_bytes))
    threading.Thread(target=_run, args=(jobs, job, ctx, min_faces), daemon=True).start()
    return job


def _enrol_cluster(jobs: _Jobs, ctx: ServiceContext, job_id: str, cluster_id: str, name: str) -> dict:
    from ..data.cluster import cluster_crops

    job = jobs.get(job_id)
    if job.status != "done":
        raise HTTPException(409, f"clustering job {job_id} is {job.status}")
    if cluster_id not in {c.id for c in job.index.clusters}:  # also '.', '..': never a path of the server's
        raise HTTPException(404, f"no cluster '{shown(cluster_id)}' in job {job_id}")
    if ctx.enroll is None or not ctx.rec.can_enroll:
        raise HTTPException(409, "this model cannot enrol people without retraining (train with --backbone "
                                 "dlib_face to enrol from the page)")
    name = validate_name(name)  # the gallery's rules and length limit, as for the CLI and POST /api/people/{name}
    crops = cluster_crops(jobs.root / job_id / "clusters" / cluster_id)
    with ctx.slots:  # a cluster's crops hold one face each: the main face is the person
        summary = ctx.rec.enroll(name, crops, main_face=True, who="api").to_dict()
    return {**summary, "people": list(ctx.rec.classes)}


def cluster_routes(ctx: ServiceContext, auth: list) -> APIRouter:
    jobs = _Jobs()
    router = APIRouter(dependencies=auth, on_shutdown=[jobs.close])  # FastAPI runs it at the server's shutdown

    @router.post("/api/cluster", summary="Group the faces of unnamed photos into people (a job)",
                 response_model=ClusterJob, status_code=202)
    def start(files: list[UploadFile] = File(..., description="The photos"),
              min_faces: int = Form(3, ge=1, description="Smallest cluster kept")) -> ClusterJob:
        """Starts clustering; poll `GET /api/cluster/{id}` until its status is done or failed."""
        return _start(jobs, ctx, files, min_faces)

    @router.get("/api/cluster/{job_id}", summary="A clustering job and, when done, its clusters",
                response_model=ClusterJob)
    def status(job_id: str) -> ClusterJob:
        return jobs.get(job_id)

    @router.get("/api/cluster/{job_id}/{cluster_id}/sheet.png", summary="A cluster's contact sheet")
    def sheet(job_id: str, cluster_id: str) -> FileResponse:
        job = jobs.get(job_id)
        ids = {c.id for c in job.index.clusters} if job.index else set()
        if cluster_id not in ids:
            raise HTTPException(404, f"no cluster {cluster_id!r} in job {job_id}")
        return FileResponse(jobs.root / job_id / "clusters" / cluster_id / "contact_sheet.png")

    @router.post("/api/cluster/{job_id}/{cluster_id}/enrol", summary="Enrol a cluster's faces as a person")
    def enrol(job_id: str, cluster_id: str, name: str = Form(...)) -> dict:
        try:
            return _enrol_cluster(jobs, ctx, job_id, cluster_id, name)
        except CelebfaceError as exc:  # the server's folders are nobody's business
            raise HTTPException(http_status(exc), str(exc).replace(str(jobs.root), "the job's folder")) from None

    return router
