"""ResNet's variants side by side: ResNeXt, Wide ResNet, SE-ResNet and DenseNet.

Four papers changed one thing about the residual network of He et al. 2016
(arXiv:1512.03385): ResNeXt (Xie, Girshick, Dollár, Tu, He, CVPR 2017,
arXiv:1611.05431) splits the bottleneck's 3×3 convolution into ``groups`` parallel
paths (the *cardinality*); Wide ResNet (Zagoruyko & Komodakis, BMVC 2016,
arXiv:1605.07146) trades depth for width; SE-ResNet (Hu, Shen, Sun, CVPR 2018,
arXiv:1709.01507) lets every residual branch reweight its channels with a
squeeze-and-excitation gate; DenseNet (Huang, Liu, van der Maaten, Weinberger, CVPR
2017, arXiv:1608.06993) concatenates instead of adding.

The zoo builds the ImageNet networks (:mod:`cnnlab.models.resnet`,
:mod:`~cnnlab.models.se_resnet`, :mod:`~cnnlab.models.densenet`); they are far too
slow to train on a CPU in a page's budget. This chapter builds small CIFAR-style
versions *from the zoo's own blocks* (:class:`~cnnlab.models.resnet.BasicBlock`,
:class:`~cnnlab.models.resnet.Bottleneck` with ``groups``,
:class:`~cnnlab.models.se_resnet.SEBasicBlock`,
:class:`~cnnlab.models.densenet.DenseBlock`), each a line of :data:`VARIANTS`, with
parameter counts within 8% of the plain ResNet's (``1×1×28×28`` input, 10 classes):

==================  =================================  ===========  ==============  ==========
registry name       what changes (3 stages, 28×28)     blocks       3×3 widths      parameters
==================  =================================  ===========  ==============  ==========
mini_resnet14       BasicBlock (the baseline)          2, 2, 2      16, 32, 64      174,970
mini_resnext20      Bottleneck, 8 groups ("8×3d")      2, 2, 2      24, 48, 96      188,490
mini_wrn8           BasicBlock, 1.5× wider, shallower  1, 1, 1      24, 48, 96      173,842
mini_se_resnet14    SEBasicBlock (SE ratio r = 4)      2, 2, 2      16, 32, 64      180,626
mini_densenet_bc40  DenseNet-BC, k = 12, θ = 0.5       6, 6, 6      48 → 12         175,690
==================  =================================  ===========  ==============  ==========

How the counts were matched: the baseline is ResNet-14 (the ResNet paper's CIFAR
layout with n = 2, here with projection shortcuts). Wide ResNet keeps its parameters
by going 1.5× wider (2.25× the weights per block) with half the blocks; ResNeXt is the ResNeXt paper's Table 2 recipe
scaled to 16 base channels: the bottleneck of a 1×16d ResNet-20 (220,090
parameters) replaced by 8 groups of 3 channels (8×3d, 1.5× the width), which a
grouped 3×3 convolution makes cheaper; SE adds 3% in its gates (r = 4, since the
paper's r = 16 would leave one hidden unit for 16 channels); DenseNet-BC with
three blocks of six bottleneck layers (L = 40, k = 12) lands on the same count.
Every network has a 3×3 stem convolution and no pooling before the first stage,
strides by 2 into the second and third stages, and ends in global average pooling
and one linear layer; the ResNets project the shortcut (1×1 conv + BN, the paper's
option B) where the shape changes. Equal parameters is not equal work: see
:func:`measure.flops <cnnlab.measure.flops>`, which the chapter prints beside them.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from cnnlab import dry_run, measure, models, plot, stats, train
from cnnlab.models.densenet import DenseBlock, DenseLayer, Transition
from cnnlab.models.registry import register
from cnnlab.models.resnet import (HE_2016, BasicBlock, Bottleneck, conv3x3, init_resnet,
                                  ResidualBlock, ResNet)
from cnnlab.models.se_resnet import SEBasicBlock
from cnnlab.recipe import Profile
from cnnlab.table import Table

__all__ = ["SmallSEBasicBlock", "SmallResNet", "SmallDenseNet", "Variant", "VARIANTS",
           "build_variant", "VariantResult", "result_of", "results_table", "SEEDS", "CLAIMS",
           "run_variants", "final_accuracies", "verdicts", "seeds_table",
           "plot_cost_vs_accuracy", "grouped_conv_parameters", "PROFILES", "EXPERIMENT",
           "AT_SCALE", "experiment_at_scale"]

XIE_2017 = "Xie et al. 2017, arXiv:1611.05431"
ZAGORUYKO_2016 = "Zagoruyko & Komodakis 2016, arXiv:1605.07146"
HU_2018 = "Hu, Shen, Sun 2018, arXiv:1709.01507"
HUANG_2017 = "Huang et al. 2017, arXiv:1608.06993"

# Equal budget for every variant: the same images, epochs, batches, optimiser and seed.
# full: all 60,000 training and 10,000 test images at 28×28 with crop-and-flip
# augmentation, 30 epochs of SGD (fit's momentum 0.9) at lr 0.1 with a cosine
# schedule and weight decay 5e-4, the CIFAR recipe of the Wide ResNet paper shortened
# from 200 epochs, for a GPU. quick (EXPERIMENT): what 2 CPU cores train for all five
# networks over three seeds in about a minute: 40 training and 50 test images per
# class, 2 epochs (40 steps of 20) of Adam with a one-cycle schedule (more progress
# than SGD in few steps). At scale (AT_SCALE, ``cnnlab record variants --experiment``,
# shipped in cnnlab/recorded/experiments/): the same recipe on 1,000 images per class
# for 3 epochs, tested on all 10,000 test images.
FULL = Profile(model="mini_resnet14", epochs=30, batch_size=128, lr=0.1, optimizer="sgd",
               schedule="cosine", weight_decay=5e-4, augment=True,
               source="the Wide ResNet paper's CIFAR recipe (SGD 0.1, momentum 0.9, wd 5e-4, "
                      "batch 128), 30 instead of 200 epochs, cosine instead of steps")
EXPERIMENT = dict(epochs=2, batch_size=20, lr=2e-3, optimizer="adam", schedule="onecycle",
                  train_per_class=40, test_per_class=50)
AT_SCALE = dict(train_per_class=1000, epochs=3, test_per_class=1000)
PROFILES = {
    "full": FULL,
    "quick": Profile(model="mini_resnet14", **EXPERIMENT,
                     source="a CPU-sized run of the same comparison"),
}

#: Every network trains once per seed (initial weights, training and test subsets, batch
#: order); the networks of one seed share them, so each variant is compared with
#: ResNet-14 seed by seed.
SEEDS = (0, 1, 2)
#: What each variant's paper claims against a plain ResNet of similar size (here: its
#: test accuracy is higher), for :func:`verdicts`.
CLAIMS = {"mini_resnext20": "higher", "mini_wrn8": "higher", "mini_se_resnet14": "higher",
          "mini_densenet_bc40": "higher"}


class SmallSEBasicBlock(SEBasicBlock):
    """The zoo's :class:`~cnnlab.models.se_resnet.SEBasicBlock` with reduction ratio 4:
    16 channels squeeze to 4 gates' worth of hidden units instead of the paper's 16 → 1."""

    reduction = 4


class SmallResNet(ResNet):
    """Three stages of any zoo block on a 3×3 stem: the CIFAR layout of He et al. §4.2.

    Inherits :class:`~cnnlab.models.resnet.ResNet`'s ``_make_layer`` (so stages, shortcuts
    and the ``groups`` / ``width_per_group`` of ResNeXt and Wide ResNet work exactly as
    in the ImageNet networks) but replaces the 7×7 stem and max-pool, which would shrink
    a 28×28 image to 7×7 before the first block, and has three stages instead of four.

    Args:
        block: a :class:`~cnnlab.models.resnet.ResidualBlock` subclass.
        layers: blocks per stage.
        widths: ``channels`` of each stage (the output has ``channels * block.expansion``).
        groups, width_per_group: passed to every block (Bottleneck only).
        num_classes, in_channels: output classes and input channels.

    >>> net = SmallResNet(BasicBlock, (2, 2, 2))
    >>> net(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(self, block: type[ResidualBlock], layers: Sequence[int] = (2, 2, 2),
                 widths: Sequence[int] = (16, 32, 64), groups: int = 1,
                 width_per_group: int = 64, num_classes: int = 10, in_channels: int = 1) -> None:
        if len(layers) != 3 or len(widths) != 3:
            raise ValueError(f"a SmallResNet has 3 stages: give 3 layers and 3 widths, "
                             f"got layers={list(layers)}, widths={list(widths)}")
        nn.Module.__init__(self)  # not ResNet.__init__: that one builds the ImageNet stem
        self.groups, self.base_width = groups, width_per_group  # read by _make_layer
        self.inplanes = widths[0]
        self.conv1 = conv3x3(in_channels, widths[0])
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(block, widths[0], layers[0])
        self.layer2 = self._make_layer(block, widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, widths[2], layers[2], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[2] * block.expansion, num_classes)
        init_resnet(self)  # He init, as the zoo's ResNet

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class SmallDenseNet(nn.Module):
    """DenseNet-BC for small images from the zoo's :class:`~cnnlab.models.densenet.DenseBlock`,
    :class:`~cnnlab.models.densenet.DenseLayer` and :class:`~cnnlab.models.densenet.Transition`.

    The paper's CIFAR layout (§3, "Implementation Details"): a 3×3 stem convolution to
    2k channels, dense blocks of bottleneck layers (BN-ReLU-1×1 conv to 4k, BN-ReLU-3×3
    conv to k) joined by transitions that keep ``compression`` of the channels and halve
    the map, then BN-ReLU, global average pooling and a linear layer.

    >>> net = SmallDenseNet(12, (6, 6, 6))
    >>> net(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(self, growth_rate: int = 12, block_config: Sequence[int] = (6, 6, 6),
                 compression: float = 0.5, bn_size: int = 4, num_classes: int = 10,
                 in_channels: int = 1) -> None:
        super().__init__()
        if not 0 < compression <= 1:
            raise ValueError(f"compression θ keeps a share of the channels: 0 < θ <= 1, "
                             f"got {compression}")
        channels = 2 * growth_rate
        self.features = nn.Sequential(OrderedDict(conv0=conv3x3(in_channels, channels)))
        make_layer = partial(DenseLayer, bn_size=bn_size)
        for i, num_layers in enumerate(block_config):
            self.features.add_module(f"denseblock{i + 1}",
                                     DenseBlock(num_layers, channels, growth_rate, make_layer))
            channels += num_layers * growth_rate
            if i != len(block_config) - 1:
                out = int(channels * compression)
                self.features.add_module(f"transition{i + 1}", Transition(channels, out))
                channels = out
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.classifier = nn.Linear(channels, num_classes)
        for m in self.modules():  # the zoo's (torchvision's) DenseNet initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.features(x))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


class Variant(NamedTuple):
    """One network of the comparison, as data: which zoo block, how many, how wide."""

    label: str                              # as tables and figures print it
    paper: str
    idea: str
    block: type[ResidualBlock] | None       # None: a DenseNet-BC
    layers: tuple[int, int, int] = (2, 2, 2)  # blocks per stage (DenseNet: layers per block)
    widths: tuple[int, int, int] = (16, 32, 64)
    groups: int = 1
    width_per_group: int = 64
    growth_rate: int = 12                   # DenseNet only

    def build(self, num_classes: int = 10, in_channels: int = 1) -> nn.Module:
        if self.block is None:
            return SmallDenseNet(self.growth_rate, self.layers, num_classes=num_classes,
                                 in_channels=in_channels)
        return SmallResNet(self.block, self.layers, self.widths, self.groups,
                           self.width_per_group, num_classes, in_channels)


VARIANTS: dict[str, Variant] = {
    "mini_resnet14": Variant("ResNet-14", HE_2016, "add the input back: relu(F(x) + x)",
                             BasicBlock),
    "mini_resnext20": Variant("ResNeXt-20 (8×3d)", XIE_2017,
                              "split the bottleneck's 3×3 conv into 8 groups",
                              Bottleneck, groups=8, width_per_group=12),
    "mini_wrn8": Variant("WRN-8-1.5", ZAGORUYKO_2016, "1.5× wider, half as deep",
                         BasicBlock, layers=(1, 1, 1), widths=(24, 48, 96)),
    "mini_se_resnet14": Variant("SE-ResNet-14", HU_2018,
                                "gate each channel of F(x) by a squeeze-excitation",
                                SmallSEBasicBlock),
    "mini_densenet_bc40": Variant("DenseNet-BC-40 (k=12)", HUANG_2017,
                                  "concatenate every earlier layer's output",
                                  None, layers=(6, 6, 6)),
}


def build_variant(variant: str = "mini_resnet14", num_classes: int = 10,
                  in_channels: int = 1) -> nn.Module:
    """The network of :data:`VARIANTS` named ``variant`` (prefer ``models.create(name)``).

    >>> from cnnlab import measure
    >>> measure.count_parameters(build_variant("mini_wrn8"))
    173842
    """
    try:
        return VARIANTS[variant].build(num_classes, in_channels)
    except KeyError:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}") from None


for _name, _v in VARIANTS.items():
    register(_name, family="densenet" if _v.block is None else "resnet", num_classes=10,
             in_channels=1, input_size=28, min_size=4 if _v.block is None else 1,
             paper=_v.paper, description=f"{_v.label} for 28×28 images: {_v.idea} "
                                         f"(the variants chapter)",
             variant=_name)(build_variant)


# --------------------------------------------------------------------------- the experiment


@dataclass
class VariantResult:
    """One trained network of the comparison: its size, cost and what it reached."""

    name: str
    label: str
    params: int
    gflops: float           # one 1×1×side×side image, a multiply-add counted as 2
    images_per_s: float     # measured training throughput, mean over the epochs
    seconds: float          # training + testing time of the run
    train_loss: float       # last epoch
    test_acc: float         # last epoch
    test_images: int
    history: object = None  # the run's cnnlab.train.History

    @property
    def standard_error(self) -> float:
        """Binomial standard error of :attr:`test_acc` on :attr:`test_images` images."""
        return stats.binomial_stderr(self.test_acc, self.test_images)


def result_of(name: str, net: nn.Module, history, test_images: int,
              side: int = 28) -> VariantResult:
    """Collect a trained variant's numbers (parameters and FLOPs measured on ``net``)."""
    return VariantResult(
        name=name, label=VARIANTS[name].label if name in VARIANTS else name,
        params=measure.count_parameters(net),
        gflops=measure.flops(net, (1, 1, side, side)).gflops,
        images_per_s=sum(history.column("examples_per_s")) / len(history),
        seconds=history.total_seconds, train_loss=history[-1].train_loss,
        test_acc=history[-1].test_acc, test_images=test_images, history=history)


def results_table(results: Sequence[VariantResult]) -> Table:
    """The comparison as a table, one row per network.

    >>> r = VariantResult("a", "A", 1000, 0.01, 100.0, 1.0, 0.5, 0.8, 1000)
    >>> results_table([r]).rows
    [['A', '1,000', '0.0100', '100', '0.500', '0.800 ± 0.013']]
    """
    return Table(["network", "params", "GFLOPs", "img/s", "train loss", "test acc ± s.e."],
                 [[r.label, f"{r.params:,}", f"{r.gflops:.4f}", f"{r.images_per_s:,.0f}",
                   f"{r.train_loss:.3f}", f"{r.test_acc:.3f} ± {r.standard_error:.3f}"]
                  for r in results])


def run_variants(profile: Profile, names: Sequence[str] | None = None,
                 seeds: Sequence[int] = SEEDS, report=print) -> dict[str, list[VariantResult]]:
    """Train every network of ``names`` (default: all of :data:`VARIANTS`) once per seed
    under ``profile``, each seed on its own data subset: ``{name: [VariantResult per
    seed]}``. ``report`` gets one line per run."""
    names = list(VARIANTS) if names is None else list(names)
    runs: dict[str, list[VariantResult]] = {n: [] for n in names}
    for seed in dry_run.items(seeds):  # the first seed only in a dry run
        data = profile.data(seed=seed)
        for name in names:
            net = models.create(name, seed=seed)
            history = train.fit(net, data, progress=False, seed=seed, **profile.fit_kwargs())
            history.label = VARIANTS[name].label if name in VARIANTS else name
            runs[name].append(result_of(name, net, history, len(data.test.labels)))
            if report is not None:
                report(f"seed {seed}  {history.label:<22} test acc {history[-1].test_acc:.3f} "
                       f"({history.total_seconds:.1f} s)")
    return runs


def experiment_at_scale(profile: Profile, **settings) -> dict:
    """Every variant over :data:`SEEDS` under ``profile`` with ``settings`` (:data:`AT_SCALE`
    when ``cnnlab record variants --experiment`` runs it): ``{"scores": {name: [test
    accuracy per seed]}, "device": ...}``, for :func:`cnnlab.record.record_experiment`."""
    runs = run_variants(profile.replace(**settings))
    first = next(iter(runs.values()))[0]
    return {"scores": final_accuracies(runs), "device": first.history[-1].device}


def final_accuracies(runs: dict[str, list[VariantResult]]) -> dict[str, list[float]]:
    """Each network's test accuracy per seed."""
    return {n: [r.test_acc for r in rs] for n, rs in runs.items()}


def verdicts(accuracies: dict[str, list[float]], baseline: str = "mini_resnet14",
             claims: dict[str, str] = CLAIMS) -> dict[str, stats.Verdict]:
    """:func:`cnnlab.stats.verdict` of each variant of ``claims`` that ran against the
    baseline, paired by seed.

    >>> verdicts({"mini_resnet14": [0.70, 0.72, 0.69], "mini_wrn8": [0.71, 0.71, 0.70]}
    ...          )["mini_wrn8"].word
    'not resolved'
    """
    return {n: stats.verdict(accuracies[baseline], accuracies[n], expect=claims[n])
            for n in accuracies if n in claims and n != baseline}


def seeds_table(runs: dict[str, list[VariantResult]], baseline: str = "mini_resnet14") -> Table:
    """One row per network: accuracy per seed, mean ± standard error, the paired
    difference from the baseline and the computed verdict."""
    acc = final_accuracies(runs)
    found = verdicts(acc, baseline)
    label = {n: VARIANTS[n].label if n in VARIANTS else n for n in acc}
    k = len(next(iter(acc.values())))
    rows = []
    for n, values in acc.items():
        e = stats.Estimate.of(values)
        v = found.get(n)
        rows.append([label[n], *(f"{a:.3f}" for a in values), f"{e.mean:.3f} ± {e.stderr:.3f}",
                     f"{100 * v.difference.mean:+.1f} ± {100 * v.difference.stderr:.1f}"
                     if v else "", v.word if v else ""])
    return Table(["network", *(f"seed {i}" for i in range(k)), "mean ± s.e.",
                  "vs ResNet-14, pt", "verdict"], rows)


def plot_cost_vs_accuracy(results: Sequence[VariantResult], ax=None, x: str = "gflops",
                          title: str | None = None, path=None):
    """Test accuracy (with ±1 standard error bars) against ``x``: ``"gflops"``,
    ``"params"`` or ``"images_per_s"``, one point per network, named in the legend.
    ``ax`` draws into an existing axis, ``path``
    saves the figure. Returns the figure."""
    import matplotlib.pyplot as plt
    names = {"gflops": "GFLOPs per image", "params": "parameters",
             "images_per_s": "training throughput (images/s)"}
    if x not in names:
        raise ValueError(f"x must be one of {', '.join(names)}, got {x!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    for r in results:  # one colour per network, in the order of plot.curves' lines
        ax.errorbar(getattr(r, x), r.test_acc, yerr=r.standard_error, fmt="o", capsize=3,
                    label=r.label)
    if x == "params":
        ax.xaxis.set_major_formatter(lambda v, _: f"{v / 1000:,.0f}k")
    ax.legend(fontsize=8)
    ax.set_xlabel(names[x])
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    plot.show(ax.figure, path)
    return ax.figure


def grouped_conv_parameters(in_channels: int, out_channels: int, kernel_size: int = 3,
                            groups: int = 1) -> int:
    """Weights of a bias-free convolution with ``groups`` groups, counted by formula:
    each of the ``out_channels`` filters sees ``in_channels / groups`` input channels.

    >>> grouped_conv_parameters(128, 128, 3, groups=32)
    4608
    """
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"groups={groups} must divide both in_channels={in_channels} and "
                         f"out_channels={out_channels}")
    return out_channels * (in_channels // groups) * kernel_size * kernel_size
