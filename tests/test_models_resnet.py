"""Tests for cnnlab.models.resnet, resnet_cifar and se_resnet.

Reference numbers: torchvision 0.29.1 weight metadata (ImageNet ResNets), the ResNet
paper's Table 6 (CIFAR, arXiv:1512.03385), and for SE-ResNet the reduction-16 models of
Cadene's pretrainedmodels / osmr's imgclsmob (28,088,024 and 11,778,592 parameters).
"""

from __future__ import annotations

import re

import pytest
import torch
import torchvision
from torch import nn
from torch.nn import functional as F

from cnnlab import models
from cnnlab.models.resnet import BasicBlock, ResidualBlock
from cnnlab.models.resnet_cifar import CifarResNet, PlainBlock, ZeroPadShortcut
from cnnlab.models.se_resnet import SEBasicBlock, SEBottleneck

IMAGENET = {  # torchvision's parameter counts (weights metadata "num_params")
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "resnet101": 44_549_160, "resnet152": 60_192_808, "resnext50_32x4d": 25_028_904,
    "wide_resnet50_2": 68_883_240,
}
SE = {"se_resnet18": 11_778_592, "se_resnet50": 28_088_024}
TABLE6 = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7}  # CIFAR-10 params, millions
CIFAR = [f"{kind}{d}" for d in TABLE6 for kind in ("resnet", "plain")]
ALL = [*IMAGENET, *SE, *CIFAR]


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def paper_round(n: int) -> float:
    """Round a parameter count the way Table 6 prints it (0.27M, ..., 1.7M, 19.4M)."""
    return round(n / 1e6, 2) if n < 1e6 else round(n / 1e6, 1)


def zero_branch(block: ResidualBlock) -> None:
    """Make F(x) = 0 in eval mode: the last BN outputs its bias, here 0."""
    nn.init.zeros_(block.last_bn.weight)
    nn.init.zeros_(block.last_bn.bias)


# --- every registered name ---------------------------------------------------------------

def test_names_and_metadata():
    assert set(ALL) <= set(models.list_models("resnet"))
    for name in IMAGENET:
        spec = models.get_spec(name)
        assert (spec.torchvision, spec.input_size, spec.min_size) == (name, 224, 1)
        # torchvision's own metadata says the same smallest input
        meta = torchvision.models.get_model_weights(name).DEFAULT.meta
        assert meta["min_size"] == (1, 1) and meta["num_params"] == IMAGENET[name]
    for name in CIFAR:
        spec = models.get_spec(name)
        assert (spec.num_classes, spec.in_channels, spec.input_size, spec.min_size) == (10, 3, 32, 1)
        assert spec.torchvision is None
    assert "plain" in models.get_spec("plain56").description
    assert "arXiv:1709.01507" in models.get_spec("se_resnet50").paper
    assert "arXiv:1611.05431" in models.get_spec("resnext50_32x4d").paper
    assert "arXiv:1605.07146" in models.get_spec("wide_resnet50_2").paper


@pytest.mark.parametrize("name", ALL)
def test_create_round_trip_shapes_and_channel_error(name):
    spec = models.get_spec(name)
    net = models.create(name).eval()
    assert net.input_spec == models.registry.InputSpec(name, spec.in_channels, spec.min_size)
    x = torch.randn(1, spec.in_channels, 32, 32)
    with torch.no_grad():
        # round trip: its state_dict rebuilds the same function in a fresh model
        twin = models.create(name).eval()
        twin.load_state_dict(net.state_dict(), strict=True)
        torch.testing.assert_close(twin(x), net(x))
        # input_size, the smallest size, and an odd size (shortcut and conv must agree)
        for size in (spec.input_size, spec.min_size, 7):
            out = net(torch.randn(1, spec.in_channels, size, size))
            assert out.shape == (1, spec.num_classes)
    with pytest.raises(ValueError, match=rf"^{re.escape(name)} was built for 3-channel"):
        net(torch.randn(1, 4, 32, 32))


# --- ImageNet ResNets against torchvision -----------------------------------------------

