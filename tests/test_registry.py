import pytest
import torch
from torch import nn

from cnnlab import models
from cnnlab.models import registry


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


def test_create_with_a_seed_draws_the_same_initial_weights():
    def weights(**kw):
        return torch.cat([p.flatten() for p in models.create("lenet_bn", **kw).parameters()])
    assert torch.equal(weights(seed=0), weights(seed=0))
    assert not torch.equal(weights(seed=0), weights(seed=1))


def test_registering_a_name_twice_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("resnet18", family="resnet")(lambda **kw: nn.Identity())


