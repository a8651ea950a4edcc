"""A Ray cluster of several nodes on this one machine, for tests and benchmarks: every node bound to 127.0.0.1,
token authentication with a fresh token, logs in a temporary folder, and stopped by ending only its own
processes (`ray stop` would end every Ray on the machine)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalCluster:
    """`start()` a head node, `add_node()` workers (each `cpus` CPUs), `kill_node(i)`, `stop()`.
    `env` holds what every driver needs (RAY_AUTH_MODE, RAY_AUTH_TOKEN_PATH).

    `start` and `add_node` take an optional `cores` set: the node's processes (raylet, its workers, and for the
    head the GCS) then run on those CPU cores only (Linux CPU affinity, inherited by every process the node
    starts), as if the node were a machine of its own. Benchmarks use it to measure node scaling on one host."""

    def __init__(self, cpus: int = 1) -> None:
        self.cpus = cpus
        self.root = Path(tempfile.mkdtemp(prefix="cfray", dir="/tmp"))  # short: Ray's socket paths must fit
        (self.root / "token").write_text(os.urandom(32).hex())
        self.env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(self.root / "token")}
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.node_ports: list[int] = []

    def _ray(self, *args: str, cores: Optional[set[int]] = None, cpus: Optional[int] = None) -> None:
        ray = Path(sys.executable).parent / "ray"
        pin = (lambda: os.sched_setaffinity(0, cores)) if cores else None
        cpus = self.cpus if cpus is None else cpus
        subprocess.run([str(ray), *args, "--num-cpus", str(cpus), "--node-ip-address", "127.0.0.1",
                        "--disable-usage-stats"], env={**os.environ, **self.env}, check=True, capture_output=True,
                       timeout=300, preexec_fn=pin)

    def start(self, cores: Optional[set[int]] = None, cpus: Optional[int] = None) -> "LocalCluster":
        """Start the head node (on `cores` only, if given; with `cpus` CPUs instead of the cluster's `cpus`:
        0 for a head that only coordinates)."""
        self._ray("start", "--head", "--port", str(self.port), "--include-dashboard", "false",
                  "--temp-dir", str(self.root / "t"), cores=cores, cpus=cpus)
        return self

    def add_node(self, cores: Optional[set[int]] = None) -> int:
        """Start one more worker node (on `cores` only, if given); returns its index for kill_node."""
        port = free_port()
        self._ray("start", "--address", self.address, "--node-manager-port", str(port), cores=cores)
        self.node_ports.append(port)
        return len(self.node_ports) - 1

    def kill_node(self, i: int) -> None:
        """SIGKILL worker node i's raylet, as when a machine dies."""
        os.kill(_raylet_pid(self.node_ports[i]), signal.SIGKILL)

    def stop(self) -> None:
        pids = _processes_of(str(self.root))
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.time() + 15
            while time.time() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
                time.sleep(0.3)
        shutil.rmtree(self.root, ignore_errors=True)


def _raylet_pid(node_manager_port: int) -> int:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"/raylet") and f"--node_manager_port={node_manager_port}".encode() in cmd:
            return int(pid)
    raise RuntimeError(f"no raylet on port {node_manager_port}")


def _processes_of(root: str) -> list[int]:
    """Processes whose command line names `root` (gcs, raylets, agents) and all their descendants (workers)."""
    named = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if root.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                named.add(int(pid))
        except OSError:
            continue
    return sorted(descendants(named) - {os.getpid()})


def descendants(roots: set[int]) -> set[int]:
    """The processes `roots` and every process started under them (from /proc's parent links)."""
    parent = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            parent[int(pid)] = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    mine, new = set(roots), set(roots)
    while new:
        new = {p for p, pp in parent.items() if pp in new} - mine
        mine |= new
    return mine
