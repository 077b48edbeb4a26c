"""Training recipes for ResNet-18: the article's baseline, then one ingredient at a time.

He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016,
arXiv:1512.03385, give the network; this chapter asks what the *training* adds. The
baseline is the recipe of the article "残差网络(ResNet)" (Residual networks): Adam
(Kingma & Ba, arXiv:1412.6980) at a constant learning rate of 0.001, batch 256, 2
epochs on 28×28 Fashion-MNIST, for the chapter ResNet's ``resnet18_fmnist``. The
optimisations that "ResNet18网络结构" (The ResNet18 architecture) lists in its §5.1
(learning-rate decay, weight decay, data augmentation, batch normalization), plus
label smoothing, are each switched on alone against that baseline (an ablation),
then together:

===============  ==========================================  ====================================
recipe           change against the baseline                 source
===============  ==========================================  ====================================
baseline         none: Adam, lr 0.001 constant               the article; He et al. 2016
one-cycle lr     lr ramps up to 0.003, then anneals to ~0    Smith & Topin 2017, arXiv:1708.07120
weight decay     AdamW, decoupled weight decay 0.05          Loshchilov & Hutter, arXiv:1711.05101
augmentation     random crop (3 px reflect pad) + h. flip    He et al. 2016 §4.2 (CIFAR-10)
label smoothing  targets (1 - 0.1)·one-hot + 0.1/10          Szegedy et al. 2016, arXiv:1512.00567
no batch norm    every BatchNorm2d replaced by Identity      Ioffe & Szegedy 2015, arXiv:1502.03167
combined         the first four ingredients together         —
===============  ==========================================  ====================================

The recipes are data (:data:`RECIPES`: name -> :class:`Recipe`, the profile fields it
changes); :func:`train_recipe` trains one of them and reports a diverged run instead
of hiding it. A CPU budget is a few dozen steps, and most ingredients act over many
epochs (weight decay shrinks a weight by ``1 - lr·λ`` per step; augmentation and
label smoothing pay off once a network would otherwise memorise its images), so the
measured comparison is :data:`COMPARED`: the baseline against the two ingredients
that act within that budget, batch normalization (taken out) and the one-cycle
schedule, each over :data:`SEEDS` and decided by :func:`cnnlab.stats.verdict`
(:func:`verdicts`; :data:`CLAIMS` says which way the sources expect each to go).
Weight decay is shown where it acts, on the weights' norm (:func:`weight_norm`,
:func:`decay_factor`). This chapter builds no new network: it retrains the ResNet
chapter's, which therefore stays the chapter of ``resnet18_fmnist`` for
:func:`cnnlab.profiles.get_profile` (``chapters.chapter_of`` prefers the builder).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

import torch
from torch import nn

from cnnlab import dry_run, plot, stats, train
from cnnlab.models.registry import create
from cnnlab.recipe import Profile
from cnnlab.table import Table

__all__ = ["Recipe", "RECIPES", "BASELINE", "COMPARED", "CLAIMS", "SEEDS", "combine",
           "without_batchnorm", "smoothed_targets", "weight_norm", "decay_factor",
           "RecipeResult", "train_recipe", "run_seeds", "accuracies", "verdicts", "best",
           "table", "plot_accuracies", "PROFILES", "EXPERIMENT", "AT_SCALE",
           "experiment_at_scale", "score_verdicts"]

# The article's recipe on all 60,000 images (a GPU run). The quick profile (EXPERIMENT)
# keeps Adam and its learning rate but trains 1 epoch on 64 images per class in
# batches of 32 (20 steps) and tests on 50 per class: the three compared recipes over
# three seeds (nine runs, 5,760 training images of ResNet-18) fit in well under a
# minute of training on two quiet CPU cores. Twenty steps are the start of training,
# where a run's outcome swings with its seed; the same comparison at scale (AT_SCALE,
# ``cnnlab record recipes --experiment``, shipped in cnnlab/recorded/experiments/)
# trains 2 epochs of 200 images per class (125 steps, six times as many) and tests on
# 300 per class: about 20 minutes of one CPU core for the nine runs.
FULL = Profile(model="resnet18_fmnist", epochs=2, batch_size=256, lr=1e-3, optimizer="adam",
               source='"残差网络(ResNet)" (Adam, lr 0.001, batch 256, 2 epochs, 28×28)')
EXPERIMENT = dict(epochs=1, batch_size=32, train_per_class=64, test_per_class=50)
AT_SCALE = dict(epochs=2, train_per_class=200, test_per_class=300)
PROFILES = {
    "full": FULL,
    "quick": FULL.replace(**EXPERIMENT),
}

_PROFILE_FIELDS = {f.name for f in fields(Profile)}
_SETTINGS = ("lr", "optimizer", "schedule", "weight_decay", "label_smoothing", "augment")


@dataclass(frozen=True)
class Recipe:
    """One training recipe: the :class:`~cnnlab.recipe.Profile` fields it changes
    against the baseline, and whether the network keeps its batch normalization.

    >>> Recipe({"label_smoothing": 0.1}).profile(PROFILES["full"]).label_smoothing
    0.1
    >>> try:
    ...     Recipe({"lr_max": 0.1})
    ... except ValueError as error:
    ...     print(error)  # doctest: +ELLIPSIS
    Recipe changes unknown profile field(s) lr_max; ...
    """

    changes: Mapping[str, Any] = field(default_factory=dict)
    batchnorm: bool = True
    what: str = ""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.changes) - _PROFILE_FIELDS)
        if unknown:
            raise ValueError(f"Recipe changes unknown profile field(s) {', '.join(unknown)}; "
                             f"a recipe changes fields of cnnlab.recipe.Profile, such as "
                             f"{', '.join(_SETTINGS)}.")

    def profile(self, base: Profile) -> Profile:
        """``base`` with this recipe's changes: its ``data()`` and ``fit_kwargs()`` follow."""
        return base.replace(**self.changes)

    def model(self, name: str, seed: int = 0) -> nn.Module:
        """The registered network ``name`` with initial weights from ``seed``, without
        batch normalization if the recipe says so."""
        net = create(name, seed=seed)
        return net if self.batchnorm else without_batchnorm(net)

    def describe(self) -> str:
        """The changes in one line (``"baseline"`` when there are none)."""
        parts = [f"{k}={v}" for k, v in self.changes.items()]
        if not self.batchnorm:
            parts.append("BatchNorm → Identity")
        return ", ".join(parts) or "baseline"


