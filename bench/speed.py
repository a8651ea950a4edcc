"""`python bench/speed.py` (`make bench`): celebface beside facenet-pytorch's plain MTCNN loop and face_recognition's
pipeline, on the same photos in the same run, each quiet and beside one competing busy process.

Rows (each run in a fresh process, so that each sees the environment a user's run would see):
- detection: celebface's FaceDetector (photos shrunk to 800 px, batched MTCNN) against facenet-pytorch's
  `MTCNN(keep_all=True).detect` on the photos as they are, and on the same 800 px copies;
- prepare: `celebface prepare` against a plain MTCNN loop that saves every face's crop (`mtcnn(img, save_path)`),
  both on a whole data set (--prepare-photos; prepare is a whole-set job: its fixed costs, balancing every person to
  400 images and loading its networks, are paid once a set);
- warm predict: a dlib_face model (people enrolled from other photos) naming the photos with `predict_many`, with
  the default identity (dlib+faceres) and with identity dlib (the network face_recognition runs), against
  face_recognition's own pipeline (HOG `face_locations`, `face_encodings`, `face_distance` to the same
  enrolment photos' encodings), and with the thread policy's alternatives (1 torch thread; OMP_WAIT_POLICY=ACTIVE,
  torch's old default) and `--precision bf16`. "Warm" as a running server is: both pipelines first name as many
  other photos of the set (untimed: lazy loading, oneDNN's kernels for new shapes), then the photos PASSES times;
  the row gives the median pass (min-max beside it);
- `celebface index --engine local` of the photos.
"Busy" rows run beside one `python -c "while True: pass"` that the benchmark starts before and stops after the row.
Writes bench/speed.md and prints it. Times are reported, never asserted.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
BUSY = [sys.executable, "-c", "while True: pass"]
#: Timed passes over the photos in the warm predict rows (the median is reported).
PASSES = 3
_T0 = time.perf_counter()


def say(msg: str) -> None:
    print(f"[speed {time.perf_counter() - _T0:6.0f}s] {msg}", flush=True)


# --- children: one measurement each, in a fresh process; print one JSON line -------------------------------

def plain_image(path: str):
    """A photo as a plain user opens it (EXIF orientation applied where its EXIF can be read, RGB), without
    celebface (one sports5 photo's EXIF block is broken: PIL's exif_transpose raises on it)."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        try:
            return ImageOps.exif_transpose(im).convert("RGB")
        except (SyntaxError, ValueError, OSError):
            return im.convert("RGB")


def child_detect(photos: list[str], device: str, kind: str) -> dict:
    """Seconds of detection alone over the photos (decoded first): kind "celebface", "facenet" (photos as they
    are) or "facenet-800" (the 800 px copies celebface detects on)."""
    if kind == "celebface":
        from celebface.faces.detect import FaceDetector
        from celebface.io.images import load_image

        det = FaceDetector(device=device)
        imgs = [load_image(p) for p in photos]
        run = det.detect
    else:
        from facenet_pytorch import MTCNN

        mtcnn = MTCNN(keep_all=True, device=device)
        imgs = [plain_image(p) for p in photos]
        if kind == "facenet-800":
            imgs = [im.resize((round(im.width * s), round(im.height * s))) if (s := 800 / max(im.size)) < 1
                    else im for im in imgs]
        run = mtcnn.detect
    run(imgs[0])  # warm-up
    t0 = time.perf_counter()
    found = [run(im) for im in imgs]
    seconds = time.perf_counter() - t0
    faces = sum(len(f) if kind == "celebface" else (0 if f[0] is None else len(f[0])) for f in found)
    return {"seconds": seconds, "photos": len(imgs), "faces": faces}



def child_plain_prepare(photos: list[str], device: str, out: str) -> dict:
    """The plain way to cut faces out: one MTCNN, each photo in turn, every face's crop saved."""
    t0 = time.perf_counter()
    from facenet_pytorch import MTCNN

    mtcnn = MTCNN(keep_all=True, device=device)
    faces = 0
    for i, path in enumerate(photos):
        crops = mtcnn(plain_image(path), save_path=str(Path(out) / f"{i}.jpg"))
        faces += 0 if crops is None else len(crops)
    return {"seconds": time.perf_counter() - t0, "photos": len(photos), "faces": faces}


