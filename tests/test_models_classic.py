"""Tests for the classic families: AlexNet, VGG, NiN, GoogLeNet, LeNet, DenseNet.

Every registered name is checked through the registry (shapes at its typical and
smallest input, the input checks); the torchvision-identical names against
torchvision's own builders (parameter count, state_dict, outputs); the chapters' d2l
networks against d2l's (``benchmarks/_d2l_setup.py`` imports d2l and holds its chapter code).

Each model is built once: the module-scoped ``case`` fixture is parametrized by
name, pytest runs all tests of one name together and frees the models before the
next, so at most one VGG pair (~1.2 GB) is alive at a time.
Run with ``OMP_NUM_THREADS=1`` on small machines.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Callable

import pytest
import torch
import torchvision
from torch import nn

from cnnlab import models
from cnnlab.models.registry import get_spec

FAMILIES = ("alexnet", "vgg", "nin", "googlenet", "lenet", "densenet")
TV_NAMES = ["alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
            "vgg19_bn", "googlenet", "densenet121", "densenet161", "densenet169", "densenet201"]
D2L_NAMES = ["alexnet_fmnist", "vgg11_fmnist", "nin", "googlenet_fmnist", "lenet", "lenet_bn",
             "densenet_fmnist"]
ALL_NAMES = TV_NAMES + D2L_NAMES
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

# ../shared/notes/reference-numbers.md (torchvision 0.29.1 weights metadata).
REFERENCE_PARAMS = {
    "alexnet": 61_100_840, "vgg11": 132_863_336, "vgg11_bn": 132_868_840,
    "vgg16": 138_357_544, "vgg16_bn": 138_365_992, "vgg19": 143_667_240,
    "vgg19_bn": 143_678_248, "googlenet": 6_624_904, "densenet121": 7_978_856,
    "densenet161": 28_681_000, "densenet169": 14_149_480, "densenet201": 20_013_928,
}
# The counts our docstrings quote for the d2l variants (10 classes, 1 channel).
D2L_PARAMS = {
    "alexnet_fmnist": 46_764_746, "vgg11_fmnist": 43_093_322, "nin": 1_992_166,
    "googlenet_fmnist": 5_977_530, "lenet": 61_706, "lenet_bn": 44_878,
    "densenet_fmnist": 758_226,
}


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def randomize_(model: nn.Module, seed: int = 5) -> nn.Module:
    """Weights and BN statistics that keep activations O(1) through any depth.

    The builders' own inits (e.g. GoogLeNet's N(0, 0.01)) shrink activations so much
    that the logits are ~0 and any two networks "agree"; random BN running stats
    also check that the buffers land in the right layers.
    """
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight)
            if m.bias is not None:
                m.bias.uniform_(-0.1, 0.1)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.1, 0.1)
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return model


def assert_same_logits(a: torch.Tensor, b: torch.Tensor) -> None:
    a, b = a.detach(), b.detach()
    assert a.abs().mean() > 1e-2, "logits too small for the comparison to mean anything"
    torch.testing.assert_close(a, b, atol=1e-5 * float(b.abs().max()), rtol=1e-4)


def torchvision_model(name: str, **kwargs) -> nn.Module:
    """torchvision's builder, no weights; skip the (slow, irrelevant) re-initialization."""
    if name.startswith("vgg") or name == "googlenet":
        kwargs.setdefault("init_weights", False)
    if name == "googlenet":
        kwargs.setdefault("aux_logits", False)
    return getattr(torchvision.models, name)(weights=None, **kwargs).eval()


