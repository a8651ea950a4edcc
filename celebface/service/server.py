"""Running the app: uvicorn in the foreground (`celebface serve`) or in a background thread (tests, benchmarks)."""
from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from pathlib import Path
from typing import Iterator, Optional, Union

from fastapi import FastAPI

from ..errors import ConfigError
from .app import create_app
from .guard import LOOPBACK_HOSTS


@contextlib.contextmanager
def serve_in_thread(app: FastAPI, host: str = "127.0.0.1", port: int = 0,
                    timeout: float = 30.0) -> Iterator[str]:
    """Run `app` with uvicorn in a background thread (port 0: a free one); yields the base URL, then stops it."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                           timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="celebface-serve",
                              daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()


def run(model_dir: Union[str, os.PathLike], host: str = "127.0.0.1", port: int = 8000,
        token: Optional[str] = None, max_upload_mb: float = 10.0, allowed_hosts: Optional[list[str]] = None) -> None:
    """Load the model once and serve the page and API with uvicorn until interrupted."""
    import uvicorn

    from ..recognition.recognizer import load

    if max_upload_mb <= 0:
        raise ConfigError("--max-upload-mb must be more than 0")
    model_dir = Path(model_dir)
    rec = load(model_dir)
    hosts = list(allowed_hosts or LOOPBACK_HOSTS)
    if host not in ("0.0.0.0", "::") and host.lower() not in hosts:
        hosts.append(host.lower())
    app = create_app(rec, token=token, max_upload_bytes=int(max_upload_mb * 1024 * 1024), allowed_hosts=hosts)
    shown = f"[{host}]" if ":" in host else host
    print(f"celebface: {len(rec.classes)} people from {model_dir}; page http://{shown}:{port}/ "
          f"API docs http://{shown}:{port}/docs" + ("; API calls need the token" if token else ""), flush=True)
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        print("warning: listening beyond this machine without --token: anyone who can reach it can use it",
              flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_keep_alive=5)
