"""Training, evaluation, the bundle, prediction, "unknown" people and enrolment, on real photos."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import celebface
from celebface.errors import WeightsError
from celebface.faces.backbones import LITE0_DEPTH, LITE0_INPUT, build_backbone
from celebface.recognition.bundle import load_bundle, save_bundle
from conftest import EXTRAS, HELD_OUT, PEOPLE, assert_same_results, mixed_photos, photos

CLI = [sys.executable, "-m", "celebface.cli"]


def test_two_stage_training_metrics(lite0_model: Path) -> None:
    m = json.loads((lite0_model / "current" / "metrics.json").read_text())
    for key in ("train_accuracy", "val_accuracy", "val_macro_f1"):
        assert isinstance(m[key], float) and 0.0 <= m[key] <= 1.0
    assert m["stage1"]["history"] and m["stage2"]["history"]
    assert m["stage2"]["unfrozen_stages"] == LITE0_DEPTH == 4  # the defaults chosen in bench/accuracy_u4_drop.md
    assert m["options"]["act_dropout"] == 0.2  # bench/accuracy_act_dropout.md; recorded with the model
    assert m["val_accuracy"] >= 0.6  # 3 people, 16 photos each, 9 for validation: above chance (0.33)
    cfg = json.loads((lite0_model / "current" / "config.json").read_text())
    assert cfg["classes"] == sorted(PEOPLE) and cfg["backbone"] == "efficientnet_lite0"
    assert cfg["preprocessing"]["input_size"] == LITE0_INPUT == 160
    assert (lite0_model / "current" / "model.safetensors").is_file()


def test_embedding_backbone_has_no_fake_stage2(trained_model: Path) -> None:
    m = json.loads((trained_model / "current" / "metrics.json").read_text())
    assert "skipped" in m["stage2"] and m["final_stage"] == 1
    assert m["val_accuracy"] >= 0.85
    o = m["open_set"]
    assert 0 < o["threshold"] < 1 and o["known_accepted"]["n"] > 0 and o["simulated_rejected"]["n"] > 0
    assert o["known_accepted"]["low"] <= o["known_accepted"]["rate"] <= o["known_accepted"]["high"]


def test_face_vector_model_names_with_dlib_and_sface_fused(trained_model: Path) -> None:
    """dlib_face names faces with the dlib+sface vectors unless `--identity` says otherwise (bench/gate_cost.md): the
    model records it, its gallery holds those vectors, new photos of its people get their names and a person it was
    not trained on gets none of theirs."""
    from celebface.faces.identity import NAMING_IDENTITY, get_identity

    cfg = json.loads((trained_model / "current" / "config.json").read_text())
    assert cfg["identity"] == NAMING_IDENTITY == "dlib+sface"
    rec = celebface.load(trained_model)
    assert rec.identity.name == NAMING_IDENTITY and rec.bundle.gallery.shape[1] == get_identity(NAMING_IDENTITY).dim
    new = EXTRAS / "sports5_new_photos"
    known = [(p.parent.name, rec.predict_image(p)) for person in ("Roger_Federer", "Virat_Kohli")
             for p in sorted((new / person).iterdir())]
    assert sum(r.faces[0].name == person for person, r in known if r.faces) >= len(known) - 1, known
    # Maria Sharapova was not trained on: alone she stays unknown; beside Roger Federer (on the right) he is named
    alone = [f.name for n in ("sharapova2.JPG", "sharapova_1.jpg") for f in rec.predict_image(new / HELD_OUT / n).faces]
    assert alone and set(alone) == {"unknown"}, alone
    pair = rec.predict_image(new / HELD_OUT / "sharapova_3.jpg")
    sides = {f.name: (f.box[0] + f.box[2]) / 2 > pair.width / 2 for f in pair.faces}
    assert sides == {"Roger_Federer": True, "unknown": False}, pair.faces
    # 3 people, 9 validation faces: too few to calibrate, so the threshold is the one at which dlib+sface's impostor
    # statistics name 2% of strangers meeting every training face (a pair threshold named her as Serena Williams)
    assert "gallery faces" in json.loads((trained_model / "current" / "metrics.json").read_text())["open_set"]["note"]


def test_cnn_model_verifies_its_names_against_the_gallery(lite0_model: Path) -> None:
    """The CNN names a face; the face must also look like that person's own training faces, else "unknown"."""
    cfg = json.loads((lite0_model / "current" / "config.json").read_text())
    m = json.loads((lite0_model / "current" / "metrics.json").read_text())
    from celebface.faces.identity import TRAIN_IDENTITY, get_identity

    # a CNN's gate compares faces with the training identity (the fused dlib+faceres vectors), recorded as such
    assert cfg["identity"] == TRAIN_IDENTITY == "dlib+faceres"
    assert cfg["gallery_backbone"] == get_identity(TRAIN_IDENTITY).recorded_as
    assert cfg["verify"]["threshold"] == m["open_set"]["threshold"]
    o = m["open_set"]
    # the README's real strangers: the other faces in the training photos (the multi-face photo has several), some
    # left out as likely known people; no --strangers folder was given, so there is no other source
    sources = o["sources"]
    assert set(sources) == {"other faces in the training photos", "left out as likely known people"}, sources
    bystanders, left_out = sources["other faces in the training photos"], sources["left out as likely known people"]
    assert bystanders > 0 and 0 <= left_out < bystanders
    assert o["strangers_rejected"]["n"] == bystanders - left_out and o["known_accepted"]["n"] > 0
    rec = celebface.load(lite0_model)
    assert rec.verifier is not None and rec.threshold == cfg["verify"]["threshold"]
    unseen = photos("Roger_Federer")[-1]  # not among the training photos
    known = rec.predict_image(unseen).faces[0]
    assert known.name == "Roger_Federer" and known.score >= rec.threshold  # score: the verification similarity
    sources = photos(HELD_OUT)[:10] + sorted((EXTRAS / "group_photos").iterdir())  # nobody the model knows
    strangers = [f for p in sources for f in rec.predict_image(p).faces if f.name is not None]
    assert len(strangers) >= 10 and sum(f.name != "unknown" for f in strangers) <= len(strangers) // 4
    # the softmax alone would have named most of these strangers: the gate is what says "unknown"
    assert sum(f.top[0][1] >= cfg["threshold"] for f in strangers) > sum(f.name != "unknown" for f in strangers)
    strict = celebface.load(lite0_model, threshold=0.999)  # --threshold applies to the verification score
    assert strict.predict_image(unseen).faces[0].name == "unknown"


