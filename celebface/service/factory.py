"""`serve --workers N`: N uvicorn worker processes, each building the app from environment variables.

uvicorn starts workers by import string, so the settings travel in the environment (never in argv, where `ps`
shows them): CELEBFACE_MODEL_DIR, CELEBFACE_TOKEN, CELEBFACE_MAX_UPLOAD_MB, CELEBFACE_ALLOWED_HOSTS (comma
separated), CELEBFACE_THREADS, and CELEBFACE_GALLERY (the gallery URL, read by the gallery itself). All workers
share one gallery; each refreshes its index from the gallery's change counter within about a second.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

ENV_MODEL = "CELEBFACE_MODEL_DIR"
ENV_TOKEN = "CELEBFACE_TOKEN"
ENV_UPLOAD = "CELEBFACE_MAX_UPLOAD_MB"
ENV_HOSTS = "CELEBFACE_ALLOWED_HOSTS"
ENV_THREADS = "CELEBFACE_THREADS"


def app_from_env():
    """The FastAPI app of one worker, from the environment (uvicorn's `factory=True` target)."""
    from ..runtime import set_threads
    from .app import create_app

    threads = os.environ.get(ENV_THREADS)
    set_threads(int(threads) if threads else None)
    hosts = [h for h in os.environ.get(ENV_HOSTS, "").split(",") if h]
    return create_app(Path(os.environ[ENV_MODEL]), token=os.environ.get(ENV_TOKEN) or None,
                      max_upload_bytes=int(float(os.environ.get(ENV_UPLOAD, "10")) * 1024 * 1024),
                      allowed_hosts=hosts or _default_hosts())


def _default_hosts():
    from .guard import LOOPBACK_HOSTS

    return LOOPBACK_HOSTS


def run_workers(model_dir: Path, host: str, port: int, workers: int, token: Optional[str] = None,
                max_upload_mb: float = 10.0, allowed_hosts: Optional[list[str]] = None,
                threads: Optional[int] = None) -> None:
    """Serve with `workers` processes on one port until interrupted.

    :param workers: uvicorn worker processes (each loads the model once)
    """
    import uvicorn

    from ..recognition.bundle import load_bundle

    load_bundle(Path(model_dir))  # a clear error here rather than N tracebacks from the workers
    os.environ[ENV_MODEL] = str(Path(model_dir).resolve())
    os.environ[ENV_UPLOAD] = str(max_upload_mb)
    if token:
        os.environ[ENV_TOKEN] = token
    from .guard import LOOPBACK_HOSTS

    hosts = list(allowed_hosts or LOOPBACK_HOSTS)
    if host not in ("0.0.0.0", "::") and host.lower() not in hosts:
        hosts.append(host.lower())
    os.environ[ENV_HOSTS] = ",".join(hosts)
    from ..runtime import env_threads, threads_per_process

    os.environ[ENV_THREADS] = str(threads or env_threads() or threads_per_process(workers))  # one thread a core
    print(f"celebface: {workers} workers on http://{host}:{port}/ sharing the gallery of {model_dir}", flush=True)
    uvicorn.run("celebface.service.factory:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="info", timeout_keep_alive=5)
