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


def test_ordered_thread_map_keeps_order_reads_ahead_boundedly_and_restores_torch_threads() -> None:
    import threading
    import time

    import torch

    from celebface.runtime import ordered_thread_map

    pulled: list[int] = []
    seen_threads: set[int] = set()

    def items():
        for i in range(40):
            pulled.append(i)
            yield i

    def work(i: int) -> tuple[int, int, int]:
        time.sleep(0.002 * (i % 3))  # finish out of order
        seen_threads.add(threading.get_ident())
        return i, i * i, torch.get_num_threads()

    before = torch.get_num_threads()
    results = ordered_thread_map(work, items(), 2)
    first = next(results)
    assert first[:2] == (0, 0) and len(pulled) <= 2 * 2 + 1  # a long input is not read all at once
    rest = list(results)
    assert [r[0] for r in [first, *rest]] == list(range(40)) and all(r[1] == r[0] ** 2 for r in rest)
    assert {r[2] for r in rest} == {max(1, before // 2)} and threading.get_ident() not in seen_threads
    assert torch.get_num_threads() == before
    seen_threads.clear()
    assert list(ordered_thread_map(work, range(3), 1))[2][:2] == (2, 4)
    assert seen_threads == {threading.get_ident()}  # one worker: a plain loop in the calling thread