def timed_passes(run, photos: list[str], warm: list[str]) -> dict:
    """`run(photos)` -> (faces, named) timed PASSES times after one untimed `run(warm)`: the median pass's seconds
    and every pass's."""
    run(warm)
    times, counts = [], (0, 0)
    for _ in range(PASSES):
        t0 = time.perf_counter()
        counts = run(photos)
        times.append(time.perf_counter() - t0)
    return {"seconds": sorted(times)[len(times) // 2], "passes": times, "photos": len(photos), "faces": counts[0],
            "named": counts[1]}


def child_predict(photos: list[str], warm: list[str], device: str, model: str, processes: int = 1) -> dict:
    """Warm `predict_many` of a celebface model over the photos (timed_passes); with processes > 1 by that many
    worker processes (started, and their models loaded, by the untimed warm-up pass)."""
    from celebface.recognition.recognizer import load
    from celebface.runtime import set_threads

    set_threads(None)
    rec = load(Path(model), device=device)

    def run(paths: list[str]) -> tuple[int, int]:
        results = list(rec.predict_many(paths, processes=processes))
        return sum(len(r.faces) for r in results), sum(f.name is not None for r in results for f in r.faces)

    import torch

    return {**timed_passes(run, photos, warm), "threads": torch.get_num_threads()}


def import_face_recognition():
    """face_recognition 1.3.0; its models package still imports pkg_resources, which setuptools 81 dropped:
    a stand-in giving the same file paths is put in place when it is missing."""
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        import types

        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = lambda pkg, name: os.path.join(  # type: ignore[attr-defined]
            os.path.dirname(sys.modules[pkg].__file__), name)
        sys.modules["pkg_resources"] = shim
    import face_recognition

    return face_recognition


def child_face_recognition(photos: list[str], warm: list[str], known: dict[str, list[str]]) -> dict:
    """face_recognition's own pipeline, warm (timed_passes): the enrolment photos' encodings first, then per photo
    load_image_file -> face_locations (HOG) -> face_encodings -> face_distance to every known face."""
    import numpy as np

    fr = import_face_recognition()
    names, encs = [], []
    for name, paths in known.items():
        for p in paths:
            img = fr.load_image_file(p)
            for e in fr.face_encodings(img, fr.face_locations(img))[:1]:
                names.append(name)
                encs.append(e)

    def run(paths: list[str]) -> tuple[int, int]:
        faces = named = 0
        for p in paths:
            img = fr.load_image_file(p)
            for e in fr.face_encodings(img, fr.face_locations(img)):
                d = fr.face_distance(np.asarray(encs), e)
                faces, named = faces + 1, named + bool(d.min() <= 0.6)
        return faces, named

    return timed_passes(run, photos, warm)


def run_child(argv: Sequence[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", required=True)
    ap.add_argument("--spec", required=True, type=Path)
    a = ap.parse_args(argv)
    spec = json.loads(a.spec.read_text())
    photos, device = spec["photos"], spec["device"]
    if a.child.startswith("detect-"):
        out = child_detect(photos, device, a.child.split("-", 1)[1])
    elif a.child == "plain-prepare":
        out = child_plain_prepare(photos, device, spec["out"])
    elif a.child == "predict":
        out = child_predict(photos, spec["warm"], device, spec["model"])
    elif a.child == "predict-processes":
        out = child_predict(photos, spec["warm"], device, spec["model"], processes=os.cpu_count() or 1)
    else:
        out = child_face_recognition(photos, spec["warm"], spec["known"])
    print("RESULT " + json.dumps(out), flush=True)


# --- the parent: rows, each quiet and busy --------------------------------------------------------------------

class Busy:
    """One competing busy process while the block runs (none when n == 0)."""

    def __init__(self, n: int) -> None:
        self.n, self.procs = n, []

    def __enter__(self):
        self.procs = [subprocess.Popen(BUSY) for _ in range(self.n)]
        time.sleep(0.3 if self.n else 0)
        return self

    def __exit__(self, *exc) -> None:
        for p in self.procs:
            p.kill()
            p.wait()


def child_env(extra: Optional[dict] = None) -> dict:
    own = ("OMP_WAIT_POLICY", "CELEBFACE_THREADS", "CELEBFACE_PRECISION")  # each row sets its own
    env = {k: v for k, v in os.environ.items() if k not in own}
    env.update({"PYTHONPATH": str(ROOT), "CELEBFACE_OFFLINE": "1", "NO_ALBUMENTATIONS_UPDATE": "1"})
    env.update(extra or {})
    return env


def measure(cmd: list[str], env: dict, log: Path) -> dict:
    """Run a command; its RESULT line (children), else its wall time; seconds is always set."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        say(f"  failed (exit {proc.returncode}), see {log}: {(proc.stderr or proc.stdout)[-400:]}")
        return {"seconds": float("nan"), "failed": str(log)}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    return {**json.loads(lines[-1][7:]), "wall": wall} if lines else {"seconds": wall}


def row(label: str, make_cmd, env: dict, tmp: Path, n: int) -> dict:
    """A row measured quiet, then beside one busy process (make_cmd(tag) gives a fresh command each time)."""
    out = {"label": label, "photos": n}
    for busy in (0, 1):
        tag = f"{len(list(tmp.glob('row*.log')))}-{'busy' if busy else 'quiet'}"
        with Busy(busy):
            r = measure(make_cmd(tag), env, tmp / f"row{tag}.log")
        out["busy" if busy else "quiet"] = r
        say(f"  {label} {'busy ' if busy else 'quiet'}: {r['seconds']:.1f} s, {n / r['seconds']:.2f} photos/s")
    return out


def child_cmd(kind: str, spec: Path):
    return lambda tag: [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--spec", str(spec)]


def cli_cmd(*args: str):
    return lambda tag: [sys.executable, "-m", "celebface.cli", *[a.replace("{tag}", tag) for a in args]]


# --- set-up: photos, a data folder, a dlib_face model with people enrolled from other photos --------------

IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp", ".jfif", ".bmp")


def pick_photos(data: Path, n: int, known_per_person: int) -> tuple[list[str], dict[str, list[str]]]:
    """n photos spread over DATA's people (every k-th), and known_per_person other photos of each for enrolment."""
    photos, known, _ = pick_sets(data, n, known_per_person)
    return photos, known


def pick_sets(data: Path, n: int, known_per_person: int) -> tuple[list[str], dict[str, list[str]], list[str]]:
    """pick_photos' photos and enrolment photos, and up to n photos of the rest to warm the predict rows with."""
    people = sorted(d for d in data.iterdir() if d.is_dir())
    per = {d.name: sorted(str(p) for p in d.iterdir() if p.suffix.lower() in IMAGE_EXT) for d in people}
    known = {name: ps[:known_per_person] for name, ps in per.items()}
    rest = [p for name, ps in per.items() for p in ps[known_per_person:]]
    step = max(1, len(rest) // n)
    timed = rest[::step][:n]
    warm = [p for p in rest[step // 2::max(1, step)] if p not in timed][:n]
    return timed, known, warm


def link_folder(root: Path, groups: dict[str, list[str]]) -> Path:
    """root/<person>/<photo> links to the photos."""
    for name, paths in groups.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for p in paths:
            (root / name / Path(p).name).symlink_to(p)
    return root


def make_model(tmp: Path, known: dict[str, list[str]], device: str, identity: Optional[str] = None) -> Path:
    """`celebface init --backbone dlib_face` and `enroll --folder` of the enrolment photos (not timed).

    :param identity: `init --identity` (None: the default identity; the model folder is tmp/model, else
        tmp/model-IDENTITY)"""
    model, env = tmp / ("model" if identity is None else f"model-{identity.replace('+', '-')}"), child_env()
    chosen = [] if identity is None else ["--identity", identity]
    if not (tmp / "known").exists():
        link_folder(tmp / "known", known)
    for args in (["init", str(model), "--backbone", "dlib_face", *chosen],
                 ["enroll", str(model), "--folder", str(tmp / "known"), "--main-face",
                  "--device", device]):
        r = measure([sys.executable, "-m", "celebface.cli", *args], env, tmp / f"setup-{args[0]}.log")
        if "failed" in r:
            raise SystemExit(f"could not make the model: see {r['failed']}")
    return model


def warm_predict_spec(tmp: Path, photos: list[str], known: dict[str, list[str]], warm: list[str],
                      **extra) -> Path:
    """tmp/spec.json for a one-process warm-predict comparison (bench/precision.py, bench/at_once.py): a model made
    by make_model, the timed and warm-up photos and the script's own settings."""
    spec = tmp / "spec.json"
    spec.write_text(json.dumps({"model": str(make_model(tmp, known, "cpu")), "photos": photos, "warm": warm,
                                **extra}))
    return spec


def json_child(script: str, args: Sequence[str], log: Path) -> dict:
    """`python script --child ARGS` in child_env(): its RESULT line as a dict (SystemExit when it failed)."""
    r = measure([sys.executable, script, "--child", *args], child_env(), log)
    if "failed" in r:
        raise SystemExit("the timing process failed (its output is printed above)")
    return r


def passes_cell(values: Sequence[float]) -> str:
    """A table cell of a setting's passes: the median, every pass in brackets."""
    return f"{statistics.median(values):.2f} ({', '.join(f'{x:.2f}' for x in values)})"


def have_face_recognition() -> bool:
    code = "import sys; sys.path.insert(0, 'bench'); import speed; speed.import_face_recognition()"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True).returncode == 0


def write_spec(tmp: Path, name: str, photos: list[str], device: str, known: dict, model: str,
               warm: Sequence[str] = ()) -> tuple[Path, Path]:
    """A data folder of `photos` (tmp/data-NAME/<person>/...) and the children's spec for them (tmp/spec-NAME.json)."""
    by_person: dict[str, list[str]] = {}
    for p in photos:
        by_person.setdefault(Path(p).parent.name, []).append(p)
    data, spec = link_folder(tmp / f"data-{name}", by_person), tmp / f"spec-{name}.json"
    (tmp / f"plain-{name}").mkdir()
    spec.write_text(json.dumps({"photos": photos, "device": device, "known": known, "model": model,
                                "out": str(tmp / f"plain-{name}"), "warm": list(warm)}))
    return data, spec


def all_rows(photos: list[str], prep: list[str], known: dict, tmp: Path, device: str,
             warm: Sequence[str] = ()) -> dict[str, dict]:
    """Every row, quiet and busy, same photos (the prepare rows: `prep`; predict warmed on `warm`); keyed by a short
    name."""
    model = make_model(tmp, known, device)
    data, spec = write_spec(tmp, "rows", photos, device, known, str(model), warm)
    spec_dlib = write_spec(tmp, "rows-dlib", photos, device, known, str(make_model(tmp, known, device, "dlib")),
                           warm)[1]
    prep_data, prep_spec = write_spec(tmp, "prepare", prep, device, known, str(model))
    env = child_env()
    plan = [("detect", "detection: celebface FaceDetector (800 px copy, batched MTCNN)",
             child_cmd("detect-celebface", spec), env),
            ("detect_fn", "detection: facenet-pytorch MTCNN(keep_all=True).detect, photos as they are",
             child_cmd("detect-facenet", spec), env),
            ("detect_fn800", "detection: facenet-pytorch MTCNN, the same 800 px copies, OMP_WAIT_POLICY=PASSIVE "
             "(same input and thread policy as celebface: the batched stages' own gain)",
             child_cmd("detect-facenet-800", spec), child_env({"OMP_WAIT_POLICY": "PASSIVE"})),
            ("prepare", "prepare: `celebface prepare` (all its steps, worker processes)",
             cli_cmd("prepare", str(prep_data), "--out", str(tmp / "prep-{tag}"), "--quiet"), env),
            ("prepare_plain", "prepare: plain loop, MTCNN(keep_all=True)(photo, save_path), one process",
             child_cmd("plain-prepare", prep_spec), env),
            ("predict", "warm predict: celebface dlib_face model, `predict_many`", child_cmd("predict", spec), env),
            ("predict_dlib", "warm predict: the same with identity `dlib` (`init --identity dlib`: face_recognition's "
             "own network; the default identity adds faceres)", child_cmd("predict", spec_dlib), env),
            ("predict_proc", "warm predict, worker processes (`predict_many(processes=N)`, one per core with one "
             "torch thread each; opt-in: `predict --processes N`)",
             child_cmd("predict-processes", spec), env),
            ("predict_t1", "warm predict, CELEBFACE_THREADS=1", child_cmd("predict", spec),
             child_env({"CELEBFACE_THREADS": "1"})),
            ("predict_active", "warm predict, OMP_WAIT_POLICY=ACTIVE (OpenMP's default: the policy before issue 32)",
             child_cmd("predict", spec), child_env({"OMP_WAIT_POLICY": "ACTIVE"})),
            ("predict_bf16", "warm predict, `--precision bf16` (CELEBFACE_PRECISION=bf16: dlib's ResNet and faceres "
             "in bf16 autocast; opt-in)", child_cmd("predict", spec), child_env({"CELEBFACE_PRECISION": "bf16"}))]
    if have_face_recognition():
        plan.append(("predict_fr", "warm predict: face_recognition 1.3.0's pipeline (HOG, dlib, CPU)",
                     child_cmd("fr", spec), env))
    else:
        say("face_recognition is not installed (pip install --no-deps face_recognition==1.3.0): row skipped")
    for key, label, extra in (("predict_cli1", "--processes 1 (this process's threads)", ["--processes", "1"]),
                              ("predict_cli", "--processes N (worker processes, one per core)",
                               ["--processes", str(os.cpu_count() or 1)])):
        plan.append((key, f"`celebface predict` of the prepare rows' photos, whole run (start-up included), {label}",
                     cli_cmd("predict", str(model), str(prep_data), "--device", device, *extra), env))
    plan.append(("index", "`celebface index --engine local` (worker processes)",
                 cli_cmd("index", str(model), str(data), "--out", str(tmp / "index-{tag}"), "--engine", "local",
                         "--device", device, "--quiet"), env))
    return {key: row(label, cmd, e, tmp, len(prep) if key.startswith(("prepare", "predict_cli")) else len(photos))
            for key, label, cmd, e in plan}


# --- report ------------------------------------------------------------------------------------------------

def pps(rows: dict, key: str, when: str = "quiet") -> Optional[float]:
    r = rows.get(key, {}).get(when)
    return None if not r or r["seconds"] != r["seconds"] else rows[key]["photos"] / r["seconds"]


def ratio(a: Optional[float], b: Optional[float]) -> str:
    return "–" if a is None or b is None or not b else f"{a / b:.2f}"


def goals(rows: dict) -> list[str]:
    """The issue's goals, each with the measured figure."""
    def line(what: str, value: str, goal: float) -> str:
        ok = value != "–" and float(value) >= goal
        return f"| {what} | {value} | >= {goal} | {'yes' if ok else 'no'} |"

    out = ["| goal | measured | target | met |", "|---|---:|---:|---|"]
    for key, what in (("predict", "warm predict"), ("predict_proc", "warm predict, worker processes"),
                      ("prepare", "prepare"), ("index", "index --engine local")):
        out.append(line(f"{what}: busy / quiet photos/s", ratio(pps(rows, key, "busy"), pps(rows, key)), 0.5))
    out.append(line("detection: celebface / facenet-pytorch (photos as they are), quiet",
                    ratio(pps(rows, "detect"), pps(rows, "detect_fn")), 2.5))
    out.append(line("(detection at the same 800 px input and thread policy: the batched stages alone), quiet",
                    ratio(pps(rows, "detect"), pps(rows, "detect_fn800")), 2.5))
    out.append(line("prepare / plain MTCNN loop, quiet", ratio(pps(rows, "prepare"), pps(rows, "prepare_plain")), 2.0))
    out.append(line("warm predict / face_recognition's pipeline, quiet",
                    ratio(pps(rows, "predict"), pps(rows, "predict_fr")), 6.0))
    out.append(line("(warm predict with identity `dlib`, face_recognition's own network / face_recognition's "
                    "pipeline), quiet", ratio(pps(rows, "predict_dlib"), pps(rows, "predict_fr")), 6.0))
    out.append(line("(warm predict with worker processes, opt-in / face_recognition's pipeline), quiet",
                    ratio(pps(rows, "predict_proc"), pps(rows, "predict_fr")), 6.0))
    out.append(line("(warm predict with `--precision bf16`, opt-in / face_recognition's pipeline), quiet",
                    ratio(pps(rows, "predict_bf16"), pps(rows, "predict_fr")), 6.0))
    return out


def _cell(pps_: Optional[float], result: dict, photos: int) -> str:
    """photos/s, with the passes' min-max where a row timed several."""
    if pps_ is None:
        return "failed or stopped"
    passes = result.get("passes") or []
    if len(passes) < 2:
        return f"{pps_:.2f}"
    return f"{pps_:.2f} ({photos / max(passes):.2f}-{photos / min(passes):.2f})"


def table(rows: dict) -> list[str]:
    out = ["| what | quiet photos/s | beside 1 busy process | busy / quiet | faces (quiet) |",
           "|---|---:|---:|---:|---:|"]
    for r in rows.values():
        q, b = r["quiet"], r["busy"]
        qp = r["photos"] / q["seconds"] if q["seconds"] == q["seconds"] else None
        bp = r["photos"] / b["seconds"] if b["seconds"] == b["seconds"] else None
        out.append(f"| {r['label']} | {_cell(qp, q, r['photos'])} | {_cell(bp, b, r['photos'])} | {ratio(bp, qp)} "
                   f"| {q.get('faces', '–')} |")
    return out


def render(info: dict, runs: list[dict]) -> str:
    L = ["# celebface speed, quiet and beside one busy process (issue 32)", "",
         "> **Measures**: detection, prepare, warm predict and index, quiet and beside one busy process, against "
         f"facenet-pytorch and face_recognition. **Command**: `make bench`. **Commit**: {info['commit']} "
         f"({info['date'][:10]}).", "",
         f"- date: {info['date']}; commit {info['commit']}; command: `{info['command']}`",
         f"- machine: {info['cores']} cores, {info['cpu']}; device: **{info['device']}**",
         f"- photos: {info['photos']} of `{info['data']}` (every k-th, spread over the people); enrolment: "
         f"{info['known']} other photos a person; the prepare rows: {info['prepare_photos']} photos",
         f"- load average (1 min) at start / end: {info['load_start']:.1f} / {info['load_end']:.1f}"
         + (" (above the core count: other jobs shared the CPU during the run; the figures are noisy)"
            if max(info["load_start"], info["load_end"]) > info["cores"] else ""),
         "- each row runs in a fresh process; detection times the work alone (its networks loaded and run once "
         f"first); the warm predict rows (celebface and face_recognition) first name {info['warm']} other photos "
         f"of the set untimed, then the photos {PASSES} times: the median pass, min-max in brackets; prepare, "
         "the plain loop and index are whole runs (start-up included)", ""]
    for k, rows in enumerate(runs, 1):
        L += [f"## Run {k}", ""] + table(rows) + ["", "Goals (issue 32):", ""] + goals(rows) + [""]
    return "\n".join(L)


def machine(device: str) -> dict:
    cpu = "unknown"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    card = device
    if device.startswith("cuda"):
        out = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.get_device_name(0))"],
                             capture_output=True, text=True)
        card = f"{device} ({out.stdout.strip() or 'no GPU found'})"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    simd = subprocess.run([sys.executable, "-c", "import torch; print(torch.backends.cpu.get_cpu_capability())"],
                          capture_output=True, text=True).stdout.strip() or "unknown"
    return {"cores": os.cpu_count(), "cpu": f"{cpu} ({simd}: torch's kernels, and so the ratios, depend on it)",
            "device": card, "commit": commit.stdout.strip() or "unknown"}


def main(argv: Optional[Sequence[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--child" in argv:
        return run_child(argv)
    ap = argparse.ArgumentParser(prog="python bench/speed.py", description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "sports5")
    ap.add_argument("--photos", type=int, default=40, help="photos timed in every row")
    ap.add_argument("--prepare-photos", type=int, default=0,
                    help="photos of the prepare rows (default 0: every photo of --data, as prepare is run on a set)")
    ap.add_argument("--known", type=int, default=3, help="enrolment photos a person (not among the timed ones)")
    ap.add_argument("--runs", type=int, default=1, help="repeat every row this many times")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (MTCNN, dlib's network, the CNN on the GPU)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "speed.md")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)
    photos, known, warm = pick_sets(args.data.resolve(), args.photos, args.known)
    prep = pick_photos(args.data.resolve(), args.prepare_photos or 10 ** 9, 0)[0]
    info = {**machine(args.device), "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": "python bench/speed.py " + " ".join(argv), "photos": len(photos), "data": args.data,
            "known": args.known, "prepare_photos": len(prep), "load_start": os.getloadavg()[0], "warm": len(warm)}
    say(f"{len(photos)} photos, device {info['device']}, {info['cores']} cores")
    runs = []
    for k in range(args.runs):
        tmp = Path(tempfile.mkdtemp(prefix="celebface-speed-"))
        try:
            runs.append(all_rows(photos, prep, known, tmp, args.device, warm))
        finally:
            if args.keep:
                say(f"kept {tmp}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)
    info["load_end"] = os.getloadavg()[0]
    text = render(info, runs)
    args.out.write_text(text + "\n")
    print("\n" + text)
    say(f"wrote {args.out}")


if __name__ == "__main__":
    main()
