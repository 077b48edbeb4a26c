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
    assert quick.model == "alexnet_fmnist"
    assert quick.resize >= models.get_spec("alexnet_fmnist").min_size
    assert alexnet.EXPERIMENT["resize"] >= models.get_spec("alexnet_fmnist").min_size
