"""Every module-level function of the gallery package is used somewhere: by the package, a test or a benchmark
(issue 33 #13: gallery/attach.py's gallery_matcher had no caller)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _references() -> set[str]:
    """Names that are called, passed to a call, imported by name, or named in a string (getattr, lazy exports)."""
    refs: set[str] = set()
    files = [p for d in ("celebface", "tests", "bench") for p in (ROOT / d).rglob("*.py")]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                for x in (node.func, *node.args, *(k.value for k in node.keywords)):
                    if isinstance(x, ast.Name):
                        refs.add(x.id)
                    elif isinstance(x, ast.Attribute):
                        refs.add(x.attr)
            elif isinstance(node, ast.ImportFrom):
                refs.update(a.name for a in node.names)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
                refs.add(node.value)
    return refs


def test_every_gallery_function_has_a_caller():
    refs = _references()
    unused = [f"{path.name}:{node.name}" for path in sorted((ROOT / "celebface" / "gallery").glob("*.py"))
              for node in ast.parse(path.read_text()).body
              if isinstance(node, ast.FunctionDef) and node.name not in refs]
    assert unused == []
