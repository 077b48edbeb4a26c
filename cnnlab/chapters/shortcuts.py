"""Blocks and shortcuts: identity, zero-padding and projection shortcuts, measured.

He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016,
arXiv:1512.03385, §3.3 and Table 3. Where a block changes the shape of x (more
channels, half the map), the shortcut cannot be the identity. The paper tries three
answers: (A) subsample x and pad the new channels with zeros, no parameters; (B) a
1×1 projection (convolution + BN) only where the shape changes, identity elsewhere;
(C) a projection on every block. On ImageNet, ResNet-34 gives 25.03 / 24.52 / 24.19 %
top-1 error (10-crop) for A / B / C: small differences, so the paper keeps B.

This chapter's helpers, on top of the zoo (:mod:`cnnlab.models.resnet`,
:mod:`cnnlab.models.resnet_cifar`):

=====================================  ======================================================
helper                                 what it builds or measures
=====================================  ======================================================
:func:`with_shortcuts`                 any torchvision-layout ResNet with option A, B or C
:func:`census`, :func:`option_table`   shortcuts and parameters of each option, from the models
:func:`compare_options`                A vs B vs C on Fashion-MNIST: same data, budget, seed
:func:`compare_over_seeds`             the same over ``SEEDS``
:func:`option_verdicts`                :func:`cnnlab.stats.verdict` of B−A and C−B (``CLAIMS``)
:func:`keras_layers`                   the Keras ResNet-50 of *CV study notes: ResNet*
:func:`keras_mapping`                  each Keras layer → our module, shapes at 224×224
:func:`stride_in_first_1x1`            our ResNet-50 with the Keras/Caffe stride ("v1")
=====================================  ======================================================

The Keras script (``conv_block``, ``identity_block``) names layers
``res{stage}{block}_branch{2a,2b,2c,1}`` and ``bn…`` for stages 2–5 and blocks
a, b, c, …; torchvision names the same layers ``layer{stage-1}.{block}.conv{1,2,3}``,
``bn{1,2,3}`` and ``downsample.{0,1}``. Its ``conv_block`` strides in the first 1×1
convolution (the original Caffe models); torchvision strides in the 3×3 ("ResNet v1.5").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from cnnlab import dry_run, measure, models, predictions, stats, train
from cnnlab.models.resnet import conv1x1, init_resnet, ResidualBlock, stride_in_first_1x1
from cnnlab.models.resnet_cifar import SHORTCUTS, ZeroPadShortcut
from cnnlab.recipe import Profile
from cnnlab.table import Table

__all__ = ["OPTIONS", "PAPER_TABLE3", "PROFILES", "with_shortcuts", "Census", "census",
           "option_table", "OptionRun", "compare_options", "run_table", "SEEDS", "CLAIMS",
           "compare_over_seeds", "final_accuracies", "option_verdicts", "KerasStage",
           "KERAS_RESNET50", "KerasLayer", "keras_layers",
           "torch_name", "MappingRow", "keras_mapping", "mapping_table", "stride_in_first_1x1"]

OPTIONS = SHORTCUTS  # ("A", "B", "C")

#: He et al. 2016, Table 3: ImageNet validation error (%), 10-crop testing, (top-1, top-5).
PAPER_TABLE3 = {"plain-34": (28.54, 10.02), "ResNet-34 A": (25.03, 7.76),
                "ResNet-34 B": (24.52, 7.46), "ResNet-34 C": (24.19, 7.40)}

# The paper's CIFAR-10 optimiser (§4.2: SGD, momentum 0.9, lr 0.1, weight decay 1e-4,
# batch 128, 4-pixel crops and flips) on all of Fashion-MNIST. train.fit has no step
# schedule, so a cosine decay over 40 epochs stands in for "÷10 at 32k and 48k
# iterations, stop at 64k" (64k iterations of 128 would be ~137 epochs of 60,000).
FULL = Profile(model="resnet20", epochs=40, batch_size=128, lr=0.1, optimizer="sgd",
               schedule="cosine", weight_decay=1e-4, augment=True, extra={"momentum": 0.9},
               source="He et al. 2016 §4.2 (SGD momentum 0.9, lr 0.1, wd 1e-4, batch 128, "
                      "crop + flip), cosine over 40 epochs instead of the step schedule")
# The quick run: the same network and the same comparison, smaller — 100 training and
# 50 test images per class, 2 epochs (64 steps of 32) of Adam with a one-cycle schedule
# peaking at 3e-3, three options × three seeds in about a minute of training on two
# quiet CPU cores. (With 20 steps ResNet-20 stopped at ~0.3 test accuracy: the options
# were compared before they had learned; at 64 steps it reaches ~0.7.) It cannot
# resolve the paper's half-point differences (its test sets alone carry ~1.5 points of
# noise): the chapter computes and says so.
PROFILES = {
    "full": FULL,
    "quick": FULL.replace(epochs=2, batch_size=32, lr=3e-3, optimizer="adam",
                          schedule="onecycle", weight_decay=0.0, augment=False, extra={},
                          train_per_class=100, test_per_class=50),
}

#: Every option trains once per seed (initial weights, training and test subsets, batch
#: order); the options of a seed share them, so differences are paired by seed.
SEEDS = (0, 1, 2)
#: The paper's ordering (Table 3, ResNet-34 top-1 error 25.03 / 24.52 / 24.19 %): B is
#: better than A, C better than B — as (a, b, expectation of b's accuracy against a's).
CLAIMS = (("A", "B", "higher"), ("B", "C", "higher"))


# --------------------------------------------------------------------------- options A, B, C


def _block_shape(block: ResidualBlock) -> tuple[int, int, int]:
    """(in channels, out channels, stride) of a residual block."""
    stride = max(m.stride[0] for name, m in block.named_modules()
                 if isinstance(m, nn.Conv2d) and not name.startswith("downsample"))
    return block.conv1.in_channels, block.last_bn.num_features, stride


def with_shortcuts(net: nn.Module, option: str) -> nn.Module:
    """Give every residual block of ``net`` the paper's shortcut ``option``, in place.

    - "A": identity; where the shape changes, x subsampled and zero-padded
      (:class:`~cnnlab.models.resnet_cifar.ZeroPadShortcut`): no parameters at all;
    - "B": identity; where the shape changes, a 1×1 convolution + BN (torchvision's
      layout, so a zoo ResNet already is B);
    - "C": a 1×1 convolution + BN on every block.

    Projections that exist are kept; new ones are initialised as :class:`ResNet` does.
    Works on any network built from :class:`~cnnlab.models.resnet.ResidualBlock` s
    (``models.create("resnet34")``, ``"resnet50"``, the CIFAR ResNets). Returns ``net``.

    >>> from cnnlab import models
    >>> net = with_shortcuts(models.create("resnet34"), "A")
    >>> census(net).projections, census(net).zero_pad
    (0, 3)
    """
    if option not in OPTIONS:
        raise ValueError(f"option must be one of {', '.join(OPTIONS)} (He et al. 2016, §3.3), "
                         f"got {option!r}")
    blocks = [m for m in net.modules() if isinstance(m, ResidualBlock)]
    if not blocks:
        raise ValueError(f"{type(net).__name__} has no residual blocks: with_shortcuts needs a "
                         "ResNet built from cnnlab.models.resnet blocks")
    for block in blocks:
        c_in, c_out, stride = _block_shape(block)
        reshapes = stride != 1 or c_in != c_out
        projects = isinstance(block.downsample, nn.Sequential)
        if option == "A":
            block.downsample = ZeroPadShortcut(c_in, c_out, stride) if reshapes else None
        elif option == "C" or reshapes:
            if not projects:
                device = block.conv1.weight.device
                block.downsample = init_resnet(nn.Sequential(
                    conv1x1(c_in, c_out, stride), nn.BatchNorm2d(c_out))).to(device)
        else:
            block.downsample = None
    return net


@dataclass(frozen=True)
class Census:
    """The shortcuts of one network: how many of each kind, and what they cost."""

    identity: int
    zero_pad: int
    projections: int
    shortcut_params: int
    total_params: int


def census(net: nn.Module) -> Census:
    """Count ``net``'s shortcuts by kind and the parameters of its projections.

    >>> from cnnlab import models
    >>> census(models.create("resnet20", shortcut="B"))
    Census(identity=7, zero_pad=0, projections=2, shortcut_params=2752, total_params=272474)
    """
    blocks = [m for m in net.modules() if isinstance(m, ResidualBlock)]
    kinds = [type(b.downsample) for b in blocks]
    return Census(identity=kinds.count(type(None)), zero_pad=kinds.count(ZeroPadShortcut),
                  projections=kinds.count(nn.Sequential),
                  shortcut_params=sum(p.numel() for b in blocks if b.downsample is not None
                                      for p in b.downsample.parameters()),
                  total_params=sum(p.numel() for p in net.parameters()))


def _build(model: str, option: str) -> nn.Module:
    spec = models.get_spec(model)
    if spec.builder.__name__ == "build_resnet_cifar":
        return models.create(model, shortcut=option)
    return with_shortcuts(models.create(model), option)


def option_table(names: Sequence[str] = ("resnet20", "resnet56", "resnet34")) -> Table:
    """One row per network and option: shortcuts of each kind and the parameters, counted
    from the built models (CIFAR ones with 10 classes, ImageNet ones with 1000).

    Returns a :class:`cnnlab.table.Table` (a notebook shows it as a table) whose
    ``census`` attribute maps ``(name, option)`` to the :class:`Census`.
    """
    rows, found = [], {}
    for name in names:
        base = None
        for option in OPTIONS:
            c = found[name, option] = census(_build(name, option))
            base = c.total_params if base is None else base
            rows.append([name, option, c.identity, c.zero_pad, c.projections,
                         f"{c.shortcut_params:,}", f"{c.total_params:,}",
                         f"+{c.total_params - base:,} ({(c.total_params - base) / base:+.2%})"])
    table = Table(["network", "option", "identity", "zero-pad", "projection",
                   "shortcut parameters", "parameters", "vs A"], rows)
    table.census = found
    return table


# --------------------------------------------------------------------------- the experiment

@dataclass
class OptionRun:
    """One trained network of the comparison: its option, history and test predictions."""

    option: str
    params: int
    history: object      # cnnlab.train.History
    predictions: object  # cnnlab.predictions.Predictions


def compare_options(profile: Profile, options: Sequence[str] = OPTIONS, seed: int = 0,
                    data=None, in_channels: int = 1, progress: bool = False) -> list[OptionRun]:
    """Train ``profile.model`` (a CIFAR ResNet, e.g. ``"resnet20"``) once per shortcut
    option on the same data, with the same budget and seed; keep each run's test
    predictions for :func:`paired_difference`.

    The initial weights come from ``models.create(..., seed=seed)`` for every option,
    and the shuffling from ``fit(seed=seed)``, so the runs differ only where the
    networks do (B and C draw their projections' weights too, which shifts the draws of
    the layers after them: the initial weights are seeded, not identical).
    """
    data = profile.data(seed=seed) if data is None else data
    runs = []
    for option in options:
        net = models.create(profile.model, in_channels=in_channels, seed=seed, shortcut=option)
        history = train.fit(net, data, seed=seed, progress=progress, **profile.fit_kwargs())
        history.label = f"option {option}"
        runs.append(OptionRun(option, sum(p.numel() for p in net.parameters()), history,
                              predictions.collect(net, data)))
    return runs


def run_table(runs: Sequence[OptionRun]) -> Table:
    """The comparison as a :class:`cnnlab.table.Table`: parameters, final training loss
    and accuracy, test accuracy, time."""
    return Table(["option", "parameters", "train loss", "train acc", "test acc",
                  "test images", "seconds"],
                 [[r.option, f"{r.params:,}", f"{r.history[-1].train_loss:.4f}",
                   f"{r.history[-1].train_acc:.3f}", f"{r.history[-1].test_acc:.4f}",
                   f"{len(r.predictions):,}", f"{r.history.total_seconds:.0f}"] for r in runs])


def compare_over_seeds(profile: Profile, options: Sequence[str] = OPTIONS,
                       seeds: Sequence[int] = SEEDS, in_channels: int = 1,
                       report=print) -> dict[str, list[OptionRun]]:
    """:func:`compare_options` once per seed (each seed its own data subset):
    ``{option: [OptionRun per seed]}``; ``report`` gets one line per seed."""
    runs: dict[str, list[OptionRun]] = {o: [] for o in options}
    for seed in dry_run.items(seeds):  # the first seed only in a dry run
        for run in compare_options(profile, options, seed=seed, in_channels=in_channels):
            runs[run.option].append(run)
        if report is not None:
            report(f"seed {seed}: " + ", ".join(
                f"{o} {runs[o][-1].history[-1].test_acc:.3f}" for o in options))
    return runs


def final_accuracies(runs: dict[str, list[OptionRun]]) -> dict[str, list[float]]:
    """Each option's final test accuracy per seed."""
    return {o: [r.history[-1].test_acc for r in rs] for o, rs in runs.items()}


