"""The blocks-and-shortcuts chapter: options A/B/C, the paired comparison, and the map
from the Keras ResNet-50 of *CV study notes: ResNet* (the fourth source article) onto our ResNet-50."""

import ast
import types

import pytest
import torch
from torch import nn

from cnnlab import data, models, profiles
from cnnlab.chapters import shortcuts as S
from cnnlab.models.resnet_cifar import ZeroPadShortcut

from support.articles import ARTICLES, keras_shim



# --------------------------------------------------------------------------- options A, B, C

def test_resnet34_options_count_as_the_paper_says():
    # B is torchvision's layout: 3 projections where the stage changes; C projects all 16
    # blocks, "thirteen" more than B (He et al. 2016, §4.1); A has no shortcut parameters.
    c = {o: S.census(S.with_shortcuts(models.create("resnet34"), o)) for o in S.OPTIONS}
    assert c["B"].total_params == 21_797_672  # torchvision's ResNet34_Weights metadata
    assert (c["A"].zero_pad, c["A"].projections, c["A"].shortcut_params) == (3, 0, 0)
    assert (c["B"].identity, c["B"].projections) == (13, 3)
    assert (c["C"].identity, c["C"].projections) == (0, 16)
    assert c["C"].projections - c["B"].projections == 13
    assert c["B"].total_params - c["A"].total_params == c["B"].shortcut_params == 173_824
    # each extra C projection is a 1×1 conv (c·c) and a BN (2c) on a block that keeps c channels
    extra = 3 * (64 * 64 + 128) + 3 * (128 * 128 + 256) + 5 * (256 * 256 + 512) + 2 * (512 * 512 + 1024)
    assert c["C"].total_params - c["B"].total_params == extra == 919_168


def test_cifar_options_match_with_shortcuts_on_the_same_network():
    for option in S.OPTIONS:
        built = models.create("resnet20", shortcut=option)
        rewritten = S.with_shortcuts(models.create("resnet20", shortcut="B"), option)
        assert S.census(built) == S.census(rewritten), option
    assert S.census(models.create("resnet20", shortcut="A")).total_params == 269_722  # Table 6: 0.27M


def test_with_shortcuts_keeps_shapes_and_a_is_zero_padding():
    with torch.device("meta"):  # shapes only: no weights drawn, no arithmetic
        x = torch.empty(2, 3, 64, 64)
        for name in ("resnet34", "resnet50"):
            for option in S.OPTIONS:
                net = S.with_shortcuts(models.create(name, num_classes=7), option).eval()
                assert net(x).shape == (2, 7), (name, option)
    a = S.with_shortcuts(models.create("resnet34"), "A")
    pad = a.layer2[0].downsample
    assert isinstance(pad, ZeroPadShortcut) and a.layer2[1].downsample is None
    y = pad(torch.arange(2 * 64 * 4 * 4, dtype=torch.float).reshape(2, 64, 4, 4))
    assert y.shape == (2, 128, 2, 2) and y[:, 64:].abs().sum() == 0   # padded with zeros
    # A → B → A: going back to A drops the projections again
    back = S.with_shortcuts(S.with_shortcuts(a, "C"), "A")
    assert S.census(back) == S.census(S.with_shortcuts(models.create("resnet34"), "A"))


def test_with_shortcuts_refuses_unknown_options_and_non_resnets():
    with pytest.raises(ValueError, match="option must be one of A, B, C"):
        S.with_shortcuts(models.create("resnet18"), "D")
    with pytest.raises(ValueError, match="no residual blocks"):
        S.with_shortcuts(nn.Sequential(nn.Conv2d(1, 2, 3)), "B")


def test_option_table_counts_from_the_models():
    table = S.option_table(("resnet20",))
    assert [row[1] for row in table.rows] == ["A", "B", "C"]
    assert table.census["resnet20", "C"].projections == 9          # one per block, 3·3
    assert table.rows[2][-1].startswith("+14,240")                  # C over A


# --------------------------------------------------------------------------- the comparison

