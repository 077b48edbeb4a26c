"""The efficiency chapter's helpers: pruning, storing zeros, int8 quantisation, Grad-CAM."""

import numpy as np
import pytest
import torch
from torch import nn

from cnnlab import models, profiles
from cnnlab.chapters import efficiency as eff
from cnnlab.data import Batches, ImageData


def _small_cnn(classes: int = 3) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, classes))


def _warm_batchnorm(net: nn.Module, x: torch.Tensor) -> nn.Module:
    """Give BatchNorm running statistics of ``x``'s distribution, as training would."""
    net.train()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = None           # cumulative average over the passes
        for chunk in x.split(16):
            net(chunk)
    return net.eval()


def _tiny_data(n: int = 24, classes: int = 3) -> ImageData:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 1, 12, 12), dtype=torch.uint8, generator=g)
    labels = torch.arange(n) % classes
    train = Batches(images, labels, 8, shuffle=True, drop_last=True)
    test = Batches(images, labels, 8)
    return ImageData(train, test, tuple(f"c{i}" for i in range(classes)), "tiny")


# --------------------------------------------------------------------------- pruning

@pytest.mark.parametrize("amount", [0.5, 0.9])
def test_global_pruning_reaches_the_asked_sparsity_and_stays_after_remove(amount):
    net = models.create("resnet18_fmnist", seed=0).eval()
    n_params = sum(p.numel() for p in net.parameters())
    eff.prune_global(net, amount)
    assert eff.sparsity(net) == pytest.approx(amount, abs=1e-6)
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        masked = net(x)
    eff.make_permanent(net)
    names = [n for n, _ in net.named_parameters()]
    assert not any(n.endswith("_orig") for n in names)
    assert not any(n.endswith("_mask") for n, _ in net.named_buffers())
    assert sum(p.numel() for p in net.parameters()) == n_params   # dense: nothing removed
    assert eff.sparsity(net) == pytest.approx(amount, abs=1e-6)
    with torch.no_grad():
        assert torch.equal(net(x), masked)


def test_global_pruning_cuts_the_smallest_magnitudes_of_all_layers_together():
    net = _small_cnn()
    before = torch.cat([m.weight.detach().abs().flatten() for m, _ in eff.prunable(net)])
    eff.prune_global(net, 0.6)
    after = torch.cat([m.weight.detach().flatten() for m, _ in eff.prunable(net)])
    cut, kept = before[after == 0], before[after != 0]
    assert cut.max() <= kept.min()
    # one threshold for the network: the layers' own sparsities differ
    per_layer = list(eff.layer_sparsity(net).values())
    assert len(per_layer) == 3 and max(per_layer) - min(per_layer) > 0.05


def test_a_channels_last_network_can_be_pruned():
    net = _small_cnn().to(memory_format=torch.channels_last)   # as fit leaves it on a CPU
    eff.prune_global(net, 0.5)
    assert eff.sparsity(net) == pytest.approx(0.5, abs=1e-3)


def test_fine_tuning_cannot_revive_a_cut_weight():
    net = _small_cnn()
    eff.prune_global(net, 0.7)
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    x, y = torch.randn(8, 1, 8, 8), torch.randint(0, 3, (8,))
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    net(x)                                  # the pre-hook recomputes weight = orig * mask
    assert eff.sparsity(net) == pytest.approx(0.7, abs=1e-3)


def test_prune_global_rejects_a_fraction_outside_0_1():
    with pytest.raises(ValueError, match="fraction"):
        eff.prune_global(_small_cnn(), 1.0)
    with pytest.raises(ValueError, match="no Conv2d or Linear"):
        eff.prune_global(nn.Sequential(nn.ReLU()), 0.5)


# --------------------------------------------------------------------------- files