def option_verdicts(accuracies: dict[str, list[float]], claims=CLAIMS) -> dict:
    """:func:`cnnlab.stats.verdict` of every claim ``(a, b, expect)`` of the paper whose
    options ran, paired by seed: ``{(a, b): Verdict}``.

    >>> v = option_verdicts({"A": [0.76, 0.78, 0.75], "B": [0.77, 0.77, 0.76]})
    >>> v["A", "B"].word
    'not resolved'
    """
    return {(a, b): stats.verdict(accuracies[a], accuracies[b], expect=expect)
            for a, b, expect in claims if a in accuracies and b in accuracies}


# --------------------------------------------------------------------------- Keras ResNet-50

@dataclass(frozen=True)
class KerasStage:
    """One stage of the Keras script: ``conv_block`` then ``identity_block`` s."""

    stage: int                       # 2..5, the script's `stage=`
    filters: tuple[int, int, int]    # filters1, filters2, filters3
    blocks: int                      # conv_block + (blocks - 1) identity_blocks
    strides: int                     # conv_block's strides


#: ``ResNet50()`` of *CV study notes: ResNet* §3.3, its calls as data.
KERAS_RESNET50 = (KerasStage(2, (64, 64, 256), 3, 1), KerasStage(3, (128, 128, 512), 4, 2),
                  KerasStage(4, (256, 256, 1024), 6, 2), KerasStage(5, (512, 512, 2048), 3, 2))


