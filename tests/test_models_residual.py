"""Seed 001's ResNet-18 for Fashion-MNIST: our module against the seed's own code."""

from pathlib import Path

import pytest
import torch

from cnnlab import models
from cnnlab.chapters import resnet as residual

SEED_001 = Path(__file__).parent / "seed_code" / "seed001_resnet_fmnist.py"


@pytest.fixture(scope="module")
def seed():
    """The seed's definitions, without the training run at the end of its script."""
    source = SEED_001.read_text().split("\ndevice = torch.device(")[0]
    namespace: dict = {}
    exec(compile(source, str(SEED_001), "exec"), namespace)
    return namespace


def test_parameter_count_is_the_issues_and_the_seeds(seed):
    ours = models.create("resnet18_fmnist")
    theirs = seed["resnet18"](output=10, in_channels=1)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(ours) == count(theirs) == 11_178_378


@pytest.mark.parametrize("side", [28, 96])
def test_seed_state_dict_loads_and_gives_identical_outputs(seed, side):
    torch.manual_seed(0)
    theirs = seed["resnet18"](output=10, in_channels=1).eval()
    ours = models.create("resnet18_fmnist").eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)  # a 'ResNet18.params' file loads
    x = torch.randn(2, 1, side, side)
    torch.testing.assert_close(ours(x), theirs(x))


@pytest.mark.parametrize("side", [1, 28, 96, 224])
def test_output_shape(side):
    assert models.create("resnet18_fmnist")(torch.randn(2, 1, side, side)).shape == (2, 10)


def test_residual_block_shapes_as_in_d2l():
    x = torch.randn(4, 3, 6, 6)
    assert residual.Residual(3, 3)(x).shape == (4, 3, 6, 6)
    assert residual.Residual(3, 6, use_1x1conv=True, stride=2)(x).shape == (4, 6, 3, 3)
    with pytest.raises(RuntimeError):  # a shape change without the projection cannot add
        residual.Residual(3, 6)(x)


def test_first_stage_keeps_channels():
    with pytest.raises(ValueError, match="first stage keeps the channel count"):
        residual.resnet_block(64, 128, 2, first_block=True)


def test_wrong_channels_name_the_model():
    with pytest.raises(ValueError, match="resnet18_fmnist was built for 1-channel"):
        models.create("resnet18_fmnist")(torch.randn(1, 3, 28, 28))
