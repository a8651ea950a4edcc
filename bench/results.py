"""`python bench/results.py` (`make bench-results`): end-to-end speed on a plain CPU, measured in one run on the same photos.

1. face extraction: celebface (worker processes, detection at 800 px) vs a plain facenet-pytorch loop
   (one process, full-size photos), with how often both agree, and celebface with one worker;
2. end to end: `celebface prepare`, then `train` + `evaluate` per backbone (CLI subprocesses: wall time, peak memory);
3. training precision fp32 vs bf16 for efficientnet_lite0 on the same WORK_DIR (time and accuracy);
4. prediction: single-photo latency p50/p95 and photos/s for a folder, per trained model.

Writes a markdown table (default bench/results.md) and prints it. Times are reported, never asserted.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
BACKBONES = ("efficientnet_lite0", "dlib_face", "densenet121")
_T0 = time.perf_counter()


def say(msg: str) -> None:
    """A progress line with the time since the benchmark started."""
    print(f"[bench {time.perf_counter() - _T0:6.0f}s] {msg}", flush=True)


# --- machine -------------------------------------------------------------------------------------------------

def machine_info() -> dict:
    """Cores, CPU model and bf16 flags from /proc/cpuinfo, GPU, torch version and threads."""
    import torch

    model, flags = platform.processor() or "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("unknown", ""):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    bf16 = [f for f in ("avx512_bf16", "amx_bf16") if f in flags]
    return {"cores": os.cpu_count(), "cpu": model, "bf16_flags": ", ".join(bf16) or "none", "gpu": gpu,
            "torch": torch.__version__, "threads": torch.get_num_threads()}


def git_commit() -> str:
    """Short commit of the repository, with "+dirty" when the working tree has changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD") or "unknown"
        return head + ("+dirty" if git("status", "--porcelain") else "")
    except OSError:
        return "unknown"


# --- running a CLI step with its wall time and peak memory ---------------------------------------------------

@dataclass
class Step:
    seconds: float
    peak_mb: float  # resident memory of the process and all its children together, polled
    largest_mb: float  # the largest single process of the tree, polled
    ok: bool
    log: Path


def _tree_rss_kb(root: int) -> tuple[int, int]:
    """Resident memory (kB) of `root` and all its descendants together, and of the largest one, from /proc."""
    children: dict[int, list[int]] = defaultdict(list)
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(d))
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    total, largest, todo = 0, 0, [root]
    while todo:
        pid = todo.pop()
        try:
            rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page_kb
        except (OSError, IndexError, ValueError):
            rss = 0
        total, largest = total + rss, max(largest, rss)
        todo += children.get(pid, [])
    return total, largest


