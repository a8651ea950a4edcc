"""The thread policy (runtime.py): `import celebface` makes OpenMP wait passively before torch loads, keeps a
value the user set, and CELEBFACE_THREADS / threads_per_process size torch's threads."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = "import os, celebface; print(os.environ.get('OMP_WAIT_POLICY'))"


def _run(env_extra: dict) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update({"PYTHONPATH": str(ROOT), **env_extra})
    return subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_import_sets_passive_waiting_and_keeps_a_users_value() -> None:
    assert _run({}) == "PASSIVE"
    assert _run({"OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"


def test_threads_from_env_and_per_process(monkeypatch) -> None:
    from celebface.runtime import env_threads, threads_per_process

    monkeypatch.setenv("CELEBFACE_THREADS", "3")
    assert env_threads() == 3
    monkeypatch.setenv("CELEBFACE_THREADS", "zero")
    assert env_threads() is None
    cores = os.cpu_count() or 1
    assert threads_per_process(1) == cores
    assert threads_per_process(cores * 4) == 1
