"""The ResNet family chapter: configurations, counts against torchvision's metadata and
the paper, the throughput settings, *The ResNet18 architecture*'s tables."""

import pytest
import torch
import torchvision

from cnnlab import measure, models
from cnnlab.device import amp_dtype_for, precision_name
from cnnlab.chapters import family
from cnnlab.models.resnet import CONFIGS

DEPTHS = {"resnet18": 18, "resnet34": 34, "resnet50": 50, "resnet101": 101, "resnet152": 152}


@pytest.fixture(scope="module")
def members():
    return {m.name: m for m in family.survey()}


def test_stages_come_from_the_zoo_configuration():
    for name in family.FAMILY:
        st = family.stages(name)
        assert tuple(s["blocks"] for s in st) == CONFIGS[name].layers
        assert {s["block"] for s in st} == {CONFIGS[name].block.__name__}
        assert family.weighted_layers(name) == DEPTHS[name]
    # the paper's Table 1, typed once here as the check
    assert [tuple(s["blocks"] for s in family.stages(n)) for n in family.FAMILY] == [
        (2, 2, 2, 2), (3, 4, 6, 3), (3, 4, 6, 3), (3, 4, 23, 3), (3, 8, 36, 3)]
    assert [s["out_channels"] for s in family.stages("resnet50")] == [256, 512, 1024, 2048]


def test_stage_outputs_match_the_built_network():
    with torch.device("meta"):  # shapes only, no arithmetic
        net = models.create("resnet50")
    shapes = dict(measure.layer_shapes(net, (1, 3, 224, 224)))
    for s in family.stages("resnet50"):
        assert tuple(shapes[s["stage"]]) == (1, s["out_channels"], s["output"], s["output"])


def test_a_configuration_changes_the_table(monkeypatch):
    # the table is read from CONFIGS, not typed: change the data and the depth follows
    monkeypatch.setitem(CONFIGS, "resnet18", CONFIGS["resnet18"]._replace(layers=(1, 1, 1, 1)))
    assert family.weighted_layers("resnet18") == 10
    assert "1, 1, 1, 1" in str(family.stage_table(["resnet18"]))


def test_not_a_family_member():
    with pytest.raises(ValueError, match="not one of the ResNet family"):
        family.stages("resnext50_32x4d")
    with pytest.raises(ValueError, match="not one of the ResNet family"):
        family.survey(["vgg16"])


def test_counts_equal_torchvisions_metadata(members):
    assert list(members) == list(family.FAMILY)
    for m in members.values():
        weights = torchvision.models.get_model_weights(m.name).IMAGENET1K_V1
        assert m.params == weights.meta["num_params"] == m.v1["params"]
        assert round(m.gmacs, 3) == pytest.approx(weights.meta["_ops"], abs=1e-9), m.name
        assert m.v1["acc1"] == weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]
        assert (m.v2 is None) == (m.name in ("resnet18", "resnet34"))
    # the meta-device count is the count of a real network
    real = models.create("resnet18")
    assert measure.flops(real, (1, 3, 224, 224)).gmacs == members["resnet18"].gmacs


def test_parameters_by_stage_add_up():
    p = family.parameters_by_stage("resnet50")
    assert sum(p.values()) == 25_557_032
    assert p["fc"] == 2048 * 1000 + 1000
    assert p["layer4"] > p["layer3"] > p["layer2"] > p["layer1"]
    by_name = family.parameters_by_stage("resnet18")  # built on the meta device
    assert family.parameters_by_stage(models.create("resnet18")) == by_name


