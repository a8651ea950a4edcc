"""People from a stream of photos: incremental grouping (celebface/gallery/grouping.py) against a full regroup and
an Immich-style baseline, and whether the user's corrections survive later runs. Writes bench/people.md.

The one-face and multi-face photos of glint12, sports5 and celeb5 (their faces detected and embedded once, cached:
bench/people_faces.py) are streamed in a seeded random order, 50 photos a batch, into a SQLite gallery as
`index --add-to-gallery` stores them, each batch followed by one grouping run. A photo's folder names its main face
only; its other faces are scored nowhere but count for same-photo violations.

Each identity (default: dlib+faceres, what new galleries use, and dlib) gets its own section; grids and defaults
are dlib-measured distances carried to the identity's vectors at the same false-accept rate
(gallery/grouping.settings_for), so "0.08" means as strict for every identity.

Run: OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 PYTHONPATH=. python bench/people.py [--identities dlib+faceres dlib]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from people_faces import SETS, BenchFaces, load  # noqa: E402

from celebface.data.clustering import score_clusters  # noqa: E402
from celebface.faces.identity_stats import same_strictness  # noqa: E402
from celebface.gallery.grouping import GroupingSettings, group_faces, group_gallery, settings_for  # noqa: E402
from celebface.gallery.people import Assignment, GalleryFaces, photo_key  # noqa: E402

SEED = 0
BATCH = 50
HELD_BACK = 3  # batches streamed after the simulated corrections
CORRECTIONS = 20
GRID = (0.06, 0.07, 0.08, 0.09, 0.10)  # dlib distances, carried to each identity
IMMICH_GRID = (0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12)
IDENTITIES = ("dlib+sface", "dlib+faceres", "dlib")


def carried(distances: tuple[float, ...], identity: str) -> tuple[float, ...]:
    """dlib distances carried to `identity`'s vectors at the same false-accept rate."""
    return tuple(round(same_strictness(d, "dlib", identity), 4) for d in distances)
OUT = Path(__file__).resolve().parent / "people.md"


@dataclass
class Stream:
    """Unique faces (one per sighting key) of the chosen photos, and the photo batches in stream order."""
    keys: list[tuple[str, int]]
    photo: np.ndarray  # photo key per face
    truth: np.ndarray  # "set/person" for the face of a one-face photo, "" for the faces of other photos
    dataset: np.ndarray
    vecs: np.ndarray
    batches: list[list[int]]  # face indices per batch
    folder: np.ndarray  # "set/person" for every photo's main face (the folder's person, assumed), "" for the others


def make_stream(f: BenchFaces, sets: tuple[str, ...], seed: int = SEED) -> Stream:
    """The faces of `sets` in batches of BATCH photos, photos in a seeded random order (copies of one photo once)."""
    seen: dict[tuple[str, int], int] = {}
    rows = []
    for i in np.nonzero(np.isin(f.dataset, sets))[0]:
        key = (str(f.sha256[i]), int(f.face[i]))
        if key not in seen:
            seen[key] = len(rows)
            rows.append(i)
    rows = np.array(rows)
    shas = sorted({str(s) for s in f.sha256[rows]})
    order = np.random.default_rng(seed).permutation(len(shas))
    batches: list[list[int]] = []
    by_sha: dict[str, list[int]] = {}
    for j, i in enumerate(rows):
        by_sha.setdefault(str(f.sha256[i]), []).append(j)
    for b in range(0, len(order), BATCH):
        batches.append([j for k in order[b:b + BATCH] for j in by_sha[shas[k]]])
    folder = np.where(f.face[rows] == 0, np.char.add(np.char.add(f.dataset[rows].astype(str), "/"),
                                                     f.person[rows].astype(str)), "")
    faces_of = {sha: len(js) for sha, js in by_sha.items()}
    single = np.array([faces_of[str(sha)] == 1 for sha in f.sha256[rows]])
    return Stream([(str(f.sha256[i]), int(f.face[i])) for i in rows], np.array([photo_key(s, -1) for s in
                  f.sha256[rows]], object), np.where(single, folder, ""), f.dataset[rows],
                  f.vecs[rows].astype(np.float32), batches, folder)


# --- scoring -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f: float
    joined: int  # clusters holding >= 3 faces of each of two true people
    violations: int  # pairs of faces of one photo in one person
    people: int
    left_out: int
    folder_f: float  # BCubed F of the main faces of multi-face photos, taken to be the folder's person


