"""What the chapters' d2l-style models share: d2l's weight initialisation."""

from __future__ import annotations

from torch import nn

from cnnlab import dry_run, train

__all__ = ["init_cnn", "init_kaiming", "train_over_seeds", "scores",
           "experiment_data"]


def init_cnn(module: nn.Module) -> None:
    """d2l's ``init_cnn``: Xavier-uniform weights for every Conv2d and Linear.

    Use it with ``net.apply(init_cnn)``. With sigmoid activations PyTorch's default
    (Kaiming-uniform with a=√5) starts the d2l networks too flat to learn quickly.

    >>> net = nn.Sequential(nn.Conv2d(1, 6, 5), nn.Linear(6, 2)).apply(init_cnn)
    """
    if type(module) in (nn.Linear, nn.Conv2d):
        nn.init.xavier_uniform_(module.weight)


def init_kaiming(module: nn.Module) -> None:
    """He et al.'s (2015) initialisation for ReLU networks: normal weights with variance
    2 / fan_in for every Conv2d and Linear, zero biases.

    Xavier's variance (2 / (fan_in + fan_out)) is right for a layer that keeps the
    signal's variance, which a ReLU halves: through 16 ReLU layers that halving
    compounds to a factor of about 65,000, and a deep VGG starts with logits near zero
    and gradients too small to move it. Kaiming's factor 2 undoes the halving.

    >>> net = nn.Sequential(nn.Conv2d(1, 6, 5), nn.Linear(6, 2)).apply(init_kaiming)
    """
    if type(module) in (nn.Linear, nn.Conv2d):
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def train_over_seeds(arms, data, seeds, score_data=None, **fit_kwargs) -> dict:
    """Train every arm once per seed on ``data``; the runs of each arm, seed by seed.

    ``arms`` maps a label to ``build(seed) -> model`` (the builder seeds the initial
    weights), or to a pair ``(build, fit_overrides)`` when an arm trains with its own
    settings (e.g. its own learning rate). Each run is :func:`cnnlab.train.fit` with
    ``seed=seed`` and ``fit_kwargs``; the returned histories carry ``label``, ``seed``
    and ``score``: the final model's accuracy on ``score_data`` (a larger test split,
    scored once at the end: testing is cheap next to training), or the last epoch's
    test accuracy when ``score_data`` is None.
    """
    runs: dict[str, list] = {}
    for label, arm in arms.items():
        build, overrides = arm if isinstance(arm, tuple) else (arm, {})
        runs[label] = []
        for seed in dry_run.items(seeds):  # the first seed only in a dry run
            model = build(seed)
            history = train.fit(model, data, seed=seed, progress=False,
                                **{**fit_kwargs, **overrides})
            history.label, history.seed = label, seed
            history.score = (train.evaluate(model, score_data) if score_data is not None
                             else history[-1].test_acc)
            runs[label].append(history)
    return runs


def scores(runs: dict) -> dict[str, list[float]]:
    """``{label: [score of each seed]}`` from :func:`train_over_seeds`' runs."""
    return {label: [h.score for h in hs] for label, hs in runs.items()}


def experiment_data(profile, setup: dict):
    """Split an experiment's ``setup`` (a chapter's ``EXPERIMENT``) into its training data,
    the test split it is scored on at the end (``score_per_class`` images per class) and
    the remaining :func:`cnnlab.train.fit` arguments: ``(data, score, fit_kwargs)``.
    ``data`` is tested after every epoch on only ``test_per_class`` images per class."""
    data_keys = ("resize", "train_per_class", "test_per_class", "batch_size")
    data = profile.replace(**{k: setup[k] for k in data_keys}).data()
    score = profile.replace(**{**{k: setup[k] for k in data_keys},
                               "test_per_class": setup["score_per_class"]}).data().test
    fit = {k: v for k, v in setup.items() if k not in data_keys + ("score_per_class",)}
    return data, score, fit
