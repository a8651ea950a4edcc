"""`python bench/scale.py` (`make bench-scale`): the index job's speed, one machine and Ray, in one run.

On the same photos (sports5 + glint12, round robin over people) and the same dlib_face model:
1. today's warm `celebface predict` (one process, the model loaded before the clock starts);
2. `index --engine local` with 1 worker and with every core;
3. `index --engine ray` on a cluster of 1 node, then 2 nodes (1 CPU each), started on this machine:
   Ray's fixed start-up cost (cluster start, driver connect, first actor), photos/s after start-up, and the
   scaling efficiency (2 nodes / 1 node);
4. the same with each node on a core of its own (Linux CPU affinity: head node and driver on core 0, the second
   node on core 1), and the local pool on 1 and 2 dedicated cores beside it: node scaling as on separate machines;
5. a projection, from the measured per-core rate, for 10 million photos on 100 nodes of 16 cores.
Writes bench/scale.md and prints it. Times are reported, never asserted; other jobs on the CPU slow them.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# --then runs this file again with CELEBFACE_CODE set to an older commit's checkout, to time that code's predict
sys.path.insert(0, os.environ.get("CELEBFACE_CODE", str(ROOT)))
DATASETS = ROOT.parent / "shared" / "datasets"
_T0 = time.perf_counter()


def say(msg: str) -> None:
    print(f"[bench {time.perf_counter() - _T0:6.0f}s] {msg}", flush=True)


@dataclass
class Run:
    name: str
    photos: int
    seconds: float  # the whole job, start-up included
    first: float  # seconds to the first finished shard (start-up: model loading, pool or actors, connect)
    steady: float  # photos/s from the first finished shard to the end (the rate once started)

    @property
    def rate(self) -> float:
        return self.photos / self.seconds


def pick_photos(n: int) -> list[Path]:
    """n photos, half sports5, half glint12, round robin over people."""
    from celebface.io.images import is_image_name

    out = []
    for ds, k in (("sports5", n // 2), ("glint12", n - n // 2)):
        people = [sorted(f for f in p.iterdir() if is_image_name(f)) for p in sorted((DATASETS / ds).iterdir())
                  if p.is_dir()]
        out += [files[i] for i in range(k) for files in people if i < len(files)][:k]
    return out


def ensure_model(model: Path, work: Path) -> Path:
    """A dlib_face model of sports5 (a small prepare + train, once)."""
    if (model / "current").exists() or (model / "config.json").exists():
        return model
    from celebface.config import PrepareOptions, TrainOptions
    from celebface.data.prepare import prepare
    from celebface.training.train import train

    data = work / "data"
    for person in sorted(p for p in (DATASETS / "sports5").iterdir() if p.is_dir()):
        (data / person.name).mkdir(parents=True, exist_ok=True)
        for f in sorted(person.iterdir())[:12]:
            (data / person.name / f.name).symlink_to(f)
    say("preparing and training a dlib_face model on 60 sports5 photos")
    prepare(data, work / "work", PrepareOptions(per_class=20), progress=False)
    train(work / "work", model, TrainOptions(backbone="dlib_face"), progress=False, log=lambda s: None)
    return model


def time_predict(model: Path, photos: list[Path]) -> Run:
    from celebface.recognition.recognizer import load

    rec = load(model, "cpu")
    rec.predict_image(photos[0])  # warm
    t = time.perf_counter()
    results = list(rec.predict_many(photos))
    assert len(results) == len(photos)
    total = time.perf_counter() - t
    return Run("warm `celebface predict` (1 process, model loaded)", len(photos), total, 0.0, len(photos) / total)


def time_index(name: str, model: Path, photos: list[Path], tmp: Path, **opts) -> Run:
    """One index job in shards of 2 photos: the time to the first shard is the start-up, the rate after it the
    steady rate."""
    from celebface.scale.index import IndexOptions, index

    o = IndexOptions(shard_size=2, batch_size=1, **opts)
    marks: list[float] = []
    t = time.perf_counter()
    s = index(model, [str(p) for p in photos], str(tmp / name), o,
              on_shard=lambda n: marks.append(time.perf_counter()))
    total = time.perf_counter() - t
    assert s.photos == len(photos) and s.skipped == 0 and len(marks) >= 2
    steady = (len(photos) - 2) / (marks[-1] - marks[0])
    return Run(name, len(photos), total, marks[0] - t, steady)


def time_ray(model: Path, photos: list[Path], tmp: Path, pin: bool) -> tuple[list[Run], dict]:
    """Ray on 1 node, then on 2 nodes (1 CPU each); returns the runs and the fixed costs.

    pin=False: a head node with 1 CPU, then a second node; every process may use every core.
    pin=True: as on separate machines, with Linux CPU affinity: a head node with no CPU for work (the GCS, Ray
    Data's own actors) and the driver on core 0; the first worker node on core 1, a core of its own; the second
    worker node on core 0, which it shares with the head and the driver (this machine has no third core)."""
    from celebface.scale.localcluster import LocalCluster

    cluster = LocalCluster(cpus=1)
    os.environ.update(cluster.env)  # before Ray is first imported
    import ray

    from celebface.scale.ray_engine import connect

    if pin:
        os.sched_setaffinity(0, {0})  # the driver sits with the head node
    tag = ", pinned" if pin else ""
    costs = {}
    try:
        t = time.perf_counter()
        cluster.start(cores={0} if pin else None, cpus=0 if pin else None)
        costs["head node start (ray start --head)"] = time.perf_counter() - t
        if pin:
            t = time.perf_counter()
            cluster.add_node(cores={1})
            costs["first worker node start (ray start --address)"] = time.perf_counter() - t
        t = time.perf_counter()
        connect(cluster.address)
        costs["driver connect (ray.init)"] = time.perf_counter() - t
        runs = [time_index(f"Ray, 1 node x 1 CPU{tag}", model, photos, tmp, engine="ray",
                           address=cluster.address, workers=1)]
        t = time.perf_counter()
        cluster.add_node(cores={0} if pin else None)
        costs[f"{'second ' if pin else ''}worker node start (ray start --address)"] = time.perf_counter() - t
        runs.append(time_index(f"Ray, 2 nodes x 1 CPU{tag}", model, photos, tmp, engine="ray",
                               address=cluster.address, workers=2))
    finally:
        ray.shutdown()
        cluster.stop()
    return runs, costs


def run_part(flags: list[str], env: dict | None = None):
    """This script run again in a fresh Python with `flags` (--ray-part or --predict-part); what it wrote to
    --part-out, read back from JSON."""
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run([sys.executable, __file__, *flags, "--part-out", f.name], env=env, check=True)
        return json.loads(Path(f.name).read_text())


def ray_in_subprocess(model: Path, n: int, pin: bool) -> tuple[list[Run], dict]:
    """time_ray in a fresh Python (each cluster its own token, the driver's CPU affinity its own)."""
    got = run_part(["--ray-part", "pinned" if pin else "shared", "--photos", str(n), "--model", str(model)])
    return [Run(**r) for r in got["runs"]], got["costs"]


def pinned_local(model: Path, photos: list[Path], tmp: Path) -> list[Run]:
    """The local pool on core 0 only (1 worker), then on cores 0 and 1 (2 workers): what one and two dedicated
    cores give, to set beside the pinned Ray nodes."""
    everything = os.sched_getaffinity(0)
    runs = []
    try:
        for cores, workers in (({0}, 1), ({0, 1}, 2)):
            os.sched_setaffinity(0, cores)  # the pool's worker processes inherit it
            name = f"index --engine local, {workers} worker{'s' if workers > 1 else ''} on {len(cores)} core" + \
                ("s" if len(cores) > 1 else "")
            say(name)
            runs.append(time_index(name, model, photos, tmp, engine="local", workers=workers))
    finally:
        os.sched_setaffinity(0, everything)
    return runs


def projection(per_core: float, photos: int = 10_000_000, nodes: int = 100, cores: int = 16,
               efficiency: float = 1.0) -> str:
    rate = per_core * nodes * cores * efficiency
    hours = photos / rate / 3600
    return (f"{photos:,} photos on {nodes} nodes x {cores} cores at {per_core:.2f} photos/s per core and "
            f"{efficiency:.0%} scaling efficiency: {rate:,.0f} photos/s, **{hours:.1f} h** "
            f"({hours * nodes:.0f} node-hours)")


def table(runs: list[Run]) -> list[str]:
    return ["| run | photos/s (whole job) | s to the first shard (start-up) | photos/s after it |", "|---|---|---|---|",
            *[f"| {r.name} | {r.rate:.2f} | {r.first:.1f} | {r.steady:.2f} |" for r in runs]]


def costs_line(costs: dict) -> str:
    return "Ray's fixed costs, s: " + ", ".join(f"{k} {v:.1f}" for k, v in costs.items())


def report(shared: list[Run], shared_costs: dict, pinned: list[Run], pinned_costs: dict, n: int,
           then: list[Run]) -> str:
    predict, local1, local_all, ray1, ray2 = shared
    p_local1, p_local2, p_ray1, p_ray2 = pinned
    eff = p_ray2.steady / p_ray1.steady / 2
    lines = [f"# Scale: the index job on one machine and on Ray ({time.strftime('%Y-%m-%d %H:%M')})", "",
             f"{n} photos (half sports5, half glint12), dlib_face model, CPU only, {os.cpu_count()} cores; load "
             f"average at the end {os.getloadavg()[0]:.1f} / {os.getloadavg()[1]:.1f} (1 / 5 min; the benchmark "
             f"itself keeps about {os.cpu_count()} busy, more means other jobs shared the CPU). Ratios within this "
             "one run are the figures to read.", "",
             "## Every process on every core (as a user runs it on this machine)", "", *table(shared + then), "",
             costs_line(shared_costs), "",
             f"- index --engine local (all cores) vs warm predict: **{local_all.rate / predict.rate:.2f}x** "
             f"(whole job), {local_all.steady / predict.rate:.2f}x after start-up",
             *[f"- index --engine local (all cores) vs {t.name[:t.name.index(' (')]}: **{local_all.rate / t.rate:.2f}x**"
               f" (whole job), {local_all.steady / t.rate:.2f}x after start-up" for t in then],
             f"- Ray 1 node vs local pool with 1 worker, after start-up: {ray1.steady / local1.steady:.2f}x "
             "(the 1-CPU node's driver and Ray's own processes use the second core)",
             f"- Ray 2 nodes / 1 node, after start-up: {ray2.steady / ray1.steady:.2f}x (both nodes and the driver "
             "share the same 2 cores)", "",
             "## Each node on a core of its own (Linux CPU affinity)", "",
             "As on separate machines: every Ray process is pinned to one core. Core 0 holds the head node (no "
             "CPU for work: the GCS, Ray Data's own actors) and the driver (listing, collecting, writing shards); "
             "the first worker node has core 1 to itself; the second worker node gets core 0, which it shares "
             "with the head and the driver, as this machine has no third core. So the 2-node figure is a floor. "
             "The local pool rows pin the whole pool (main process and workers) to 1 core, then 2.", "",
             *table(pinned), "", costs_line(pinned_costs), "",
             f"- Ray 2 nodes / 1 node, after start-up: **{p_ray2.steady / p_ray1.steady:.2f}x** "
             f"(scaling efficiency {eff:.0%}; the second node shares its core with the head and the driver)",
             f"- Ray 1 node vs the local pool with 1 worker (its main process free to use the other core, as the "
             f"Ray driver is), after start-up: **{p_ray1.steady / local1.steady:.2f}x**",
             f"- local pool, 2 cores / 1 core, after start-up: {p_local2.steady / p_local1.steady:.2f}x", "",
             "## Projection (on paper, from the rates above)", "",
             f"- {projection(p_ray1.steady, efficiency=min(1.0, eff))} (Ray's rate on one dedicated core, and "
             "the 2-node efficiency above)",
             f"- the same at the local pool's rate on one core, perfect scaling: {projection(p_local1.steady)}",
             "- the nodes read photos from shared storage: 10 M photos of ~200 kB is 2 TB; at the rate above "
             "the cluster reads it at a few hundred MB/s, within what an object store serves."]
    return "\n".join(lines) + "\n"


def predict_then(commit: str, model: Path, n: int) -> Run:
    """Warm predict of the code at `commit` (a git worktree of this repository, its own dlib_face model trained
    the same way by that code), on the same photos: the issue's "today's predict" when that is an older commit."""
    tree = Path(tempfile.mkdtemp(prefix="cfthen")) / "code"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit], check=True,
                   capture_output=True)
    try:
        run = Run(**run_part(["--predict-part", "--photos", str(n), "--model",
                              str(model.parent / f"model-{commit}" / "model")],
                             env={**os.environ, "CELEBFACE_CODE": str(tree)}))
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    run.name = f"warm `celebface predict` of commit {commit} (1 process, model loaded)"
    return run


