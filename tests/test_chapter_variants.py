"""The variants chapter: small ResNeXt, Wide ResNet, SE-ResNet and DenseNet-BC built
from the zoo's blocks, matched in parameters, and the helpers its table uses."""

import pytest
import torch
from torch import nn

from cnnlab import measure, models, profiles
from cnnlab.chapters import variants
from cnnlab.models.densenet import DenseBlock, DenseLayer
from cnnlab.models.resnet import BasicBlock, Bottleneck
from cnnlab.models.se_resnet import SEBasicBlock

# the module docstring's table
PARAMS = {"mini_resnet14": 174_970, "mini_resnext20": 188_490, "mini_wrn8": 173_842,
          "mini_se_resnet14": 180_626, "mini_densenet_bc40": 175_690}


def test_every_variant_is_registered_with_the_documented_parameter_count():
    assert list(variants.VARIANTS) == list(PARAMS)
    for name, count in PARAMS.items():
        net = models.create(name, seed=0)
        assert measure.count_parameters(net) == count, name
        assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10), name
    # "within 8% of the plain ResNet's"
    base = PARAMS["mini_resnet14"]
    assert all(abs(n / base - 1) < 0.08 for n in PARAMS.values())


def test_the_resnets_are_the_cifar_layout_of_the_zoos_blocks():
    net = models.create("mini_resnet14")
    blocks = [m for m in net.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 6 and all(type(b) is BasicBlock for b in blocks)
    # 3×3 stem, no pooling: the first stage sees the full 28×28 map
    shapes = dict(measure.layer_shapes(net, (1, 1, 28, 28)))
    assert [tuple(shapes[k]) for k in ("layer1", "layer2", "layer3")] == [
        (1, 16, 28, 28), (1, 32, 14, 14), (1, 64, 7, 7)]
    # ResNet-14: 1 stem + 6 blocks x 2 + fc (projections not counted)
    convs3 = [m for m in net.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs3) + 1 == 14


def test_resnext_groups_its_3x3_convolutions_and_widens_them():
    net = models.create("mini_resnext20")
    blocks = [m for m in net.modules() if isinstance(m, Bottleneck)]
    assert len(blocks) == 6
    assert {b.conv2.groups for b in blocks} == {8}
    assert [blocks[i].conv2.in_channels for i in (0, 2, 4)] == [24, 48, 96]  # 8×3d, 8×6d, 8×12d
    assert net.fc.in_features == 256  # 64 · expansion 4
    # the same network with one group and the bottleneck's own width has more parameters
    resnet20 = variants.SmallResNet(Bottleneck, (2, 2, 2))
    assert measure.count_parameters(resnet20) == 220_090 > PARAMS["mini_resnext20"]


def test_wide_resnet_is_wider_and_shallower():
    wide, base = models.create("mini_wrn8"), models.create("mini_resnet14")
    count = lambda net: sum(isinstance(m, BasicBlock) for m in net.modules())
    assert count(wide) == count(base) // 2 == 3
    assert [wide.layer1[0].conv1.out_channels, wide.layer3[0].conv1.out_channels] == [24, 96]


def test_se_block_gates_the_residual_branch():
    net = models.create("mini_se_resnet14")
    blocks = [m for m in net.modules() if isinstance(m, SEBasicBlock)]
    assert len(blocks) == 6 and all(isinstance(b, variants.SmallSEBasicBlock) for b in blocks)
    assert blocks[0].se.fc1.out_channels == 16 // 4  # reduction ratio 4
    # a gate closed to zero leaves only the shortcut: relu(0·F(x) + x) = relu(x)
    block = variants.SmallSEBasicBlock(8, 8).eval()
    with torch.no_grad():
        block.se.fc2.weight.zero_()
        block.se.fc2.bias.fill_(-1e4)
        x = torch.randn(2, 8, 5, 5)
        assert torch.allclose(block(x), torch.relu(x))
        block.se.fc2.bias.fill_(1e4)   # gate fully open: the plain BasicBlock
        plain = BasicBlock(8, 8).eval()
        plain.load_state_dict({k: v for k, v in block.state_dict().items() if ".se." not in k
                               and not k.startswith("se.")})
        assert torch.allclose(block(x), plain(x), atol=1e-6)


def test_densenet_bc_grows_and_compresses_as_the_paper_says():
    net = models.create("mini_densenet_bc40")
    layers = [m for m in net.modules() if isinstance(m, DenseLayer)]
    assert len(layers) == 18 and {l.conv2.out_channels for l in layers} == {12}
    assert {l.conv1.out_channels for l in layers} == {48}  # bottleneck 4k
    assert len([m for m in net.modules() if isinstance(m, DenseBlock)]) == 3
    # 24 → +72 = 96 → ×0.5 = 48 → 120 → 60 → 132
    assert net.features.transition1.conv.out_channels == 48
    assert net.features.transition2.conv.out_channels == 60
    assert net.classifier.in_features == 132
    with pytest.raises(ValueError, match="compression"):
        variants.SmallDenseNet(compression=0)
    with pytest.raises(ValueError, match="at least 4x4"):
        net(torch.zeros(1, 1, 3, 3))


def test_small_resnet_checks_its_stages():
    with pytest.raises(ValueError, match="3 stages"):
        variants.SmallResNet(BasicBlock, (2, 2, 2, 2))
    with pytest.raises(ValueError, match="unknown variant"):
        variants.build_variant("resnet14")


def test_equal_parameters_is_not_equal_work():
    # the chapter's point about FLOPs: DenseNet-BC does ~2.7× the ResNet's work
    f = {n: measure.flops(models.create(n), (1, 1, 28, 28)).total_flops for n in PARAMS}
    assert 2.5 < f["mini_densenet_bc40"] / f["mini_resnet14"] < 3.0
    assert f["mini_se_resnet14"] > f["mini_resnet14"]


@pytest.mark.parametrize("groups", [1, 2, 8, 32, 128])
def test_grouped_conv_parameters_match_pytorch(groups):
    conv = nn.Conv2d(128, 128, 3, groups=groups, bias=False)
    assert variants.grouped_conv_parameters(128, 128, 3, groups) == conv.weight.numel()
    assert variants.grouped_conv_parameters(128, 128, 3, groups) * groups == 147_456


def test_grouped_conv_parameters_refuse_uneven_groups():
    with pytest.raises(ValueError, match="divide"):
        variants.grouped_conv_parameters(128, 128, 3, groups=3)


def test_verdicts_pair_each_variant_with_resnet14_by_seed():
    from cnnlab import stats
    r = lambda name, acc: variants.VariantResult(name, name, 1, 0.0, 1.0, 1.0, 0.1, acc, 1000)
    runs = {"mini_resnet14": [r("mini_resnet14", a) for a in (0.70, 0.72, 0.69)],
            "mini_wrn8": [r("mini_wrn8", a) for a in (0.71, 0.71, 0.70)],
            "mini_densenet_bc40": [r("mini_densenet_bc40", a) for a in (0.78, 0.80, 0.79)]}
    acc = variants.final_accuracies(runs)
    found = variants.verdicts(acc)
    assert set(found) == {"mini_wrn8", "mini_densenet_bc40"}
    assert found["mini_wrn8"] == stats.verdict(acc["mini_resnet14"], acc["mini_wrn8"], "higher")
    assert found["mini_wrn8"].word == "not resolved"
    assert found["mini_densenet_bc40"].word == "agrees"
    assert set(variants.CLAIMS) == set(variants.VARIANTS) - {"mini_resnet14"}
    table = str(variants.seeds_table(runs)).splitlines()
    assert len(table) == 5 and "agrees" in table[-1] and "+8.7 ± " in table[-1]
    # the standard error of a single score is the binomial one of cnnlab.stats
    assert r("x", 0.8).standard_error == pytest.approx(stats.binomial_stderr(0.8, 1000))


def test_results_table_and_plot():
    import matplotlib
    matplotlib.use("Agg")
    rows = [variants.VariantResult(n, variants.VARIANTS[n].label, PARAMS[n], 0.04, 500.0, 10.0,
                                   0.5, 0.8, 500) for n in PARAMS]
    table = str(variants.results_table(rows)).splitlines()
    assert len(table) == 2 + len(PARAMS)
    assert table[0].split()[:2] == ["network", "params"] and "174,970" in table[2]
    ax = variants.plot_cost_vs_accuracy(rows, x="params").axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [variants.VARIANTS[n].label for n in PARAMS]
    assert ax.get_xlabel() == "parameters"
    with pytest.raises(ValueError, match="x must be one of"):
        variants.plot_cost_vs_accuracy(rows, x="depth")


def test_profiles_give_every_variant_the_same_budget():
    quick, full = profiles.get_profile("variants", "quick"), profiles.get_profile("variants", "full")
    assert quick.train_per_class and quick.test_per_class and quick.epochs <= 3
    # five networks × the seeds: at most 12,000 training images on a CPU
    assert quick.epochs * quick.train_per_class * 10 * 5 * len(variants.SEEDS) <= 12_000
    assert full.train_per_class is None and full.test_per_class is None and full.augment
    assert quick.model == full.model == "mini_resnet14"
    assert quick.settings() == {**quick.settings(), **variants.EXPERIMENT}  # quick is the experiment
    # at scale: the same recipe on more images, and enough test images to resolve a point
    scale = {**variants.EXPERIMENT, **variants.AT_SCALE}
    assert scale["train_per_class"] >= 10 * quick.train_per_class and scale["test_per_class"] >= 500
    assert set(variants.AT_SCALE) <= {"train_per_class", "test_per_class", "epochs"}


def test_a_variant_trains_one_step():
    torch.manual_seed(0)
    net = models.create("mini_resnext20")
    loss = nn.functional.cross_entropy(net(torch.randn(4, 1, 28, 28)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    assert torch.isfinite(loss) and net.conv1.weight.grad.abs().sum() > 0
