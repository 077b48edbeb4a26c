"""The degradation chapter's helpers: the four nets, the budget, the verdict, the gradients."""

import pytest
import torch
from torch import nn

from cnnlab import measure, models, profiles
from cnnlab.chapters import degradation as dg
from cnnlab.models.resnet_cifar import BasicBlock, PlainBlock
from cnnlab.train import EpochStats, History


def _history(train_accs, label=""):
    return History([EpochStats(i + 1, 0.0, a, 0.5, 1.0, 1.0, 0.1, "cpu")
                    for i, a in enumerate(train_accs)], label=label)


@pytest.mark.parametrize("depth", [8, 20, 56])
def test_plain_and_resnet_have_the_same_layers_and_parameters(depth):
    plain, res = dg.build("plain", depth), dg.build("resnet", depth)
    # option A shortcuts add no parameters: Table 6's counts hold for both
    assert measure.count_parameters(plain) == measure.count_parameters(res)
    convs = lambda m: [c.weight.shape for c in m.modules() if isinstance(c, nn.Conv2d)]
    assert convs(plain) == convs(res) and len(convs(plain)) == depth - 1  # + the fc layer
    blocks = [type(b) for b in plain.modules() if isinstance(b, BasicBlock)]
    assert blocks == [PlainBlock] * (3 * (depth - 2) // 6)
    assert not any(type(b) is PlainBlock for b in res.modules())


def test_build_matches_the_registry_and_is_seeded():
    # 10 classes, 1 input channel: the registered resnet56 / plain20 with the same seed
    ours, zoo = dg.build("resnet", 56, seed=3), models.create("resnet56", in_channels=1, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(ours.state_dict().values(),
                                                   zoo.state_dict().values()))
    assert measure.count_parameters(dg.build("plain", 20, in_channels=3)) == 269_722  # Table 6: 0.27M
    a, b = dg.build("plain", 8, seed=1), dg.build("plain", 8, seed=2)
    assert not torch.equal(a.conv1.weight, b.conv1.weight)
    with pytest.raises(ValueError, match="kind must be one of"):
        dg.build("dense", 20)
    with pytest.raises(ValueError, match="6n\\+2"):
        dg.build("plain", 21)


def test_profiles():
    full, quick = (profiles.get_profile("degradation", n) for n in ("full", "quick"))
    assert (full.optimizer, full.lr, full.batch_size, full.weight_decay) == ("sgd", 0.1, 128, 1e-4)
    assert full.train_per_class is None and dg.DEPTHS["full"] == (20, 56)
    assert dg.MILESTONES["full"] == (0.5, 0.75) and dg.MILESTONES["quick"] is None
    assert full.model in models.list_models()
    shallow, deep = dg.DEPTHS["quick"]
    assert quick.model == dg.run_name("plain", deep) and full.model == "plain56"
    assert quick.train_per_class * 10 * quick.epochs < 60_000 * full.epochs
    assert shallow < deep and (shallow - 2) % 6 == (deep - 2) % 6 == 0
    assert "milestones" not in full.fit_kwargs()  # fit_kwargs() must stay fit's arguments


def test_step_schedule_and_paper_sgd():
    f = dg.step_schedule((0.5, 0.75))
    assert [f(p) for p in (0.0, 0.49, 0.5)] == [1.0, 1.0, 0.1]
    assert f(0.75) == pytest.approx(0.01)
    make, hook = dg.paper_sgd(0.1, weight_decay=1e-4, epochs=4, milestones=(0.5, 0.75))
    opt = make([nn.Parameter(torch.zeros(2))])
    assert isinstance(opt, torch.optim.SGD)
    group = opt.param_groups[0]
    assert (group["momentum"], group["nesterov"], group["weight_decay"]) == (0.9, False, 1e-4)
    lrs = []
    for epoch in (1, 2, 3, 4):
        hook(EpochStats(epoch, 0, 0, 0, 0, 0, 0, "cpu"))
        lrs.append(group["lr"])
    assert lrs == pytest.approx([0.1, 0.01, 0.001, 0.001])
    make, hook = dg.paper_sgd(0.1)            # no milestones: the lr never moves
    opt = make([nn.Parameter(torch.zeros(2))])
    hook(EpochStats(3, 0, 0, 0, 0, 0, 0, "cpu"))
    assert opt.param_groups[0]["lr"] == 0.1


def test_verdict_reads_the_last_epoch_and_the_tolerance():
    hs = {"plain8": _history([0.5, 0.90]), "plain26": _history([0.9, 0.80]),
          "resnet8": _history([0.5, 0.90]), "resnet26": _history([0.9, 0.895])}
    v = dg.verdict(hs, (8, 26), tolerance=0.01)
    assert v["errors"]["plain26"] == pytest.approx(0.2)
    assert v["degraded"] and v["resnet_ok"] and v["held"]
    assert not dg.verdict(hs, (8, 26), tolerance=0.001)["resnet_ok"]
    hs["plain26"] = _history([0.9, 0.95])  # no degradation
    v = dg.verdict(hs, (8, 26))
    assert not v["degraded"] and not v["held"]


def test_conv_grad_norms_match_backward_and_leave_grads_alone():
    net = dg.build("resnet", 8, seed=0)
    x, y = torch.randn(6, 1, 14, 14), torch.arange(6)
    norms = dg.conv_grad_norms(net, x, y)
    assert [n for n, _ in norms][:3] == ["conv1", "layer1.0.conv1", "layer1.0.conv2"]
    assert len(norms) == 7 and all(v > 0 for _, v in norms)
    assert all(p.grad is None for p in net.parameters())  # nothing accumulated
    # the same numbers as a plain backward pass (BN in eval mode so both passes agree)
    net.eval()
    norms = dict(dg.conv_grad_norms(net, x, y))
    nn.functional.cross_entropy(net(x), y).backward()
    assert norms["layer2.0.conv1"] == pytest.approx(float(net.layer2[0].conv1.weight.grad.norm()))
    with pytest.raises(ValueError, match="no nn.Conv2d"):
        dg.conv_grad_norms(nn.Sequential(nn.Flatten(), nn.Linear(196, 10)), x, y)


def test_plain_gradients_explode_towards_the_input_at_init():
    """The chapter's figure in miniature: at initialisation the first conv layer of a deep
    plain net with BatchNorm gets a gradient thousands of times larger than its last one
    (BN's gradient explosion; nothing vanishes); the ResNet's stay within a small factor,
    since the identity path carries the same gradient back to every block."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 1, 14, 14, generator=g), torch.arange(32) % 10
    ratio = {}
    for kind in dg.KINDS:
        norms = [v for _, v in dg.conv_grad_norms(dg.build(kind, 56, seed=0), x, y)]
        ratio[kind] = norms[0] / norms[-1]
    assert ratio["plain"] > 100 > ratio["resnet"]


def test_train_four_trains_four_nets_under_one_budget(monkeypatch):
    tiny = dg.PROFILES["quick"].replace(name="quick", epochs=1, batch_size=10, resize=8)
    data = tiny.data(train_per_class=2, test_per_class=1)
    hs = dg.train_four(tiny, data, depths=(8, 14))
    assert list(hs) == ["plain8", "plain14", "resnet8", "resnet14"]
    assert all(len(h) == 1 and h.label == n for n, h in hs.items())
    assert set(dg.final_errors(hs)) == set(hs)
