"""The degradation problem: deeper plain nets train worse, deeper ResNets do not.

He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016,
arXiv:1512.03385, §4.2, Fig. 6 and Table 6. On CIFAR-10 the plain nets of 20, 32,
44 and 56 layers reach *higher training error* the deeper they are (so it is not
overfitting), while ResNets with exactly the same layers plus identity shortcuts
(option A: no extra parameters) get better with depth. This chapter repeats the
experiment on Fashion-MNIST with the zoo's CIFAR-style nets
(:mod:`cnnlab.models.resnet_cifar`, one input channel) and looks at the gradients
each conv layer receives.

===================  ===================================  ==========================
what                 helper                               measured
===================  ===================================  ==========================
the four nets        :func:`build` (plain/residual, d)    parameters (equal: option A)
same budget for all  :func:`train_four`                   training error per epoch
the claim            :func:`verdict`                      did the ordering hold?
gradients per layer  :func:`conv_grad_norms`              ‖∂L/∂W‖ of every conv layer
===================  ===================================  ==========================

The ``full`` profile is the paper's CIFAR recipe moved to Fashion-MNIST (all 60,000
images at 28×28, SGD lr 0.1 with momentum 0.9, weight decay 1e-4, batch 128, lr ÷10 at
50% and 75% of training, 20 vs 56 layers); the ``quick`` profile is a much shorter CPU
run of shallower pairs on 14×14 images (see :data:`PROFILES`).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from cnnlab import plot
from cnnlab.data import ImageData
from cnnlab.models.resnet_cifar import build_plain_cifar, build_resnet_cifar, CifarResNet
from cnnlab.recipe import Profile
from cnnlab.seeding import seed_everything
from cnnlab.train import fit

__all__ = ["PROFILES", "DEPTHS", "MILESTONES", "KINDS", "PAPER_TABLE6", "PAPER_FIG6", "PLAIN_NET_REPRODUCTION",
           "build", "run_name", "step_schedule", "paper_sgd", "train_four", "final_errors", "verdict",
           "conv_grad_norms", "plot_training_error", "plot_grad_norms"]

#: (shallow, deep) depth pair of each profile; depths are 6n+2 (:class:`CifarResNet`).
DEPTHS: dict[str, tuple[int, int]] = {"full": (20, 56), "quick": (8, 26)}
KINDS = ("plain", "resnet")

# The paper's CIFAR-10 numbers (He et al. 2016, Table 6: test error %, option A shortcuts;
# Fig. 6 gives the plain nets only as curves, and its text: plain-56 has higher training
# *and* test error than plain-20).
PAPER_TABLE6 = {"resnet20": 8.75, "resnet32": 7.51, "resnet44": 7.17, "resnet56": 6.97,
                "resnet110": 6.43, "resnet1202": 7.93}
PAPER_FIG6 = "Fig. 6 (left): the training and test error of plain-20/32/44/56 rise with depth"
# A public reproduction with plain nets (github.com/nabla0001/resnet, README): CIFAR-10 test
# error %, mean ± std over 5 runs, the paper's recipe.
PLAIN_NET_REPRODUCTION = {"plain20": (9.78, 0.13), "plain56": (12.95, 0.22),
             "resnet20": (8.51, 0.22), "resnet56": (7.40, 0.27)}


def step_schedule(milestones: tuple[float, ...] = (0.5, 0.75), gamma: float = 0.1
                  ) -> Callable[[int], float]:
    """The paper's step schedule as a factor of the epoch fraction (for ``LambdaLR``).

    >>> f = step_schedule(); f(0.4), f(0.6), round(f(0.8), 6)
    (1.0, 0.1, 0.01)
    """
    return lambda progress: gamma ** sum(progress >= m for m in milestones)


FULL = Profile(model="plain56", epochs=40, batch_size=128, lr=0.1, optimizer="sgd",
               weight_decay=1e-4, augment=True,
               source="He et al. 2016 §4.2 (SGD 0.1, momentum 0.9, wd 1e-4, batch 128, "
                      "lr ÷10 at 50% and 75%; 40 epochs on Fashion-MNIST instead of 64k "
                      "iterations on CIFAR-10)")
PROFILES = {
    "full": FULL,
    # 14×14 images, 300 per class, 6 short epochs (23 steps each) at a constant lr 0.1 and
    # 8 vs 26 layers: the start of Fig. 6, where the plain nets' curves already separate;
    # about 2 minutes for all four nets on 2 CPU cores. (At 14 vs 44 layers this budget is
    # too short for ResNet-44 to catch up with ResNet-14.) plain26 is not a registered
    # name: build it with build("plain", 26).
    "quick": FULL.replace(model="plain26", epochs=6, train_per_class=300, test_per_class=50,
                          resize=14, augment=False, weight_decay=0.0),
}
#: When the learning rate drops by 10, as fractions of the epochs (None: constant).
MILESTONES: dict[str, tuple[float, ...] | None] = {"full": (0.5, 0.75), "quick": None}


def run_name(kind: str, depth: int) -> str:
    """``"plain20"``, ``"resnet56"``: the registry's naming."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return f"{kind}{depth}"