@dataclass(frozen=True)
class KerasLayer:
    """A weighted Keras layer: its name, type, kernel, stride, channels and output
    shape (H, W, C) as the script computes it (``padding='valid'`` unless 'same')."""

    name: str
    kind: str                 # "Conv2D", "BatchNormalization" or "Dense"
    kernel: int
    stride: int
    in_channels: int
    filters: int
    output: tuple[int, ...]

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """The kernel as Keras stores it: (kh, kw, in, out) for Conv2D, (in, out) for
        Dense, (C,) for each of BN's gamma, beta, moving mean and variance."""
        if self.kind == "Conv2D":
            return (self.kernel, self.kernel, self.in_channels, self.filters)
        if self.kind == "Dense":
            return (self.in_channels, self.filters)
        return (self.filters,)


def keras_layers(stages: Sequence[KerasStage] = KERAS_RESNET50, input_size: int = 224,
                 classes: int = 1000) -> list[KerasLayer]:
    """Every weighted layer of the Keras ``ResNet50()``, named by its scheme, in call order.

    The stem: ``ZeroPadding2D(3)``, ``conv1`` (7×7/2), ``bn_conv1``, a 3×3/2 max-pool
    without padding. Block ``b`` of stage ``s``: ``res{s}{b}_branch2a`` (1×1, the
    block's stride), ``2b`` (k×k, 'same'), ``2c`` (1×1), each followed by
    ``bn{s}{b}_branch…``; block a (``conv_block``) adds ``res{s}a_branch1`` (1×1, stride)
    + ``bn{s}a_branch1`` on the shortcut. Then a 7×7 average pool and ``fc1000``.

    >>> [layer.name for layer in keras_layers()[:4]]
    ['conv1', 'bn_conv1', 'res2a_branch2a', 'bn2a_branch2a']
    """
    out: list[KerasLayer] = []

    def add(name: str, kind: str, kernel: int, stride: int, c_in: int, c_out: int,
            side: int) -> None:
        out.append(KerasLayer(name, kind, kernel, stride, c_in, c_out, (side, side, c_out)))

    side = (input_size + 2 * 3 - 7) // 2 + 1            # ZeroPadding2D(3) + 7×7/2 'valid'
    add("conv1", "Conv2D", 7, 2, 3, 64, side)
    add("bn_conv1", "BatchNormalization", 1, 1, 64, 64, side)
    side = (side - 3) // 2 + 1                            # MaxPooling2D(3, 2), 'valid'
    channels = 64
    for st in stages:
        if st.blocks > 26:
            raise ValueError("the Keras scheme names blocks a..z: at most 26 per stage")
        f1, f2, f3 = st.filters
        for i in range(st.blocks):
            block, stride = "abcdefghijklmnopqrstuvwxyz"[i], (st.strides if i == 0 else 1)
            base = f"{st.stage}{block}_branch"
            block_in, side_in = channels, side
            side = (side - 1) // stride + 1               # 1×1 'valid' with the stride
            for branch, kernel, s, c_in, c_out in (("2a", 1, stride, block_in, f1),
                                                    ("2b", 3, 1, f1, f2), ("2c", 1, 1, f2, f3)):
                add(f"res{base}{branch}", "Conv2D", kernel, s, c_in, c_out, side)
                add(f"bn{base}{branch}", "BatchNormalization", 1, 1, c_out, c_out, side)
            if i == 0:                                    # conv_block's shortcut
                add(f"res{base}1", "Conv2D", 1, stride, block_in, f3, (side_in - 1) // stride + 1)
                add(f"bn{base}1", "BatchNormalization", 1, 1, f3, f3, side)
            elif block_in != f3:
                raise ValueError(f"identity_block {st.stage}{block} gets {block_in} channels "
                                 f"but adds {f3}: its shortcut is the identity")
            channels = f3
    out.append(KerasLayer("fc1000", "Dense", 1, 1, channels, classes, (classes,)))
    return out


_KERAS_BLOCK = re.compile(r"^(res|bn)(\d+)([a-z])_branch(2a|2b|2c|1)$")


def torch_name(keras_name: str) -> str:
    """Our (torchvision's) module name for a layer name of the Keras script.

    >>> torch_name("res2a_branch2a"), torch_name("bn3b_branch2c"), torch_name("res5a_branch1")
    ('layer1.0.conv1', 'layer2.1.bn3', 'layer4.0.downsample.0')
    """
    fixed = {"conv1": "conv1", "bn_conv1": "bn1", "fc1000": "fc"}
    if keras_name in fixed:
        return fixed[keras_name]
    match = _KERAS_BLOCK.match(keras_name)
    if match is None:
        raise ValueError(f"{keras_name!r} is not a name of the Keras ResNet-50 scheme "
                         "(conv1, bn_conv1, res{stage}{block}_branch{2a,2b,2c,1}, bn…, fc1000)")
    kind, stage, block, branch = match.groups()
    prefix = f"layer{int(stage) - 1}.{ord(block) - ord('a')}"
    if branch == "1":
        return f"{prefix}.downsample.{0 if kind == 'res' else 1}"
    return f"{prefix}.{'conv' if kind == 'res' else 'bn'}{'abc'.index(branch[1]) + 1}"


@dataclass(frozen=True)
class MappingRow:
    """A Keras layer and the module of ours that holds the same weights."""

    keras: KerasLayer
    ours: str
    our_kind: str
    our_stride: int
    our_weight: tuple[int, ...]
    our_output: tuple[int, ...]   # (C, H, W) without the batch dimension, or (classes,)


def keras_mapping(net: nn.Module | None = None, input_size: int = 224,
                  stages: Sequence[KerasStage] = KERAS_RESNET50) -> list[MappingRow]:
    """Map every weighted layer of the Keras ``ResNet50()`` onto ``net`` (default:
    ``models.create("resnet50")``), with our weight and output shapes from one forward
    pass of a ``input_size``² image through the real model.

    Raises ValueError if a Keras name has no module in ``net`` or two map onto one.
    """
    net = models.create("resnet50") if net is None else net
    layers = keras_layers(stages, input_size)
    names = [torch_name(layer.name) for layer in layers]
    if len(set(names)) != len(names):
        raise ValueError("two Keras layers map onto one module")
    modules = dict(net.named_modules())
    missing = [n for n in names if n not in modules]
    if missing:
        raise ValueError(f"{type(net).__name__} has no module {missing[0]!r} "
                         f"({len(missing)} Keras layers unmatched): is it a ResNet-50?")
    x = torch.zeros(1, modules["conv1"].in_channels, input_size, input_size)
    shapes = dict(measure.trace(net, x, {n: modules[n] for n in names},
                                lambda m, args, y: tuple(y.shape[1:])))
    rows = []
    for layer, name in zip(layers, names):
        m = modules[name]
        stride = m.stride[0] if isinstance(m, nn.Conv2d) else 1
        rows.append(MappingRow(layer, name, type(m).__name__, stride, tuple(m.weight.shape),
                               shapes[name]))
    return rows


def _shape(shape: Sequence[int]) -> str:
    return "×".join(str(s) for s in shape)


def mapping_table(rows: Sequence[MappingRow]) -> Table:
    """The mapping as a :class:`cnnlab.table.Table`: Keras layer, kernel/stride, Keras
    weight (kh×kw×in×out, plus the bias Keras convolutions keep) and output (H×W×C); our
    module, stride, weight (out×in×kh×kw) and output (C×H×W). The last column says where
    the two differ: "stride" (the stride sits on another layer of the block) or "size"
    (same stride, different map size)."""
    body = []
    for r in rows:
        k = r.keras
        weight = _shape(k.weight_shape) + (f" + {k.filters}" if k.kind != "BatchNormalization"
                                           else "")
        bias = f" + {r.our_weight[0]}" if r.our_kind == "Linear" else ""  # fc keeps its bias
        differs = ("stride" if k.stride != r.our_stride
                   else "size" if k.output[:-1] != r.our_output[1:] else "")
        conv = k.kind == "Conv2D"
        body.append([f"`{k.name}`", k.kind, f"{k.kernel}×{k.kernel}/{k.stride}" if conv else "—",
                     weight, _shape(k.output), f"`{r.ours}`", f"{r.our_stride}" if conv else "—",
                     _shape(r.our_weight) + bias, _shape(r.our_output), differs])
    return Table(["Keras layer", "type", "kernel/stride", "Keras weight", "Keras output",
                  "our module", "our stride", "our weight", "our output", "differs"], body)