def combine(*recipes: Recipe, what: str = "") -> Recipe:
    """One recipe with all the changes of ``recipes`` (a later one wins a conflict)."""
    changes: dict[str, Any] = {}
    for r in recipes:
        changes.update(r.changes)
    return Recipe(changes, batchnorm=all(r.batchnorm for r in recipes), what=what)


BASELINE = "baseline"
_INGREDIENTS = {
    # Smith & Topin's one-cycle policy peaks well above the rate one would hold constant
    # (they find the peak with a range test); here 3× the baseline's constant rate.
    "one-cycle lr": Recipe({"schedule": "onecycle", "lr": 3e-3},
                           what="one-cycle schedule peaking at 3× the baseline's lr"),
    "weight decay": Recipe({"optimizer": "adamw", "weight_decay": 0.05},
                           what="AdamW: decoupled weight decay 0.05"),
    "augmentation": Recipe({"augment": True}, what="random crop and horizontal flip"),
    "label smoothing": Recipe({"label_smoothing": 0.1}, what="label smoothing 0.1"),
}
#: name -> :class:`Recipe`; each row changes one thing against the baseline, except "combined".
RECIPES: dict[str, Recipe] = {
    BASELINE: Recipe({}, what="the article's recipe: Adam, constant lr"),
    **_INGREDIENTS,
    "no batch norm": Recipe({}, batchnorm=False, what="every BatchNorm2d replaced by Identity"),
    "combined": combine(*_INGREDIENTS.values(), what="the four ingredients above together"),
}

