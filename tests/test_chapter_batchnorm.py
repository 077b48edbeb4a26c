"""The batch-normalization chapter's helper and profiles."""

import pytest
import torch
from torch import nn

from cnnlab import profiles
from cnnlab.chapters import batchnorm


@pytest.mark.parametrize("shape, layer", [((16, 5), nn.BatchNorm1d), ((8, 3, 6, 6), nn.BatchNorm2d)])
def test_batch_norm_by_hand_matches_torch_in_training_and_eval(shape, layer):
    torch.manual_seed(0)
    bn = layer(shape[1])
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2.0)
        bn.bias.uniform_(-1.0, 1.0)
    gamma, beta = bn.weight.detach().clone(), bn.bias.detach().clone()
    mean, var = bn.running_mean.clone(), bn.running_var.clone()
    bn.train()
    for _ in range(3):  # several steps: the running averages must follow torch's
        x = 3 * torch.randn(shape) + 2
        y, mean, var = batchnorm.batch_norm(x, gamma, beta, mean, var, training=True)
        assert torch.allclose(y, bn(x).detach(), atol=1e-5)
        assert torch.allclose(mean, bn.running_mean, atol=1e-6)
        assert torch.allclose(var, bn.running_var, atol=1e-5)
    bn.eval()
    x = torch.randn(shape)
    y, mean2, var2 = batchnorm.batch_norm(x, gamma, beta, mean, var, training=False)
    assert torch.allclose(y, bn(x).detach(), atol=1e-5)
    assert torch.equal(mean2, mean) and torch.equal(var2, var)  # eval does not update


def test_batch_norm_normalizes_each_channel_over_the_batch():
    x = 5 * torch.randn(32, 4, 3, 3) - 7
    y, _, _ = batchnorm.batch_norm(x, torch.ones(4), torch.zeros(4), torch.zeros(4),
                                   torch.ones(4), training=True)
    assert torch.allclose(y.mean(dim=(0, 2, 3)), torch.zeros(4), atol=1e-5)
    assert torch.allclose(y.var(dim=(0, 2, 3), unbiased=False), torch.ones(4), atol=1e-3)


def test_batch_norm_rejects_other_shapes():
    with pytest.raises(ValueError, match="expected"):
        batchnorm.batch_norm(torch.zeros(2, 3, 4), torch.ones(3), torch.zeros(3),
                             torch.zeros(3), torch.ones(3), training=True)


def test_quick_profile_keeps_d2ls_optimizer_on_less_data():
    # (the full profile is d2l's recipe: tests/test_chapters.py checks every chapter's)
    full = profiles.get_profile("batchnorm", "full")
    quick = profiles.get_profile("batchnorm", "quick")
    assert quick.model == full.model and quick.lr == full.lr and quick.optimizer == "sgd"
    assert quick.epochs < full.epochs and quick.train_per_class is not None