def score(s: Stream, person: np.ndarray, only: np.ndarray) -> Scores:
    """Scores of an assignment (person per face, -1 nobody) on the faces `only` (bool) with a true person (those of
    one-face photos); same-photo violations over all of `only`; and F on the multi-face photos' main faces."""
    scored = only & (s.truth != "")
    sc = score_clusters(s.truth[scored], person[scored])
    joined = 0
    for p in np.unique(person[scored & (person >= 0)]):
        _, counts = np.unique(s.truth[scored & (person == p)], return_counts=True)
        joined += int((counts >= 3).sum() >= 2)
    violations = 0
    mine = only & (person >= 0)
    pairs = list(zip(s.photo[mine], person[mine]))
    violations = len(pairs) - len(set(pairs))
    multi = only & (s.truth == "") & (s.folder != "")
    folder_f = score_clusters(s.folder[multi], person[multi]).bcubed_f if multi.any() else float("nan")
    return Scores(sc.bcubed_precision, sc.bcubed_recall, sc.bcubed_f, joined, violations, sc.clusters,
                  sc.left_out, folder_f)


# --- in-memory runs (tuning), the same functions the gallery runs ---------------------------------------------------
def empty_faces(dim: int) -> GalleryFaces:
    return GalleryFaces(np.zeros(0, np.int64), np.zeros(0, object), np.zeros(0, np.int64), np.zeros(0, bool),
                        np.zeros((0, dim), np.float32), np.zeros(0, np.int64), np.zeros((0, dim), np.float32),
                        set(), set(), {})


def add_faces(g: GalleryFaces, s: Stream, idx: list[int]) -> GalleryFaces:
    return replace(g, ids=np.concatenate([g.ids, np.array(idx, np.int64)]),
                   photos=np.concatenate([g.photos, s.photo[idx]]),
                   person=np.concatenate([g.person, np.full(len(idx), -1, np.int64)]),
                   pinned=np.concatenate([g.pinned, np.zeros(len(idx), bool)]),
                   vecs=np.concatenate([g.vecs, s.vecs[idx]]))


def apply(g: GalleryFaces, a: Assignment) -> GalleryFaces:
    """What PeopleSql.apply_assignment writes, in memory (face ids are stream indices; new people numbered on)."""
    person = g.person.copy()
    pos = {int(i): k for k, i in enumerate(g.ids)}
    for sid in a.unassign:
        person[pos[sid]] = -1
    for sid, pid in a.to_people.items():
        person[pos[sid]] = pid
    nxt = max(g.named, default=0) + 1
    named = dict(g.named)
    for grp in a.new_people:
        person[[pos[sid] for sid in grp]] = nxt
        named[nxt] = False
        nxt += 1
    return replace(g, person=person, named=named)


def run_memory(s: Stream, settings: GroupingSettings) -> np.ndarray:
    """Stream every batch through grouping in memory; the person of each face of the stream."""
    g = empty_faces(s.vecs.shape[1])
    for batch in s.batches:
        g = add_faces(g, s, batch)
        g = apply(g, group_faces(g, settings))
    out = np.full(len(s.keys), -1, np.int64)
    out[g.ids] = g.person
    return out


def tune(f: BenchFaces, sets: tuple[str, ...], grid: tuple[float, ...]) -> tuple[GroupingSettings, float]:
    """The grid's settings with the best mean BCubed F over the streams of `sets`, each streamed alone."""
    best = (GroupingSettings(), -1.0)
    streams = [make_stream(f, (ds,)) for ds in sets]
    for a in grid:
        for c in grid:
            st = GroupingSettings(attach_distance=a, cluster_distance=c)
            fs = [score(sub, run_memory(sub, st), np.ones(len(sub.keys), bool)).f for sub in streams]
            if np.mean(fs) > best[1]:
                best = (st, float(np.mean(fs)))
    return best


def immich(s: Stream, distance: float, min_faces: int = 3) -> np.ndarray:
    """Immich's rule, batch by batch: a face takes the person of its nearest face with a person within `distance`;
    else, with at least min_faces faces (itself included) within `distance`, it starts a new person; else it waits
    for a later batch."""
    person = np.full(len(s.keys), -1, np.int64)
    seen: list[int] = []
    waiting: list[int] = []
    nxt = 0
    for batch in s.batches:
        seen += batch
        arr = np.array(seen)
        vecs = s.vecs[arr]
        still = []
        for i in waiting + batch:
            d = 1.0 - vecs @ s.vecs[i]
            near = (d <= distance) & (arr != i)
            owned = near & (person[arr] >= 0)
            if owned.any():
                person[i] = person[arr[owned][np.argmin(d[owned])]]
            elif near.sum() + 1 >= min_faces:
                person[i], nxt = nxt, nxt + 1
            else:
                still.append(i)
        waiting = still
    return person


