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
