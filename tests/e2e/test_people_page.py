"""The people page end to end: headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, against a real
uvicorn server on 127.0.0.1, on a gallery of real archive faces (glint12 photos, dlib vectors): group, open a
person, name them, "who is this?" with an uploaded photo, split faces off, undo, merge two people. Screenshots go to out/test-artifacts/people-*.png
(gitignored)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from celebface.gallery.sightings import Sighting
from tests.unit.test_gallery_people import GLINT, PER_PERSON, _glint_vectors

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "out" / "test-artifacts"
WAIT_MS = 60_000

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed (apt-get install chromium)")


@pytest.fixture
def server_url(tmp_path):
    if not GLINT.is_dir():
        pytest.skip("sample data not found")
    from celebface.recognition.init_model import init_model
    from celebface.recognition.recognizer import load
    from celebface.service.app import create_app
    from celebface.service.server import serve_in_thread

    rec = load(init_model(tmp_path / "model", identity="dlib"), "cpu")
    vecs, labels = _glint_vectors()
    files = [f for p in sorted(x for x in GLINT.iterdir() if x.is_dir())[:3] for f in sorted(p.iterdir())[:PER_PERSON]]
    keep = np.concatenate([np.nonzero(labels == k)[0][:5] for k in range(2)])
    rec.gallery.add_sightings([Sighting(f"sha{i}", str(files[i]), None, 0, [0.0, 0.0, 112.0, 112.0], None, None,
                                        None) for i in keep], vecs[keep])
    with serve_in_thread(create_app(rec)) as url:
        yield url


@pytest.fixture
def page(server_url):
    """A Chromium page; it asks for the server so that the browser closes before the server stops (a page still
    loading thumbnails from a stopped server logs connection errors)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                               args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        pg = b.new_context(viewport={"width": 1200, "height": 900}).new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and "status of 4" not in msg.text
              else None)
        pg.set_default_timeout(WAIT_MS)
        yield pg
        b.close()
        assert not errors, errors


def _padded(photo: Path, out: Path) -> Path:
    """A glint12 photo (a tight 112 px face) with room around the face, as a photo has (the detector needs it)."""
    from PIL import Image

    canvas = Image.new("RGB", (224, 224), (124, 124, 124))
    canvas.paste(Image.open(photo).convert("RGB").resize((160, 160)), (32, 32))
    canvas.save(out)
    return out


def _who_is_this(page, server_url: str, tmp_path: Path, name: str) -> None:
    """Upload a photo of `name` the archive does not hold, then one of a person it has never seen: the first shows
    `name` with a link that opens them, the second nobody."""
    import json
    import urllib.request

    from playwright.sync_api import expect

    people = json.load(urllib.request.urlopen(server_url + "/api/persons"))
    pid = next(p["id"] for p in people if p["name"] == name)
    folder = Path(json.load(urllib.request.urlopen(f"{server_url}/api/persons/{pid}/faces"))[0]["path"]).parent
    page.set_input_files("#who-file", str(_padded(sorted(folder.iterdir())[PER_PERSON - 1], tmp_path / "who.png")))
    link = page.locator("#who-faces li.who a")
    expect(link).to_have_count(1)
    expect(link).to_contain_text(name)
    expect(page.locator("#who-faces canvas")).to_have_count(1)
    link.click()
    expect(page.locator("#person-title")).to_contain_text(name)
    expect(page.locator(f'#grid li.person.found[data-id="{pid}"]')).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "people-who.png"), full_page=True)
    stranger = sorted(x for x in GLINT.iterdir() if x.is_dir())[2]  # the fixture's third person: not in the archive
    page.set_input_files("#who-file", str(_padded(sorted(stranger.iterdir())[0], tmp_path / "stranger.png")))
    expect(page.locator("#who-faces li.who span")).to_have_text("nobody known yet")
    expect(page.locator("#who-faces li.who a")).to_have_count(0)


def test_people_are_grouped_named_split_undone_and_merged_in_the_page(page, server_url, tmp_path):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(server_url + "/people")
    grid = page.locator("#grid li.person")
    expect(grid).to_have_count(0)
    page.click("#group")
    expect(grid).to_have_count(2)
    expect(page.locator("#message")).to_contain_text("2 new unnamed people of 10 face(s)")
    expect(grid.first.locator("img")).to_have_attribute("src", __import__("re").compile("^blob:"))
    page.screenshot(path=str(ARTIFACTS / "people-grid.png"), full_page=True)
    grid.first.click()
    faces = page.locator("#faces li.face")
    expect(faces).to_have_count(5)
    page.fill("#new-name", "Ann")
    page.click("#rename button")
    expect(grid.first.locator(".name")).to_have_text("Ann")
    _who_is_this(page, server_url, tmp_path, "Ann")
    faces.nth(0).click()
    faces.nth(1).click()
    page.click("#split")
    expect(grid).to_have_count(3)
    expect(faces).to_have_count(3)
    page.screenshot(path=str(ARTIFACTS / "people-split.png"), full_page=True)
    page.click("#undo")
    expect(grid).to_have_count(2)
    expect(faces).to_have_count(5)
    for k in range(2):
        grid.nth(k).locator("input[type=checkbox]").click()
    page.click("#merge")
    expect(grid).to_have_count(1)
    expect(grid.first.locator(".count")).to_have_text("10 faces")
    page.screenshot(path=str(ARTIFACTS / "people-merged.png"), full_page=True)