# --- the gallery runs (SQLite, the code `celebface person group` runs) -------------------------------------------
class GalleryRun:
    """A SQLite gallery fed batch by batch, grouped after each."""

    def __init__(self, s: Stream, folder: Path, settings: GroupingSettings, identity: str) -> None:
        from celebface.gallery import open_gallery

        self.s, self.settings = s, settings
        folder.mkdir(parents=True, exist_ok=True)
        self.store = open_gallery(folder, identity=identity)
        self.index = {k: j for j, k in enumerate(s.keys)}
        self.sid: dict[int, int] = {}  # stream index -> sighting id
        self.seconds: list[float] = []

    def add(self, batch: list[int], group: bool = True, full: bool = False) -> None:
        from celebface.gallery.sightings import Sighting

        rows = [Sighting(self.s.keys[j][0], f"photo-{self.s.keys[j][0][:12]}", None, self.s.keys[j][1], None, None,
                         None, None) for j in batch]
        self.store.add_sightings(rows, self.s.vecs[batch])
        for rows_, _ in self.store.iter_sightings():
            self.sid.update({self.index[(r.sha256, r.face)]: int(r.id) for r in rows_})
        if group:
            t = time.perf_counter()
            group_gallery(self.store, full=full, settings=self.settings, who="bench")
            self.seconds.append(time.perf_counter() - t)

    def people(self) -> np.ndarray:
        """The person of each face of the stream (-1: nobody, or not added yet)."""
        g = self.store.gallery_faces()
        by_id = dict(zip(g.ids.tolist(), g.person.tolist()))
        out = np.full(len(self.s.keys), -1, np.int64)
        for j, sid in self.sid.items():
            out[j] = by_id.get(sid, -1)
        return out


# --- simulated corrections -----------------------------------------------------------------------------------------
@dataclass
class Correction:
    """One user correction and the faces (stream indices) it is about."""
    kind: str  # move | not | merge | split
    faces: list[int]
    person: int = -1  # move: the target; not: the person; merge: kept; split: the person split
    other: int = -1  # merge: the person merged in
    rest: tuple[int, ...] = ()  # split: the faces that stay


def _majority(s: Stream, person: np.ndarray) -> dict[int, tuple[str, np.ndarray]]:
    """Each person's most common true person and their scored faces."""
    out = {}
    for p in np.unique(person[person >= 0]):
        faces = np.nonzero((person == p) & (s.truth != ""))[0]
        if len(faces):
            vals, counts = np.unique(s.truth[faces], return_counts=True)
            out[int(p)] = (str(vals[np.argmax(counts)]), faces)
    return out


def candidates(s: Stream, person: np.ndarray, added: np.ndarray) -> list[Correction]:
    """Corrections a user could make of the remaining errors."""
    major = _majority(s, person)
    home = {}
    for p, (t, faces) in sorted(major.items(), key=lambda kv: -len(kv[1][1])):
        home.setdefault(t, p)
    out: list[Correction] = []
    for p, (t, faces) in major.items():
        wrong = faces[s.truth[faces] != t]
        vals, counts = np.unique(s.truth[wrong], return_counts=True)
        for v, c in zip(vals, counts):
            mine = [int(j) for j in wrong[s.truth[wrong] == v]]
            if c >= 3:
                out.append(Correction("split", mine, p, rest=tuple(int(j) for j in np.nonzero(person == p)[0]
                                                                     if j not in mine)))
            else:
                out += [Correction("move", [j], home[v]) if v in home and home[v] != p else
                        Correction("not", [j], p) for j in mine]
        if home[t] != p:
            out.append(Correction("merge", [int(j) for j in np.nonzero(person == p)[0]], home[t], p))
    left = np.nonzero(added & (person < 0) & (s.truth != ""))[0]
    out += [Correction("move", [int(j)], home[str(s.truth[j])]) for j in left if str(s.truth[j]) in home]
    return out