def test_a_dense_file_keeps_its_size_but_sparse_and_gzip_files_shrink():
    torch.manual_seed(0)   # weights large enough for the file format's overhead not to count
    net = nn.Sequential(nn.Conv2d(16, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3))
    dense_before = eff.saved_bytes(net.state_dict())
    eff.make_permanent(eff.prune_global(net, 0.9))
    state = net.state_dict()
    assert abs(eff.saved_bytes(state) - dense_before) < 0.01 * dense_before
    weights = {k: v for k, v in state.items() if v.dim() >= 2}
    dense = eff.saved_bytes(weights)
    assert eff.saved_bytes(eff.sparse_state_dict(weights)) < 0.4 * dense
    assert eff.gzip_bytes(weights) < 0.5 * dense


def test_sparse_state_dict_is_lossless_and_coo_is_larger_than_dense_at_half_sparsity():
    w = torch.randn(32, 16, 3, 3)
    w[torch.rand_like(w) < 0.5] = 0
    state = {"conv.weight": w, "conv.bias": torch.randn(32)}
    for layout in ("csr", "coo"):
        back = eff.dense_state_dict(eff.sparse_state_dict(state, layout))
        assert all(torch.equal(back[k], state[k]) for k in state)
    assert eff.saved_bytes(eff.sparse_state_dict(state, "coo")) > 2 * eff.saved_bytes(state)
    with pytest.raises(ValueError, match="layout"):
        eff.sparse_state_dict(state, "bsr")


# --------------------------------------------------------------------------- quantisation

def test_int8_model_is_close_to_float_on_a_batch():
    torch.manual_seed(0)
    x = torch.randn(96, 1, 12, 12)
    net = _warm_batchnorm(_small_cnn(), x[:64])
    q = eff.quantize_int8(net, [x[:32], x[32:64]], images=64)
    with torch.no_grad():
        ref, out = net(x[64:]), q(x[64:])
    assert out.dtype == torch.float32 and out.shape == ref.shape == (32, 3)
    assert (out - ref).norm() / ref.norm() < 0.05
    assert not any(isinstance(m, nn.Conv2d) for m in q.modules())   # every conv is int8


def test_int8_resnet18_keeps_most_decisions_of_the_float_one_at_a_quarter_of_the_file():
    torch.manual_seed(0)
    x = torch.randn(64, 1, 28, 28)
    net = _warm_batchnorm(models.create("resnet18_fmnist", seed=0), x[:32])
    q = eff.quantize_int8(net, [x[:32]], images=32)
    with torch.no_grad():
        ref, out = net(x[32:]), q(x[32:])
    # random weights, 18 int8 layers: looser than a trained network, far from garbage (~1)
    assert (out - ref).norm() / ref.norm() < 0.35
    assert (out.argmax(1) == ref.argmax(1)).float().mean() >= 0.7
    float_bytes, int8_bytes = eff.saved_bytes(net.state_dict()), eff.saved_bytes(q.state_dict())
    assert 0.24 * float_bytes < int8_bytes < 0.27 * float_bytes
    assert sum(p.numel() for p in net.parameters()) == 11178378      # the float one untouched


def test_quantize_int8_needs_calibration_batches_and_a_known_engine():
    with pytest.raises(ValueError, match="calibration"):
        eff.quantize_int8(_small_cnn(), [])
    with pytest.raises(ValueError, match="engine"):
        eff.quantize_int8(_small_cnn(), [torch.randn(4, 1, 8, 8)], backend="tpu")