def run_cli(args: Sequence[str], log: Path) -> Step:
    """Run `python -m celebface.cli ARGS`, output to `log`; wall time and peak memory of the whole process tree."""
    cmd = [sys.executable, "-m", "celebface.cli", *map(str, args)]
    say("  $ celebface " + " ".join(map(str, args)))
    peak = [0, 0]
    with open(log, "w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                total, largest = _tree_rss_kb(proc.pid)
                peak[0], peak[1] = max(peak[0], total), max(peak[1], largest)
                done.wait(0.2)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        proc.wait()
        seconds = time.perf_counter() - t0
        done.set()
        poller.join()
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        say(f"  step failed (exit {proc.returncode}); last lines of {log}:\n    " + "\n    ".join(tail))
    return Step(seconds, peak[0] / 1024, peak[1] / 1024, proc.returncode == 0, log)


# --- 1. face extraction -------------------------------------------------------------------------------------

def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two [x1, y1, x2, y2] boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def plain_loop(paths: Sequence[str]) -> tuple[float, list[Optional[list[tuple[list[float], float]]]]]:
    """The plain way: one MTCNN, `detect` on each full-size photo in turn; seconds and (box, prob) per photo."""
    from facenet_pytorch import MTCNN

    from celebface.errors import ImageError
    from celebface.io.images import load_image

    t0 = time.perf_counter()
    mtcnn = MTCNN(keep_all=True)
    found: list[Optional[list[tuple[list[float], float]]]] = []
    for path in paths:
        try:
            boxes, probs = mtcnn.detect(load_image(path))
        except (ImageError, RuntimeError, ValueError):
            found.append(None)  # unreadable, or the detector failed on it
            continue
        found.append([] if boxes is None else [(list(map(float, b)), float(p)) for b, p in zip(boxes, probs)])
    return time.perf_counter() - t0, found


def compare_detections(records: list, plain: list, min_prob: float) -> dict:
    """How often celebface and the plain loop agree (plain faces below celebface's min_prob are dropped)."""
    presence, same_main, any_match, both = 0, 0, 0, 0
    n = 0
    for rec, faces in zip(records, plain):
        if rec.status == "unreadable" or faces is None:
            continue
        n += 1
        faces = [f for f in faces if f[1] >= min_prob]
        presence += bool(rec.faces) == bool(faces)
        if rec.faces and faces:
            both += 1
            main = rec.faces[0].box  # extract puts the main face first (chosen = 0)
            top = max(faces, key=lambda f: f[1])[0]
            same_main += iou(main, top) >= 0.5
            any_match += any(iou(main, f[0]) >= 0.5 for f in faces)
    return {"photos": n, "presence": presence, "both": both, "same_main": same_main, "any_match": any_match}


def bench_extraction(data: Path, n: Optional[int], tmp: Path) -> dict:
    """Photos/s of celebface's extraction (default workers, then 1 worker) and of the plain loop, same photos."""
    from celebface.config import ExtractSettings
    from celebface.data.extract import extract_faces
    from celebface.io.sources import list_photos

    jobs = list_photos(data)[:n] if n else list_photos(data)
    out: dict = {"photos": len(jobs)}
    for label, workers in (("default", None), ("one", 1)):
        say(f"1. celebface extraction, workers={workers or 'default (one per core)'}, {len(jobs)} photos ...")
        t0 = time.perf_counter()
        records = extract_faces(jobs, tmp / f"extract-{label}", ExtractSettings(), workers=workers, progress=False)
        out[label] = time.perf_counter() - t0
        say(f"   {out[label]:.1f} s, {len(jobs) / out[label]:.2f} photos/s")
        if label == "default":
            out["records"] = records
            out["workers"] = max(1, min(os.cpu_count() or 1, len(jobs)))
    say(f"1. plain facenet-pytorch loop (full-size photos, one process), {len(jobs)} photos ...")
    out["plain"], plain = plain_loop([j.path for j in jobs])
    say(f"   {out['plain']:.1f} s, {len(jobs) / out['plain']:.2f} photos/s")
    out["agree"] = compare_detections(out.pop("records"), plain, ExtractSettings().min_prob)
    return out


# --- 2 and 3. end to end, and training precision -------------------------------------------------------------

def backbone_note(name: str) -> Optional[str]:
    """None when the backbone can run here, else why it is skipped."""
    if name != "densenet121":
        return None
    from celebface.errors import WeightsError
    from celebface.faces.backbones import build_backbone

    try:
        build_backbone(name)
    except WeightsError as exc:
        return "skipped: " + str(exc).splitlines()[0]
    return None


def quick_subset(data: Path, per_person: int, tmp: Path) -> Path:
    """A small DATA_DIR of symlinks to the first photos of each person (for --quick)."""
    from celebface.io.images import is_image_name

    sub = tmp / "quick-data"
    for person in sorted(p for p in data.iterdir() if p.is_dir()):
        (sub / person.name).mkdir(parents=True, exist_ok=True)
        for f in sorted(f for f in person.iterdir() if f.is_file() and is_image_name(f))[:per_person]:
            (sub / person.name / f.name).symlink_to(f.resolve())
    return sub


def read_metrics(model_dir: Path) -> dict:
    return json.loads((model_dir / "metrics.json").read_text())


def train_summary(m: dict) -> dict:
    """The timing and accuracy figures of a fresh metrics.json (written by train)."""
    s1, s2 = m["stage1"], m.get("stage2", {})
    ep2 = s2.get("epochs") or 0
    return {"features_s": m.get("timings", {}).get("features_s"), "train_total_s": m.get("timings", {}).get("total_s"),
            "s1_s": s1["seconds"], "s1_epochs": s1["epochs"], "s2_s": s2.get("seconds"), "s2_epochs": ep2,
            "s2_per_epoch": (s2["seconds"] / ep2) if ep2 else None, "val_acc_train": m["val_accuracy"]}


def bench_end_to_end(data: Path, tmp: Path, quick: bool) -> dict:
    """prepare once (fresh WORK_DIR), then per backbone train + evaluate on a fresh copy of the prepared folder."""
    prep_args = ["--per-class", "24"] if quick else []
    train_args = ["--epochs1", "3", "--epochs2", "1"] if quick else []
    work = tmp / "e2e-prepared"
    say(f"2. end to end: prepare {data.name} in a fresh WORK_DIR ...")
    prep = run_cli(["prepare", data, "--out", work, "--quiet", *prep_args], tmp / "prepare.log")
    say(f"   prepare {prep.seconds:.1f} s, peak {prep.peak_mb:.0f} MB")
    out: dict = {"prepare": prep, "backbones": {}, "models": {}, "work": {}}
    if not prep.ok:
        return out
    for bb in BACKBONES:
        note = backbone_note(bb)
        if note:
            say(f"2. {bb}: {note}")
            out["backbones"][bb] = {"note": note}
            continue
        w, model = tmp / f"e2e-{bb}", tmp / f"model-{bb}"
        shutil.copytree(work, w, symlinks=True)  # what a user has right after prepare (not timed)
        say(f"2. {bb}: train + evaluate ...")
        tr = run_cli(["train", w, "--out", model, "--backbone", bb, "--quiet", *train_args], tmp / f"train-{bb}.log")
        row: dict = {"train": tr}
        if tr.ok:
            row.update(train_summary(read_metrics(model)))
            ev = run_cli(["evaluate", model, w, "--quiet"], tmp / f"evaluate-{bb}.log")
            row["evaluate"] = ev
            if ev.ok:
                row["val_acc"] = read_metrics(model)["val_accuracy"]
                out["models"][bb], out["work"][bb] = model, w
        say(f"   {bb}: train {tr.seconds:.1f} s, val acc {row.get('val_acc')}")
        out["backbones"][bb] = row
    return out


def bench_precision(e2e: dict, tmp: Path, quick: bool) -> dict:
    """efficientnet_lite0 trained fp32 (the end-to-end run) and bf16 on the same WORK_DIR."""
    fp32 = e2e["backbones"].get("efficientnet_lite0", {})
    if "efficientnet_lite0" not in e2e["work"]:
        return {}
    rows = {"fp32": fp32}
    work, model = e2e["work"]["efficientnet_lite0"], tmp / "model-efficientnet_lite0-bf16"
    say("3. efficientnet_lite0 with --precision bf16 on the same WORK_DIR ...")
    extra = ["--epochs1", "3", "--epochs2", "1"] if quick else []
    tr = run_cli(["train", work, "--out", model, "--backbone", "efficientnet_lite0", "--precision", "bf16",
                  "--quiet", *extra], tmp / "train-bf16.log")
    row: dict = {"train": tr}
    if tr.ok:
        row.update(train_summary(read_metrics(model)))
        ev = run_cli(["evaluate", model, work, "--quiet"], tmp / "evaluate-bf16.log")
        if ev.ok:
            row["val_acc"] = read_metrics(model)["val_accuracy"]
    say(f"   bf16: train {tr.seconds:.1f} s, val acc {row.get('val_acc')}")
    rows["bf16"] = row
    return rows


# --- 4. prediction -----------------------------------------------------------------------------------------

def prediction_photos(data: Path, n: int) -> list[Path]:
    """sports5_new_photos first, then the photos of DATA whose longer side is closest to 800 px."""
    from PIL import Image

    from celebface.io.images import is_image_name

    new = data.parent / "extras" / f"{data.name}_new_photos"
    first = sorted(p for p in new.rglob("*") if p.is_file() and is_image_name(p)) if new.is_dir() else []
    sized = []
    for p in sorted(data.rglob("*")):
        if p.is_file() and is_image_name(p):
            try:
                with Image.open(p) as im:
                    sized.append((abs(max(im.size) - 800), str(p)))
            except Exception:
                continue
    return (first + [Path(p) for _, p in sorted(sized)])[:n]


def bench_predict(model_dir: Path, photos: list[Path], n_single: int, threads: Optional[int] = None) -> dict:
    """Load time, p50/p95 latency of single photos (warm) and photos/s of predict_many over all `photos`.

    threads: torch threads in this process while measuring (None: torch's default); restored afterwards.
    """
    import numpy as np
    import torch

    from celebface.recognition.recognizer import load

    default_threads = torch.get_num_threads()
    torch.set_num_threads(threads or default_threads)
    try:
        t0 = time.perf_counter()
        rec = load(model_dir, device="cpu")
        load_s = time.perf_counter() - t0
        for p in photos[:3]:
            rec.predict_image(p)  # warm-up
        lat = []
        for p in photos[:n_single]:
            t0 = time.perf_counter()
            rec.predict_image(p)
            lat.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        results = list(rec.predict_many(photos))
        folder_s = time.perf_counter() - t0
    finally:
        torch.set_num_threads(default_threads)
    return {"threads": threads or default_threads, "load_s": load_s, "p50": float(np.percentile(lat, 50)),
            "p95": float(np.percentile(lat, 95)), "n_single": len(lat), "n_folder": len(results),
            "folder_pps": len(results) / folder_s}


# --- report ------------------------------------------------------------------------------------------------

def _f(x: Optional[float], fmt: str = ".1f") -> str:
    return "–" if x is None else format(x, fmt)


def render(info: dict, ext: Optional[dict], e2e: Optional[dict], prec: dict, pred: dict, command: str) -> str:
    """The results as markdown."""
    L = ["# celebface speed on a plain CPU", "",
         f"- date: {info['date']}",
         f"- machine: {info['cores']} cores, {info['cpu']} (bf16 CPU flags: {info['bf16_flags']}), GPU: {info['gpu']}",
         f"- torch {info['torch']}, {info['threads']} threads; commit {info['commit']}",
         f"- load average (1 min) at start / end: {info['load_start']:.1f} / {info['load_end']:.1f}"
         + (" (more than the cores: other jobs shared the CPU, times are slower than on an idle machine)"
            if max(info["load_start"], info["load_end"]) > info["cores"] else ""),
         f"- data: `{info['data']}`; command: `{command}`", ""]
    if ext:
        n, a = ext["photos"], ext["agree"]
        L += [f"## 1. Face extraction ({n} photos, same photos for every row)", "",
              "| method | seconds | photos/s | vs plain loop |", "|---|---:|---:|---:|"]
        for label, key in ((f"celebface `extract_faces`, {ext['workers']} worker processes, detection at 800 px",
                            "default"),
                           ("celebface `extract_faces`, workers=1 (in process), detection at 800 px", "one"),
                           ("plain facenet-pytorch loop: `MTCNN(keep_all=True).detect(photo)`, full size, "
                            "1 process", "plain")):
            L.append(f"| {label} | {ext[key]:.1f} | {n / ext[key]:.2f} | {ext['plain'] / ext[key]:.1f}x |")
        L += ["", f"Same detections (plain-loop faces below celebface's min prob 0.90 dropped; "
                  f"{a['photos']} readable photos): both find a face or both find none in "
                  f"{a['presence']}/{a['photos']} ({a['presence'] / max(a['photos'], 1):.0%}); "
                  f"where both find faces ({a['both']}), celebface's main face has IoU >= 0.5 with the plain loop's "
                  f"most probable face in {a['same_main']}/{a['both']} ({a['same_main'] / max(a['both'], 1):.0%}) "
                  f"and with one of its faces in {a['any_match']}/{a['both']} "
                  f"({a['any_match'] / max(a['both'], 1):.0%}). Both decode photos with `celebface.io.images.load_image`;"
                  f" celebface's time includes writing the crops and starting its workers.", ""]
    if e2e:
        p: Step = e2e["prepare"]
        L += ["## 2. End to end (CLI subprocesses; peak memory = all processes together, polled every 0.2 s)", "",
              "| step | backbone | wall s | peak MB (all processes) | largest process MB | val accuracy |",
              "|---|---|---:|---:|---:|---:|",
              f"| prepare (face extraction, face choice, split, augmentation: shared by all backbones) | – | "
              f"{p.seconds:.1f} | {p.peak_mb:.0f} | {p.largest_mb:.0f} | – |"]
        for bb, r in e2e["backbones"].items():
            if "note" in r:
                L.append(f"| train + evaluate | {bb} | {r['note']} | | | |")
                continue
            tr, ev = r["train"], r.get("evaluate")
            if not (tr.ok and ev and ev.ok):
                L.append(f"| train + evaluate | {bb} | failed, see {(ev or tr).log} | | | |")
                continue
            L.append(f"| train + evaluate | {bb} | {tr.seconds:.1f} + {ev.seconds:.1f} | "
                     f"{max(tr.peak_mb, ev.peak_mb):.0f} | {max(tr.largest_mb, ev.largest_mb):.0f} | "
                     f"{r['val_acc']:.4f} |")
            L.append(f"| **prepare + train + evaluate** | {bb} | **{p.seconds + tr.seconds + ev.seconds:.1f}** | "
                     f"{max(p.peak_mb, tr.peak_mb, ev.peak_mb):.0f} | "
                     f"{max(p.largest_mb, tr.largest_mb, ev.largest_mb):.0f} | {r['val_acc']:.4f} |")
        L.append("")
    if prec:
        L += ["## 3. Training precision, efficientnet_lite0, same prepared WORK_DIR", "",
              "| precision | train s (wall) | frozen features s | stage 1 s (epochs) | stage 2 s (epochs) | "
              "stage 2 s/epoch | val acc (train) | val acc (evaluate, fp32 inference) |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name, r in prec.items():
            if "s1_s" not in r:
                L.append(f"| {name} | failed | | | | | | |")
                continue
            L.append(f"| {name} | {r['train'].seconds:.1f} | {_f(r['features_s'])} | {r['s1_s']:.1f} "
                     f"({r['s1_epochs']}) | {_f(r['s2_s'])} ({r['s2_epochs']}) | {_f(r['s2_per_epoch'])} | "
                     f"{r['val_acc_train']:.4f} | {_f(r.get('val_acc'), '.4f')} |")
        L += ["", "Stage 2 seconds include its head warm-up and the final scoring of every split; "
                  "\"frozen features\" is the one pass of the frozen layers over all crops (cached in WORK_DIR).", ""]
    if pred:
        L += ["## 4. Prediction (model loaded once, 3 warm-up calls, then single photos timed one by one, then "
              "one `predict_many` over a folder; photos with their longer side near 800 px)", "",
              "| model | torch threads | load s | single photos | p50 ms | p95 ms | folder photos | "
              "folder photos/s |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for (bb, _), r in pred.items():
            L.append(f"| {bb} | {r['threads']} | {r['load_s']:.1f} | {r['n_single']} | {r['p50'] * 1000:.0f} | "
                     f"{r['p95'] * 1000:.0f} | {r['n_folder']} | {r['folder_pps']:.2f} |")
        L.append("")
    return "\n".join(L)


def main(argv: Optional[Sequence[str]] = None) -> None:
    ap = argparse.ArgumentParser(prog="python bench/results.py", description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "sports5")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results.md")
    ap.add_argument("--extract-photos", type=int, default=None, help="use the first N photos for step 1")
    ap.add_argument("--quick", action="store_true", help="small subset and few epochs: a smoke run")
    ap.add_argument("--skip-e2e", action="store_true", help="only step 1 (extraction); skips training and prediction")
    ap.add_argument("--keep", action="store_true", help="keep the temporary work folders")
    args = ap.parse_args(argv)
    os.environ.setdefault("CELEBFACE_OFFLINE", "1")  # nothing is downloaded, here or in the CLI subprocesses
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    data = args.data.resolve()
    command = "python bench/results.py " + " ".join(sys.argv[1:] if argv is None else argv)
    info = {**machine_info(), "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"), "commit": git_commit(),
            "data": str(data), "load_start": os.getloadavg()[0]}
    say(f"machine: {info['cores']} cores, {info['cpu']}, GPU {info['gpu']}; commit {info['commit']}; data {data}")
    tmp = Path(tempfile.mkdtemp(prefix="celebface-bench-"))
    try:
        ext = bench_extraction(data, args.extract_photos or (12 if args.quick else None), tmp)
        e2e, prec, pred = None, {}, {}
        if not args.skip_e2e:
            e2e_data = quick_subset(data, 10, tmp) if args.quick else data
            e2e = bench_end_to_end(e2e_data, tmp, args.quick)
            prec = bench_precision(e2e, tmp, args.quick)
            photos = prediction_photos(data, 8 if args.quick else 40)
            # torch's default threads (one per core) and one thread: the latter holds up when other jobs share the CPU
            runs = [(bb, model, threads, photos, 5 if args.quick else 30)
                    for bb, model in e2e["models"].items() for threads in (None, 1)]
            for bb, model, threads, ph, n_single in runs:
                say(f"4. prediction with the {bb} model, torch threads {threads or 'default'} ...")
                r = pred[(bb, threads)] = bench_predict(model, ph, n_single, threads)
                say(f"   p50 {r['p50'] * 1000:.0f} ms, folder {r['folder_pps']:.2f} photos/s")
        info["load_end"] = os.getloadavg()[0]
        text = render(info, ext, e2e, prec, pred, command)
    finally:
        if args.keep:
            say(f"work folders kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print("\n" + text)
    say(f"wrote {args.out}")


if __name__ == "__main__":
    main()
