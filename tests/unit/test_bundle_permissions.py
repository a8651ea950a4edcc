"""A model's files get the permissions the umask gives any new file (safetensors wrote 0600 while config.json got
0644), and a file another user may not read is reported as 'permission denied', not as a damaged model."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from celebface.errors import BundleError
from celebface.recognition.bundle import bundle_dir, load_bundle, save_bundle
from celebface.recognition.init_model import empty_bundle

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_every_bundle_file_honours_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        save_bundle(empty_bundle(), tmp_path / "m")
    finally:
        os.umask(old)
    files = sorted(bundle_dir(tmp_path / "m").iterdir())
    assert {f.name for f in files} >= {"config.json", "model.safetensors", "gallery.safetensors"}
    assert {f.name: oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {f.name: oct(mode) for f in files}


@pytest.fixture
def shared_dir():
    """A folder other users may enter (pytest's own tmp folders are private to their owner)."""
    path = Path(tempfile.mkdtemp(prefix="celebface-perm-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def load_as_another_user(model: Path, unreadable: Path) -> str:
    """What load_bundle says to a user who may not read `unreadable` (0600, owned by someone else)."""
    code = ("from celebface.recognition.bundle import load_bundle\nfrom celebface.errors import BundleError\n"
            f"try:\n    load_bundle({str(model)!r})\nexcept BundleError as e:\n    print(e)\n")
    unreadable.chmod(0o600)
    if os.geteuid() != 0:  # a file made by this user cannot be another user's: take its read permission away
        unreadable.chmod(0o200)
        cmd = [sys.executable, "-c", code]
    else:  # root reads everything; root without the capabilities that bypass permissions does not
        if shutil.which("capsh") is None:
            pytest.skip("running as root without capsh: cannot drop the right to read every file")
        os.chown(unreadable, 65534, 65534)
        script = model.parent / "load.py"
        script.write_text(code)
        cmd = ["capsh", "--drop=cap_dac_override,cap_dac_read_search", "--", "-c",
               f"exec {sys.executable} {script}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    return out.stdout + out.stderr


def test_an_unreadable_model_file_is_permission_denied_not_damaged(shared_dir):
    model = shared_dir / "m"
    save_bundle(empty_bundle(), model)
    said = load_as_another_user(model, bundle_dir(model) / "model.safetensors")
    assert "permission denied" in said and "damaged" not in said, said