def build(kind: str, depth: int, seed: int = 0, in_channels: int = 1,
          num_classes: int = 10) -> CifarResNet:
    """Plain-``depth`` or ResNet-``depth`` (option A), weights drawn from ``seed``.

    Any depth 6n+2 works (8, 14, 20, 26, ...), not only the registered ones.

    >>> from cnnlab import measure
    >>> measure.count_parameters(build("plain", 20)) == measure.count_parameters(build("resnet", 20))
    True
    """
    run_name(kind, depth)  # checks kind
    seed_everything(seed)
    if kind == "plain":
        return build_plain_cifar(depth, num_classes, in_channels)
    return build_resnet_cifar(depth, num_classes, in_channels, shortcut="A")


def paper_sgd(lr: float, weight_decay: float = 0.0, momentum: float = 0.9,
              epochs: int | None = None, milestones: tuple[float, ...] | None = None):
    """The paper's optimiser for ``fit``: plain SGD with momentum (no Nesterov), and its
    step schedule applied after each epoch.

    Returns ``(optimizer, on_epoch_end)``: pass both to :func:`cnnlab.train.fit`.
    ``optimizer`` is a callable ``params -> SGD``; ``on_epoch_end`` sets the learning rate
    to ``lr × step_schedule(milestones)(epoch / epochs)`` (a no-op without milestones).

    >>> make, hook = paper_sgd(0.1, epochs=4, milestones=(0.5, 0.75))
    >>> opt = make([torch.zeros(1, requires_grad=True)])
    >>> from types import SimpleNamespace as S
    >>> [hook(S(epoch=e)) or round(opt.param_groups[0]["lr"], 4) for e in (1, 2, 3)]
    [0.1, 0.01, 0.001]
    """
    made: list[torch.optim.Optimizer] = []

    def optimizer(params) -> torch.optim.Optimizer:
        made.append(torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay))
        return made[-1]

    def on_epoch_end(stats) -> None:
        if milestones and made:
            factor = step_schedule(tuple(milestones))(stats.epoch / epochs)
            for group in made[-1].param_groups:
                group["lr"] = lr * factor
    return optimizer, on_epoch_end


def train_four(profile: Profile, data: ImageData | None = None, seed: int = 0,
               depths: tuple[int, int] | None = None, progress: bool = False,
               trained: dict | None = None) -> dict:
    """Train plain and ResNet at the profile's two depths under one budget.

    Every net gets the same data, epochs, batch, optimiser and learning rate, its
    weights from ``seed`` and the same seeded shuffle. With ``optimizer="sgd"`` the
    optimiser is the paper's (:func:`paper_sgd`: momentum 0.9, the profile's weight
    decay, and :data:`MILESTONES` of the profile as the step schedule); other profiles'
    optimisers are passed on to :func:`cnnlab.train.fit` as they are.

    Returns ``{"plain20": History, "plain56": ..., "resnet20": ..., "resnet56": ...}``
    (plain before residual, shallow before deep). Each ``History`` has one row per
    epoch; its ``train_acc`` is measured on the batches as they were trained, so
    ``1 - train_acc`` is the training error of that stretch of steps, as in Fig. 6.
    Pass a dict as ``trained`` to get the trained nets in it, under the same names.
    """
    depths = depths or DEPTHS[profile.name or "quick"]
    data = data if data is not None else profile.data()
    kwargs = profile.fit_kwargs()
    milestones = MILESTONES.get(profile.name)
    histories = {}
    for kind in KINDS:
        for depth in depths:
            name = run_name(kind, depth)
            net = build(kind, depth, seed=seed, in_channels=data.train.image_shape[0],
                        num_classes=len(data.classes))
            run_kwargs = dict(kwargs)
            if kwargs["optimizer"] == "sgd":
                run_kwargs["optimizer"], run_kwargs["on_epoch_end"] = paper_sgd(
                    kwargs["lr"], kwargs["weight_decay"], epochs=kwargs["epochs"],
                    milestones=milestones)
            h = fit(net, data, seed=seed, progress=progress, **run_kwargs)
            h.label = name
            histories[name] = h
            if trained is not None:
                trained[name] = net
    return histories


