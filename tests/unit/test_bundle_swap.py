"""A model folder is never lost or half-written: versioned bundles, an atomic `current` link, kill -9 at every
rename point, folders that are not models refused, damaged configs refused with one clear error."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from celebface.errors import BundleError
from celebface.recognition.bundle import KEEP_VERSIONS, bundle_dir, load_bundle, save_bundle
from conftest import tiny_bundle

def save_killed_at(model: Path, kill_at: int) -> tuple[int, int]:
    """Save a 3-person bundle in a forked child that dies (os._exit(9), as kill -9: no cleanup, no finally) at
    its `kill_at`-th os.rename/os.replace; returns (exit status, renames the child made)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        calls = [0]
        for name in ("rename", "replace"):
            real = getattr(os, name)

            def hooked(*a, _real=real, **k):
                calls[0] += 1
                if calls[0] == kill_at:
                    os._exit(9)
                return _real(*a, **k)

            setattr(os, name, hooked)
        save_bundle(tiny_bundle(("Ada", "Bob", "Cy")), model)
        os.write(write, str(calls[0]).encode())
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read) as f:
        made = f.read()
    return os.waitstatus_to_exitcode(status), int(made or 0)


def test_kill_at_every_rename_point_leaves_a_loadable_model(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    save_bundle(tiny_bundle(), probe)
    code, renames = save_killed_at(probe, 10_000)
    assert code == 0 and renames >= 4  # the files' own atomic writes, the version folder, the `current` link
    for k in range(1, renames + 1):
        model = tmp_path / f"m{k}"
        save_bundle(tiny_bundle(), model)
        assert save_killed_at(model, k)[0] == 9
        b = load_bundle(model)  # the old model or the new one, complete
        assert b.classes in (["Ada", "Bob"], ["Ada", "Bob", "Cy"]), k
        assert b.gallery.shape[0] == 4 * len(b.classes)
        save_bundle(tiny_bundle(("Ada", "Bob", "Dee")), model)  # the next writer recovers and cleans up
        assert load_bundle(model).classes == ["Ada", "Bob", "Dee"]
        assert not list((model / "versions").glob(".new.*"))


def test_versions_are_kept_and_pruned(tmp_path: Path) -> None:
    model = tmp_path / "m"
    for i in range(KEEP_VERSIONS + 2):
        name = save_bundle(tiny_bundle(seed=i), model)
    assert (model / "current").is_symlink() and os.readlink(model / "current") == f"versions/{name}"
    kept = sorted(p.name for p in (model / "versions").iterdir())
    assert len(kept) == KEEP_VERSIONS and kept[-1] == name
    assert load_bundle(model).version == name


def test_a_folder_that_is_not_a_model_is_never_written(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "holiday.jpg").write_bytes(b"precious")
    with pytest.raises(BundleError, match="not a celebface model"):
        save_bundle(tiny_bundle(), photos)
    assert [p.name for p in photos.iterdir()] == ["holiday.jpg"]
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(BundleError, match="file"):
        save_bundle(tiny_bundle(), afile)


def test_first_layout_loads_and_is_converted_without_loss(tmp_path: Path) -> None:
    model = tmp_path / "m"
    save_bundle(tiny_bundle(), model)
    old = tmp_path / "old"
    shutil.copytree(model / "current", old)  # config.json etc. directly in the folder, as before versions
    assert bundle_dir(old) == old and load_bundle(old).classes == ["Ada", "Bob"]
    save_bundle(tiny_bundle(("X", "Y", "Z")), old)
    assert load_bundle(old).classes == ["X", "Y", "Z"]
    assert (old / "versions" / "v0000" / "config.json").is_file()  # the first-layout bundle is kept


def test_a_copied_model_without_links_still_loads_and_saves(tmp_path: Path) -> None:
    model = tmp_path / "m"
    save_bundle(tiny_bundle(), model)
    copy = tmp_path / "copy"
    shutil.copytree(model, copy)  # follows the link: `current` becomes a folder
    assert not (copy / "current").is_symlink() and load_bundle(copy).classes == ["Ada", "Bob"]
    save_bundle(tiny_bundle(("Q", "R")), copy)
    assert (copy / "current").is_symlink() and load_bundle(copy).classes == ["Q", "R"]


@pytest.mark.parametrize("config, words", [
    ({"format": 1}, "lacks"),
    ([1, 2], "not a JSON object"),
    ({"format": 99}, "format"),
    ("garbage", "damaged"),
])
def test_damaged_configs_are_one_clear_error(tmp_path: Path, config, words: str) -> None:
    model = tmp_path / "m"
    save_bundle(tiny_bundle(), model)
    cfg = model / "current" / "config.json"
    cfg.write_text(config if isinstance(config, str) else json.dumps(config))
    with pytest.raises(BundleError, match=words):
        load_bundle(model)


def test_classes_that_do_not_fit_the_weights_are_refused(tmp_path: Path) -> None:
    from celebface.recognition.matchers import HeadMatcher

    model = tmp_path / "m"
    save_bundle(tiny_bundle(), model)
    cfg = model / "current" / "config.json"
    data = json.loads(cfg.read_text())
    data["classes"] = ["A", "B", "C"]
    cfg.write_text(json.dumps(data))
    with pytest.raises(BundleError, match="do not fit"):
        HeadMatcher.from_bundle(load_bundle(model), "gallery", None, "cpu")


def test_two_writers_take_turns(tmp_path: Path) -> None:
    """Two processes saving at once: both finish, each version complete, the later one current."""
    model = tmp_path / "m"
    save_bundle(tiny_bundle(), model)
    pids = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:  # a second process, as a CLI enrolment beside a server would be
            for i in range(3):
                save_bundle(tiny_bundle(seed=i), model)
            os._exit(0)
        pids.append(pid)
    assert [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids] == [0, 0]
    versions = sorted(p.name for p in (model / "versions").iterdir())
    assert versions[-1] == "v0007" and len(versions) == KEEP_VERSIONS  # 1 + 2 x 3 saves, none lost to a race
    assert np.isfinite(load_bundle(model).gallery).all()
