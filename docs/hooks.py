"""MkDocs hooks (mkdocs.yml `hooks:`): what the site builds from the code and the sample data.

- the benchmark pages: every bench/*.md is a page under bench/ (bench/README.md is bench/index.md), as it is;
- the REST reference: the FastAPI app of `celebface serve` is built on an empty model and its OpenAPI schema
  written to reference/openapi.json and reference/rest.md;
- the pictures (docs/figures.py), kept in out/docs-figures between builds while the code is unchanged. A page asks
  for one with a line `[[figure NAME.png]]`; where it could not be made, the page says why instead.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import tempfile
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
FIGURE_CACHE = ROOT / "out" / "docs-figures"
FIGURE_LINE = re.compile(r"^\[\[figure ([\w.-]+)\]\]$", re.M)
METHODS = ("get", "post", "put", "patch", "delete")
log = logging.getLogger("mkdocs.hooks.celebface")
_state: dict = {}


def on_config(config):
    """List every benchmark page under "Benchmarks" in the navigation (the pages come from bench/*.md)."""
    for section in config["nav"]:
        if isinstance(section, dict) and "Benchmarks" in section:
            section["Benchmarks"] += [{p.stem: f"bench/{p.name}"} for p in sorted((ROOT / "bench").glob("*.md"))
                                      if p.name != "README.md"]
    return config


def on_files(files, config):
    """Add the generated pages and pictures to the site."""
    for page in sorted((ROOT / "bench").glob("*.md")):
        uri = "bench/index.md" if page.name == "README.md" else f"bench/{page.name}"
        files.append(File.generated(config, uri, content=page.read_text(encoding="utf-8")))
    spec = openapi_schema()
    files.append(File.generated(config, "reference/openapi.json", content=json.dumps(spec, indent=1)))
    files.append(File.generated(config, "reference/rest.md", content=rest_page(spec)))
    sys.path.insert(0, str(ROOT / "docs"))
    from figures import cached_figures

    figs = cached_figures(FIGURE_CACHE)
    for name in figs.made:
        files.append(File.generated(config, f"figures/{name}", abs_src_path=str(FIGURE_CACHE / name)))
    for name, why in figs.skipped.items():
        log.info("picture %s not made: %s", name, why)
    _state["figures"] = figs
    return files


def cli_examples() -> str:
    """Every command's examples (the end of its `--help`, which mkdocs-click leaves out), from the click group."""
    import textwrap

    import click

    from celebface.cli import main

    lines: list[str] = []

    def walk(cmd: click.Command, path: str) -> None:
        examples = (cmd.epilog or "").replace("\b", "").split("Examples:", 1)
        if len(examples) == 2 and examples[1].strip():
            lines.extend([f"`{path}`", "", "```", textwrap.dedent(examples[1]).strip("\n"), "```", ""])
        if isinstance(cmd, click.Group):
            for name in sorted(cmd.list_commands(click.Context(cmd))):
                walk(cmd.get_command(click.Context(cmd), name), f"{path} {name}")

    walk(main, "celebface")
    return "\n".join(lines)


def on_page_markdown(markdown, page, config, files):
    """Replace each `[[figure NAME]]` line with the picture and its caption, or a note saying why it is missing;
    `[[cli examples]]` with every command's examples."""
    if "[[cli examples]]" in markdown:
        markdown = markdown.replace("[[cli examples]]", cli_examples())
    figs = _state["figures"]
    up = "../" * page.file.src_uri.count("/")

    def picture(match: re.Match) -> str:
        name = match.group(1)
        if name in figs.made:
            return f"![{name}]({up}figures/{name})\n\n*{figs.made[name]}*"
        why = figs.skipped.get(name, "no such picture")
        return f'!!! note "Picture not built: {name}"\n    {why}'

    return FIGURE_LINE.sub(picture, markdown)


def openapi_schema() -> dict:
    """The OpenAPI schema of the app `celebface serve` runs, built on an empty model (`celebface init`)."""
    sys.path.insert(0, str(ROOT))
    from celebface.recognition.init_model import init_model
    from celebface.service.app import create_app

    with tempfile.TemporaryDirectory(prefix="celebface-docs-api-") as tmp:
        model = init_model(Path(tmp) / "model")
        return create_app(model).openapi()


def _body(op: dict) -> str:
    content = op.get("requestBody", {}).get("content", {})
    parts = []
    for kind, media in content.items():
        ref = media.get("schema", {}).get("$ref", "")
        parts.append(f"`{kind}`" + (f" ({ref.rsplit('/', 1)[-1]})" if ref else ""))
    return ", ".join(parts) or "-"


def _params(op: dict) -> str:
    return ", ".join(f"`{p['name']}` ({p['in']}{', required' if p.get('required') else ''})"
                     for p in op.get("parameters", [])) or "-"


def rest_page(spec: dict) -> str:
    """The REST reference as markdown: one table row per route and method."""
    lines = ["# REST API", "",
             "Generated at build time from the OpenAPI schema of the app `celebface serve` runs "
             "(`celebface.service.app.create_app`); the schema itself: [openapi.json](openapi.json). A running "
             "server shows the same at `/docs`. Security rules (token, Host, Origin, limits): "
             "[Serving and security](../guides/serving.md).", "",
             f"{spec['info']['title']} {spec['info'].get('version', '')}: {spec['info'].get('summary', '')}", "",
             "| method | path | what | parameters | body | answers |", "|---|---|---|---|---|---|"]
    for path, item in sorted(spec["paths"].items()):
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            what = (op.get("summary") or op.get("description") or "").replace("\n", " ").replace("|", "\\|")
            codes = ", ".join(sorted(op.get("responses", {})))
            lines.append(f"| {method.upper()} | `{path}` | {what} | {_params(op)} | {_body(op)} | {codes} |")
    lines += ["", "## Schemas", ""]
    for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items()):
        fields = ", ".join(f"`{k}`" for k in schema.get("properties", {}))
        lines.append(f"- **{name}**: {fields or schema.get('type', '')}")
    return "\n".join(lines) + "\n"