def final_errors(histories: dict) -> dict[str, float]:
    """Training error (1 - train accuracy) of each run's last epoch, as a fraction."""
    return {name: 1.0 - h[-1].train_acc for name, h in histories.items()}


def verdict(histories: dict, depths: tuple[int, int], tolerance: float = 0.02) -> dict:
    """Did the paper's ordering hold in these runs?

    ``degraded``: plain-deep's final training error is higher than plain-shallow's.
    ``resnet_ok``: ResNet-deep's is at most ResNet-shallow's + ``tolerance``.
    ``held``: both. Errors are fractions (``tolerance=0.02`` is two percentage points:
    the last epoch of the quick profile averages ~3,000 predictions, whose sampling
    error alone is about 0.7 points).

    >>> from cnnlab.train import EpochStats, History
    >>> h = lambda acc: History([EpochStats(1, 0.0, acc, 0.0, 0.0, 0.0, 0.1, "cpu")])
    >>> v = verdict({"plain20": h(.9), "plain56": h(.8), "resnet20": h(.9), "resnet56": h(.91)}, (20, 56))
    >>> v["degraded"], v["resnet_ok"], v["held"]
    (True, True, True)
    """
    shallow, deep = depths
    e = final_errors(histories)
    degraded = e[f"plain{deep}"] > e[f"plain{shallow}"]
    resnet_ok = e[f"resnet{deep}"] <= e[f"resnet{shallow}"] + tolerance
    return {"errors": e, "degraded": degraded, "resnet_ok": resnet_ok,
            "held": degraded and resnet_ok, "tolerance": tolerance}


def conv_grad_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[tuple[str, float]]:
    """The L2 norm of ∂loss/∂W of every conv layer's weight, for one batch, in forward order.

    The loss is the mean cross-entropy of ``model(x)`` against ``y``; the model's
    existing gradients are left untouched (computed with ``torch.autograd.grad``), and
    BatchNorm runs in the model's current mode (train mode uses the batch statistics,
    as in training, and updates the running averages once).

    >>> net = build("plain", 8)
    >>> norms = conv_grad_norms(net, torch.randn(4, 1, 14, 14), torch.tensor([0, 1, 2, 3]))
    >>> len(norms), norms[0][0]
    (7, 'conv1')
    """
    convs = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError("the model has no nn.Conv2d layer")
    weights = [m.weight for _, m in convs]
    loss = F.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, weights)
    return [(name, float(g.norm())) for (name, _), g in zip(convs, grads)]


# --------------------------------------------------------------------------- figures

def plot_training_error(histories: dict, depths: tuple[int, int], steps_per_epoch: int,
                        axes=None, path=None):
    """Fig. 6 of the paper for these runs: training error (solid) and test error
    (dashed) in % against training steps, plain nets left, ResNets right.

    Each point is one epoch: its training error is averaged over that epoch's
    ``steps_per_epoch`` steps and drawn at the epoch's last step. Returns the figure.
    """
    import matplotlib.pyplot as plt
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    colours = dict(zip(depths, ("tab:orange", "tab:red")))
    for ax, kind in zip(axes, KINDS):
        for depth in depths:
            h = histories[run_name(kind, depth)]
            steps = [e * steps_per_epoch for e in h.column("epoch")]
            label = f"{'plain' if kind == 'plain' else 'ResNet'}-{depth}"
            ax.plot(steps, [100 * (1 - a) for a in h.column("train_acc")], marker="o",
                    color=colours[depth], label=f"{label} train")
            ax.plot(steps, [100 * (1 - a) for a in h.column("test_acc")], linestyle="--",
                    color=colours[depth], alpha=0.7, label=f"{label} test")
        ax.set_title("plain" if kind == "plain" else "ResNet (option A)")
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_ylabel("error (%)")
    plot.show(axes[0].figure, path)
    return axes[0].figure


def plot_grad_norms(norms: dict[str, list[tuple[str, float]]], ax=None, title: str | None = None,
                    path=None):
    """Gradient norm of each conv layer (from :func:`conv_grad_norms`) against its
    position, one line per net, on a log scale. ``ax`` draws into an existing axis, ``path``
    saves the figure. Returns the figure."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.4))
    for label, rows in norms.items():
        ax.plot(range(1, len(rows) + 1), [v for _, v in rows], marker=".", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("conv layer (1 = next to the input)")
    ax.set_ylabel("‖∂L/∂W‖")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    if title:
        ax.set_title(title)
    plot.show(ax.figure, path)
    return ax.figure
