"""Photo records are typed, and round-trip through the manifest's JSON lines unchanged."""
from __future__ import annotations

import json
from pathlib import Path

from celebface.data.manifest import FaceCrop, PhotoRecord, read_records


def record() -> PhotoRecord:
    faces = [FaceCrop([1.0, 2.0, 30.0, 40.0], 0.99, [[5.0, 6.0]] * 5, "faces/Ada/a_f0.jpg"),
             FaceCrop([50.0, 2.0, 80.0, 40.0], 0.95, [], "faces/Ada/a_f1.jpg")]
    return PhotoRecord("Ada/a.jpg", "Ada", 1234, 99, "m0.2-s224-d800-p0.9", "several_faces", None, 100, 50, faces,
                       n_faces=2, chosen=1, chosen_by="embedding", match_distance=0.05)


def test_chosen_face_and_crop() -> None:
    r = record()
    assert r.chosen_face is r.faces[1] and r.chosen_crop == "faces/Ada/a_f1.jpg"
    assert PhotoRecord("x", "Ada", 1, 1, "k").chosen_crop is None


def test_round_trip_through_jsonl(tmp_path: Path) -> None:
    r = record()
    path = tmp_path / "manifest.jsonl"
    path.write_text(json.dumps(r.to_dict()) + "\n" + "{broken\n" + json.dumps({"no": "file"}) + "\n")
    back = read_records(path)
    assert list(back) == ["Ada/a.jpg"] and back["Ada/a.jpg"] == r
    d = r.to_dict()
    assert d["faces"][1]["crop"] == "faces/Ada/a_f1.jpg" and d["chosen"] == 1 and d["faces"][0]["prob"] == 0.99