def test_dynamic_quantization_leaves_the_convolutions_in_float():
    net = _small_cnn().eval()
    dq = eff.quantize_dynamic_linear(net)
    convs = [m for m in dq.modules() if type(m) is nn.Conv2d]
    assert len(convs) == 2 and all(c.weight.dtype == torch.float32 for c in convs)
    assert not any(type(m) is nn.Linear for m in dq.modules())
    x = torch.randn(4, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(dq(x), net(x), atol=0.05)


def test_measure_variant_and_the_table():
    data, net = _tiny_data(), _warm_batchnorm(_small_cnn(), torch.randn(32, 1, 12, 12))
    row = eff.measure_variant("fp32", net, data, batch=4, shape=(1, 12, 12))
    assert 0 <= row.accuracy <= 1 and row.sparsity == 0 and row.sparse_bytes > 0
    assert row.file_bytes == eff.saved_bytes(net.state_dict())
    assert row.ms_batch1 > 0 and row.ms_batch > 0
    q = eff.quantize_int8(net, data.train, images=16)
    qrow = eff.measure_variant("int8", q, data, accuracy_before=0.5, batch=4, shape=(1, 12, 12))
    assert qrow.sparse_bytes is None and qrow.sparsity is None
    assert qrow.file_bytes < row.file_bytes
    table = str(eff.format_table([row, qrow])).splitlines()
    assert len(table) == 4 and "ms, b=4" in table[0] and table[3].startswith("int8")
    assert "0.500" in table[3]


# --------------------------------------------------------------------------- looking inside

def test_stage_outputs_at_28_px_end_in_a_1x1_map():
    net = models.create("resnet18_fmnist", seed=0)
    shapes = {k: tuple(v.shape) for k, v in eff.stage_outputs(net, torch.randn(1, 1, 28, 28)).items()}
    assert shapes == {"2": (1, 64, 14, 14), "resnet_block1": (1, 64, 7, 7),
                      "resnet_block2": (1, 128, 4, 4), "resnet_block3": (1, 256, 2, 2),
                      "resnet_block4": (1, 512, 1, 1)}


def test_grad_cam_maps_have_the_input_size_and_vary_except_at_a_1x1_layer():
    torch.manual_seed(0)
    x = torch.randn(3, 1, 28, 28)
    net = _warm_batchnorm(models.create("resnet18_fmnist", seed=0), torch.randn(32, 1, 28, 28))
    maps = eff.grad_cam(net, x, net.resnet_block1)
    assert maps.shape == (3, 28, 28) and maps.dtype == np.float32
    assert maps.min() >= 0 and maps.max() <= 1 + 1e-6
    assert all(np.ptp(m) > 0.5 for m in maps)          # scaled to [0, 1], not constant
    last = eff.grad_cam(net, x, net.resnet_block4)     # 1×1 at 28 px: one number per image
    assert last.shape == (3, 28, 28) and all(np.ptp(m) == 0 for m in last)
    assert not net.training


def test_grad_cam_points_at_the_evidence():
    # class 0's score is the mean of a 1×1 convolution's (positive) output: its Grad-CAM
    # is that output, so it peaks on the bright patch
    net = nn.Sequential(nn.Conv2d(1, 1, 1, bias=False), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(1, 2, bias=False))
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[4].weight.copy_(torch.tensor([[1.0], [-1.0]]))
    x = torch.zeros(1, 1, 16, 16)
    x[0, 0, 2:6, 9:13] = 1.0
    cam = eff.grad_cam(net, x, net[0], classes=[0])[0]
    row, col = np.unravel_index(cam.argmax(), cam.shape)
    assert 2 <= row < 6 and 9 <= col < 13 and cam[12, 2] < 0.1


# --------------------------------------------------------------------------- profiles

def test_profiles_train_resnet18_and_fine_tune_on_less():
    quick, full = (profiles.get_profile("efficiency", n) for n in ("quick", "full"))
    assert quick.model == full.model == "resnet18_fmnist"
    assert (full.optimizer, full.lr, full.batch_size, full.epochs) == ("adam", 1e-3, 256, 2)
    assert full.train_per_class is None and full.test_per_class is None
    tune = eff.FINETUNE["quick"]
    assert tune.train_per_class < quick.train_per_class and tune.epochs == 1
    assert tune.test_per_class == quick.test_per_class
    assert all(0 < s < 1 for s in eff.SPARSITIES)
    # ResNet-18 on the CPU: training plus the three fine-tunings stay under 4,000 images
    images = quick.epochs * quick.train_per_class * 10
    assert images + len(eff.SPARSITIES) * tune.train_per_class * 10 <= 4_000