#: The recipes the chapter trains and compares: the baseline, and the two ingredients
#: that act within a CPU budget of a few dozen steps.
COMPARED = (BASELINE, "one-cycle lr", "no batch norm")
#: Which way the sources expect each compared ingredient to move the test accuracy
#: against the baseline: a decaying rate "speeds up convergence" (§5.1 of the article;
#: Smith & Topin 2017), batch normalization "stabilizes training and speeds up
#: convergence" (Ioffe & Szegedy 2015), so taking it out should lower it.
CLAIMS = {"one-cycle lr": "higher", "no batch norm": "lower"}
#: Every compared recipe runs once per seed (initial weights, training subset, batch
#: order and test subset); the baseline shares the seeds, so differences are paired.
SEEDS = (0, 1, 2)


# --------------------------------------------------------------------------- helpers


def without_batchnorm(net: nn.Module) -> nn.Module:
    """Replace every batch-norm layer of ``net`` by :class:`torch.nn.Identity`, in place.

    What is left computes each image on its own, in training as in evaluation. The
    convolutions of ``resnet18_fmnist`` keep their bias, so no shift is lost; the
    scale that batch norm kept near 1 is now the initialisation's alone (the
    chapter's exercise 2 prints it, stage by stage). Raises ``ValueError`` when
    ``net`` has no batch norm.

    >>> net = without_batchnorm(nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4)))
    >>> net
    Sequential(
      (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1))
      (1): Identity()
    )
    """
    norm_types = (nn.modules.batchnorm._BatchNorm,)
    targets = [name for name, m in net.named_modules() if isinstance(m, norm_types)]
    if not targets:
        raise ValueError(f"{type(net).__name__} has no batch-norm layer to remove.")
    for name in targets:
        parent_name, _, child = name.rpartition(".")
        parent = net.get_submodule(parent_name) if parent_name else net
        setattr(parent, child, nn.Identity())
    return net


def smoothed_targets(labels: torch.Tensor, num_classes: int, smoothing: float) -> torch.Tensor:
    """The target distributions label smoothing trains towards: ``(1 - smoothing)`` on a
    one-hot vector plus ``smoothing / num_classes`` on every class (PyTorch's
    ``cross_entropy(..., label_smoothing=)`` uses exactly these).

    >>> smoothed_targets(torch.tensor([2]), 4, 0.2)
    tensor([[0.0500, 0.0500, 0.8500, 0.0500]])
    """
    if not 0.0 <= smoothing <= 1.0:
        raise ValueError(f"smoothing must lie in [0, 1], got {smoothing}")
    one_hot = nn.functional.one_hot(labels, num_classes).float()
    return one_hot * (1.0 - smoothing) + smoothing / num_classes


def weight_norm(net: nn.Module) -> float:
    """The L2 norm of all convolution and linear weights of ``net`` (biases and
    batch-norm scales left out): what weight decay shrinks.

    >>> round(weight_norm(nn.Linear(2, 2).requires_grad_(False).apply(
    ...     lambda m: m.weight.fill_(1.0) if isinstance(m, nn.Linear) else None)), 3)
    2.0
    """
    total = 0.0
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            total += float(m.weight.detach().float().pow(2).sum())
    return math.sqrt(total)


def decay_factor(profile: Profile, steps: int) -> float:
    """What decoupled weight decay alone multiplies every weight by over ``steps`` steps
    at a constant learning rate: ``(1 - lr·λ) ** steps`` (AdamW, Loshchilov & Hutter).

    >>> round(decay_factor(Profile(model="m", epochs=1, batch_size=1, lr=1e-3,
    ...                            weight_decay=0.05), 20), 5)
    0.999
    """
    return (1.0 - profile.lr * profile.weight_decay) ** steps