def ray_part(args: argparse.Namespace) -> None:
    """--ray-part: only the Ray runs (in their own process), written as JSON to --part-out."""
    tmp = Path(tempfile.mkdtemp(prefix="cfbench"))
    try:
        runs, costs = time_ray(args.model, pick_photos(args.photos), tmp, pin=args.ray_part == "pinned")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    Path(args.part_out).write_text(json.dumps({"runs": [asdict(r) for r in runs], "costs": costs}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=300)
    ap.add_argument("--model", type=Path, default=ROOT / "out" / "bench-scale" / "model")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "scale.md")
    ap.add_argument("--ray-part", choices=("shared", "pinned"), help=argparse.SUPPRESS)
    ap.add_argument("--part-out", help=argparse.SUPPRESS)
    ap.add_argument("--predict-part", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--then", metavar="COMMIT", help="also time the warm predict of the code at COMMIT (e.g. the "
                    "commit an issue was filed against) on the same photos")
    args = ap.parse_args()
    os.environ.setdefault("CELEBFACE_OFFLINE", "1")
    if args.ray_part:
        return ray_part(args)
    if args.predict_part:
        run = time_predict(ensure_model(args.model, args.model.parent), pick_photos(args.photos))
        return Path(args.part_out).write_text(json.dumps(asdict(run)))
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("bench/scale.py needs at least 2 cores (it pins nodes to cores 0 and 1)")
    tmp = Path(tempfile.mkdtemp(prefix="cfbench"))
    try:
        model = ensure_model(args.model, args.model.parent)
        photos = pick_photos(args.photos)
        say(f"{len(photos)} photos; warm predict")
        shared = [time_predict(model, photos)]
        then = [predict_then(args.then, args.model, len(photos))] if args.then else []
        for name, workers in (("index --engine local, 1 worker", 1), ("index --engine local, all cores", None)):
            say(name)
            shared.append(time_index(name, model, photos, tmp, engine="local", workers=workers))
        say("Ray: 1 node, then 2 nodes, every process on every core")
        ray_runs, costs = ray_in_subprocess(model, len(photos), pin=False)
        pinned = pinned_local(model, photos, tmp)
        say("Ray: 1 node, then 2 nodes, each node on its own core")
        p_ray, p_costs = ray_in_subprocess(model, len(photos), pin=True)
        text = report(shared + ray_runs, costs, pinned + p_ray, p_costs, len(photos), then)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
