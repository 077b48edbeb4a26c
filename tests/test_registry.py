import pytest
import torch
from torch import nn

from cnnlab import models
from cnnlab.models import registry


def test_unknown_name_suggests_the_closest():
    with pytest.raises(models.UnknownModelError, match=r"Unknown model 'resnet81'.*'resnet18'"):
        models.create("resnet81")
    with pytest.raises(ValueError, match="'vgg16_bn'"):  # also a ValueError for generic handlers
        models.create("vgg16bn")
    with pytest.raises(KeyError):  # and a KeyError, like a dict lookup
        models.get_spec("nothing-like-it")


def test_families_partition_the_zoo():
    names = models.list_models()
    families = {models.get_spec(n).family for n in names}
    assert {"alexnet", "vgg", "nin", "googlenet", "lenet", "resnet", "densenet"} <= families
    assert sorted(n for f in families for n in models.list_models(f)) == names


def test_every_spec_is_complete():
    for name in models.list_models():
        spec = models.get_spec(name)
        assert spec.paper and spec.description, name
        assert spec.min_size <= spec.input_size, name


def test_registering_a_name_twice_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("resnet18", family="resnet")(lambda **kw: nn.Identity())


def test_input_check_runs_before_the_first_layer():
    net = models.create("lenet_bn")
    with pytest.raises(ValueError, match=r"lenet_bn expects a batch of images shaped \(N, C, H, W\)"):
        net(torch.randn(1, 28, 28))
    with pytest.raises(ValueError, match=r"at least 28x28 .*got 14x14"):
        net(torch.randn(2, 1, 14, 14))
    assert net(torch.randn(2, 1, 28, 28)).shape == (2, 10)
