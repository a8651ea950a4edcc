"""The documentation site builds with `mkdocs build --strict` (a broken link, a missing page or a docstring the
reference cannot read fails), and what it generates from the code and the sample data is there: the CLI reference
from click, the REST reference from the app's OpenAPI schema, the benchmark pages, and the pictures."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PICTURES = ("annotated.png", "timeline.png", "contact_sheet.png", "confusion_matrix.png", "learning_curves.png")


def test_the_site_builds_strict_with_its_generated_pages(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_MKDOCS_2_WARNING": "1"}
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    cli = (site / "reference" / "cli" / "index.html").read_text()
    for command in ("prepare", "train", "predict", "enroll", "serve", "index", "cluster"):
        assert f"celebface {command}" in cli, command
    examples = cli.split('id="examples"', 1)[1]  # every command's --help examples, gathered from the click group
    assert "celebface prepare " in examples and "celebface person " in examples
    spec = json.loads((site / "reference" / "openapi.json").read_text())
    assert "/api/predict" in spec["paths"] and "post" in spec["paths"]["/api/predict"]
    assert "/api/predict" in (site / "reference" / "rest" / "index.html").read_text()
    assert (site / "bench" / "speed" / "index.html").is_file() and (site / "bench" / "index.html").is_file()
    python_api = (site / "reference" / "python" / "index.html").read_text()
    assert "predict_image" in python_api and "enroll" in python_api
    for name in PICTURES:  # the sample data is here (conftest requires it), so every picture was made
        assert (site / "figures" / name).stat().st_size > 10_000, name
