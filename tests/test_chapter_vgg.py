"""The VGG chapter's helpers, variants and profiles (cnnlab/chapters/vgg.py)."""

import torch
from torch import nn

from cnnlab import measure, models, profiles
from cnnlab.chapters import vgg


def test_conv_layers_counts_the_convolutions_of_an_architecture():
    for arch in vgg.VARIANTS.values():
        net = vgg.vgg11_fmnist(conv_arch=arch)
        assert vgg.conv_layers(arch) == sum(isinstance(m, nn.Conv2d) for m in net.modules())
    assert vgg.conv_layers(vgg.VGG11_ARCH) == 8


def test_the_variants_share_the_head_and_differ_in_depth_and_width():
    heads = set()
    for name, arch in vgg.VARIANTS.items():
        net = vgg.vgg11_fmnist(conv_arch=arch)
        assert net(torch.zeros(1, 1, vgg.EXPERIMENT["resize"], vgg.EXPERIMENT["resize"])).shape == (1, 10)
        heads.add(measure.count_parameters(net) - measure.count_parameters(net[:len(arch)]))
    assert len(heads) == 1  # same fc head: only the blocks differ
    depth = {name: vgg.conv_layers(arch) for name, arch in vgg.VARIANTS.items()}
    assert depth["shallower, wider"] < depth["VGG-11"] < depth["deeper, narrower"]
    assert vgg.VARIANTS["VGG-11"] == vgg.VGG11_ARCH


def test_variant_costs_measures_one_architecture():
    costs = vgg.variant_costs(vgg.VGG11_ARCH, side=32, batch_size=2, steps=1, device="cpu")
    net = models.create("vgg11_fmnist")
    assert costs["convs"] == 8
    assert costs["params"] == measure.count_parameters(net) == 43_093_322
    assert costs["body_params"] == measure.count_parameters(net[:5])
    assert 0 < costs["body_gflops"] < costs["gflops"]
    assert costs["gflops"] == measure.flops(net, (1, 1, 32, 32)).gflops
    assert costs["ms_per_step"] > 0


def test_quick_profile_fits_the_model():
    # (that the full profile is d2l's recipe is tested for every chapter in test_chapters)
    quick = profiles.get_profile("vgg", "quick")
    assert quick.model == "vgg11_fmnist"
    assert quick.resize >= models.get_spec("vgg11_fmnist").min_size
