"""Face quality and border faces on real photos: a false detection gets no name, a cut face a box inside the photo."""
from __future__ import annotations

from pathlib import Path

import celebface
from celebface.io.images import load_image
from conftest import SPORTS5, photos

#: MTCNN finds a "face" (p 0.99) on the tennis ball in this photo; the player's face is the main face.
BALL = SPORTS5 / "Serena_Williams" / "Teenager-Bianca-Andreescu-makes-Rogers-Cup-final9.jpg"


def test_a_tennis_ball_detected_as_a_face_gets_no_name(trained_model: Path) -> None:
    rec = celebface.load(trained_model)
    result = rec.predict_image(BALL)
    assert len(result.faces) == 2
    player, ball = result.faces
    assert player.name is not None and player.reason is None and player.quality >= 0.5
    assert ball.name is None and ball.reason == "not a face" and ball.quality < 0.5
    assert ball.confidence == 0.0 and ball.top == []
    assert ball.box[0] > result.width / 2  # the ball is on the right, the player on the left


def test_a_face_cut_by_the_edge_has_a_clipped_box(trained_model: Path) -> None:
    rec = celebface.load(trained_model)
    img = load_image(photos("Roger_Federer")[0])
    x1, _, x2, _ = rec.detect(img)[0].box
    cut = img.crop((int(x1 + 0.4 * (x2 - x1)), 0, img.width, img.height))  # 40% of the face outside the frame
    assert rec.detect(cut)[0].box[0] < 0  # the detector's box reaches outside the photo
    result = rec.predict_pil(cut, "cut")
    assert result.faces
    for f in result.faces:
        assert 0 <= f.box[0] < f.box[2] <= cut.width and 0 <= f.box[1] < f.box[3] <= cut.height
    assert result.faces[0].box[0] == 0.0