class Case:
    """One registry name: its spec, our model (built by ``create``) and torchvision's, lazily."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.spec = get_spec(name)
        torch.manual_seed(0)
        self.model = models.create(name).eval()
        self._tv: nn.Module | None = None

    @property
    def tv(self) -> nn.Module:
        if self._tv is None:
            torch.manual_seed(1)
            self._tv = torchvision_model(self.spec.torchvision)
        return self._tv

    def input(self, size: int, n: int = 2, channels: int | None = None) -> torch.Tensor:
        torch.manual_seed(2)
        return torch.randn(n, self.spec.in_channels if channels is None else channels, size, size)


@pytest.fixture(scope="module", params=ALL_NAMES)
def case(request) -> Case:
    yield Case(request.param)


# --- registry, shapes and input checks: every name ----------------------------------

def test_the_registered_names_are_exactly_these():
    # (the variants chapter's small CIFAR-scale DenseNet-BC is its own study: its test
    # is test_chapter_variants.py)
    from cnnlab import chapters
    registered = {n for f in FAMILIES for n in models.list_models(f)}
    assert registered - set(chapters.models_of("variants")) == set(ALL_NAMES)
    assert [n for n in ALL_NAMES if get_spec(n).torchvision] == TV_NAMES


def test_create_round_trip(case: Case):
    spec = case.spec
    assert spec.name == case.name and spec.family in FAMILIES
    assert case.name in models.list_models(spec.family)
    assert spec.description and re.search(r"\b(19|20)\d\d\b", spec.paper)  # cites a year
    assert case.model.input_spec.model == case.name
    assert case.model.input_spec.channels == spec.in_channels
    assert case.model.input_spec.min_size == spec.min_size
    # create() passes num_classes / in_channels through to the builder.
    if n_params(case.model) < 50_000_000:
        other = models.create(case.name, num_classes=7, in_channels=2).eval()
        with torch.no_grad():
            assert other(torch.zeros(1, 2, spec.min_size, spec.min_size)).shape == (1, 7)


@torch.no_grad()
def test_output_shape_at_input_size(case: Case):
    assert case.model(case.input(case.spec.input_size)).shape == (2, case.spec.num_classes)


@torch.no_grad()
def test_output_shape_at_min_size(case: Case):
    assert case.model(case.input(case.spec.min_size)).shape == (2, case.spec.num_classes)


@torch.no_grad()
def test_create_rejects_images_below_min_size(case: Case):
    if case.spec.min_size <= 1:
        pytest.skip(f"{case.name} accepts 1×1 inputs; there is nothing smaller to reject")
    with pytest.raises(ValueError, match=case.name):
        case.model(case.input(case.spec.min_size - 1))


@torch.no_grad()
def test_declared_min_size_is_tight(case: Case):
    """Without the registry's check (``forward`` skips the pre-hook) min_size-1 really breaks."""
    if case.spec.min_size <= 1:
        pytest.skip(f"{case.name} accepts 1×1 inputs; there is nothing smaller to try")
    x = case.input(case.spec.min_size - 1)
    try:
        y = case.model.forward(x)
    except RuntimeError:
        return  # a pooling layer ran out of pixels, or the fc layer got the wrong size
    assert y.shape != (2, case.spec.num_classes), "min_size-1 still gives proper logits"


@torch.no_grad()
def test_wrong_channel_count_names_the_model(case: Case):
    wrong = 3 if case.spec.in_channels == 1 else 1
    with pytest.raises(ValueError, match=case.name) as info:
        case.model(case.input(case.spec.min_size, channels=wrong))
    assert "channels" in str(info.value)


# --- torchvision-identical names ----------------------------------------------------

@pytest.mark.parametrize("case", TV_NAMES, indirect=True)
def test_parameter_count_matches_torchvision(case: Case):
    ours = n_params(case.model)
    assert ours == n_params(case.tv)
    meta = torchvision.models.get_model_weights(case.spec.torchvision).DEFAULT.meta
    assert ours == meta["num_params"]
    if case.name in REFERENCE_PARAMS:
        assert ours == REFERENCE_PARAMS[case.name]


@pytest.mark.parametrize("case", TV_NAMES, indirect=True)
def test_min_size_is_torchvisions(case: Case):
    meta = torchvision.models.get_model_weights(case.spec.torchvision).DEFAULT.meta
    assert (case.spec.min_size, case.spec.min_size) == tuple(meta["min_size"])