@pytest.mark.parametrize("name", IMAGENET)
def test_same_network_as_torchvision(name):
    torch.manual_seed(0)
    tv = getattr(torchvision.models, name)(weights=None).eval()
    ours = models.create(name).eval()
    assert n_params(ours) == n_params(tv) == IMAGENET[name]
    assert list(ours.state_dict()) == list(tv.state_dict())  # same names, same order
    ours.load_state_dict(tv.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), tv(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", [*IMAGENET, *SE])
def test_fashion_mnist_channels_and_classes(name):
    net = models.create(name, num_classes=10, in_channels=1).eval()
    assert net.conv1.weight.shape[1] == 1 and net.fc.out_features == 10
    with torch.no_grad():
        assert net(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match=rf"^{re.escape(name)} was built for 1-channel"):
        net(torch.randn(2, 3, 28, 28))


def test_fashion_mnist_resnet18_trains_one_step():
    torch.manual_seed(0)
    net = models.create("resnet18", num_classes=10, in_channels=1)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    x, y = torch.randn(4, 1, 28, 28), torch.tensor([0, 1, 2, 3])
    before = F.cross_entropy(net(x), y)
    before.backward()
    opt.step()
    assert all(p.grad is not None for p in net.parameters())
    assert torch.isfinite(before)


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_zero_init_residual_like_torchvision(name):
    ours = models.create(name, zero_init_residual=True).eval()
    tv = getattr(torchvision.models, name)(weights=None, zero_init_residual=True)
    zero = lambda net: {k for k, v in net.state_dict().items()  # noqa: E731
                        if k.endswith(".weight") and v.ndim == 1 and not v.any()}
    assert zero(ours) == zero(tv) and len(zero(ours)) == sum(map(len, (ours.layer1, ours.layer2,
                                                                        ours.layer3, ours.layer4)))
    block = ours.layer1[1]  # no downsample: a zero-initialised block is relu(identity)
    x = torch.randn(1, block.conv1.in_channels, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(block(x), F.relu(x))


# --- CIFAR ResNets (paper §4.2) ---------------------------------------------------------

@pytest.mark.parametrize("depth", TABLE6)
def test_cifar_parameter_counts_match_table6(depth):
    a = n_params(models.create(f"resnet{depth}"))
    plain = n_params(models.create(f"plain{depth}"))
    b = n_params(models.create(f"resnet{depth}", shortcut="B"))
    c = n_params(models.create(f"resnet{depth}", shortcut="C"))
    assert paper_round(a) == TABLE6[depth]
    assert plain == a                  # option A shortcuts have no parameters
    # B projects twice (16→32, 32→64: conv 1×1 + BN), C projects in every block
    assert b - a == (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    assert a < b < c


def test_cifar_resnet1202_matches_table6():
    assert paper_round(n_params(CifarResNet(1202))) == 19.4


def test_cifar_shortcut_option_a_is_identity_with_zero_padding():
    net = models.create("resnet20").eval()
    pads = [m for m in net.modules() if isinstance(m, ZeroPadShortcut)]
    assert len(pads) == 2 and not any(m.downsample for m in net.layer1)
    same, widen = net.layer1[1], net.layer2[0]  # 16→16 and 16→32 with stride 2
    zero_branch(same)
    zero_branch(widen)
    x = torch.randn(2, 16, 8, 8)
    expected = F.relu(torch.cat([x[:, :, ::2, ::2], torch.zeros(2, 16, 4, 4)], dim=1))
    with torch.no_grad():
        torch.testing.assert_close(same(x), F.relu(x), rtol=0, atol=0)
        torch.testing.assert_close(widen(x), expected, rtol=0, atol=0)


def test_cifar_shortcut_options_b_and_c_and_plain():
    def projections(net: CifarResNet) -> list[bool]:
        blocks = [*net.layer1, *net.layer2, *net.layer3]
        return [isinstance(b.downsample, nn.Sequential) and isinstance(b.downsample[0], nn.Conv2d)
                for b in blocks]

    b = models.create("resnet20", shortcut="B")
    assert projections(b) == [False] * 3 + [True, False, False] * 2
    assert all(projections(models.create("resnet20", shortcut="C")))
    plain = models.create("plain20").eval()
    assert all(type(m) is PlainBlock and m.downsample is None
               for m in [*plain.layer1, *plain.layer2, *plain.layer3])
    block = plain.layer1[1]
    zero_branch(block)  # no shortcut: nothing is left
    with torch.no_grad():
        assert not block(torch.randn(2, 16, 8, 8)).any()


def test_cifar_bad_options_are_refused():
    with pytest.raises(ValueError, match="shortcut must be 'A', 'B' or 'C'"):
        models.create("resnet20", shortcut="D")
    with pytest.raises(TypeError):
        models.create("plain20", shortcut="A")  # a plain net has no shortcut to choose
    with pytest.raises(ValueError, match="6n\\+2"):
        CifarResNet(21)


# --- SE-ResNet ---------------------------------------------------------------------------

def test_se_resnet_parameter_counts():
    # per block, the SE unit adds C·C/16 + C/16 (fc1) + C/16·C + C (fc2), C = output channels
    def se_params(blocks_channels):
        return sum(n * (2 * c * (c // 16) + c // 16 + c) for n, c in blocks_channels)

    se50 = models.create("se_resnet50")
    se18 = models.create("se_resnet18")
    assert n_params(se50) == SE["se_resnet50"] == IMAGENET["resnet50"] + se_params(
        [(3, 256), (4, 512), (6, 1024), (3, 2048)])
    assert n_params(se18) == SE["se_resnet18"] == IMAGENET["resnet18"] + se_params(
        [(2, 64), (2, 128), (2, 256), (2, 512)])
    for net, kind, count in ((se50, SEBottleneck, 16), (se18, SEBasicBlock, 8)):
        blocks = [m for m in net.modules() if isinstance(m, ResidualBlock)]
        assert len(blocks) == count and all(type(b) is kind for b in blocks)
        assert all(b.se.fc1.out_channels == b.last_bn.num_features // 16 for b in blocks)


def test_se_gates_the_residual_branch_before_the_sum():
    net = models.create("se_resnet18").eval()
    se_block = net.layer2[1]
    plain_block = BasicBlock(128, 128).eval()
    plain_block.load_state_dict({k: v for k, v in se_block.state_dict().items()
                                 if not k.startswith("se.")})
    x = torch.randn(2, 128, 6, 6)
    with torch.no_grad():
        nn.init.zeros_(se_block.se.fc2.weight)
        nn.init.constant_(se_block.se.fc2.bias, 100.0)  # gate = 1: an ordinary block
        torch.testing.assert_close(se_block(x), plain_block(x))
        nn.init.constant_(se_block.se.fc2.bias, -100.0)  # gate = 0: only the shortcut is left
        torch.testing.assert_close(se_block(x), F.relu(x))


def test_se_resnet50_trunk_takes_torchvision_resnet50_weights():
    net = models.create("se_resnet50")
    result = net.load_state_dict(torchvision.models.resnet50(weights=None).state_dict(),
                                 strict=False)
    assert not result.unexpected_keys
    assert result.missing_keys and all(".se.fc" in k for k in result.missing_keys)
    assert len(result.missing_keys) == 16 * 4  # fc1/fc2 weight and bias in 16 blocks