def apply_correction(run: GalleryRun, c: Correction) -> bool:
    """Make the correction through the gallery's API; False when an earlier one made it moot."""
    from celebface.errors import GalleryError

    st, sid = run.store, [run.sid[j] for j in c.faces]
    try:
        if c.kind == "move":
            st.move_faces(sid, c.person, who="bench")
        elif c.kind == "not":
            st.not_person(sid, c.person, who="bench")
        elif c.kind == "merge":
            st.merge_people(c.person, c.other, who="bench")
            c.faces = [int(j) for j in np.nonzero(run.people() == c.person)[0]]
        else:
            st.split_person(c.person, sid, who="bench")
    except GalleryError:
        return False
    return True


def undone(c: Correction, person: np.ndarray) -> bool:
    """Whether the people no longer show the correction."""
    p = person[c.faces]
    if c.kind == "move":
        return bool(p[0] != c.person)
    if c.kind == "not":
        return bool(p[0] == c.person)
    if c.kind == "merge":
        return len(set(p.tolist())) != 1
    rest = person[list(c.rest)]
    return len(set(p.tolist())) != 1 or len(set(rest.tolist())) != 1 or p[0] == rest[0]


def simulate_user(run: GalleryRun, held: list[list[int]], rng: np.random.Generator) -> tuple[int, int, dict]:
    """CORRECTIONS corrections drawn from the remaining errors, then the held-back batches; returns (made, undone,
    made by kind)."""
    added = np.zeros(len(run.s.keys), bool)
    added[list(run.sid)] = True
    made: list[Correction] = []
    for _ in range(200):
        if len(made) == CORRECTIONS:
            break
        pool = candidates(run.s, run.people(), added)
        if not pool:
            break
        c = pool[int(rng.integers(len(pool)))]
        if apply_correction(run, c):
            made.append(c)
    before = run.people()
    standing = [c for c in made if not undone(c, before)]  # a later correction may change an earlier one's faces
    for batch in held:
        run.add(batch)
    person = run.people()
    kinds: dict[str, int] = {}
    for c in standing:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    return len(standing), sum(undone(c, person) for c in standing), kinds


# --- the report ----------------------------------------------------------------------------------------------------
def _row(name: str, sc: Scores) -> str:
    return (f"| {name} | {sc.precision:.3f} | {sc.recall:.3f} | {sc.f:.3f} | {sc.joined} | {sc.violations} | "
            f"{sc.people} | {sc.left_out} | {'-' if sc.folder_f != sc.folder_f else f'{sc.folder_f:.3f}'} |")


HEAD = ["| run | BCubed P | BCubed R | BCubed F | clusters joining 2 people | same-photo violations | people | "
        "faces left out | F, multi-face photos' main faces as the folder's person |", "|---|---|---|---|---|---|---|---|---|"]


def generalisation(f: BenchFaces, identity: str) -> tuple[list[str], dict[str, float]]:
    """Each set streamed alone with the settings tuned on the other two; (lines, F per set)."""
    grid = carried(GRID, identity)
    lines = [f"### {identity}: each set with settings tuned on the other two sets (in memory, the same grouping "
             "functions)", "", f"Grid: attach_distance x cluster_distance in {grid} (dlib's {GRID} carried).",
             ""] + HEAD
    per_set = {}
    for ds in SETS:
        settings, f_other = tune(f, tuple(x for x in SETS if x != ds), grid)
        s = make_stream(f, (ds,))
        sc = score(s, run_memory(s, settings), np.ones(len(s.keys), bool))
        per_set[ds] = sc.f
        lines.append(_row(f"{ds} (attach {settings.attach_distance}, cluster {settings.cluster_distance}; "
                          f"F {f_other:.3f} on the other two)", sc))
        print(lines[-1], flush=True)
    return lines + [""], per_set