def test_paper_stride_gives_the_papers_table1(members):
    # torchvision strides in the 3×3 ("V1.5"); moved to the first 1×1 the bottleneck
    # networks cost what the paper's Table 1 says, with the same parameters and outputs
    for name in ("resnet50", "resnet101", "resnet152"):
        with torch.device("meta"):
            net = models.create(name)
        family.stride_in_first_1x1(net)
        after = measure.flops(net, (1, 3, 224, 224)).gmacs
        assert after < members[name].gmacs
        assert after == pytest.approx(family.PAPER[name]["gmacs"], abs=0.07), name
        assert measure.count_parameters(net) == members[name].params
    for name in ("resnet18", "resnet34"):  # basic blocks: nothing to move, Table 1 already
        m = members[name]
        assert m.gmacs == pytest.approx(m.paper["gmacs"], abs=0.07)
    net = models.create("resnet50")
    assert family.stride_in_first_1x1(net)(torch.zeros(1, 3, 64, 64)).shape == (1, 1000)


def test_paper_numbers():
    # He et al. 2016: Table 3 (10-crop) and Table 4 (single model) improve with depth
    deep = ["resnet34", "resnet50", "resnet101", "resnet152"]
    for table in ("ten_crop", "single_model"):
        errors = [family.PAPER[n][table][0] for n in deep]
        assert errors == sorted(errors, reverse=True)
        assert all(family.PAPER[n][table][1] < family.PAPER[n][table][0] for n in deep)
    assert family.PAPER["resnet152"]["ten_crop"] == (21.43, 5.71)
    assert family.PAPER["resnet152"]["single_model"] == (19.38, 4.49)


def test_throughput_settings_per_device():
    assert set(family.THROUGHPUT) == {"cpu", "cuda"}
    cpu, cuda = family.THROUGHPUT["cpu"], family.THROUGHPUT["cuda"]
    assert cuda.side == 224 and cpu.side < cuda.side and cpu.batch_size <= cuda.batch_size
    assert family.throughput_settings("cpu") is cpu
    assert family.throughput_settings("meta") is cpu  # no entry: the cheap one
    assert cpu.warmup >= 1  # the CPU's peak memory is measured in the last warm-up pass


def test_measure_throughput_uses_the_settings(members):
    tiny = family.ThroughputSettings(side=32, batch_size=2, warmup=1, steps=1)
    r = family.measure_throughput(["resnet18"], "cpu", tiny)["resnet18"]
    assert (r.batch_size, r.input_size, r.mode, r.device) == (2, (2, 3, 32, 32), "inference", "cpu")
    assert r.images_per_s > 0 and r.peak_memory_mib > 11_689_512 * 4 / 2**20
    table = str(family.family_table([members["resnet18"]], {"resnet18": r}))
    # The precision is the trainer's choice on this CPU (bf16 where it is native), or
    # $CNNLAB_AMP's: ask cnnlab.device rather than assume the machine.
    precision = precision_name(amp_dtype_for(torch.device("cpu")))
    assert f"cpu, batch 2, 32×32, {precision}" in table and "11,689,512" in table


def test_article_tables_set_the_claims_beside_the_sources():
    acc, speed, v = family.article_tables()
    assert v["accuracy"] == {"ResNet18": "agrees", "VGG16": "too low",
                             "InceptionV3": "too low", "Xception": "too low"}
    assert 3.3 < v["gap"]["VGG16"] < 3.5 and v["gap"]["Xception"] == pytest.approx(7.5)
    # VGG16's "150 MB" is below its own float32 weights (553.4 MB); the others cannot be checked
    assert v["memory"] == {"ResNet18": "unverifiable", "VGG16": "impossible",
                           "InceptionV3": "unverifiable", "Xception": "unverifiable"}
    assert "553.4" in str(speed) and "not timed here" in str(speed)
    # the article says ResNet18 beats VGG16 and InceptionV3; both are above it
    order = v["order"]
    assert set(order["article_says_resnet18_beats"]) <= set(order["published_above_resnet18"])
    assert v["ratio_article"] == pytest.approx(115 / 70)
    tiny = family.ThroughputSettings(side=32, batch_size=1, warmup=1, steps=1)
    speeds = family.measure_throughput(["resnet18", "vgg16"], "cpu", tiny)
    _, speed, v = family.article_tables(speeds)
    assert v["ratio_measured"] > 0 and "cpu, batch 1, 32×32" in str(speed)
