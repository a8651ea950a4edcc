"""`python bench/scale_train.py WORK_DIR`: stage 2 single-process vs Ray Train (2 nodes x 1 CPU, DDP over gloo)
on the same prepared WORK_DIR, backbone and seeds: validation accuracy, macro-F1 and time of stage 2.

Writes bench/scale_train.md and prints it. Both runs reuse the frozen-feature cache in WORK_DIR/cache.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run(work: Path, backbone: str, seed: int, stage2=None) -> dict:
    from celebface.config import TrainOptions
    from celebface.training.train import train

    out = Path(tempfile.mkdtemp(prefix="cfmodel"))
    b = train(work, out / "m", TrainOptions(backbone=backbone, seed=seed, threads=1), progress=False,
              log=lambda s: None, stage2=stage2)
    return b.metrics["stage2"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work_dir", type=Path)
    ap.add_argument("--backbone", default="efficientnet_lite0")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "scale_train.md")
    args = ap.parse_args()
    from celebface.scale.localcluster import LocalCluster

    cluster = LocalCluster(cpus=1)
    os.environ.update(cluster.env)
    rows = []
    try:
        cluster.start()
        cluster.add_node()
        from celebface.scale.train_ray import ray_stage2

        stage2 = ray_stage2(cluster.address, workers=2)
        for seed in args.seeds:
            for name, fn in (("single process", None), ("Ray Train, 2 workers", stage2)):
                t = time.perf_counter()
                rep = run(args.work_dir, args.backbone, seed, fn)
                rows.append((seed, name, rep, time.perf_counter() - t))
                print(seed, name, rep["val_accuracy"], rep["val_macro_f1"], rep["epochs"], rep["seconds"], flush=True)
    finally:
        import ray

        ray.shutdown()
        cluster.stop()
    lines = [f"# Stage 2 on Ray Train vs one process ({time.strftime('%Y-%m-%d %H:%M')})", "",
             f"WORK_DIR {args.work_dir.name}, backbone {args.backbone}, CPU only; the CPU was shared with other "
             "jobs while measuring (times are noisy).", "",
             "| seed | stage 2 | val accuracy | val macro-F1 | epochs | stage-2 s | whole train s |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {s} | {n} | {r['val_accuracy']:.4f} | {r['val_macro_f1']:.4f} | {r['epochs']} | {r['seconds']:.0f} | "
              f"{t:.0f} |" for s, n, r, t in rows]
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
