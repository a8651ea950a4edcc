"""The package's shape: the folders are the data flow, no import cycles, recognition never imports training,
no function over 60 lines, nothing heavy imported by `import celebface`."""
from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "celebface"
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """Every celebface -> celebface import: at module level, inside functions, or for type hints only."""
    modules = {module_name(p): p for p in PKG.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for mod, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):  # imports for type hints count too
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = resolve(mod, path.name == "__init__.py", node)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for t in targets:
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                if t.startswith("celebface") and t != mod and t != "celebface":
                    graph[mod].add(t)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str]:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            # A package's __init__ re-exporting its own submodules is not a cycle through code.
            if m.startswith(n + "."):
                continue
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return []

    for n in sorted(graph):
        if n not in state:
            cycle = visit(n)
            if cycle:
                return cycle
    return []


def test_no_import_cycles() -> None:
    assert find_cycle(import_graph()) == []


def test_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_recognition_never_imports_training() -> None:
    graph = import_graph()
    bad = [(m, t) for m, ts in graph.items() for t in ts
           if m.startswith("celebface.recognition") and t.startswith("celebface.training")]
    assert bad == []


def test_lower_layers_do_not_import_higher_ones() -> None:
    order = ["errors", "config", "types", "runtime", "io", "faces", "data", "gallery", "recognition", "training",
             "scale", "service", "cli"]
    rank = {name: i for i, name in enumerate(order)}

    def layer(mod: str) -> str:
        return mod.split(".")[1] if mod.count(".") else ""

    bad = []
    for m, ts in import_graph().items():
        for t in ts:
            lm, lt = layer(m), layer(t)
            # training may use recognition (it saves bundles it loads), the reverse is the rule above.
            if lm in rank and lt in rank and rank[lt] > rank[lm] and not (lm == "recognition" and lt == "training"):
                bad.append((m, t))
    assert bad == [], bad


def test_no_function_over_60_lines() -> None:
    long = []
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PKG)}:{node.name} ({n} lines)")
    assert long == []


def test_import_celebface_loads_nothing_heavy() -> None:
    code = ("import sys, celebface, celebface.cli, celebface.errors, celebface.config; "
            "heavy = [m for m in ('torch', 'dlib', 'facenet_pytorch', 'timm', 'cv2', 'fastapi', 'ray', 'pyarrow') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
