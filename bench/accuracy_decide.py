"""Decide between two candidate defaults from the raw rows of two `bench/accuracy.py` tables.

    .venv/bin/python bench/accuracy_decide.py bench/accuracy.md bench/accuracy_unfreeze3.md \
        --backbone efficientnet_lite0 [--out bench/accuracy_defaults.md]

Issue 12's rule: a candidate becomes the default when it wins on the mean (the mean over the datasets of each
dataset's mean over seeds) without losing on any dataset by more than the seed spread (the larger of the two
candidates' max - min over seeds on that dataset). Only datasets and seeds that both tables hold are compared.
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def raw_rows(table: Path, backbone: str) -> dict[tuple[str, int], dict]:
    """The raw JSON rows at the end of a bench/accuracy.py table, by (dataset, seed), for one backbone."""
    text = table.read_text()
    block = text.split("Raw rows:", 1)[1].split("```")[1]
    rows = [json.loads(line) for line in block.splitlines() if line.strip()]
    return {(r["dataset"], r["seed"]): r for r in rows if r["backbone"] == backbone}


def compare(a: dict, b: dict) -> tuple[list[dict], bool]:
    """Per dataset: both candidates' mean and spread over the shared seeds; and whether b should replace a."""
    shared = sorted(set(a) & set(b))
    per_set = []
    for ds in sorted({d for d, _ in shared}):
        seeds = [s for d, s in shared if d == ds]
        xa = [a[(ds, s)]["val_acc"] for s in seeds]
        xb = [b[(ds, s)]["val_acc"] for s in seeds]
        fa = [a[(ds, s)]["val_f1"] for s in seeds]
        fb = [b[(ds, s)]["val_f1"] for s in seeds]
        spread = max(max(xa) - min(xa), max(xb) - min(xb))
        per_set.append({"dataset": ds, "seeds": seeds, "n_val": [a[(ds, s)]["n_val"] for s in seeds],
                        "a": xa, "b": xb, "a_f1": statistics.mean(fa), "b_f1": statistics.mean(fb),
                        "diff": statistics.mean(xb) - statistics.mean(xa), "spread": spread})
    if not per_set:
        raise SystemExit("the two tables share no (dataset, seed) rows for this backbone")
    wins = statistics.mean(r["diff"] for r in per_set) > 0
    no_loss = all(r["diff"] >= -r["spread"] for r in per_set)
    return per_set, wins and no_loss


def report(per_set: list[dict], adopt: bool, name_a: str, name_b: str) -> str:
    def cell(xs: list[float]) -> str:
        return f"{100 * statistics.mean(xs):.2f}% ({100 * min(xs):.1f}-{100 * max(xs):.1f})"

    lines = [f"| dataset (val faces per seed) | seeds | {name_a} | {name_b} | difference | seed spread | "
             f"macro-F1 {name_a} / {name_b} |", "|---|---|---:|---:|---:|---:|---|"]
    for r in per_set:
        lines.append(f"| {r['dataset']} ({', '.join(map(str, r['n_val']))}) | {' '.join(map(str, r['seeds']))} | "
                     f"{cell(r['a'])} | {cell(r['b'])} | {100 * r['diff']:+.2f} | {100 * r['spread']:.1f} | "
                     f"{r['a_f1']:.4f} / {r['b_f1']:.4f} |")
    mean_diff = statistics.mean(r["diff"] for r in per_set)
    lines += ["", f"Mean difference over the datasets: {100 * mean_diff:+.2f} points. Decision: "
              + (f"**{name_b}** wins on the mean and loses on no dataset by more than the seed spread."
                 if adopt else f"keep **{name_a}** ({name_b} does not win on the mean, or loses on a dataset by more "
                               f"than the seed spread).")]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path, help="the table of the current default")
    ap.add_argument("b", type=Path, help="the table of the candidate")
    ap.add_argument("--backbone", default="efficientnet_lite0")
    ap.add_argument("--names", nargs=2, default=None, help="column names (default: the file names)")
    ap.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = ap.parse_args()
    per_set, adopt = compare(raw_rows(args.a, args.backbone), raw_rows(args.b, args.backbone))
    names = args.names or [args.a.stem, args.b.stem]
    text = report(per_set, adopt, *names)
    print(text)
    if args.out:
        cmd = " ".join(["bench/accuracy_decide.py", str(args.a), str(args.b), "--backbone", args.backbone])
        args.out.write_text(f"# Candidate defaults: {names[0]} against {names[1]} ({args.backbone})\n\n"
                            f"Command: `.venv/bin/python {cmd}`\n\n{text}\n")


if __name__ == "__main__":
    main()