@pytest.mark.parametrize("case", TV_NAMES, indirect=True)
@torch.no_grad()
def test_torchvision_state_dict_loads_and_gives_the_same_outputs(case: Case):
    tv_state = randomize_(case.tv).state_dict()
    assert list(case.model.state_dict()) == list(tv_state)  # same names, same order
    case.model.load_state_dict(tv_state, strict=True)
    x = case.input(case.spec.input_size, n=1)
    assert_same_logits(case.model(x), case.tv(x))


def test_googlenet_with_aux_heads_is_torchvisions_default():
    """``aux_logits=True`` is ``torchvision.models.googlenet(weights=None)``, train mode included.

    ``transform_input=True`` (what torchvision's pretrained weights expect) is checked too.
    """
    ours = models.create("googlenet", aux_logits=True, transform_input=True)
    tv = torchvision.models.googlenet(weights=None, init_weights=False, transform_input=True)
    assert n_params(ours) == n_params(tv) == 13_004_888
    ours.load_state_dict(randomize_(tv).state_dict(), strict=True)
    torch.manual_seed(0)
    x = torch.randn(2, 3, 96, 96)
    outs = []
    for net in (ours.train(), tv.train()):
        torch.manual_seed(3)  # same dropout masks in both
        outs.append(net(x))
    assert type(outs[0]).__name__ == "GoogLeNetOutputs" and outs[0]._fields == outs[1]._fields
    for a, b in zip(outs[0], outs[1]):
        assert a.shape == (2, 1000)
        assert_same_logits(a, b)
    with torch.no_grad():  # eval: plain logits, aux heads unused
        y = ours.eval()(x)
    assert isinstance(y, torch.Tensor) and y.shape == (2, 1000)


def test_googlenet_five_by_five_is_the_papers_branch():
    net = models.create("googlenet", num_classes=10, five_by_five=True).eval()
    assert net.inception3a.branch3[1].conv.kernel_size == (5, 5)
    assert models.create("googlenet").inception3a.branch3[1].conv.kernel_size == (3, 3)
    assert n_params(net) == 7_005_832 - 1000 * 1025 + 10 * 1025
    with torch.no_grad():
        assert net(torch.randn(1, 3, 64, 64)).shape == (1, 10)
    with pytest.raises(RuntimeError, match="size mismatch"):
        net.load_state_dict(torchvision_model("googlenet", num_classes=10).state_dict())


def test_nin_also_works_for_imagenet_shapes():
    net = models.create("nin", num_classes=1000, in_channels=3).eval()
    assert n_params(net) == 7_439_608
    with torch.no_grad():
        assert net(torch.randn(1, 3, 224, 224)).shape == (1, 1000)


# --- d2l variants: against d2l 1.0.3 itself, imported through benchmarks/_d2l_setup.py ---

def _d2l_networks() -> dict[str, Callable[[], nn.Module]]:
    sys.path.insert(0, str(BENCHMARKS))
    backend = os.environ.get("MPLBACKEND")
    try:
        import _d2l_setup
        return _d2l_setup.chapter_networks()
    finally:
        sys.path.remove(str(BENCHMARKS))
        if backend is None:  # keep MPLBACKEND out of the notebook kernels' environment
            os.environ.pop("MPLBACKEND", None)


D2L_REFERENCES = _d2l_networks()


@pytest.mark.parametrize("case", D2L_NAMES, indirect=True)
@torch.no_grad()
def test_d2l_variant_is_d2ls_network(case: Case):
    """Same parameter count as d2l; with d2l's weights copied in, the same outputs."""
    ref = D2L_REFERENCES[case.name]().eval()
    x = case.input(case.spec.input_size)  # d2l's input size: 224, 96 or 28
    ref(x)  # materializes the lazy layers
    assert n_params(case.model) == n_params(ref) == D2L_PARAMS[case.name]
    ours, theirs = case.model.state_dict().values(), randomize_(ref).state_dict().values()
    assert [t.shape for t in ours] == [t.shape for t in theirs]  # same layers, same order
    for mine, ref_tensor in zip(ours, theirs):
        mine.copy_(ref_tensor)
    assert_same_logits(case.model(x), ref(x))
