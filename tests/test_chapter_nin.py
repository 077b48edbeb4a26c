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


def test_experiment_budget_is_smaller_than_the_quick_profile():
    quick = nin.PROFILES["quick"]
    e = nin.EXPERIMENT
    assert e["train_per_class"] * e["epochs"] <= quick.train_per_class * quick.epochs