# --------------------------------------------------------------------------- the experiment


@dataclass
class RecipeResult:
    """What one recipe's run did: its history, or why it stopped (a diverged run)."""

    name: str
    recipe: Recipe
    profile: Profile
    history: Any = None           # a cnnlab.train.History, None when training diverged
    error: str | None = None      # the NonFiniteLossError's message
    seconds: float = 0.0          # wall time of the run (until it stopped)
    test_images: int = 0
    seed: int = 0
    steps: int = 0                # optimiser steps of the run
    norm_start: float = math.nan  # weight_norm() of the initial and the final weights
    norm_end: float = math.nan

    @property
    def diverged(self) -> bool:
        return self.history is None

    @property
    def train_loss(self) -> float:
        return math.nan if self.diverged else self.history[-1].train_loss

    @property
    def test_acc(self) -> float:
        return math.nan if self.diverged else self.history[-1].test_acc

    @property
    def standard_error(self) -> float:
        return (math.nan if self.diverged else
                stats.binomial_stderr(self.test_acc, self.test_images))


def train_recipe(name: str, base: Profile, recipes: Mapping[str, Recipe] | None = None,
                 seed: int = 0, **fit_overrides: Any) -> RecipeResult:
    """Train recipe ``name`` (of ``recipes``, default :data:`RECIPES`) under ``base``.

    ``seed`` draws the initial weights, the training and test subsets and the batch
    order; every recipe run with the same seed shares them, so only its changes
    differ. ``fit_overrides`` go to :func:`cnnlab.train.fit` (e.g. ``epochs=1`` for a
    try-out). A run whose loss becomes NaN or infinite is not hidden: the result keeps
    :class:`cnnlab.train.NonFiniteLossError`'s message and counts as diverged.
    """
    recipe = (RECIPES if recipes is None else recipes)[name]
    profile = recipe.profile(base)
    data = profile.data(seed=seed)
    net = recipe.model(profile.model, seed=seed)
    started = time.perf_counter()
    kwargs = profile.fit_kwargs(**fit_overrides)
    result = RecipeResult(name, recipe, profile, test_images=len(data.test.labels), seed=seed,
                          steps=kwargs["epochs"] * len(data.train), norm_start=weight_norm(net))
    try:
        history = train.fit(net, data, seed=seed, progress=False, **kwargs)
        history.label = name
        result.history = history
        result.norm_end = weight_norm(net)
    except train.NonFiniteLossError as err:
        result.error = str(err)
    result.seconds = time.perf_counter() - started
    return result


def run_seeds(base: Profile, names: tuple[str, ...] = COMPARED, seeds: tuple[int, ...] = SEEDS,
              recipes: Mapping[str, Recipe] | None = None, report=print,
              **fit_overrides: Any) -> dict[str, list[RecipeResult]]:
    """Train every recipe of ``names`` once per seed of ``seeds`` (:func:`train_recipe`):
    ``{name: [result per seed]}``. ``report`` (default ``print``; None for silence)
    gets one line per finished run."""
    runs: dict[str, list[RecipeResult]] = {n: [] for n in names}
    for seed in dry_run.items(seeds):  # the first seed only in a dry run
        for name in names:
            r = train_recipe(name, base, recipes=recipes, seed=seed, **fit_overrides)
            runs[name].append(r)
            if report is not None:
                outcome = ("DIVERGED: " + r.error.split(". Training")[0] if r.diverged else
                           f"train loss {r.train_loss:.3f}, test acc {r.test_acc:.3f}")
                report(f"seed {seed}  {name:<14} {outcome}  ({r.seconds:.1f} s)")
    return runs