def test_evaluate_writes_report_and_plots(lite0_model: Path, work_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "m"
    shutil.copytree(lite0_model, model)
    out = subprocess.run(CLI + ["evaluate", str(model), str(work_dir), "--quiet"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    m = json.loads((model / "current" / "metrics.json").read_text())
    assert "design stage 2" in out.stdout and f"{100 * m['val_accuracy']:6.2f}%" in out.stdout
    assert "reference" not in out.stdout  # no fixed figures of other data sets beside the model's own
    photos, single = m["val_photo_level"], m["val_single_face"]  # (b) and (c): whole photos through predict
    assert photos["n"] >= m["val_report"]["n"] and 0 < single["n"] <= photos["n"]  # every val photo, and more
    assert 0.5 <= photos["accuracy"] <= 1 and len(photos["wrong"]) == round((1 - photos["accuracy"]) * photos["n"])
    assert sum(photos["missed_as"].values()) == len(photos["wrong"])  # each miss has its one reason
    assert photos["predict_seconds_per_photo"] > 0 and f"{100 * photos['accuracy']:6.2f}%" in out.stdout
    rep = m["val_report"]
    assert set(PEOPLE) <= set(rep["per_class"]) and len(rep["confusion_matrix"]) == len(PEOPLE)
    assert abs(m["val_accuracy"] - m["stage2"]["val_accuracy"]) < 1e-6  # same figures from the bundle as in training
    assert (model / "current" / "confusion_matrix.png").stat().st_size > 1000
    assert (model / "current" / "learning_curves.png").stat().st_size > 1000


def test_bundle_round_trips_and_predicts_the_same(lite0_model: Path, tmp_path: Path) -> None:
    photo = photos("Roger_Federer")[-1]
    a = celebface.load(lite0_model).predict_image(photo)
    save_bundle(load_bundle(lite0_model), tmp_path / "copy")
    b = celebface.load(tmp_path / "copy").predict_image(photo)
    assert a.faces and [f.top for f in a.faces] == [f.top for f in b.faces]
    assert [f.box for f in a.faces] == [f.box for f in b.faces]


def test_failed_save_keeps_the_old_bundle(lite0_model: Path, tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "m"
    shutil.copytree(lite0_model, target)
    before = (target / "current" / "model.safetensors").read_bytes()
    bundle = load_bundle(target)
    import celebface.recognition.bundle as bmod

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(bmod, "write_json", boom)
    with pytest.raises(OSError):
        save_bundle(bundle, target)
    assert (target / "current" / "model.safetensors").read_bytes() == before
    assert not list((target / "versions").glob(".new.*"))


def test_predict_cli_json_group_noface_and_unreadable(trained_model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not really a jpeg")
    group = EXTRAS / "group_photos" / "group 1.jpg"
    cat = EXTRAS / "no_face" / "cat.jpg"
    out = subprocess.run(CLI + ["predict", str(trained_model), str(group), str(cat), str(bad), "--json",
                                "--annotate", str(tmp_path / "ann")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["image"] for r in rows] == [str(group), str(cat), str(bad)]
    assert len(rows[0]["faces"]) >= 3 and rows[0]["error"] is None
    for f in rows[0]["faces"]:
        assert len(f["box"]) == 4 and 0 <= f["confidence"] <= 1 and 0 <= f["quality"] <= 1
        if f["name"] is None:  # a face too poor to name (group 1's faces are 11-19 pixels: "too small")
            assert f["reason"] in ("too small", "not a face", "too blurred") and f["top"] == []
        else:
            assert len(f["top"]) == 3 and f["top"][0][1] >= f["top"][1][1]
    assert rows[1]["faces"] == [] and rows[1]["error"] is None
    assert rows[2]["faces"] == [] and "not an image" in rows[2]["error"]
    assert (tmp_path / "ann" / "group 1.annotated.jpg").stat().st_size > 1000


def test_known_people_are_named(trained_model: Path) -> None:
    rec = celebface.load(trained_model)
    named = []
    for person in PEOPLE:
        for p in photos(person)[-3:]:  # photos not in the training subset
            r = rec.predict_image(p)
            if r.faces:
                named.append(r.faces[0].name == person or any(f.name == person for f in r.faces))
    assert len(named) >= 7 and np.mean(named) >= 0.7


def test_photos_named_at_once_are_named_as_one_at_a_time(lite0_model: Path, tmp_path: Path) -> None:
    """predict_many names several photos at once in threads (runtime.ordered_thread_map): the same results, in
    order, as one photo after another, with the CNN, its gate and the quality gate's second look all running."""
    paths = mixed_photos(tmp_path)
    rec = celebface.load(lite0_model)
    one = [r.model_dump() for r in rec.predict_many(paths, workers=1)]
    many = [r.model_dump() for r in rec.predict_many(paths, workers=3)]
    assert [r["image"] for r in many] == [str(p) for p in paths]
    assert sum(len(r["faces"]) for r in one) >= len(paths) and sum(f["name"] is not None for r in one
                                                                   for f in r["faces"]) >= 4
    assert_same_results(one, many)


def test_held_out_person_is_unknown_then_enrolled(trained_model: Path, tmp_path: Path) -> None:
    model = tmp_path / "m"
    shutil.copytree(trained_model, model)
    rec = celebface.load(model)
    maria = photos(HELD_OUT)
    results = [rec.predict_image(p) for p in maria[:12]]
    main_faces = [r.faces[0] for r in results if r.faces]
    unknown = np.mean([f.name == "unknown" for f in main_faces])
    assert len(main_faces) >= 8 and unknown >= 0.7, [f.name for f in main_faces]
    assert all(f.top[0][0] in PEOPLE for f in main_faces)  # the best guess is still reported

    out = subprocess.run(CLI + ["enroll", str(model), *map(str, maria[12:20]), "--name", HELD_OUT, "--main-face"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "added Maria_Sharapova" in out.stdout
    rec2 = celebface.load(model)
    assert HELD_OUT in rec2.classes
    again = [rec2.predict_image(p).faces for p in maria[:12]]
    hits = [any(f.name == HELD_OUT for f in faces) for faces in again if faces]
    assert np.mean(hits) >= 0.7
    # the people it knew before are still named
    r = rec2.predict_image(photos("Roger_Federer")[-1])
    assert any(f.name == "Roger_Federer" for f in r.faces)


def test_enrol_into_a_fine_tuned_cnn_goes_to_the_gallery_and_says_the_head_needs_retraining(
        lite0_model: Path, tmp_path: Path) -> None:
    model = tmp_path / "lite0"
    shutil.copytree(lite0_model, model)
    out = subprocess.run(CLI + ["enroll", str(model), *map(str, photos(HELD_OUT)[:3]), "--name", "X", "--main-face"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "after retraining" in out.stdout and "Traceback" not in out.stderr
    people = subprocess.run(CLI + ["people", str(model), "--json"], capture_output=True, text=True)
    assert "X" in [p["name"] for p in json.loads(people.stdout)]


def test_densenet121_weights_offline_rules(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("CELEBFACE_OFFLINE", "1")
    with pytest.raises(WeightsError) as exc:
        build_backbone("densenet121")
    msg = str(exc.value)
    assert "--weights PATH" in msg and "densenet121-a639ec97.pth" in msg
    from torchvision.models import densenet121

    ref = densenet121(weights=None).state_dict()
    torch.save(ref, tmp_path / "dn.pth")
    bb, used = build_backbone("densenet121", str(tmp_path / "dn.pth"))
    assert str(tmp_path / "dn.pth") in used
    assert torch.equal(bb.stages[0][0].weight, ref["features.conv0.weight"])
    assert torch.equal(bb.stages[4][0].denselayer16.conv2.weight, ref["features.denseblock4.denselayer16.conv2.weight"])
    _, used = build_backbone("densenet121", "none")
    assert "random" in used


def test_cli_user_errors_are_one_line(tmp_path: Path) -> None:
    for args in (["prepare", str(tmp_path / "missing"), "--out", str(tmp_path / "w")],
                 ["train", str(tmp_path), "--out", str(tmp_path / "m")],
                 ["predict", str(tmp_path), "x.jpg"],
                 ["train", str(tmp_path), "--out", str(tmp_path / "m"), "--backbone", "nope"]):
        out = subprocess.run(CLI + args, capture_output=True, text=True)
        assert out.returncode == 2, (args, out.stderr)
        assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr


def test_train_calibrates_unknown_on_a_strangers_folder(work_dir: Path, tmp_path: Path) -> None:
    """`train --strangers DIR`: every face in DIR is a stranger the calibration counts (with its interval)."""
    strangers = tmp_path / "strangers"
    strangers.mkdir()
    for p in sorted((EXTRAS.parent / "celeb5" / "Ben_Affleck").iterdir())[:3]:
        (strangers / p.name).symlink_to(p)
    out = subprocess.run(CLI + ["train", str(work_dir), "--out", str(tmp_path / "m"), "--backbone", "dlib_face",
                                "--strangers", str(strangers), "--quiet"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    o = json.loads((tmp_path / "m" / "current" / "metrics.json").read_text())["open_set"]
    assert o["sources"][f"--strangers {strangers}"] >= 3 and o["strangers_rejected"]["n"] >= 3
    assert "real strangers rejected" in out.stdout and "95% CI" in out.stdout
    bad = subprocess.run(CLI + ["train", str(work_dir), "--out", str(tmp_path / "m2"), "--backbone", "dlib_face",
                                "--strangers", str(tmp_path / "nothing")], capture_output=True, text=True)
    assert bad.returncode == 2 and "--strangers" in bad.stderr


def test_fusion_backbone_names_by_head_and_face_embedding_as_trained(lite0_model: Path, work_dir: Path,
                                                                      tmp_path: Path) -> None:
    """The fusion model shares the CNN's cached activations, reports the fused validation figures, and predicts
    exactly as it was measured: `evaluate` (the shipped naming path) gives the training run's fused accuracy."""
    from celebface.config import TrainOptions
    from celebface.faces.backbones import get_spec
    from celebface.training.evaluate import evaluate
    from celebface.training.train import train

    model = tmp_path / "fusion"
    train(work_dir, model, TrainOptions(backbone="fusion", epochs1=20, epochs2=2), progress=False, log=lambda s: None)
    cfg = json.loads((model / "current" / "config.json").read_text())
    m = json.loads((model / "current" / "metrics.json").read_text())
    assert cfg["backbone"] == "fusion" and cfg["fusion"]["temperature"] == get_spec("fusion").face_fusion
    assert "verify" in cfg and m["fusion"]["val"]["accuracy"] == m["val_accuracy"] >= 0.85
    assert m["fusion"]["head_val_accuracy"] == m["stage2"]["val_accuracy"]
    assert not list((work_dir / "cache").glob("fusion-*"))  # efficientnet_lite0's activations were reused
    assert evaluate(model, work_dir, progress=False)["val_accuracy"] == pytest.approx(m["val_accuracy"])
    rec = celebface.load(model)
    assert cfg["identity"] == "dlib+faceres"  # the face part names with the gate's identity (bench/openset.md)
    assert rec.predict_image(photos("Roger_Federer")[-1]).faces[0].name == "Roger_Federer"
    # strangers: the group photos' faces and 4 photos of each celeb5 person (31 faces; the group photos alone are 11,
    # one face 9 points). This 3-person model is too small to calibrate its gate: the small-gallery rule holds.
    probes = sorted((EXTRAS / "group_photos").iterdir()) + [
        p for d in sorted((EXTRAS.parent / "celeb5").iterdir()) if d.is_dir() for p in sorted(d.iterdir())[:4]]
    strangers = [f for p in probes for f in rec.predict_image(p).faces if f.name is not None]
    assert len(strangers) >= 25 and sum(f.name != "unknown" for f in strangers) <= len(strangers) // 4


def test_cnn_input_size_is_trained_recorded_and_used_when_naming(work_dir: Path, tmp_path: Path) -> None:
    """`train --input-size 128`: the CNN sees 128-px images in training, the bundle records it, and the loaded model
    names faces at that size: `evaluate` (the shipped naming path) gives the training run's own val accuracy."""
    from celebface.config import TrainOptions
    from celebface.faces.backbones import sized_spec
    from celebface.training.evaluate import evaluate
    from celebface.training.train import train

    model = tmp_path / "small"
    train(work_dir, model, TrainOptions(backbone="efficientnet_lite0", input_size=128, epochs1=20, epochs2=1),
          progress=False, log=lambda s: None)
    cfg = json.loads((model / "current" / "config.json").read_text())
    m = json.loads((model / "current" / "metrics.json").read_text())
    assert cfg["preprocessing"]["input_size"] == 128 and cfg["train_options"]["input_size"] == 128
    rec = celebface.load(model)
    assert rec.spec.input_size == 128 and sized_spec("efficientnet_lite0").input_size == LITE0_INPUT != 128
    assert evaluate(model, work_dir, progress=False)["val_accuracy"] == pytest.approx(m["val_accuracy"])
    assert m["val_accuracy"] >= 0.6  # as test_two_stage_training_metrics: 9 val photos of 3 people, chance 0.33
    with pytest.raises(WeightsError, match="--input-size"):
        sized_spec("dlib_face", 128)
