"""The gallery commands that need no model weights: people, forget, rename, history, undo (synthetic faces)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from celebface.cli import main
from celebface.gallery import open_gallery
from celebface.gallery.records import NewFace


def empty_model(folder):
    """An empty dlib_face model (what `celebface init` makes), without loading any weights."""
    from celebface.recognition.bundle import save_bundle
    from celebface.recognition.init_model import empty_bundle

    save_bundle(empty_bundle(identity="dlib"), folder)  # 128-d vectors below
    return folder


@pytest.fixture
def model_dir(tmp_path):
    store = open_gallery(empty_model(tmp_path))
    rng = np.random.default_rng(0)
    store.add("Ann", [NewFace(rng.normal(size=128).astype(np.float32)) for _ in range(3)], who="setup")
    store.add("Bob", [NewFace(rng.normal(size=128).astype(np.float32))], who="setup")
    store.close()
    return tmp_path


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_people_lists_names_and_face_counts(model_dir):
    out = run("people", model_dir, "--json")
    assert out.exit_code == 0, out.output
    assert [(p["name"], p["faces"]) for p in json.loads(out.stdout)] == [("Ann", 3), ("Bob", 1)]


def test_forget_rename_history_and_undo(model_dir):
    assert run("forget", model_dir, "Ann").exit_code == 0
    assert run("rename", model_dir, "Bob", "Robert").exit_code == 0
    names = [p["name"] for p in json.loads(run("people", model_dir, "--json").stdout)]
    assert names == ["Robert"]
    hist = json.loads(run("history", model_dir, "--json").stdout)
    assert [h["action"] for h in hist] == ["rename", "forget", "add", "add"]
    assert hist[0]["who"].endswith("(cli)") and hist[-1]["who"] == "setup"
    assert run("undo", model_dir).exit_code == 0
    assert run("undo", model_dir).exit_code == 0
    after = json.loads(run("people", model_dir, "--json").stdout)
    assert [(p["name"], p["faces"]) for p in after] == [("Ann", 3), ("Bob", 1)]


@pytest.mark.parametrize("args, message", [
    (("forget", "{m}", "Zed"), "no person named 'Zed'"),
    (("rename", "{m}", "Ann", "Bob"), "already in the gallery"),
    (("rename", "{m}", "Ann", "a/b"), "slash"),
    (("rename", "{m}", "Ann", "unknown"), "reserved"),
])
def test_bad_changes_are_one_line_errors_with_exit_2(model_dir, args, message):
    out = run(*[a.format(m=model_dir) for a in args])
    assert out.exit_code == 2
    assert message in out.output and len(out.output.strip().splitlines()) == 1
    assert [p.faces for p in open_gallery(model_dir).people()] == [3, 1]


def test_a_damaged_gallery_is_a_one_line_error(tmp_path):
    (empty_model(tmp_path) / "gallery.db").write_bytes(b"garbage" * 500)
    out = run("people", tmp_path)
    assert out.exit_code == 2 and "damaged" in out.output


@pytest.mark.parametrize("args", [("people", "{d}"), ("history", "{d}"), ("forget", "{d}", "Ann"), ("undo", "{d}"),
                                  ("rename", "{d}", "Ann", "Bob"),
                                  ("cluster", "--archive", "{d}", "--out", "{d}/clusters")])
def test_a_folder_that_is_not_a_model_is_refused_and_left_untouched(tmp_path, args):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a model")
    out = run(*[a.format(d=folder) for a in args])
    assert out.exit_code == 2, out.output
    assert "not a celebface model folder" in out.output and len(out.output.strip().splitlines()) == 1
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]  # no gallery.db, no clusters


def test_rename_to_the_same_name_is_refused_and_not_recorded(model_dir):
    out = run("rename", model_dir, "Bob", "Bob")
    assert out.exit_code == 2 and "nothing was changed" in out.output
    assert [h["action"] for h in json.loads(run("history", model_dir, "--json").stdout)] == ["add", "add"]
    assert run("undo", model_dir).exit_code == 0  # takes back adding Bob, not a no-op
    assert [p["name"] for p in json.loads(run("people", model_dir, "--json").stdout)] == ["Ann"]


def test_undo_gets_past_a_no_op_rename_recorded_before(model_dir):
    """Galleries written before the fix may hold a recorded `rename Bob Bob`: undo takes it back, then goes on."""
    import sqlite3

    db = sqlite3.connect(model_dir / "gallery.db")
    pid = db.execute("SELECT id FROM people WHERE name = 'Bob'").fetchone()[0]
    db.execute("INSERT INTO history (at, who, action, name, summary, undo) VALUES (0, 'old', 'rename', 'Bob', "
               "'renamed Bob to Bob', ?)", (json.dumps({"person": pid, "old": "Bob", "new": "Bob"}),))
    db.commit()
    db.close()
    first = run("undo", model_dir)
    assert first.exit_code == 0, first.output
    second = run("undo", model_dir)
    assert second.exit_code == 0 and "add Bob" in second.output, second.output
    assert [p["name"] for p in json.loads(run("people", model_dir, "--json").stdout)] == ["Ann"]


def test_the_message_after_undo_promises_no_undo(model_dir):
    out = run("undo", model_dir)
    assert out.exit_code == 0 and "undid change" in out.output
    assert "undo" not in out.output.replace("undid", "").split("(change")[1]


@pytest.mark.parametrize("args", [("rename", "{m}", "Ann", "x\x1b[31mRED\x07"), ("forget", "{m}", "x\x1b]0;t\x07"),
                                  ("rename", "{m}", "Ann", "n" * 10_000)])
def test_error_lines_escape_names_and_cut_them_short(model_dir, args):
    out = run(*[a.format(m=model_dir) for a in args])
    assert out.exit_code == 2
    assert "\x1b" not in out.output and "\x07" not in out.output
    assert len(out.output.strip().splitlines()) == 1 and len(out.output) < 400


def test_error_lines_escape_paths(tmp_path):
    bad = tmp_path / "a\x1b[2Jb.jpg"
    bad.write_bytes(b"not a photo")
    out = run("compare", bad, bad)
    assert out.exit_code == 2 and "\\x1b[2Jb.jpg" in out.output and "\x1b" not in out.output


def test_enroll_error_line_escapes_the_name(tmp_path):
    """`enroll --name $'x\\x1b[31mRED\\x07'` printed the escape sequence raw in front of the error."""
    from PIL import Image

    model = empty_model(tmp_path / "m")
    Image.new("RGB", (64, 64), "white").save(tmp_path / "blank.png")
    out = run("enroll", model, tmp_path / "blank.png", "--name", "x\x1b[31mRED\x07")
    assert out.exit_code == 2  # (click drops "\x1b[..m" styles when not on a terminal; BEL it keeps)
    assert "\x07" not in out.output and out.output.startswith("error: x\\x1b[31mRED\\x07: ")