def experiment_at_scale(profile: Profile, **settings: Any) -> dict:
    """The compared recipes over :data:`SEEDS` under ``profile`` with ``settings``
    (:data:`AT_SCALE` when ``cnnlab record recipes --experiment`` runs it):
    ``{"scores": {recipe: [test accuracy per seed]}, "device": ...}`` (:func:`accuracies`),
    for :func:`cnnlab.record.record_experiment`."""
    runs = run_seeds(profile.replace(**settings), report=None)
    finished = [r for rs in runs.values() for r in rs if not r.diverged]
    device = finished[0].history[-1].device if finished else "unknown"
    return {"scores": accuracies(runs), "device": device}


def accuracies(runs: Mapping[str, list[RecipeResult]]) -> dict[str, list[float]]:
    """The final test accuracy of every run, per recipe (a diverged run counts as chance,
    0.1: it learned nothing the test could use)."""
    return {n: [0.1 if r.diverged else r.test_acc for r in rs] for n, rs in runs.items()}


def verdicts(runs: Mapping[str, list[RecipeResult]], claims: Mapping[str, str] = CLAIMS,
             baseline: str = BASELINE) -> dict[str, stats.Verdict]:
    """For each recipe of ``claims`` that ran, :func:`cnnlab.stats.verdict` of its test
    accuracy against the baseline's, paired by seed, against what the source expects.

    >>> fake = {"baseline": [0.70, 0.72, 0.71], "no batch norm": [0.50, 0.55, 0.52]}
    >>> v = verdicts({n: [RecipeResult(n, Recipe(), None, history=[_Final(a)]) for a in accs]
    ...               for n, accs in fake.items()})
    >>> v["no batch norm"].word
    'agrees'
    """
    return score_verdicts(accuracies(runs), claims, baseline)


def score_verdicts(scores: Mapping[str, list[float]], claims: Mapping[str, str] = CLAIMS,
                   baseline: str = BASELINE) -> dict[str, stats.Verdict]:
    """:func:`verdicts` from ``{recipe: [test accuracy per seed]}`` (an experiment
    recorded at scale keeps only those).

    >>> score_verdicts({"baseline": [0.70, 0.72, 0.71], "no batch norm": [0.50, 0.55, 0.52]}
    ...                )["no batch norm"].word
    'agrees'
    """
    if baseline not in scores:
        raise ValueError(f"no {baseline!r} runs to compare against")
    return {n: stats.verdict(scores[baseline], scores[n], expect=claims[n])
            for n in scores if n in claims}


class _Final:
    """A one-epoch stand-in history entry (doctests and tests)."""

    def __init__(self, test_acc: float, train_loss: float = 1.0) -> None:
        self.test_acc, self.train_loss = test_acc, train_loss


def seeds_table(runs: Mapping[str, list[RecipeResult]], claims: Mapping[str, str] = CLAIMS,
                baseline: str = BASELINE) -> Table:
    """One row per recipe: test accuracy per seed, mean ± standard error over seeds, the
    paired difference from the baseline and the computed verdict."""
    acc = accuracies(runs)
    found = verdicts(runs, claims, baseline) if baseline in acc else {}
    seeds = [r.seed for r in next(iter(runs.values()))]
    rows = []
    for name, values in acc.items():
        e = stats.Estimate.of(values)
        v = found.get(name)
        rows.append([name, *(f"{a:.3f}" for a in values), f"{e.mean:.3f} ± {e.stderr:.3f}",
                     f"{100 * v.difference.mean:+.1f} ± {100 * v.difference.stderr:.1f}"
                     if v else "", f"{v.word} (source: {claims[name]})" if v else ""])
    return Table(["recipe", *(f"seed {s}" for s in seeds), "mean ± s.e.",
                  "vs baseline, points", "verdict"], rows)


