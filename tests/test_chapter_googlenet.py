"""The GoogLeNet chapter's helpers and profiles (cnnlab/chapters/googlenet.py)."""

import torch

from cnnlab import measure, models, profiles
from cnnlab.chapters import googlenet


def test_quick_profile_is_a_subset():
    # (that the full profile is d2l's recipe is tested for every chapter in test_chapters)
    quick = profiles.get_profile("googlenet", "quick")
    assert quick.model == "googlenet_fmnist" and quick.train_per_class and quick.test_per_class


def test_branches_share_the_block_layers_and_concatenate_to_the_block():
    block = googlenet.Inception(192, 64, (96, 128), (16, 32), 32).eval()
    branches = googlenet.branches_of(block)
    assert list(branches) == list(googlenet.BRANCHES)
    x = torch.randn(2, 192, 7, 7)
    joined = torch.cat([b.eval()(x) for b in branches.values()], dim=1)
    assert torch.equal(joined, block(x))
    assert sum(measure.count_parameters(b) for b in branches.values()) == \
        measure.count_parameters(block)


def test_branch_table_adds_up_to_the_network():
    net = models.create("googlenet_fmnist", seed=0)
    rows = googlenet.branch_accounting(net, (1, 1, 96, 96))
    assert len(rows) == 9 * 4
    assert [r["block"] for r in rows[::4]] == ["3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"]
    # the paper's Table 1: 3a outputs 64 + 128 + 32 + 32 = 256 channels, 5b 1024
    assert [r["channels"] for r in rows[:4]] == [64, 128, 32, 32]
    assert sum(r["channels"] for r in rows[-4:]) == 1024
    inception_params = sum(p.numel() for m in net.modules()
                           if isinstance(m, googlenet.Inception) for p in m.parameters())
    assert sum(r["params"] for r in rows) == inception_params
    # every Inception FLOP is in exactly one branch
    inception_flops = sum(measure.flops(net, (1, 1, 96, 96)).by_module[k] for k in ("2", "3", "4"))
    assert sum(r["flops"] for r in rows) == inception_flops
    for block in {r["block"] for r in rows}:
        shares = [r["flop_share"] for r in rows if r["block"] == block]
        assert abs(sum(shares) - 1) < 1e-9
    assert rows[0]["in_shape"] == (1, 192, 12, 12)
    assert "3a" in str(googlenet.format_branch_table(rows, "3a"))
