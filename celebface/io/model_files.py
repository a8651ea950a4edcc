"""Where a model folder keeps its current bundle, and what it records of itself, read without loading it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional


def bundle_dir(model_dir: Path) -> Path:
    """The folder holding the current bundle's files: `current` (a link, or a folder in a copied model), else
    the newest complete version (a crash before the first link), else MODEL_DIR itself (the first layout)."""
    model_dir = Path(model_dir)
    if (model_dir / "current" / "config.json").is_file():
        return model_dir / "current"
    done = sorted(p for p in (model_dir / "versions").glob("v[0-9]*") if (p / "config.json").is_file())
    if done and not (model_dir / "config.json").is_file():
        return done[-1]
    return model_dir


def model_identity(model_dir: Path) -> Optional[str]:
    """The identity embedder a model's faces are compared with (its config's "identity"; models made before
    identities had names use dlib's), or None when MODEL_DIR holds no readable model config."""
    try:
        config = json.loads((bundle_dir(Path(model_dir)) / "config.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    return str(config.get("identity") or "dlib")
