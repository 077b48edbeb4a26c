"""The DenseNet chapter's helper and profiles."""

from cnnlab import profiles
from cnnlab.chapters import densenet


def test_channel_growth_follows_the_growth_rate_and_the_transitions():
    net = densenet.densenet_fmnist()
    rows = densenet.channel_growth(net, (2, 1, 96, 96))
    assert rows[0] == dict(stage="0", layer="stem", channels=64, size=(24, 24))
    block1 = [r["channels"] for r in rows if r["stage"] == "dense_blk1"]
    assert block1 == [64 + 32 * i for i in range(1, 5)]
    trans = [(r["channels"], r["size"]) for r in rows if r["layer"] == "transition"]
    assert trans == [(96, (12, 12)), (112, (6, 6)), (120, (3, 3))]
    assert rows[-2]["stage"] == "dense_blk4" and rows[-2]["channels"] == 248
    assert rows[-1] == dict(stage="last", layer="head", channels=10, size=())
    assert len(rows) == 1 + 4 * 4 + 3 + 1


def test_channel_growth_other_configuration_leaves_no_hooks():
    net = densenet.densenet_fmnist(growth_rate=8, arch=(2, 3))
    net.train()
    rows = densenet.channel_growth(net, (1, 1, 32, 32))
    assert [r["channels"] for r in rows if r["layer"].startswith("dense")] == [72, 80, 48, 56, 64]
    assert net.training
    assert all(not m._forward_hooks for m in net.modules())


def test_quick_profile_is_smaller_and_above_the_minimum_size():
    # (the full profile is d2l's recipe: tests/test_chapters.py checks every chapter's)
    full = profiles.get_profile("densenet", "full")
    quick = profiles.get_profile("densenet", "quick")
    assert quick.model == full.model and quick.resize >= 29
    assert quick.epochs < full.epochs and quick.train_per_class is not None
