"""The comparison chapter: every network of the modern-CNN chapters in one table, measured
here and ranked from records.

=====================  ==================================================  ===================
network (chapter)      paper                                               torchvision model
=====================  ==================================================  ===================
AlexNet                Krizhevsky, Sutskever, Hinton, NeurIPS 2012         ``alexnet``
VGG-11                 Simonyan & Zisserman, arXiv:1409.1556               ``vgg11``
NiN                    Lin, Chen, Yan, arXiv:1312.4400                     —
GoogLeNet              Szegedy et al., arXiv:1409.4842                     ``googlenet``
LeNet + batch norm     Ioffe & Szegedy, arXiv:1502.03167 (LeCun et al.     —
                       1998's LeNet)
ResNet-18              He, Zhang, Ren, Sun, arXiv:1512.03385               ``resnet18``
DenseNet (d2l's)       Huang et al., arXiv:1608.06993                      ``densenet121``
=====================  ==================================================  ===================

This chapter trains nothing: it reads the other chapters (their networks, their
``quick`` profiles' inputs, their ``D2L_PUBLISHED``) through :mod:`cnnlab.chapters`,
and the runs recorded at scale through :mod:`cnnlab.results`.

Three kinds of numbers, each from where it can be checked:

- **Costs**, measured by :mod:`cnnlab.measure` on the reader's device when the page
  runs (:func:`measure_costs`): parameters, FLOPs of one image, inference throughput,
  time of one training step and its peak memory, each network at the resolution its
  chapter's ``quick`` profile trains at (the smallest it trains well at).
- **Fashion-MNIST accuracy**, from recorded runs only (:func:`accuracies`): this
  build's runs, which the chapter notebooks write with :func:`cnnlab.results.record_run`,
  and the runs shipped in ``cnnlab/recorded/`` (``cnnlab record CHAPTER``): every
  network's ``reference`` run, the same recipe on all of Fashion-MNIST, which
  :func:`rank` orders, and ``full`` runs where a GPU ran d2l's recipes.
  A chapter without a record is reported as such, never guessed.
- **ImageNet top-1** of the corresponding torchvision architecture, read from its
  weights' metadata (:func:`imagenet_reference`, offline): torchvision's 1000-class
  ImageNet models, not our Fashion-MNIST variants.

>>> [n.model for n in networks()][:2]
['alexnet_fmnist', 'vgg11_fmnist']
>>> imagenet_reference("ResNet18_Weights.IMAGENET1K_V1")["acc1"]
69.758
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import matplotlib.pyplot as plt
import torch

# The chapters' registry (this module's own package): set up before any function here runs.
from cnnlab import chapters, measure, models, plot, results
from cnnlab.models.imagenet import imagenet_reference
from cnnlab.stats import Estimate
from cnnlab.table import Table

__all__ = ["Network", "NETWORKS", "networks", "input_side", "Cost", "measure_costs",
           "accuracies", "imagenet_reference", "Table", "cost_table", "accuracy_table",
           "imagenet_table", "plot_costs", "NOT_RUN", "Ranked",
           "rank", "ranking_table", "plot_ranking"]

NOT_RUN = "not run in this build"


@dataclass(frozen=True)
class Network:
    """One network of the course.

    Attributes:
        chapter: its chapter (a name from :func:`cnnlab.chapters.names`).
        model: the registry name the chapter trains.
        title: how the table names it.
        imagenet: the torchvision weights of the corresponding ImageNet architecture,
            as ``"<Enum>.<member>"`` of :mod:`torchvision.models`, or None where
            torchvision has none.
    """

    chapter: str
    model: str
    title: str
    imagenet: str | None = None


# In the order of the book. d2l's DenseNet is far smaller than any of the paper's;
# DenseNet-121 is the nearest torchvision model.
NETWORKS: tuple[Network, ...] = (
    Network("alexnet", "alexnet_fmnist", "AlexNet", "AlexNet_Weights.IMAGENET1K_V1"),
    Network("vgg", "vgg11_fmnist", "VGG-11 (channels ÷4)", "VGG11_Weights.IMAGENET1K_V1"),
    Network("nin", "nin", "NiN", None),
    Network("googlenet", "googlenet_fmnist", "GoogLeNet", "GoogLeNet_Weights.IMAGENET1K_V1"),
    Network("batchnorm", "lenet_bn", "LeNet + batch norm", None),
    Network("resnet", "resnet18_fmnist", "ResNet-18", "ResNet18_Weights.IMAGENET1K_V1"),
    Network("densenet", "densenet_fmnist", "DenseNet (d2l)", "DenseNet121_Weights.IMAGENET1K_V1"),
)


def networks() -> list[Network]:
    """The course's networks: :data:`NETWORKS` whose chapter and model exist, then any
    other chapter that sets its network beside d2l's (it has ``D2L_PUBLISHED`` and
    profiles: its ``quick`` profile's model), in chapter order. The ResNet deep dive's
    chapters study the zoo's networks and stay out.

    >>> networks()[-2].title
    'ResNet-18'
    """
    known = set(models.list_models())
    found = [n for n in NETWORKS if n.chapter in chapters.names() and n.model in known]
    listed = {n.chapter for n in NETWORKS}
    for chapter in chapters.names():
        profs = chapters.profiles_of(chapter)
        if chapter not in listed and profs and chapters.d2l_published(chapter):
            model = (profs.get("quick") or next(iter(profs.values()))).model
            found.append(Network(chapter, model, model))
    return found


def input_side(network: Network) -> int:
    """The side (pixels) the network is measured at: its chapter's ``quick`` resolution
    (28 when the profile does not resize), else the smallest the model accepts, at
    least 28.

    >>> input_side(Network("resnet", "resnet18_fmnist", "ResNet-18"))
    28
    """
    quick = chapters.profiles_of(network.chapter).get("quick")
    if quick is not None and quick.model == network.model:
        return quick.resize or 28
    return max(28, models.get_spec(network.model).min_size)


@dataclass
class Cost:
    """What one network costs on this device (see :func:`measure_costs`).

    Attributes:
        network: the network measured.
        side: input side in pixels (one channel, ``side × side``).
        params: number of parameters.
        gflops: GFLOPs of one image's forward pass (a multiply-add counted as 2).
        inference_img_s: images per second of inference at ``batch_size``.
        train_ms: milliseconds of one training step (forward, backward, SGD update).
        train_peak_mib: peak memory of a training step, MiB (see
            :func:`cnnlab.measure.benchmark` for how it is measured on each device).
        batch_size: images per step. device: where it ran. precision: "fp32", ...
    """

    network: Network
    side: int
    params: int
    gflops: float
    inference_img_s: float
    train_ms: float
    train_peak_mib: float | None
    batch_size: int
    device: str
    precision: str


def measure_costs(nets: Sequence[Network] | None = None, batch_size: int = 16,
                  steps: int = 3, warmup: int = 2, device: str | torch.device | None = None,
                  amp_dtype: torch.dtype | None = None) -> list[Cost]:
    """Measure every network (default :func:`networks`) on ``device`` (default: the
    trainer's, :func:`cnnlab.device.default_device`).

    Few steps keep it short on a CPU (a few seconds per network); the timings of a
    shared or busy machine move from run to run, so read them as orders of magnitude.
    The training peak is that of a step after another one (weights, the previous
    step's gradients, SGD's momentum, the input and the activations kept for the
    backward pass), as :func:`cnnlab.measure.benchmark` counts it; on a CPU that needs
    ``warmup >= 2``. The DenseNet chapter measures its memory the same way, at the same
    batch of 16.

    >>> [c] = measure_costs(networks()[-2:-1], batch_size=2, steps=1, device="cpu")
    >>> c.params, c.side
    (11178378, 28)
    """
    costs = []
    for net in networks() if nets is None else nets:
        side = input_side(net)
        module = models.create(net.model, seed=0)
        flops = measure.flops(module, (1, 1, side, side))
        kw = dict(batch_size=batch_size, device=device, steps=steps, warmup=warmup,
                  amp_dtype=amp_dtype)
        infer = measure.benchmark(module, (1, side, side), mode="inference", **kw)
        train = measure.benchmark(module, (1, side, side), mode="train", **kw)
        costs.append(Cost(net, side, measure.count_parameters(module), flops.gflops,
                          infer.images_per_s, train.ms_per_batch, train.peak_memory_mib,
                          batch_size, train.device, train.precision))
    return costs


def accuracies(nets: Sequence[Network] | None = None,
               runs: Sequence[dict[str, Any]] | None = None,
               full_runs: Sequence[dict[str, Any]] | None = None,
               ) -> dict[str, dict[str, dict[str, Any] | None]]:
    """The recorded Fashion-MNIST runs of each network's chapter.

    Returns ``{chapter: {"quick": record or None, "full": record or None}}``: "quick" is
    this build's run (``runs``, default :func:`cnnlab.results.runs`, any profile other
    than "full"), "full" the latest full-profile run (``full_runs``, default
    ``cnnlab.results.recorded_runs("full")``, plus any "full" record of this build).
    A record is used only if it trained the network's model.

    >>> accuracies(networks()[:1], runs=[], full_runs=[])
    {'alexnet': {'quick': None, 'full': None}}
    """
    runs = list(results.runs() if runs is None else runs)
    full_runs = list(results.recorded_runs("full") if full_runs is None else full_runs)
    out: dict[str, dict[str, dict[str, Any] | None]] = {}
    for net in networks() if nets is None else nets:
        mine = [r for r in runs if r.get("chapter") == net.chapter and r.get("model") == net.model]
        full = [r for r in full_runs + [r for r in mine if r.get("profile") == "full"]
                if r.get("chapter") == net.chapter and r.get("model") == net.model]
        quick = [r for r in mine if r.get("profile") != "full"]
        out[net.chapter] = {"quick": quick[-1] if quick else None,
                            "full": max(full, key=lambda r: r.get("date", "")) if full else None}
    return out


def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f}"


def cost_table(costs: Sequence[Cost]) -> Table:
    """One row per network: input, parameters, GFLOPs, inference images/s, training
    ms/step and peak training memory, as measured by :func:`measure_costs`."""
    if not costs:
        return Table(["network"], [])
    c0 = costs[0]
    header = ["network", "input", "parameters", "GFLOPs / image",
              f"inference (img/s, batch {c0.batch_size})",
              f"training step (ms, batch {c0.batch_size})", "training peak memory (MiB)"]
    rows = [[c.network.title, f"{c.side}×{c.side}", f"{c.params:,}", f"{c.gflops:.4f}",
             f"{c.inference_img_s:,.0f}", f"{c.train_ms:,.1f}", _mib(c.train_peak_mib)]
            for c in costs]
    return Table(header, rows)


def _describe_run(r: dict[str, Any]) -> str:
    epochs = f"{r['epochs']} epoch{'s' if r['epochs'] != 1 else ''}"
    return (f"{r['test_acc']:.3f} ({epochs}, {r['train_images']:,} images, "
            f"{r['resize']}×{r['resize']}, {r['device']})")


def accuracy_table(nets: Sequence[Network], accs: dict[str, dict[str, Any]]) -> Table:
    """Fashion-MNIST test accuracy per network: this build's run, the recorded
    full-profile run, and d2l's published figure (from the chapter's ``D2L_PUBLISHED``)."""
    rows = []
    for net in nets:
        rec = accs.get(net.chapter, {})
        quick, full = rec.get("quick"), rec.get("full")
        d2l = chapters.d2l_published(net.chapter)
        if full is not None and "settings" in full:  # a shipped record: flatten what we show
            full = {**full, "train_images": 60_000, "resize": full["settings"]["resize"] or 28}
        rows.append([net.title,
                     _describe_run(quick) if quick else NOT_RUN,
                     _describe_run(full) if full else "none recorded",
                     (f"{d2l['test_acc']:.3f} ({d2l['epochs']} epochs, {d2l['resize']}×"
                      f"{d2l['resize']})" if d2l else "—")])
    return Table(["network", "this build's run", "full profile (GPU, recorded)",
                  "d2l, published"], rows)


def imagenet_table(nets: Sequence[Network]) -> Table:
    """torchvision's ImageNet-1K models corresponding to the course's networks."""
    rows = []
    for net in nets:
        if net.imagenet is None:
            rows.append([net.title, "— (none in torchvision)", "", "", ""])
            continue
        ref = imagenet_reference(net.imagenet)
        rows.append([net.title, f"`{ref['name']}`", f"{ref['acc1']:.3f}",
                     f"{ref['params']:,}", f"{ref['gmacs']:.3f}"])
    return Table(["our network", "torchvision weights", "ImageNet top-1 (%)",
                  "parameters", "GMACs (224×224)"], rows)


def plot_costs(costs: Sequence[Cost], axes=None, path=None):
    """Three bar charts (log scale): parameters, training-step time, peak memory.
    ``axes`` draws into three existing panels, ``path`` saves the figure. Returns the
    figure."""

    names = [c.network.title for c in costs]
    panels = [("parameters", [c.params for c in costs]),
              (f"training step (ms, batch {costs[0].batch_size})", [c.train_ms for c in costs]),
              ("training peak memory (MiB)", [c.train_peak_mib or 0 for c in costs])]
    fig, axes = plot.panels("plot_costs", axes, 3, path,
                            figsize=(12, 0.45 * len(costs) + 1.2), sharey=True)
    for ax, (title, values) in zip(axes, panels):
        ax.barh(names, values, color="tab:blue")
        ax.set_xscale("log")
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0].invert_yaxis()
    fig.suptitle(f"measured on {costs[0].device}, {costs[0].precision}", fontsize=10)
    fig.tight_layout()
    plot.show(fig, path)
    return fig


@dataclass
class Ranked:
    """One network's recorded reference runs (:func:`rank`).

    Attributes:
        network: the network. records: its reference records, one per seed.
        accuracy: test accuracy, mean ± standard error over the seeds
            (:class:`cnnlab.stats.Estimate`; one seed has no error).
        side: input side of the runs. params: parameters of the network as trained.
        gflops: GFLOPs of one image's forward pass at ``side``.
        minutes: wall minutes of one run (mean over seeds). device: where they ran.
    """

    network: Network
    records: list
    accuracy: Any
    side: int
    params: int
    gflops: float
    minutes: float
    device: str


def rank(nets: Sequence[Network] | None = None,
         records: Sequence[dict[str, Any]] | None = None) -> tuple[list[Ranked], list[Network]]:
    """The networks with reference records, best mean test accuracy first, and those
    without one. ``records`` default to ``cnnlab.results.recorded_runs("reference")``.

    >>> ranked, missing = rank(networks()[:1], records=[])
    >>> ranked, [n.title for n in missing]
    ([], ['AlexNet'])
    """
    records = list(results.recorded_runs("reference") if records is None else records)
    ranked, missing = [], []
    for net in networks() if nets is None else nets:
        mine = [r for r in records
                if r["chapter"] == net.chapter and r["settings"]["model"] == net.model]
        if not mine:
            missing.append(net)
            continue
        s = mine[0]["settings"]
        side = s["resize"] or 28
        module = models.create(s["model"], **s["model_kwargs"])
        ranked.append(Ranked(
            net, mine, Estimate.of([r["test_acc"] for r in mine]), side,
            measure.count_parameters(module), measure.flops(module, (1, 1, side, side)).gflops,
            sum(r["wall_seconds"] for r in mine) / len(mine) / 60, mine[0]["device"]))
    ranked.sort(key=lambda r: -r.accuracy.mean)
    return ranked, missing


def ranking_table(ranked: Sequence[Ranked]) -> Table:
    """The ranking as a table: place, network as trained, input, parameters, GFLOPs,
    reference test accuracy (mean ± s.e. where there are several seeds), wall minutes
    of one run, and d2l's published accuracy. Where the runs ran is the same for every
    row and is printed once by the chapter (each ``Ranked.device``)."""
    rows = []
    for place, r in enumerate(ranked, 1):
        s = r.records[0]["settings"]
        kwargs = ", ".join(f"{k}={v}" for k, v in s["model_kwargs"].items())
        d2l = chapters.d2l_published(r.network.chapter)
        accuracy = (f"{r.accuracy.mean:.3f}" if r.accuracy.n == 1 else
                    f"{r.accuracy.mean:.3f} ± {r.accuracy.stderr:.3f}")
        rows.append([place, r.network.title + (f" ({kwargs})" if kwargs else ""),
                     f"{r.side} px", f"{r.params / 1e6:.2f} M", f"{r.gflops:.3f}", accuracy,
                     f"{r.minutes:.1f}", f"{d2l['test_acc']:.3f}" if d2l else "—"])
    return Table(["#", "network (as trained)", "input", "parameters", "GFLOPs", "test accuracy",
                  "minutes", "d2l, published"], rows)


def plot_ranking(ranked: Sequence[Ranked], axes=None, path=None):
    """Top: the reference accuracy against GFLOPs per image (left) and against the wall
    minutes of the run (right), one point per network. Bottom, for comparison:
    torchvision's ImageNet models of the same families, top-1 against multiply-adds
    (from their weights' metadata). ``axes`` draws into three existing panels (those
    three), ``path`` saves the figure. Returns the figure."""
    if axes is None:  # two panels above one as wide as both
        fig = plt.figure(figsize=(11, 8.5))
        grid = fig.add_gridspec(2, 2, height_ratios=(1.15, 1))
        axes = [fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]),
                fig.add_subplot(grid[1, :])]
        axes[1].sharey(axes[0])
    fig, (*top, bottom) = plot.panels("plot_ranking", axes, 3, path)
    for ax, x_of, label in ((top[0], lambda r: r.gflops, "GFLOPs per image (at the run's input)"),
                            (top[1], lambda r: r.minutes, "wall minutes of the run")):
        for i, r in enumerate(ranked):
            ax.scatter(x_of(r), r.accuracy.mean, s=40)
            # alternate the labels' side so close neighbours do not print over each other
            ax.annotate(f"{r.network.title} ({r.side} px)", (x_of(r), r.accuracy.mean),
                        textcoords="offset points", xytext=(6, 4 if i % 2 == 0 else -10),
                        fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    top[0].set_ylabel("Fashion-MNIST test accuracy")
    devices = sorted({r.device for r in ranked})
    top[0].set_title("reference runs: accuracy against work", fontsize=10)
    top[1].set_title(f"reference runs: accuracy against time ({', '.join(devices)})",
                     fontsize=10)
    for net in networks():
        if net.imagenet is None:
            continue
        ref = imagenet_reference(net.imagenet)
        label = ref["name"].split("_Weights")[0]
        bottom.scatter(ref["gmacs"], ref["acc1"], s=40, color="tab:orange")
        bottom.annotate(label, (ref["gmacs"], ref["acc1"]), textcoords="offset points",
                       xytext=(6, 4), fontsize=8)
    bottom.set_xscale("log")
    bottom.set_xlabel("GMACs per 224×224 image (torchvision metadata)")
    bottom.set_ylabel("ImageNet-1K top-1 (%)")
    bottom.set_title("for comparison: torchvision's ImageNet models of the same families "
                    "(not ours)", fontsize=10)
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    plot.show(fig, path)
    return fig