def plot_seeds(runs: Mapping[str, list[RecipeResult]], ax=None, title: str | None = None,
               path=None):
    """Each recipe's test accuracy per seed (dots) and its mean ± 2 standard errors over
    the seeds (bar); the baseline's mean is the dashed line.
    ``ax`` draws into an existing axis, ``path`` saves the figure. Returns the figure."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.6 * len(runs) + 1.2))
    acc = accuracies(runs)
    names = list(acc)[::-1]
    for i, n in enumerate(names):
        e = stats.Estimate.of(acc[n])
        ax.errorbar(e.mean, i, xerr=2 * e.stderr, fmt="s", color="0.3", capsize=4)
        ax.scatter(acc[n], [i] * len(acc[n]), color="tab:blue", alpha=0.7, zorder=3)
    ax.set_yticks(range(len(names)), names)
    if BASELINE in acc:
        ax.axvline(stats.Estimate.of(acc[BASELINE]).mean, color="0.3", linestyle="--",
                   linewidth=1)
    ax.set_xlabel("test accuracy (dots: seeds; square and bar: mean ± 2 s.e.)")
    if title:
        ax.set_title(title)
    plot.show(ax.figure, path)
    return ax.figure


def best(results: Mapping[str, RecipeResult], exclude: tuple[str, ...] = (BASELINE,)) -> str:
    """The name of the run with the highest final test accuracy, diverged runs and
    ``exclude`` left out."""
    finished = {n: r for n, r in results.items() if not r.diverged and n not in exclude}
    if not finished:
        raise ValueError("no finished run to choose from")
    return max(finished, key=lambda n: finished[n].test_acc)


def table(results: Mapping[str, RecipeResult]) -> Table:
    """The runs side by side: final training loss, test accuracy ± its binomial
    standard error, the change in accuracy against the baseline, and wall time."""
    base = results.get(BASELINE)
    rows = []
    for name, r in results.items():
        if r.diverged:
            step = r.error.split(" with learning rate")[0].removeprefix(
                "The training loss became NaN/Inf at ")
            rows.append([name, "diverged", "—", "—", "—", f"{r.seconds:.1f}",
                         f"{r.recipe.describe()} (NaN/Inf at {step})"])
            continue
        delta = ("" if base is None or base.diverged or name == BASELINE
                 else f"{100 * (r.test_acc - base.test_acc):+.1f} pt")
        rows.append([name, f"{r.train_loss:.3f}", f"{r.test_acc:.3f}",
                     f"{r.standard_error:.3f}", delta, f"{r.seconds:.1f}", r.recipe.describe()])
    return Table(["recipe", "train loss", "test acc", "± s.e.", "vs base", "time s", "changes"],
                 rows)


def plot_accuracies(results: Mapping[str, RecipeResult], ax=None, title: str | None = None,
                    path=None):
    """Each run's final test accuracy as a bar with ±2 standard errors (diverged runs
    are named and marked, not dropped); the baseline's accuracy is the dashed line.
    ``ax`` draws into an existing axis, ``path``
    saves the figure. Returns the figure."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.45 * len(results) + 1.2))
    names = list(results)[::-1]                      # the baseline on top
    acc = [0.0 if results[n].diverged else results[n].test_acc for n in names]
    err = [0.0 if results[n].diverged else 2 * results[n].standard_error for n in names]
    bars = ax.barh(names, acc, xerr=err, capsize=3,
                   color=["0.6" if n == BASELINE else "tab:blue" for n in names])
    for bar, n in zip(bars, names):
        if results[n].diverged:
            ax.text(0.01, bar.get_y() + bar.get_height() / 2, "diverged (NaN/Inf loss)",
                    va="center", color="tab:red", transform=ax.get_yaxis_transform())
    base = results.get(BASELINE)
    if base is not None and not base.diverged:
        ax.axvline(base.test_acc, color="0.3", linestyle="--", linewidth=1)
    finished = [a for a, n in zip(acc, names) if not results[n].diverged]
    if finished:
        ax.set_xlim(max(0.0, min(finished) - 0.1), min(1.0, max(finished) + 0.06))
    ax.set_xlabel("test accuracy (bars: ±2 standard errors of the test sample)")
    if title:
        ax.set_title(title)
    plot.show(ax.figure, path)
    return ax.figure
