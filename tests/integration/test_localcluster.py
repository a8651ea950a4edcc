"""The benchmark's "nodes on cores of their own": a LocalCluster node started with `cores` runs all its
processes (raylet, agents, and the workers they start later) on those cores only."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                       reason="the Ray tests need Ray: pip install 'celebface[ray]'"),
    pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                       reason="needs CPU affinity and at least 2 cores"),
]


def _cores_of(pid: int) -> set[int]:
    return os.sched_getaffinity(pid)


def test_nodes_started_on_given_cores_run_only_there() -> None:
    from celebface.scale.localcluster import LocalCluster, _processes_of, _raylet_pid, descendants

    first, last = sorted(os.sched_getaffinity(0))[0], sorted(os.sched_getaffinity(0))[-1]
    c = LocalCluster(cpus=1)
    try:
        c.start(cores={first}, cpus=0)
        c.add_node(cores={last})
        node = descendants({_raylet_pid(c.node_ports[0])})
        everything = set(_processes_of(str(c.root)))
        assert len(node) >= 1 and node <= everything
        alive = [p for p in everything if Path(f"/proc/{p}").exists()]
        on = {p: _cores_of(p) for p in alive}
        assert all(on[p] == {last} for p in node if p in on), on  # the worker node's raylet and what it runs
        assert all(cores in ({first}, {last}) for cores in on.values()), on  # nothing of the cluster elsewhere
        gcs = [p for p in alive if Path(f"/proc/{p}/comm").read_text().strip() == "gcs_server"]
        assert gcs and all(on[p] == {first} for p in gcs), on  # the head node's GCS
    finally:
        c.stop()
    assert not [p for p in _processes_of(str(c.root)) if Path(f"/proc/{p}").exists()]