def streamed(s: Stream, identity: str, work: Path) -> tuple[list[str], GalleryRun, np.ndarray, dict[str, Scores]]:
    """The incremental run, the full regroup and Immich's rule over the main batches; (lines, the run, added, their
    scores)."""
    settings = settings_for(identity)
    main_batches = s.batches[:-HELD_BACK]
    run = GalleryRun(s, work / "incremental", settings, identity)
    for b in main_batches:
        run.add(b)
    added = np.zeros(len(s.keys), bool)
    added[[j for b in main_batches for j in b]] = True
    inc = run.people()
    full = GalleryRun(s, work / "full", settings, identity)
    full.add([j for b in main_batches for j in b], full=True)
    lines = [f"### {identity}: after {len(main_batches)} batches (SQLite gallery, one grouping run per batch)", "",
             f"Default settings for {identity}: {settings}.", ""] + HEAD
    scores = {"incremental": score(s, inc, added), "full": score(s, full.people(), added)}
    lines.append(_row("incremental, all sets", scores["incremental"]))
    for ds in SETS:
        lines.append(_row(f"incremental, {ds}", score(s, inc, added & (s.dataset == ds))))
    lines.append(_row("full regroup of everything at once", scores["full"]))
    sub = replace(s, batches=main_batches)
    grid = carried(IMMICH_GRID, identity)
    best = max(((d, score(s, immich(sub, d), added)) for d in grid), key=lambda t: t[1].f)
    lines.append(_row(f"Immich rule, distance {best[0]} (best of {grid} on this data)", best[1]))
    scores["immich"] = best[1]
    lines += ["", f"Grouping run time per batch (SQLite, 2 shared cores): median {np.median(run.seconds):.2f} s, "
                  f"max {max(run.seconds):.2f} s.", ""]
    print("\n".join(lines), flush=True)
    return lines, run, added, scores


def report(identity: str) -> list[str]:
    """The page's section for one identity."""
    f = load(identity)
    s = make_stream(f, SETS)
    held = s.batches[-HELD_BACK:]
    lines = [f"## {identity} vectors", "",
             f"{len(s.keys)} faces of {len(set(s.photo.tolist()))} photos of {', '.join(SETS)}; batches of {BATCH} "
             f"photos in a random order (seed {SEED}). Scored: the {int((s.truth != '').sum())} faces of one-face "
             "photos, whose person the folder names for certain; the main faces of the "
             f"{int(((s.truth == '') & (s.folder != '')).sum())} multi-face photos are scored apart (last column): "
             "the folder names someone in the photo, not which face (`celebface prepare` lists the multi-face photos "
             "where another face than the main one is the folder's person).", ""]
    more, run, added, scores = streamed(s, identity, Path(tempfile.mkdtemp(prefix="celebface-bench-people-")))
    lines += more
    made, back, kinds = simulate_user(run, held, np.random.default_rng(SEED))
    added[[j for b in held for j in b]] = True
    lines += [f"### {identity}: {made} simulated corrections ({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}"
              f"), then {len(held)} more batches", "", f"Corrections undone by later runs: {back} of {made}.", ""]
    lines += HEAD + [_row("incremental after the corrections and the last batches", score(s, run.people(), added)), ""]
    more, per_set = generalisation(f, identity)
    return lines + more + goals(identity, scores, per_set, back)


def goals(identity: str, scores: dict[str, Scores], per_set: dict[str, float], undone_: int) -> list[str]:
    """Issue 35's goals against this identity's figures above."""
    inc, full, imm = scores["incremental"], scores["full"], scores["immich"]
    rows = [("BCubed F >= 0.95 on each set, settings tuned on the other two",
             ", ".join(f"{ds} {v:.3f}" for ds, v in per_set.items()), min(per_set.values()) >= 0.95),
            ("incremental F >= full regroup's - 0.01", f"{inc.f:.3f} vs {full.f:.3f}", inc.f >= full.f - 0.01),
            ("incremental F >= Immich rule's + 0.03", f"{inc.f:.3f} vs {imm.f:.3f}", inc.f >= imm.f + 0.03),
            ("same-photo violations 0", str(inc.violations), inc.violations == 0),
            ("corrections undone 0", str(undone_), undone_ == 0)]
    return ([f"### {identity}: issue 35's goals", "", "| goal | measured | met |", "|---|---|---|"]
            + [f"| {g} | {m} | {'yes' if ok else 'no'} |" for g, m, ok in rows] + [""])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--identities", nargs="+", default=list(IDENTITIES))
    args = ap.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    lines = ["# People from a stream of photos (bench/people.py)", "",
             "> **Measures**: people from a stream of photos: incremental grouping against a full regroup and Immich's "
             "rule, corrections kept, for each identity. **Command**: `OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 "
             f"python bench/people.py --identities {' '.join(args.identities)}`. **Commit**: {commit} "
             f"({time.strftime('%Y-%m-%d')}).", ""]
    for identity in args.identities:
        lines += report(identity)
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
