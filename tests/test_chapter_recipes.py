"""The training-recipes chapter: its recipes as data, the network without batch norm,
label smoothing's targets, weight decay's scale, runs over seeds and their computed
verdicts, and a diverged run being reported."""

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from cnnlab import chapters, measure, models, profiles, stats
from cnnlab.chapters import recipes
from cnnlab.chapters.recipes import RECIPES, Recipe

INGREDIENTS = ["one-cycle lr", "weight decay", "augmentation", "label smoothing"]


# --------------------------------------------------------------------------- recipes as data

def test_every_row_but_combined_changes_one_ingredient():
    assert list(RECIPES) == ["baseline", *INGREDIENTS, "no batch norm", "combined"]
    base = profiles.get_profile("recipes", "quick")
    assert RECIPES["baseline"].profile(base) == base and RECIPES["baseline"].batchnorm
    for name in INGREDIENTS:
        r = RECIPES[name]
        assert r.changes and r.batchnorm, name
        assert r.profile(base) != base, name
    # weight decay is the one ingredient: AdamW without decay is Adam
    assert RECIPES["weight decay"].changes == {"optimizer": "adamw", "weight_decay": 0.05}
    assert RECIPES["no batch norm"].changes == {} and not RECIPES["no batch norm"].batchnorm
    combined = RECIPES["combined"]
    assert combined.batchnorm
    assert dict(combined.changes) == {k: v for n in INGREDIENTS
                                      for k, v in RECIPES[n].changes.items()}


def test_recipes_reach_fit_and_data():
    base = profiles.get_profile("recipes", "quick")
    kwargs = RECIPES["one-cycle lr"].profile(base).fit_kwargs()
    # one-cycle peaks above the baseline's constant rate, as Smith & Topin's policy does
    assert (kwargs["schedule"], kwargs["lr"], kwargs["optimizer"]) == ("onecycle", 3e-3, "adam")
    assert kwargs["lr"] > base.fit_kwargs()["lr"]
    assert RECIPES["label smoothing"].profile(base).fit_kwargs()["label_smoothing"] == 0.1
    augmented = RECIPES["augmentation"].profile(base).data(batch_size=10, train_per_class=2, test_per_class=1)
    plain = RECIPES["baseline"].profile(base).data(batch_size=10, train_per_class=2, test_per_class=1)
    assert (augmented.train.crop_padding, augmented.train.flip) == (3, True)
    assert (plain.train.crop_padding, plain.train.flip) == (0, False)
    assert not augmented.test.flip and augmented.test.crop_padding == 0  # tests stay clean


def test_recipe_rejects_unknown_fields_and_combine_merges():
    with pytest.raises(ValueError, match="unknown profile field.*lr_max"):
        Recipe({"lr_max": 0.1})
    merged = recipes.combine(Recipe({"lr": 0.1}), Recipe({"lr": 0.2, "augment": True}),
                             Recipe(batchnorm=False))
    assert dict(merged.changes) == {"lr": 0.2, "augment": True} and not merged.batchnorm
    assert merged.describe() == "lr=0.2, augment=True, BatchNorm → Identity"
    assert Recipe().describe() == "baseline"


def test_profiles_are_the_articles_recipe_and_resnet_keeps_its_model():
    full, quick = (profiles.get_profile("recipes", n) for n in ("full", "quick"))
    assert (full.model, full.optimizer, full.lr, full.batch_size, full.epochs) == (
        "resnet18_fmnist", "adam", 1e-3, 256, 2)
    assert full.train_per_class is full.test_per_class is full.resize is None
    assert (quick.optimizer, quick.lr, quick.model) == ("adam", 1e-3, full.model)
    # the compared recipes over the seeds: at most 6,000 training images of ResNet-18
    # (the notebook's 120 s on two CPU cores), and at least 20 steps per run
    runs = len(recipes.COMPARED) * len(recipes.SEEDS)
    assert quick.epochs * quick.train_per_class * 10 * runs <= 6_000
    assert quick.epochs * quick.train_per_class * 10 // quick.batch_size >= 20
    assert len(recipes.SEEDS) >= 3 and recipes.COMPARED[0] == "baseline"
    assert quick == full.replace(**recipes.EXPERIMENT).replace(name="quick", chapter="recipes",
                                                               reason=quick.reason)
    # at scale: the same recipes over the seeds, with steps enough for a schedule to act
    scale = {**recipes.EXPERIMENT, **recipes.AT_SCALE}
    steps = lambda e: e["epochs"] * e["train_per_class"] * 10 // e["batch_size"]
    assert steps(scale) >= 5 * steps(recipes.EXPERIMENT) and scale["test_per_class"] >= 300
    assert set(recipes.CLAIMS) == set(recipes.COMPARED) - {"baseline"}
    # this chapter trains the ResNet chapter's network, which keeps its chapter and profile
    assert chapters.chapter_of("resnet18_fmnist") == "resnet"
    assert profiles.get_profile("resnet18_fmnist", "quick") == profiles.get_profile("resnet", "quick")
    assert chapters.models_of("recipes") == []


