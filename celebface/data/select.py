"""Step 2 of `prepare`: in photos with several faces, pick the face that matches the person's other photos.

Each candidate face is compared (dlib face embeddings) with the main faces of the person's other photos; the
candidate with the smallest median distance wins. A photo whose best face is still far from the person's
faces is flagged as likely mislabelled (`suspect`), listed, and left out of the dataset unless asked.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from .embedding_cache import cached_embeddings
from .manifest import PhotoRecord

#: Median cosine distance above which a photo's best face is taken not to be the labelled person.
SUSPECT_DISTANCE = 0.16


def choose_faces(records: list[PhotoRecord], work_dir: Path, suspect_distance: float = SUSPECT_DISTANCE,
                 progress: bool = True) -> None:
    """Set `chosen`, `chosen_by`, `match_distance` and `suspect` on each usable record, in place."""
    usable = [r for r in records if r.faces]
    crops = [f.crop for r in usable for f in r.faces]
    emb = dict(zip(crops, cached_embeddings(work_dir, crops, progress, desc="choosing faces")))
    by_person: dict[str, list[PhotoRecord]] = defaultdict(list)
    for r in usable:
        by_person[r.person].append(r)
    for person, recs in by_person.items():
        # Reference faces: main faces of single-face photos (the reliable ones), else every photo's main face.
        refs = [r for r in recs if len(r.faces) == 1]
        if len(refs) < 3:
            refs = recs
        ref_files = [r.file for r in refs]
        ref_vecs = np.stack([emb[r.faces[0].crop] for r in refs])
        for r in recs:
            others = np.array([f != r.file for f in ref_files])
            if not others.any():  # the person's only photo: nothing to compare with
                r.chosen, r.chosen_by, r.match_distance, r.suspect = 0, "main_face", None, False
                continue
            cand = np.stack([emb[f.crop] for f in r.faces])
            dist = 1.0 - cand @ ref_vecs[others].T  # cosine distance to each reference face
            med = np.median(dist, axis=1)
            best = int(np.argmin(med))
            r.chosen, r.chosen_by = best, "embedding"
            r.match_distance = round(float(med[best]), 4)
            r.suspect = bool(med[best] > suspect_distance)
