"""What the "unknown" gate costs a trained model and what it buys; writes bench/gate_cost.md.

    .venv/bin/python bench/gate_cost.py --work out/acc_b [--datasets sports5 glint12] [--seeds 0 1 2]
                                        [--backbones efficientnet_lite0 dlib_face] [--glint-every 4]

For each model a `bench/accuracy.py` run left in WORK (model-DATASET-BACKBONE-SEED, scored on that seed's saved
split): (b) whole validation photos through `predict` as shipped and with the gate open (every face given its best
person), and the share of strangers' faces given a name at the model's own threshold. Strangers: every face found
in the other sample sets' photos (celeb5, glint12 (every Nth crop), sports5, extras/group_photos; never the
model's own set), faces too poor to name counted as not named. The gate is the verification gate of CNN models
(the head's best person must be near that person's training faces) and the gallery's threshold of dlib_face
models; the identity named in the table made the vectors (`train --identity`, recorded in the model).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import DATASETS, ROOT, split_view  # noqa: E402

from celebface.config import UNKNOWN  # noqa: E402

STRANGER_SETS = ("celeb5", "glint12", "sports5", "extras/group_photos")


def open_gate(rec) -> float:
    """Open the model's gate (every face gets its best person and its score) and return its threshold."""
    if rec.verifier is not None:
        threshold, rec.verifier.threshold = rec.verifier.threshold, -2.0
        return float(threshold)
    threshold, rec.matcher.fixed_threshold = rec.matcher.threshold, -2.0
    return float(threshold)


def gated(faces: list, threshold: float) -> list:
    """The faces as the gate at `threshold` names them (a face below it "unknown"; one too poor to name stays so)."""
    return [f.model_copy(update={"name": f.name if f.name in (None, UNKNOWN) or f.score >= threshold else UNKNOWN})
            for f in faces]


def stranger_photos(own: str, glint_every: int) -> list[str]:
    """The other sample sets' photos, as `predict` finds them in a folder (every glint_every-th glint12 crop)."""
    from celebface.io.sources import expand_paths

    out = []
    for name in STRANGER_SETS:
        if name != own:
            files = [str(p) for p in expand_paths([DATASETS / name])]
            out += files[::glint_every] if name == "glint12" else files
    return out


def photo_share(cases: list, faces: list, threshold: float) -> float:
    """Share of validation photos right (photo_eval.judge) with the gate at `threshold`."""
    from celebface.training.photo_eval import judge

    return statistics.mean(judge(c, gated(f, threshold)).right for c, f in zip(cases, faces))


def models(work_root: Path, ds: str, backbone: str, seed: int) -> list[Path]:
    """The models bench/accuracy.py trained in WORK_ROOT for that set, backbone and seed (with its --set tags)."""
    stem = f"model-{ds}-{backbone}-{seed}"
    return sorted(p for p in [work_root / stem, *work_root.glob(f"{stem}-*")] if p.is_dir())


def measure(model: Path, work_root: Path, ds: str, seed: int, backbone: str, glint_every: int) -> dict:
    """One model's row: (b) with the gate and open, strangers named at its threshold."""
    import celebface
    from celebface.training.photo_eval import validation_photos

    rec = celebface.load(model)
    threshold = open_gate(rec)
    with split_view(work_root, ds, seed) as view:
        data_dir, cases = validation_photos(view)
    known = [rec.predict_image(data_dir / c.file).faces for c in cases]
    strangers = [f for r in rec.predict_many(stranger_photos(ds, glint_every)) for f in r.faces]
    named = sum(1 for f in gated(strangers, threshold) if f.name not in (None, UNKNOWN))
    return {"dataset": ds, "seed": seed, "backbone": backbone, "identity": rec.identity.name,
            "threshold": round(threshold, 4), "n_photos": len(cases),
            "b_gated": photo_share(cases, known, threshold),
            "b_open": photo_share(cases, known, -2.0),
            "strangers": len(strangers), "strangers_named": named}


def mean_range(xs: list[float], scale: float = 100.0) -> str:
    xs = [scale * x for x in xs]
    return f"{statistics.mean(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"


def table(rows: list[dict]) -> list[str]:
    lines = ["| set | backbone | identity | seeds | (b) as shipped, % | (b) gate open, % | gate's cost, points | "
             "strangers named at the model's threshold, % | strangers' faces a model |",
             "|---|---|---|---|---|---|---|---|---|"]
    keys = sorted({(r["dataset"], r["backbone"], r["identity"]) for r in rows})
    for ds, bb, ident in keys:
        rs = [r for r in rows if (r["dataset"], r["backbone"], r["identity"]) == (ds, bb, ident)]
        cost = [r["b_open"] - r["b_gated"] for r in rs]
        lines.append(f"| {ds} | {bb} | {ident} | {' '.join(str(r['seed']) for r in rs)} | "
                     f"{mean_range([r['b_gated'] for r in rs])} | {mean_range([r['b_open'] for r in rs])} | "
                     f"{mean_range(cost)} | {mean_range([r['strangers_named'] / r['strangers'] for r in rs])} | "
                     f"{min(r['strangers'] for r in rs)}-{max(r['strangers'] for r in rs)} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, nargs="+", default=[], help="bench/accuracy.py work folder(s)")
    ap.add_argument("--datasets", nargs="+", default=["sports5", "glint12"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--backbones", nargs="+", default=["efficientnet_lite0", "dlib_face"])
    ap.add_argument("--glint-every", type=int, default=4, help="strangers: every Nth glint12 crop")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "gate_cost.md")
    ap.add_argument("--from-logs", type=Path, nargs="+", default=None,
                    help="measure nothing: render the rows earlier runs printed (their logs), e.g. to join runs")
    args = ap.parse_args()
    logged = [line for log in args.from_logs or [] for line in log.read_text().splitlines()]
    rows = [json.loads(line) for line in dict.fromkeys(logged) if line.startswith('{"dataset"')]  # once each
    for work in [] if args.from_logs else args.work:
        for ds in args.datasets:
            for bb in args.backbones:
                for seed in args.seeds:
                    for model in models(work, ds, bb, seed):
                        rows.append(measure(model, work, ds, seed, bb, args.glint_every))
                        print(json.dumps(rows[-1]), flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    command = f"python bench/gate_cost.py {' '.join(sys.argv[1:])}"
    lines = ["# What the \"unknown\" gate costs trained models, and what it buys", "",
             "> **Measures**: trained models' photos through predict with their gate and with it open, and strangers' "
             f"faces named at their threshold. **Command**: `{command}`. **Commit**: {commit} "
             f"({time.strftime('%Y-%m-%d %H:%M')}).", "", (__doc__ or "").split("\n\n", 2)[2].strip(), "",
             *table(rows), "",
             "Raw rows:", "", "```", *[json.dumps(r) for r in rows], "```"]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