# --------------------------------------------------------------------------- helpers

def test_without_batchnorm_removes_every_bn_and_only_its_parameters():
    net = models.create("resnet18_fmnist", seed=0)
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == 17  # stem + 2 per residual block
    bn_params = sum(p.numel() for m in bns for p in m.parameters())
    before = measure.count_parameters(net)
    stripped = recipes.without_batchnorm(net)
    assert stripped is net
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())
    assert sum(isinstance(m, nn.Identity) for m in net.modules()) == 17
    assert before - measure.count_parameters(net) == bn_params == 2 * 64 * 5 + 2 * (
        128 * 4 + 256 * 4 + 512 * 4)
    assert net(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_without_batchnorm_each_image_is_computed_alone():
    torch.manual_seed(0)
    x = torch.randn(6, 1, 28, 28)
    with_bn = RECIPES["baseline"].model("resnet18_fmnist", seed=0).train()
    no_bn = RECIPES["no batch norm"].model("resnet18_fmnist", seed=0).train()
    with torch.no_grad():
        # in training, batch norm mixes the batch: an image's output depends on its neighbours
        assert not torch.allclose(with_bn(x)[:2], with_bn(x[:2]), atol=1e-4)
        assert torch.allclose(no_bn(x)[:2], no_bn(x[:2]), atol=1e-5)


def test_without_batchnorm_needs_batchnorm():
    with pytest.raises(ValueError, match="no batch-norm layer"):
        recipes.without_batchnorm(nn.Sequential(nn.Conv2d(1, 2, 3)))


def test_smoothed_targets_are_what_cross_entropy_smooths_towards():
    torch.manual_seed(0)
    logits, labels = torch.randn(5, 10), torch.tensor([0, 3, 9, 3, 1])
    targets = recipes.smoothed_targets(labels, 10, 0.1)
    assert torch.allclose(targets.sum(1), torch.ones(5))
    assert targets[0, 0].item() == pytest.approx(0.91) and targets[0, 1].item() == pytest.approx(0.01)
    by_hand = -(targets * F.log_softmax(logits, 1)).sum(1).mean()
    assert torch.allclose(by_hand, F.cross_entropy(logits, labels, label_smoothing=0.1))
    assert torch.equal(recipes.smoothed_targets(labels, 10, 0.0), F.one_hot(labels, 10).float())
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        recipes.smoothed_targets(labels, 10, 1.5)


def test_weight_norm_and_decay_factor():
    lin = nn.Linear(3, 4)
    with torch.no_grad():
        lin.weight.fill_(0.5)
        lin.bias.fill_(100.0)                      # biases are not decayed: left out
    assert recipes.weight_norm(lin) == pytest.approx(math.sqrt(12 * 0.25))
    bn = nn.Sequential(nn.Conv2d(1, 2, 1, bias=False), nn.BatchNorm2d(2))
    with torch.no_grad():
        bn[0].weight.fill_(2.0)
    assert recipes.weight_norm(bn) == pytest.approx(math.sqrt(2 * 4.0))
    quick = profiles.get_profile("recipes", "quick")
    wd = RECIPES["weight decay"].profile(quick)
    assert recipes.decay_factor(wd, 20) == pytest.approx((1 - 1e-3 * 0.05) ** 20)
    assert recipes.decay_factor(quick, 1000) == 1.0   # the baseline has no decay


# --------------------------------------------------------------------------- running recipes

def _tiny():
    """LeNet on 40 training and 10 test images: a run of two steps."""
    return profiles.Profile(model="lenet", epochs=1, batch_size=20, lr=1e-3, train_per_class=4,
                            test_per_class=1, chapter="test", name="quick")


def test_a_diverged_run_is_reported_not_hidden():
    # lr 1e37 (finite, so fit accepts it) with SGD: one step takes the weights near
    # float32's largest value and the next loss overflows
    table_of = {"baseline": Recipe(), "infinite lr": Recipe({"lr": 1e37, "optimizer": "sgd"})}
    results = {n: recipes.train_recipe(n, _tiny(), recipes=table_of) for n in table_of}
    ok, bad = results["baseline"], results["infinite lr"]
    assert not ok.diverged and len(ok.history) == 1 and ok.test_images == 10
    assert 0.0 <= ok.test_acc <= 1.0 and math.isfinite(ok.train_loss)
    assert ok.standard_error == pytest.approx(stats.binomial_stderr(ok.test_acc, 10))
    assert ok.steps == 2 and ok.norm_start > 0 and ok.norm_end != ok.norm_start
    assert bad.diverged and "NaN/Inf" in bad.error and math.isnan(bad.test_acc)
    text = str(recipes.table(results))
    assert "diverged" in text.splitlines()[3] and "lr=1e+37" in text.splitlines()[3]
    assert f"{ok.test_acc:.3f}" in text.splitlines()[2]
    assert recipes.best(results, exclude=()) == "baseline"
    with pytest.raises(ValueError, match="no finished run"):
        recipes.best(results)  # the baseline left out, the other diverged


def test_same_seed_same_run_and_best_picks_highest():
    a = recipes.train_recipe("baseline", _tiny(), recipes={"baseline": Recipe()})
    b = recipes.train_recipe("baseline", _tiny(), recipes={"baseline": Recipe()})
    assert a.train_loss == b.train_loss and a.test_acc == b.test_acc
    fake = {n: recipes.RecipeResult(n, Recipe(), _tiny()) for n in ("baseline", "x", "y")}
    for n, acc in [("baseline", 0.9), ("x", 0.5), ("y", 0.7)]:
        fake[n].history = [type("E", (), {"test_acc": acc, "train_loss": 1.0})()]
    assert recipes.best(fake) == "y" and recipes.best(fake, exclude=()) == "baseline"


def test_plot_accuracies_draws_every_run_even_a_diverged_one():
    import matplotlib
    matplotlib.use("Agg")
    fake = {n: recipes.RecipeResult(n, Recipe(), _tiny(), test_images=500)
            for n in ("baseline", "x", "y")}
    for n, acc in [("baseline", 0.8), ("x", 0.7)]:
        fake[n].history = [type("E", (), {"test_acc": acc, "train_loss": 1.0})()]
    ax = recipes.plot_accuracies(fake).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["y", "x", "baseline"]
    assert [round(p.get_width(), 3) for p in ax.patches] == [0.0, 0.7, 0.8]
    assert any("diverged" in t.get_text() for t in ax.texts)


# --------------------------------------------------------------------------- seeds and verdicts

def _fake_runs(accs):
    return {n: [recipes.RecipeResult(n, Recipe(), _tiny(), history=[recipes._Final(a)], seed=s)
                for s, a in enumerate(values)] for n, values in accs.items()}


def test_verdicts_are_paired_by_seed_and_use_cnnlab_stats():
    runs = _fake_runs({"baseline": [0.70, 0.75, 0.72], "no batch norm": [0.50, 0.56, 0.51],
                       "one-cycle lr": [0.71, 0.74, 0.73]})
    found = recipes.verdicts(runs)
    assert set(found) == {"no batch norm", "one-cycle lr"}
    nobn = found["no batch norm"]
    assert nobn == stats.verdict([0.70, 0.75, 0.72], [0.50, 0.56, 0.51], expect="lower")
    assert nobn.word == "agrees" and nobn.difference.n == 3
    assert found["one-cycle lr"].word == "not resolved"
    assert "not resolved" in found["one-cycle lr"].sentence(a="baseline", b="one-cycle lr")
    # the opposite direction contradicts the source
    flipped = recipes.verdicts(_fake_runs({"baseline": [0.5, 0.55, 0.52],
                                           "no batch norm": [0.7, 0.74, 0.73]}))
    assert flipped["no batch norm"].word == "contradicts"
    text = str(recipes.seeds_table(runs))
    assert "agrees (source: lower)" in text and "-20.0 ±" in text
    with pytest.raises(ValueError, match="baseline"):
        recipes.verdicts(_fake_runs({"no batch norm": [0.5, 0.6]}))


def test_a_diverged_seed_counts_as_chance():
    runs = _fake_runs({"baseline": [0.7, 0.7], "no batch norm": [0.6, 0.6]})
    runs["no batch norm"][1].history = None
    assert recipes.accuracies(runs)["no batch norm"] == [0.6, 0.1]


def test_run_seeds_shares_each_seed_between_recipes():
    table_of = {"baseline": Recipe(), "smooth": Recipe({"label_smoothing": 0.1})}
    lines = []
    runs = recipes.run_seeds(_tiny(), names=tuple(table_of), seeds=(0, 1), recipes=table_of,
                             report=lines.append)
    assert [r.seed for r in runs["baseline"]] == [0, 1] == [r.seed for r in runs["smooth"]]
    assert len(lines) == 4 and lines[0].startswith("seed 0  baseline")
    # same seed, same initial weights
    assert runs["baseline"][0].norm_start == runs["smooth"][0].norm_start
    assert runs["baseline"][0].norm_start != runs["baseline"][1].norm_start


def test_plot_seeds_draws_every_recipe():
    import matplotlib
    matplotlib.use("Agg")
    ax = recipes.plot_seeds(_fake_runs({"baseline": [0.7, 0.72, 0.71],
                                        "no batch norm": [0.5, 0.55, 0.52]})).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["no batch norm", "baseline"]