def test_option_verdicts_follow_the_papers_order_over_seeds():
    from cnnlab import stats
    assert S.CLAIMS == (("A", "B", "higher"), ("B", "C", "higher")) and len(S.SEEDS) >= 3
    acc = {"A": [0.760, 0.770, 0.750], "B": [0.770, 0.768, 0.761], "C": [0.790, 0.800, 0.782]}
    found = S.option_verdicts(acc)
    assert found["A", "B"] == stats.verdict(acc["A"], acc["B"], expect="higher")
    assert found["A", "B"].word == "not resolved"
    assert found["B", "C"].word == "agrees"
    assert S.option_verdicts({"A": [0.7, 0.8], "C": [0.7, 0.8]}) == {}
    # the paper's own differences, for the page to cite
    top1 = {k: v[0] for k, v in S.PAPER_TABLE3.items()}
    assert round(top1["ResNet-34 A"] - top1["ResNet-34 B"], 2) == 0.51
    assert round(top1["ResNet-34 B"] - top1["ResNet-34 C"], 2) == 0.33


def test_profiles_train_resnet20_and_quick_is_smaller():
    quick, full = profiles.get_profile("shortcuts", "quick"), profiles.get_profile("shortcuts", "full")
    assert quick.model == full.model == "resnet20"
    assert (full.optimizer, full.lr, full.batch_size, full.weight_decay) == ("sgd", 0.1, 128, 1e-4)
    assert full.fit_kwargs()["momentum"] == 0.9 and full.train_per_class is None and full.augment
    assert quick.epochs * quick.train_per_class < full.epochs * 6000
    # three options × the seeds: at most 18,000 training images of ResNet-20 on a CPU
    assert quick.epochs * quick.train_per_class * 10 * 3 * len(S.SEEDS) <= 18_000


def test_compare_options_trains_each_option_on_the_same_images():
    tiny = S.PROFILES["quick"].replace(epochs=1, batch_size=20)
    ds = data.fashion_mnist(batch_size=20, resize=8, train_per_class=4, test_per_class=2)
    runs = S.compare_options(tiny, ("A", "C"), data=ds)
    assert [r.option for r in runs] == ["A", "C"] and runs[1].params > runs[0].params
    assert all(len(r.history) == 1 and len(r.predictions) == 20 for r in runs)
    assert torch.equal(runs[0].predictions.labels, runs[1].predictions.labels)
    table = S.run_table(runs)
    assert [row[0] for row in table.rows] == ["A", "C"]
    acc = S.final_accuracies({r.option: [r] for r in runs})
    assert acc == {r.option: [r.history[-1].test_acc] for r in runs}


# --------------------------------------------------------------------------- Keras ResNet-50

def _cv_notes_resnet50():
    """Run the article's own ResNet50() through the tests' PyTorch stand-in for Keras."""
    shim = keras_shim()
    tree = ast.parse((ARTICLES / "cv_notes_keras_resnet50.py").read_text(encoding="utf-8"))
    tree.body = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    seed = types.ModuleType("cv_notes")
    seed.__dict__.update(shim.NAMES)
    exec(compile(tree, "cv_notes", "exec"), seed.__dict__)
    with torch.device("meta"):
        model = seed.ResNet50()
    return model, dict(shim.outputs)


def test_keras_layers_are_the_seed_scripts_layers_with_its_shapes():
    model, outputs = _cv_notes_resnet50()
    built = [(name, m) for name, m in model.layers]
    ours = S.keras_layers()
    assert [layer.name for layer in ours] == [name for name, _ in built]
    for layer, (name, m) in zip(ours, built):
        if layer.kind == "Dense":
            assert tuple(m.weight.shape) == (layer.filters, layer.in_channels)
            continue
        c, h, w = outputs[name][1:]
        assert layer.output == (h, w, c), name
        if layer.kind == "Conv2D":  # PyTorch's (out, in, kh, kw) is Keras's (kh, kw, in, out)
            assert tuple(m.weight.permute(2, 3, 1, 0).shape) == layer.weight_shape, name
            assert m.stride == (layer.stride, layer.stride), name


@pytest.fixture(scope="module")
def resnet50_rows():
    net = models.create("resnet50")
    return net, S.keras_mapping(net)


