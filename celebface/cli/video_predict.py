"""The video half of `celebface predict`: a timeline per video, a progress bar on stderr, the annotated MP4."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import click


def describe(result) -> str:
    """One line for a video's VideoResult: each person's appearances, then the unknown tracks.

    :param result: a VideoResult.
    """
    from ..errors import printable

    if result.error:
        return printable(f"{result.video}: error: {result.error}")
    parts = [f"{p.name} ({p.confidence:.2f}): " + ", ".join(f"{a.start:.1f}-{a.end:.1f} s" for a in p.appearances)
             for p in result.people]
    if result.unknown_tracks:
        parts.append(f"{result.unknown_tracks} unknown track{'s' if result.unknown_tracks > 1 else ''}")
    if result.short_tracks:
        parts.append(f"{result.short_tracks} face{'s' if result.short_tracks > 1 else ''} seen in one frame only")
    return printable(f"{result.video}: " + ("; ".join(parts) if parts else "no face"))


def _bar(path: Path):
    from ..runtime import progress_bar

    bar = progress_bar(total=1.0, desc=path.name[:30], unit="video", dynamic_ncols=True, leave=False,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}")

    def update(done: float, total: float) -> None:
        bar.n = min(1.0, done / total) if total else 0.0
        bar.set_postfix_str(f"{done:.0f}/{total:.0f} s", refresh=True)

    return bar, update


def predict_videos(rec, videos: Sequence[Path], as_json: bool, annotate_dir: Optional[Path], opts) -> None:
    """Analyse each video in turn and print its timeline (JSON or one line); write annotated copies if asked.

    :param rec: the loaded Recognizer.
    :param videos: video files.
    :param as_json: print one JSON object per video.
    :param annotate_dir: where to write <name>.annotated.mp4 (None: nothing is written).
    :param opts: how videos are analysed (recognition.video.VideoOptions).
    """
    from ..errors import VideoError
    from ..recognition.video import VideoResult, analyse_video

    for path in videos:
        bar, update = _bar(path)
        try:
            result, tracks = analyse_video(rec, path, opts, update, keep_tracks=annotate_dir is not None)
            if annotate_dir is not None and tracks is not None:
                from ..recognition.video_annotate import annotate_video

                bar.set_description_str(f"{path.name[:22]} (annotating)")
                annotate_video(path, tracks, annotate_dir / f"{path.stem}.annotated.mp4", opts.fps, opts.max_side,
                               progress=lambda t: update(t, result.duration or t))
        except VideoError as exc:
            result = VideoResult(video=str(path), fps_sampled=opts.fps, error=str(exc))
        finally:
            bar.close()
        click.echo(result.model_dump_json() if as_json else describe(result))
