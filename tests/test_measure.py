"""cnnlab.measure: layer table, stage shapes, parameter counts, FLOPs, benchmark."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from cnnlab import measure as ins
from cnnlab import models


# ---------------------------------------------------------------- summary / parameters

def test_summary_total_params_match_count_parameters_resnet18_fmnist():
    net = models.create("resnet18_fmnist")
    stats = ins.summary(net, (1, 1, 28, 28))
    assert stats.total_params == ins.count_parameters(net) == 11_178_378
    assert ins.summary("resnet18_fmnist").total_params == 11_178_378  # by registry name
    text = repr(stats)
    assert "Total params: 11,178,378" in text
    assert "Units." not in text  # torchinfo's enum leak on Python >= 3.11 is fixed


def test_summary_total_params_match_count_parameters_torchvision_resnet18():
    net = torchvision.models.resnet18()
    stats = ins.summary(net, (1, 3, 224, 224), depth=1)
    expected = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["num_params"]
    assert stats.total_params == ins.count_parameters(net) == expected == 11_689_512


def test_summary_keeps_model_mode():
    net = models.create("resnet18_fmnist").train()
    ins.summary(net)
    assert net.training


def test_count_parameters_trainable_only():
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))  # 16 + 10 parameters
    net[0].weight.requires_grad_(False)                    # freeze 12
    assert ins.count_parameters(net) == 26
    assert ins.count_parameters(net, trainable_only=True) == 14


def test_count_parameters_counts_shared_weights_once():
    lin = nn.Linear(4, 4)
    assert ins.count_parameters(nn.Sequential(lin, lin)) == 20


def test_bad_model_type():
    with pytest.raises(TypeError, match="nn.Module or a registry name"):
        ins.count_parameters(42)


# ---------------------------------------------------------------- layer shapes

def test_layer_shapes_resnet18_fmnist_96_matches_d2l():
    # d2l §8.6 (chapter_convolutional-modern/resnet.md): ResNet18().layer_summary((1, 1, 96, 96))
    # gives 64x24x24 after the stem, then 64x24x24, 128x12x12, 256x6x6, 512x3x3, then 10.
    trace = ins.layer_shapes("resnet18_fmnist", (1, 1, 96, 96))
    shapes = {name: tuple(shape[1:]) for name, shape in trace}
    assert [name for name, _ in trace] == ["0", "1", "2", "3", "resnet_block1", "resnet_block2",
                                           "resnet_block3", "resnet_block4", "global_avg_pool", "fc"]
    assert shapes["3"] == (64, 24, 24)              # end of the stem (the max-pool)
    assert [shapes[f"resnet_block{i}"] for i in range(1, 5)] == [
        (64, 24, 24), (128, 12, 12), (256, 6, 6), (512, 3, 3)]
    assert shapes["fc"] == (10,)
    assert all(shape[0] == 1 for _, shape in trace)


def test_layer_shapes_torchvision_resnet18_and_verbose(capsys):
    net = torchvision.models.resnet18().train()
    trace = ins.layer_shapes(net, (1, 3, 64, 64), verbose=True)
    assert dict(trace)["layer4"] == torch.Size([1, 512, 2, 2])
    assert net.training                              # mode restored
    assert "Sequential output shape:\ttorch.Size([1, 512, 2, 2])" in capsys.readouterr().out


@pytest.mark.parametrize("name, rows, first, last", [
    ("alexnet", 21, "features.0", "classifier.6"),           # torchvision: features, classifier
    ("vgg11", 29, "features.0", "classifier.6"),
    ("densenet121", 13, "features.conv0", "classifier"),      # blocks stay one row each
    ("alexnet_fmnist", 22, "0", "21"),                        # the chapters' flat networks
    ("vgg11_fmnist", 14, "0", "13"),                          # one row per vgg_block
    ("densenet_fmnist", 9, "0", "last"),
])
def test_layer_shapes_trace_into_features_and_stop_at_blocks(name, rows, first, last):
    trace = ins.layer_shapes(name)
    assert len(trace) == rows and trace[0][0] == first and trace[-1][0] == last
    if name == "densenet121":
        assert "features.denseblock1" in dict(trace)
    sides = [shape[-1] for _, shape in trace if len(shape) == 4]
    assert sides == sorted(sides, reverse=True) and sides[-1] < sides[0]  # resolution falls


# ---------------------------------------------------------------- FLOPs

@pytest.mark.parametrize("name, weights", [
    ("resnet18", torchvision.models.ResNet18_Weights.IMAGENET1K_V1),
    ("alexnet", torchvision.models.AlexNet_Weights.IMAGENET1K_V1),
])
def test_flops_match_torchvision_metadata(name, weights):
    net = getattr(torchvision.models, name)()
    report = ins.flops(net, (1, 3, 224, 224))
    # torchvision's "GFLOPS" column is multiply-accumulates: half of FlopCounterMode's FLOPs.
    assert round(report.gmacs, 3) == weights.meta["_ops"] == {"resnet18": 1.814, "alexnet": 0.714}[name]
    assert report.total_flops == 2 * report.macs
    assert sum(report.by_module.values()) == report.total_flops
    assert sum(report.by_operator.values()) == report.total_flops


def test_flops_per_module_breakdown_resnet18():
    report = ins.flops(torchvision.models.resnet18(), (1, 3, 224, 224))
    assert list(report.by_module)[:5] == ["conv1", "bn1", "relu", "maxpool", "layer1"]
    # conv1: 64 filters of 3x7x7 at 112x112 outputs, 2 FLOPs per multiply-add
    assert report.by_module["conv1"] == 2 * 64 * 3 * 7 * 7 * 112 * 112
    assert report.by_module["fc"] == 2 * 512 * 1000
    assert "layer4" in str(report)


def test_flops_scale_with_batch_and_accept_names():
    one = ins.flops("resnet18_fmnist", (1, 1, 28, 28)).total_flops
    assert ins.flops("resnet18_fmnist", (4, 1, 28, 28)).total_flops == 4 * one
    assert ins.flops("resnet18_fmnist").input_size == (1, 1, 28, 28)


# ---------------------------------------------------------------- benchmark

class _Counting(nn.Module):
    calls = 0  # class attribute: benchmark runs a deep copy of the module

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        type(self).calls += 1
        return self.fc(self.conv(x).mean((2, 3)))


@pytest.mark.parametrize("mode", ["inference", "train"])
def test_benchmark_runs_warmup_plus_steps(mode):
    _Counting.calls = 0
    net = _Counting()
    before = [p.detach().clone() for p in net.parameters()]
    r = ins.benchmark(net, (1, 8, 8), batch_size=4, device="cpu", mode=mode, steps=7, warmup=2)
    assert _Counting.calls == 2 + 7
    assert r.steps == 7 and r.warmup == 2 and r.mode == mode and r.device == "cpu"
    assert r.input_size == (4, 1, 8, 8)
    assert r.images_per_s > 0 and r.ms_per_batch > 0
    assert r.images_per_s == pytest.approx(4 * 1000 / r.ms_per_batch)
    assert r.peak_memory_mib > 0
    # the model passed in is untouched (train steps ran on a copy)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert str(r).startswith("_Counting " + mode)


def test_benchmark_cpu_memory_is_live_tensor_bytes():
    # inference of a 1000x1000 linear layer on 10 inputs: weight + bias + input + output
    net = nn.Sequential(nn.Flatten(), nn.Linear(1000, 1000))
    r = ins.benchmark(net, (1000, 1, 1), batch_size=10, device="cpu", steps=1, warmup=1)
    expected = 4 * (1000 * 1000 + 1000 + 10 * 1000 + 10 * 1000)  # flatten is a view
    assert r.peak_memory_mib * 2**20 == expected
    assert "TorchDispatchMode" in r.memory_method
    r = ins.benchmark(net, (1000, 1, 1), batch_size=10, device="cpu", steps=1, warmup=0)
    assert r.peak_memory_mib is None


def test_benchmark_train_memory_includes_gradients_and_momentum():
    net = nn.Sequential(nn.Flatten(), nn.Linear(1000, 1000))
    inf = ins.benchmark(net, (1000, 1, 1), batch_size=10, device="cpu", steps=1, warmup=2)
    tr = ins.benchmark(net, (1000, 1, 1), batch_size=10, device="cpu", steps=1, warmup=2,
                       mode="train")
    params = 4 * (1000 * 1000 + 1000)
    assert tr.peak_memory_mib * 2**20 >= 3 * params  # weights + gradients + momentum
    assert tr.peak_memory_mib > inf.peak_memory_mib


def test_benchmark_train_memory_is_a_steady_step_whatever_the_warmup():
    # A training step is counted after a first one, with the previous step's gradients
    # and the momentum alive: the same peak for any warmup >= 2, and the activations on
    # top of the state (a first step's peak would be the state alone: 3 x the weights).
    net = nn.Sequential(nn.Flatten(), nn.Linear(1000, 1000), nn.ReLU(), nn.Linear(1000, 1000))
    peaks = [ins.benchmark(net, (1000, 1, 1), batch_size=10, device="cpu", steps=1,
                           warmup=w, mode="train").peak_memory_mib for w in (2, 3)]
    state = 3 * 4 * sum(p.numel() for p in net.parameters())
    assert peaks[0] == peaks[1] and peaks[0] * 2**20 > state + 4 * 10 * 1000  # + input
    r = ins.benchmark(net, (1000, 1, 1), batch_size=10, device="cpu", steps=1, warmup=1,
                      mode="train")
    assert r.peak_memory_mib is None and "warmup >= 2" in r.memory_method


def test_benchmark_channels_last_and_registry_name():
    r = ins.benchmark("resnet18_fmnist", (2, 1, 28, 28), device="cpu", steps=1, warmup=1,
                      channels_last=True)
    assert r.batch_size == 2 and r.channels_last and r.model == "resnet18_fmnist"


def test_benchmark_runs_on_the_default_device(monkeypatch):
    # "meta" tensors have shapes but no data: a device every machine has, and not the CPU.
    monkeypatch.setenv("CNNLAB_DEVICE", "meta")
    r = ins.benchmark(_Counting(), (1, 8, 8), batch_size=2, steps=1, warmup=0)
    assert r.device == "meta"


def test_benchmark_rejects_bad_arguments():
    with pytest.raises(ValueError, match="mode must be"):
        ins.benchmark(_Counting(), (1, 8, 8), mode="eval")
    with pytest.raises(ValueError, match=r"benchmark\(steps=0\): steps must be a whole number ≥ 1"):
        ins.benchmark(_Counting(), (1, 8, 8), steps=0)
    with pytest.raises(ValueError, match="input_size must be"):
        ins.benchmark(_Counting(), (8, 8))


def test_init_variance_tells_pytorchs_default_from_he():
    conv = nn.Conv2d(64, 64, 3)
    assert ins.init_variance(nn.Sequential(conv)) == pytest.approx(1 / 3, rel=0.05)
    nn.init.kaiming_normal_(conv.weight, mode="fan_in", nonlinearity="relu")
    assert ins.init_variance(nn.Sequential(conv)) == pytest.approx(2, rel=0.05)
    with pytest.raises(ValueError, match="no convolution"):
        ins.init_variance(nn.Linear(3, 3))
