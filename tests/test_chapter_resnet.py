"""The ResNet chapter's experiment helpers: the plain network without shortcuts."""

import torch

from cnnlab import measure, models, profiles
from cnnlab.chapters import resnet as residual


def test_plain_block_has_no_shortcut():
    # with every weight zero F(x) = 0: the residual block passes a positive input on,
    # the plain block passes nothing
    res, plain = residual.Residual(4, 4).eval(), residual.PlainBlock(4, 4).eval()
    assert plain.conv3 is None
    x = torch.rand(2, 4, 5, 5) + 1.0
    with torch.no_grad():
        for p in [*res.parameters(), *plain.parameters()]:
            p.zero_()
        assert torch.equal(res(x), x)
        assert plain(x).abs().max() == 0


def test_plain_block_changes_shape_like_the_residual_one():
    x = torch.randn(2, 8, 6, 6)
    plain = residual.PlainBlock(8, 16, use_1x1conv=True, stride=2)
    res = residual.Residual(8, 16, use_1x1conv=True, stride=2)
    assert plain(x).shape == res(x).shape == (2, 16, 3, 3)


def test_plain_resnet18_is_resnet18_without_shortcuts():
    res, plain = models.create("resnet18_fmnist"), residual.plain_resnet18()
    blocks = [m for m in plain.modules() if isinstance(m, residual.Residual)]
    assert len(blocks) == 8 and all(type(b) is residual.PlainBlock for b in blocks)
    projections = sum(p.numel() for m in res.modules()
                      if isinstance(m, residual.Residual) and m.conv3 is not None
                      for p in m.conv3.parameters())
    assert measure.count_parameters(res) - measure.count_parameters(plain) == projections == 172928
    shapes = [tuple(s) for _, s in measure.layer_shapes(plain, (1, 1, 28, 28))]
    assert shapes == [tuple(s) for _, s in measure.layer_shapes(res, (1, 1, 28, 28))]


def test_plain_resnet18_trains_one_step():
    torch.manual_seed(0)
    net = residual.plain_resnet18()
    x, y = torch.randn(4, 1, 28, 28), torch.tensor([0, 1, 2, 3])
    loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    assert torch.isfinite(loss) and net[0].weight.grad.abs().sum() > 0


def test_width_keeps_the_layout_and_the_default_is_the_articles():
    assert measure.count_parameters(residual.resnet18_fmnist()) == \
        measure.count_parameters(models.create("resnet18_fmnist"))
    narrow, plain = residual.resnet18_fmnist(width=16), residual.plain_resnet18(width=16)
    assert narrow.fc[1].in_features == 128
    x = torch.randn(2, 1, 28, 28)
    assert narrow(x).shape == plain(x).shape == (2, 10)
    assert [type(m) for m in narrow.modules()].count(residual.Residual) == 8


def test_shortcut_verdict_expects_a_lower_training_loss_with_shortcuts():
    v = residual.shortcut_verdict({"residual (ResNet-18)": [0.50, 0.52, 0.49],
                                   "plain (no shortcuts)": [0.70, 0.75, 0.72]})
    assert v.word == "agrees" and v.difference.mean < 0
    v = residual.shortcut_verdict({"residual (ResNet-18)": [0.90, 0.95, 0.92],
                                   "plain (no shortcuts)": [0.50, 0.52, 0.49]})
    assert v.word == "contradicts"
    assert len(residual.SEEDS) >= 3


def test_the_articles_recipe_is_the_full_profile():
    full = profiles.get_profile("resnet18_fmnist", "full")
    assert (full.optimizer, full.lr, full.batch_size, full.epochs, full.resize) == \
        ("adam", 1e-3, 256, 2, None)
    assert full.train_per_class is None  # all 60,000 images
