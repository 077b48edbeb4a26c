"""The NiN chapter's helpers and profiles (cnnlab/chapters/nin.py)."""

import pytest
import torch

from cnnlab import measure, models, profiles
from cnnlab.chapters import nin


def test_quick_profile_fits_the_model_and_warms_up():
    # (that the full profile is d2l's recipe is tested for every chapter in test_chapters)
    quick = profiles.get_profile("nin", "quick")
    assert quick.model == "nin" and quick.train_per_class and quick.test_per_class
    assert quick.resize >= models.get_spec("nin").min_size
    assert quick.schedule == "onecycle"  # a warm-up: NiN stalls when the start is too steep


def test_fc_head_keeps_the_body_and_costs_tens_of_millions():
    gap = models.create("nin", seed=0)
    fc = nin.nin_with_fc_head(input_size=224)
    assert fc(torch.zeros(2, 1, 224, 224)).shape == (2, 10)
    body = sum(p.numel() for p in gap[:7].parameters())
    assert measure.count_parameters(fc) - body == 9600 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 10 + 10
    assert measure.count_parameters(gap) - body == 384 * 10 * 9 + 10 + 2 * (10 * 10 + 10)
    # at the quick profile's size the third pool leaves a 1×1 map
    assert nin.nin_with_fc_head(input_size=67)[8].in_features == 384


def test_small_nin_heads_share_the_body_and_differ_only_in_the_head():
    variants = nin.head_variants(seed=0)
    gap, fc = variants.values()
    for p, q in zip(gap[:4].parameters(), fc[:4].parameters()):
        assert torch.equal(p, q)
    x = torch.randn(3, 1, 28, 28)
    assert gap(x).shape == fc(x).shape == (3, 10)
    assert measure.count_parameters(fc) > 10 * measure.count_parameters(gap)
    with pytest.raises(ValueError, match="gap"):
        nin.small_nin("mlp")


def test_small_nin_has_a_7x7_map_to_pool_and_batch_norm():
    net = nin.small_nin("gap")
    assert net[:4](torch.zeros(1, 1, 28, 28)).shape[-2:] == (7, 7)  # GAP averages 49 positions
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in nin.small_nin("gap", bn=False).modules())
    assert isinstance(net[4], torch.nn.Dropout)  # dropout before the head, as in the paper
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in models.create("nin").modules())


def test_head_verdict_expects_the_gap_head_higher_as_the_paper_found():
    gap, fc = nin.HEADS
    v = nin.head_verdict({gap: [0.84, 0.85, 0.86], fc: [0.81, 0.80, 0.82]})
    assert v.word == "agrees" and v.expect == "higher"
    assert nin.head_verdict({gap: [0.80, 0.82, 0.81], fc: [0.81, 0.80, 0.82]}).word == "not resolved"
    v = nin.head_verdict({gap: [0.20, 0.21, 0.20], fc: [0.77, 0.78, 0.76]})
    assert v.word == "contradicts"
    assert len(nin.SEEDS) >= 3 and len(nin.LRS) >= 2 and nin.SWEEP_SEED not in nin.SEEDS


def test_gap_head_is_the_papers_last_mlpconv_with_linear_class_maps():
    net = nin.small_nin("gap")
    convs = [m for m in net[4:].modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (64, 64, (3, 3)), (64, 64, (1, 1)), (64, 10, (1, 1))]
    assert isinstance(net[-3], torch.nn.Conv2d)  # class maps straight into the average: no ReLU


def test_experiment_at_scale_is_the_same_experiment_on_more_images():
    assert set(nin.AT_SCALE) <= set(nin.EXPERIMENT)
    assert nin.AT_SCALE["train_per_class"] >= 10 * nin.EXPERIMENT["train_per_class"]
    assert nin.AT_SCALE["score_per_class"] == 1000  # all 10,000 test images


def test_experiment_budget_is_smaller_than_the_quick_profile():
    quick = nin.PROFILES["quick"]
    e = nin.EXPERIMENT
    assert e["train_per_class"] * e["epochs"] <= quick.train_per_class * quick.epochs
