"""Photos named by worker processes, each with its own copy of the model and one torch thread.

One process's threads are held back by Python's GIL: on 2 cores two one-thread processes named some 12-15% more
photos a second together than one process with two threads in a side-by-side test. Through the whole pipeline the
gain measured smaller (docs/how/speed.md, bench/speed.md: warm, 2 workers +4%; a whole 363-photo `predict` run 4%
slower, as each worker loads the model first), so it is opt-in: `Recognizer.predict_many(processes=N)`,
`celebface predict --processes N`, for long-running jobs that name many photos.

The workers are joblib's loky processes (joblib comes with scikit-learn): unlike `multiprocessing`'s spawn they
start without importing the caller's `__main__` again, so a script without an `if __name__ == "__main__":` guard
works, and they stay up between calls (idle ones exit after a few minutes), so a second call finds the model loaded.
A worker keeps the model of the last call, loaded as the caller loaded it (folder, device, threshold override,
gallery, identity precision), and at the start of each call brings it up to date with what the caller may have
changed since: a retrained bundle, the gallery's people.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sized

from ..io.images import ImageSource
from ..types import PhotoResult


@dataclass(frozen=True)
class PoolModel:
    """What a worker needs to load the caller's model as the caller has it."""

    kind: type  # the caller's Recognizer class (pickled by reference), called as Recognizer(...) is
    model_dir: str
    device: str
    threshold: Optional[float]
    gallery: Optional[str]
    precision: str

    @classmethod
    def of(cls, rec) -> "PoolModel":
        """The model a Recognizer was loaded with, at the identity precision now in force."""
        from ..runtime import identity_precision

        return cls(type(rec), *rec.load_args, identity_precision())


def pool_size(sources: Iterable[ImageSource], processes: Optional[int]) -> int:
    """Worker processes to name `sources` with: `processes`, never more than a list's photos; 1 (also for None)
    means the caller's own process.

    :param sources: the photos (a list is counted; a lazy iterable is not)
    :param processes: what was asked for (None: 1)"""
    asked = processes or 1
    return min(asked, len(sources)) if isinstance(sources, Sized) else asked


_worker: dict = {}  # in a worker process: "model" (a PoolModel), "rec" (its Recognizer), "call" (the last call's id)


def worker_recognizer(model: PoolModel, call: str):
    """This worker's Recognizer for `model`: loaded on first use with one torch thread; at the first photo of each
    call, the bundle and the gallery are looked at again (another process may have changed them)."""
    from ..runtime import set_identity_precision

    set_identity_precision(model.precision)
    if _worker.get("model") != model:
        import torch

        torch.set_num_threads(1)
        _worker.clear()
        _worker["rec"] = model.kind(Path(model.model_dir), model.device, model.threshold, model.gallery)
        _worker["model"], _worker["call"] = model, call
    rec = _worker["rec"]
    if _worker["call"] != call:
        _worker["call"] = call
        rec.refresh(every=0.0)
        if hasattr(rec.matcher, "refresh"):
            rec.matcher.refresh(force=True)
    return rec


def name_photo(model: PoolModel, call: str, source: ImageSource, annotate_dir: Optional[str] = None) -> PhotoResult:
    """One photo named in a worker (an unreadable photo gives a result with its error); with `annotate_dir`, its
    annotated copy is written there too (recognition.annotate.save_annotated)."""
    rec = worker_recognizer(model, call)
    result, img = rec.read_and_name(source)
    if annotate_dir and img is not None:
        from .annotate import save_annotated

        save_annotated(img, result, Path(annotate_dir))
    return result


def predict_in_processes(rec, sources: Iterable[ImageSource], processes: int,
                         annotate_dir: Optional[Path] = None) -> Iterator[PhotoResult]:
    """One result per photo, in order, named by `processes` worker processes, each loading `rec`'s model once.
    At most 2 x processes photos are handed out ahead of the caller.

    :param rec: the caller's Recognizer (what the workers load and keep in step with)
    :param sources: photos (paths, bytes or arrays), read lazily
    :param processes: worker processes (2 or more)
    :param annotate_dir: a folder for the annotated copies (None: none written)
    """
    from joblib import Parallel, delayed

    model, call = PoolModel.of(rec), uuid.uuid4().hex
    folder = None if annotate_dir is None else str(annotate_dir)
    jobs = (delayed(name_photo)(model, call, source, folder) for source in sources)
    yield from Parallel(n_jobs=processes, backend="loky", return_as="generator", batch_size=1,
                        pre_dispatch="2*n_jobs")(jobs)
