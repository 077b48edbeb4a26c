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


def test_the_variants_share_the_head_and_the_5x5_net_halves_b_with_its_receptive_field():
    heads = set()
    for name, arch in vgg.VARIANTS.items():
        net = vgg.vgg11_fmnist(conv_arch=arch)
        assert net(torch.zeros(1, 1, vgg.EXPERIMENT["resize"], vgg.EXPERIMENT["resize"])).shape == (1, 10)
        heads.add(measure.count_parameters(net) - measure.count_parameters(net[:len(arch)]))
    assert len(heads) == 1  # same fc head: only the blocks differ
    pairs, fives = vgg.VARIANTS["B: 3×3 pairs"], vgg.VARIANTS["B with 5×5"]
    assert vgg.conv_layers(pairs) == 2 * vgg.conv_layers(fives) == 10
    assert [c for _, c, *k in pairs] == [c for _, c, *k in fives]  # the same widths
    kernels = [m.kernel_size for m in vgg.vgg11_fmnist(conv_arch=fives).modules()
               if isinstance(m, nn.Conv2d)]
    assert set(kernels) == {(5, 5)}
    # the same receptive field: two 3×3 see 5×5; the pairs hold 18C² weights per block, not 25C²
    pair_net, five_net = (vgg.vgg11_fmnist(conv_arch=a)[:5] for a in (pairs, fives))
    assert measure.count_parameters(pair_net) < measure.count_parameters(five_net)
    assert vgg.VARIANTS["VGG-11"] == vgg.VGG11_ARCH


def test_bn_variant_normalizes_every_convolution_like_torchvisions_vgg_bn():
    net = vgg.vgg11_fmnist(conv_arch=vgg.VGG13_ARCH, bn=True)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(convs) == len(norms) == 10
    assert vgg.EXPERIMENT_MODEL["bn"] is True
    assert not any(isinstance(m, nn.BatchNorm2d) for m in vgg.vgg11_fmnist().modules())


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
    # no 1×1 collapse: the classifier reads the map five halvings leave, as it is
    net = quick.create_model(seed=0)
    last = net[:5](torch.zeros(1, 1, quick.resize, quick.resize)).shape[-1]
    assert last == quick.model_kwargs["pool"] > 1
    # the experiment's head reads its 1×1 map directly too
    side = vgg.EXPERIMENT["resize"]
    assert side // 32 == vgg.EXPERIMENT_MODEL["pool"]


def test_kaiming_init_keeps_the_deep_variant_alive():
    """With d2l's Xavier init a 16-layer VGG's logits start near zero (it never left
    ln 10); with Kaiming init they have a usable scale."""
    arch = ((2, 48), (2, 96), (3, 192), (3, 384), (3, 512))  # 13 convolutions
    x = torch.randn(8, 1, 32, 32)
    torch.manual_seed(0)
    xavier = vgg.vgg11_fmnist(conv_arch=arch, pool=1, hidden=256, init="xavier").eval()
    torch.manual_seed(0)
    kaiming = vgg.vgg11_fmnist(conv_arch=arch, pool=1, hidden=256, init="kaiming").eval()
    with torch.no_grad():
        assert kaiming(x).std() > 10 * xavier(x).std()
    for m in kaiming.modules():
        if isinstance(m, nn.Conv2d):
            assert torch.equal(m.bias, torch.zeros_like(m.bias))
    try:
        vgg.vgg11_fmnist(init="orthogonal")
    except ValueError as e:
        assert "kaiming" in str(e)
    else:
        raise AssertionError("an unknown init must fail")


def test_default_builder_is_still_d2ls_network():
    assert measure.count_parameters(vgg.vgg11_fmnist()) == 43_093_322


def test_depth_verdict_reads_pairs_minus_5x5():
    v = vgg.depth_verdict({"B: 3×3 pairs": [0.80, 0.82, 0.81],
                           "B with 5×5": [0.76, 0.77, 0.78], "VGG-11": [0.0] * 3})
    assert v.word == "agrees" and round(v.difference.mean, 3) == 0.04
    v = vgg.depth_verdict({"B: 3×3 pairs": [0.10, 0.10, 0.10], "B with 5×5": [0.76, 0.77, 0.78]})
    assert v.word == "contradicts"
    assert len(vgg.SEEDS) >= 3
    assert set(vgg.AT_SCALE) <= set(vgg.EXPERIMENT) and vgg.AT_SCALE["score_per_class"] == 1000


def test_page_versus_record_says_whether_the_verdicts_agree_and_why_not():
    pairs_ahead = {"B: 3×3 pairs": [0.925, 0.924, 0.924], "B with 5×5": [0.917, 0.920, 0.919]}
    five_ahead = {"B: 3×3 pairs": [0.58, 0.60, 0.57], "B with 5×5": [0.69, 0.68, 0.70]}
    same = vgg.page_versus_record(pairs_ahead, {"B: 3×3 pairs": 0.3, "B with 5×5": 0.4},
                                  pairs_ahead)
    assert same.endswith("reached the same verdict.")
    underfit = vgg.page_versus_record(five_ahead, {"B: 3×3 pairs": 1.85, "B with 5×5": 1.60},
                                      pairs_ahead)
    assert '"contradicts"' in underfit and "higher training loss" in underfit
    assert "1.85 against 1.60" in underfit and "not yet fit" in underfit
    overfit = vgg.page_versus_record(five_ahead, {"B: 3×3 pairs": 0.05, "B with 5×5": 0.10},
                                     pairs_ahead)
    assert "lower training loss" in overfit and "test images worse" in overfit
    budget = f"{vgg.EXPERIMENT['train_per_class'] * 10:,} images"
    assert budget in underfit
