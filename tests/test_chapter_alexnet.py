"""The AlexNet chapter's helpers and profiles (cnnlab/chapters/alexnet.py)."""

import torch
from torch import nn

from cnnlab import models, profiles
from cnnlab.chapters import alexnet


def test_with_activation_swaps_every_relu_and_keeps_the_weights():
    relu = models.create("alexnet_fmnist", seed=0)
    sigmoid = alexnet.with_activation(models.create("alexnet_fmnist", seed=0), nn.Sigmoid)
    kinds = [type(m) for m in sigmoid.modules()]
    assert nn.ReLU not in kinds and kinds.count(nn.Sigmoid) == 7  # 5 convs + 2 hidden fc
    for p, q in zip(relu.parameters(), sigmoid.parameters()):
        assert torch.equal(p, q)  # same initial weights: only the nonlinearity differs
    x = torch.randn(2, 1, 68, 68)
    relu.eval(), sigmoid.eval()
    assert sigmoid(x).shape == (2, 10)
    assert not torch.allclose(relu(x), sigmoid(x))


def test_with_activation_returns_the_same_module_in_place():
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Sequential(nn.ReLU()))
    assert alexnet.with_activation(net, nn.Tanh) is net
    assert [type(m) for m in net.modules()].count(nn.Tanh) == 2


def test_quick_profile_and_experiment_fit_the_model():
    # (that the full profile is d2l's recipe is tested for every chapter in test_chapters)
    quick = profiles.get_profile("alexnet", "quick")
    assert quick.model == "alexnet_fmnist" and quick.model_kwargs == alexnet.QUICK_MODEL
    assert quick.resize >= models.get_spec("alexnet_fmnist").min_size
    assert alexnet.EXPERIMENT["resize"] >= models.get_spec("alexnet_fmnist").min_size
    assert "alexnet_fmnist(ratio=4" in quick.describe()


def test_quick_classifier_reads_the_last_map_as_it_is():
    # no 1×1 collapse: the last map is larger than one pixel, and the adaptive pool is the
    # identity at the quick size (it copies no pixels)
    quick = profiles.get_profile("alexnet", "quick")
    net = quick.create_model(seed=0)
    side = alexnet.last_map_side(net, quick.resize)
    assert side == quick.model_kwargs["pool"] > 1
    assert alexnet.last_map_side(models.create("alexnet_fmnist"), 224) == 5
    assert alexnet.last_map_side(models.create("alexnet_fmnist"), 68) == 1
    assert net(torch.zeros(2, 1, quick.resize, quick.resize)).shape == (2, 10)


def test_default_builder_is_still_d2ls_network():
    assert sum(p.numel() for p in alexnet.alexnet_fmnist().parameters()) == 46_764_746


def test_activation_verdict_reads_relu_minus_sigmoid():
    v = alexnet.activation_verdict({"ReLU": [0.70, 0.72, 0.69], "sigmoid": [0.10, 0.10, 0.12]})
    assert v.word == "agrees" and v.difference.mean > 0 and v.difference.n == 3
    v = alexnet.activation_verdict({"ReLU": [0.10, 0.10, 0.12], "sigmoid": [0.70, 0.72, 0.69]})
    assert v.word == "contradicts"
    assert "ReLU − sigmoid" in v.sentence("sigmoid", "ReLU")
    assert len(alexnet.SEEDS) >= 3
