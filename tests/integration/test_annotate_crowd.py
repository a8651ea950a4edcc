"""`predict --annotate` on a crowd photo: the faces without a name (too small, ...) are grey boxes without labels,
counted in one legend line, instead of one legend line each."""
from __future__ import annotations

from PIL import ImageDraw

from celebface.recognition.annotate import annotate
from conftest import EXTRAS


def test_a_crowd_photo_gets_one_legend_line_for_its_faces_without_a_name(tmp_path) -> None:
    """extras/group_photos/group 1.jpg: its 26 small faces listed one per legend line before; now one count."""
    import celebface
    from celebface.io.images import load_image
    from celebface.recognition.annotate import _font
    from celebface.recognition.bundle import save_bundle
    from celebface.recognition.init_model import empty_bundle

    photo = EXTRAS / "group_photos" / "group 1.jpg"
    save_bundle(empty_bundle(), tmp_path / "model")
    result = celebface.load(tmp_path / "model").predict_image(photo)
    unnamed = sum(f.name is None for f in result.faces)
    assert unnamed >= 10  # the crowd in the background (26 here)
    img = load_image(photo)
    out = annotate(img, result)
    text = f"{unnamed} faces without a name"
    draw = ImageDraw.Draw(img)
    line_h = draw.textbbox((0, 0), text, font=_font(img))[3] + 4
    assert out.height - img.height == line_h + 8  # one legend line (every named face, if any, is labelled)
