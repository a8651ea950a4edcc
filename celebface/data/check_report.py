"""The files `celebface check` writes: report.json and a self-contained report.html (thumbnails inline)."""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .check_models import CheckReport

#: Thumbnails are at most this many pixels on their longer side.
THUMB = 140
#: At most this many entries per section are drawn in the HTML (report.json lists them all).
MAX_ROWS = 200

_STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h2{margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
.row{display:flex;gap:10px;align-items:flex-start;margin:6px 0;padding:6px;border-bottom:1px solid #eee}
figure{margin:0;font-size:11px;max-width:150px;word-break:break-all}img{display:block;max-width:140px}
.note{color:#666}"""


def thumbnail(path: Path) -> str:
    """A small JPEG of a photo as a data: URI ("" when the photo cannot be read).

    :param path: the photo.
    """
    from ..errors import ImageError
    from ..io.images import load_image

    try:
        img = load_image(path)
    except ImageError:
        return ""
    img.thumbnail((THUMB, THUMB))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def _figure(data_dir: Path, file: str, caption: str = "") -> str:
    uri = thumbnail(data_dir / file)
    img = f'<img src="{uri}" alt="">' if uri else '<div class="note">(unreadable)</div>'
    return f"<figure>{img}<figcaption>{html.escape(file)}<br>{html.escape(caption)}</figcaption></figure>"


def _section(title: str, note: str, items: Sequence, row: Callable[[Any], str]) -> str:
    """A section listing `items`; only the first MAX_ROWS are drawn (thumbnails are made for those only)."""
    more = (f'<p class="note">... and {len(items) - MAX_ROWS} more (see report.json)</p>'
            if len(items) > MAX_ROWS else "")
    body = "".join(row(i) for i in items[:MAX_ROWS]) if items else '<p class="note">none found</p>'
    return f"<h2>{html.escape(title)} ({len(items)})</h2><p class='note'>{html.escape(note)}</p>{body}{more}"


def _group_row(g, fig: Callable[..., str]) -> str:
    return (f'<div class="row">{"".join(fig(f) for f in g.files)}<div class="note">'
            f'{"exact copies" if g.exact else "near-duplicates"}; {", ".join(g.people)}; '
            f'{"; ".join(f"{p.how} {p.distance:g}" for p in g.pairs)}</div></div>')


def _mislabel_row(m, fig: Callable[..., str]) -> str:
    return (f'<div class="row">{fig(m.file, f"in {m.person}, distance {m.distance_own:.3f}")}<div class="note">'
            + (f"closer to {html.escape(m.best_other)} ({m.distance_other:.3f})" if m.best_other
               else "matches no other person") + "</div></div>")


def _sections(report: "CheckReport", data_dir: Path) -> Iterable[str]:
    fig = lambda f, c="": _figure(data_dir, f, c)  # noqa: E731
    yield _section("Unreadable files", "skipped by prepare", report.unreadable,
                   lambda i: f'<div class="row">{html.escape(i.file)}: {html.escape(i.detail)}</div>')
    yield _section("No face found", "skipped by prepare", report.no_face,
                   lambda i: f'<div class="row">{fig(i.file)}</div>')
    yield _section("Several faces", "prepare picks the face that matches the person's other photos",
                   report.several_faces, lambda i: f'<div class="row">{fig(i.file, i.detail)}</div>')
    yield _section("Exact and near-duplicate photos", "kept on one side of the split by prepare; side by side",
                   report.duplicate_groups, lambda g: _group_row(g, fig))
    yield _section("Likely mislabelled", "the face does not match the rest of its folder", report.mislabelled,
                   lambda m: _mislabel_row(m, fig))
    yield _section("Tiny faces", f"face narrower than {report.settings['tiny_face_px']:g} px", report.tiny_faces,
                   lambda t: f'<div class="row">{fig(t.file, f"{t.face_px} px")}</div>')
    yield _section("Classes too small to split", "fewer than 2 distinct photos with a face", report.too_small,
                   lambda p: f'<div class="row">{html.escape(p)}</div>')


def render_html(report: "CheckReport", data_dir: Path) -> str:
    """The whole report page as one string (no external files or network).

    :param report: the CheckReport.
    :param data_dir: the data set, to draw thumbnails from.
    """
    counts = "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in report.counts().items())
    people = "".join(f"<tr><td>{html.escape(p)}</td><td>{c.photos}</td><td>{c.usable}</td><td>{c.distinct}</td></tr>"
                     for p, c in report.people.items())
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>celebface check</title>"
            f"<style>{_STYLE}</style></head><body><h1>celebface check: {html.escape(report.data_dir)}</h1>"
            f"<p class='note'>{report.seconds:.1f} s</p><table>{counts}</table><h2>Photos per person</h2>"
            f"<table><tr><th>person</th><th>photos</th><th>with a face</th><th>distinct</th></tr>{people}</table>"
            + "".join(_sections(report, data_dir)) + "</body></html>")


def write_report(report: "CheckReport", data_dir: Path, out_dir: Path) -> None:
    """Write OUT_DIR/report.json and OUT_DIR/report.html (each atomically).

    :param report: the CheckReport.
    :param data_dir: the data set (thumbnails).
    :param out_dir: the report folder.
    """
    from ..io.fileio import atomic_open

    with atomic_open(out_dir / "report.json") as f:
        f.write(report.model_dump_json(indent=1))
    with atomic_open(out_dir / "report.html") as f:
        f.write(render_html(report, data_dir))