def test_every_conv_and_bn_of_resnet50_is_mapped_exactly_once(resnet50_rows):
    net, rows = resnet50_rows
    mapped = [r.ours for r in rows]
    assert len(mapped) == len(set(mapped)) == 107
    weighted = [n for n, m in net.named_modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))]
    assert sorted(mapped) == sorted(weighted)
    for r in rows:   # same layer type, same number of weights
        assert {"Conv2D": "Conv2d", "BatchNormalization": "BatchNorm2d", "Dense": "Linear"}[
            r.keras.kind] == r.our_kind
        assert torch.Size(r.our_weight).numel() == torch.Size(r.keras.weight_shape).numel()


def test_the_mapped_shapes_agree_with_the_scripts_filters(resnet50_rows):
    rows = {r.ours: r for r in resnet50_rows[1]}
    for stage in S.KERAS_RESNET50:
        layer = f"layer{stage.stage - 1}"
        for b in range(stage.blocks):
            convs = [rows[f"{layer}.{b}.conv{i}"] for i in (1, 2, 3)]
            assert [r.our_weight[0] for r in convs] == list(stage.filters)      # e.g. [64, 64, 256]
            assert [r.keras.filters for r in convs] == list(stage.filters)
            assert [r.our_weight[2] for r in convs] == [1, 3, 1]                 # 1×1, 3×3, 1×1
            assert rows[f"{layer}.{b}.bn3"].our_weight == (stage.filters[2],)
        assert rows[f"{layer}.0.downsample.0"].our_weight == (stage.filters[2], rows[f"{layer}.0.conv1"].our_weight[1], 1, 1)
    assert [r.ours for r in rows.values() if r.ours.endswith("downsample.0")] == [
        "layer1.0.downsample.0", "layer2.0.downsample.0", "layer3.0.downsample.0", "layer4.0.downsample.0"]


def test_the_stride_sits_on_the_first_1x1_in_keras_and_on_the_3x3_in_ours(resnet50_rows):
    rows = resnet50_rows[1]
    moved = [(r.keras.name, r.ours) for r in rows if r.keras.stride != r.our_stride]
    assert moved == [(f"res{s}a_branch{b}", f"layer{s - 1}.0.conv{c}")
                     for s in (3, 4, 5) for b, c in (("2a", 1), ("2b", 2))]
    by_name = {r.keras.name: r for r in rows}
    assert by_name["res3a_branch2a"].keras.output == (28, 28, 128)
    assert by_name["res3a_branch2a"].our_output == (128, 56, 56)   # ours halves in the 3×3
    assert by_name["res2a_branch2c"].keras.output[0] == 55            # Keras's unpadded max-pool
    assert by_name["res5c_branch2c"].keras.output == (7, 7, 2048)
    assert by_name["res5c_branch2c"].our_output == (2048, 7, 7)
    table = S.mapping_table(rows)
    assert len(table.rows) == 107 and sum(row[-1] == "stride" for row in table.rows) == 6


def test_torch_name_parses_the_scheme_and_refuses_others():
    assert S.torch_name("bn4f_branch2b") == "layer3.5.bn2"
    assert S.torch_name("bn2a_branch1") == "layer1.0.downsample.1"
    with pytest.raises(ValueError, match="not a name of the Keras ResNet-50 scheme"):
        S.torch_name("res2a_branch3")
    with pytest.raises(ValueError, match="is it a ResNet-50"):
        S.keras_mapping(models.create("resnet34"), input_size=32)


def test_moving_the_stride_keeps_the_weights_and_costs_more():
    from cnnlab import measure
    with torch.device("meta"):  # shapes and FLOPs only
        v15, v1 = models.create("resnet50"), S.stride_in_first_1x1(models.create("resnet50"))
        assert [p.shape for p in v15.parameters()] == [p.shape for p in v1.parameters()]
        x = torch.empty(1, 3, 64, 64)
        assert v1.eval()(x).shape == v15.eval()(x).shape == (1, 1000)
        # the 3×3 of a strided block runs on the larger map in v1.5
        assert measure.flops(v15, (1, 3, 64, 64)).total_flops > measure.flops(v1, (1, 3, 64, 64)).total_flops
    with pytest.raises(ValueError, match="nothing to move"):
        S.stride_in_first_1x1(v1)
