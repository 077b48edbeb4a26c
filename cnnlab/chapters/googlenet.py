"""GoogLeNet (Inception v1), as d2l §8.4 builds it for 96×96 Fashion-MNIST.

Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke, Rabinovich, "Going
Deeper with Convolutions", CVPR 2015, arXiv:1409.4842.

An Inception block runs four branches side by side — a 1×1 convolution, a 1×1
"reduce" then 3×3, a 1×1 reduce then 5×5, and a 3×3 max pool then 1×1 — and
concatenates them along channels, so each block looks at several scales at once while
the cheap 1×1 reductions keep the cost down. Nine blocks, a small stem and global
average pooling make a 22-layer network with fewer parameters than AlexNet.

======================================  ==========  ==================================
stage (input 1×96×96)                   output      channels
======================================  ==========  ==================================
b1: 7×7/2 conv, 3×3/2 max pool          24×24       64
b2: 1×1 conv, 3×3 conv, 3×3/2 max pool  12×12       64, 192
b3: Inception ×2, 3×3/2 max pool        6×6         256, 480
b4: Inception ×5, 3×3/2 max pool        3×3         512, 512, 512, 528, 832
b5: Inception ×2, global avg pool       1×1         832, 1024
fc                                      —           classes
======================================  ==========  ==================================

The Inception channels are the paper's Table 1. ``googlenet_fmnist`` is d2l's
network: plain conv + ReLU with bias (no BatchNorm, which came later), a true 5×5
branch, padded pools, no auxiliary classifiers; 1 channel, 10 classes: 5,977,530
parameters. Its padded pools never shrink a map below 1×1, so any input size works.
torchvision's ImageNet GoogLeNet is :mod:`cnnlab.models.googlenet`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from cnnlab import measure, plot
from cnnlab.chapters._common import init_cnn
from cnnlab.models.registry import register
from cnnlab.recipe import d2l_recipe, Profile, reference_recipe
from cnnlab.table import Table

__all__ = ["Inception", "googlenet_fmnist", "BRANCHES", "branches_of", "inception_inputs",
           "branch_accounting", "format_branch_table", "plot_branch_table", "PROFILES",
           "D2L_PUBLISHED", "BENCHMARK_INPUTS"]

# d2l's printed result for this network (PyTorch edition, release 0.17.5, section
# "Networks with Parallel Concatenations (GoogLeNet)"): one unseeded GPU run, SGD, full test set.
D2L_PUBLISHED = dict(test_acc=0.883, resize=96, lr=0.1, batch_size=128, epochs=10,
                     source='d2l 0.17.5 (PyTorch), "Networks with Parallel Concatenations (GoogLeNet)"')

BENCHMARK_INPUTS = [("googlenet_fmnist", 64, 64)]

# d2l's recipe: plain SGD (no momentum), lr 0.1, batch 128, 10 epochs, 96×96. On a CPU:
# the same network at 28×28 (its padded pools accept any size; the map is 1×1 from the
# fourth stage on), a subset, and Adam with a one-cycle schedule.
FULL = d2l_recipe("googlenet_fmnist", D2L_PUBLISHED)
PROFILES = {
    "full": FULL,
    "reference": reference_recipe("googlenet_fmnist", 64, 2, dict(ratio=2),
                                  "half of d2l's widths in every branch"),
    "quick": Profile(model="googlenet_fmnist", epochs=3, batch_size=64, lr=1e-3,
                     optimizer="adam", schedule="onecycle", resize=None, train_per_class=500,
                     test_per_class=100,
                     source="ours: d2l's network at 28×28 on a subset, Adam + one-cycle"),
}

# The four branches of an Inception block, in the order they are concatenated.
BRANCHES = ("1×1", "1×1 → 3×3", "1×1 → 5×5", "3×3 max pool → 1×1")


class Inception(nn.Module):
    """Four parallel branches concatenated along channels; height and width unchanged.

    ``c1`` … ``c4`` are the branches' output channels; ``c2`` and ``c3`` are pairs
    (1×1 reduce, then the 3×3 or 5×5 convolution). The block outputs
    ``c1 + c2[1] + c3[1] + c4`` channels.

    >>> Inception(192, 64, (96, 128), (16, 32), 32)(torch.zeros(1, 192, 8, 8)).shape
    torch.Size([1, 256, 8, 8])
    """

    def __init__(self, in_channels: int, c1: int, c2: tuple[int, int], c3: tuple[int, int],
                 c4: int) -> None:
        super().__init__()
        self.b1_1 = nn.Conv2d(in_channels, c1, kernel_size=1)                # branch 1: 1×1
        self.b2_1 = nn.Conv2d(in_channels, c2[0], kernel_size=1)             # branch 2: 1×1,
        self.b2_2 = nn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1)        #   then 3×3
        self.b3_1 = nn.Conv2d(in_channels, c3[0], kernel_size=1)             # branch 3: 1×1,
        self.b3_2 = nn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2)        #   then 5×5
        self.b4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)         # branch 4: max,
        self.b4_2 = nn.Conv2d(in_channels, c4, kernel_size=1)                #   then 1×1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = F.relu(self.b1_1(x))
        b2 = F.relu(self.b2_2(F.relu(self.b2_1(x))))
        b3 = F.relu(self.b3_2(F.relu(self.b3_1(x))))
        b4 = F.relu(self.b4_2(self.b4_1(x)))
        return torch.cat((b1, b2, b3, b4), dim=1)


@register("googlenet_fmnist", family="googlenet", num_classes=10, in_channels=1, input_size=96,
          min_size=1, paper="Szegedy et al. 2014, arXiv:1409.4842; d2l §8.4",
          description="d2l's GoogLeNet for 96×96 Fashion-MNIST: no BN, no aux heads, true 5×5")
def googlenet_fmnist(num_classes: int = 10, in_channels: int = 1, ratio: int = 1) -> nn.Sequential:
    """d2l §8.4's GoogLeNet as ``Sequential(b1, b2, b3, b4, b5, fc)``: 5,977,530 parameters.

    ``ratio`` divides every layer's channels (as d2l's ``ratio`` does for VGG); the
    branch proportions of each Inception block stay the paper's. The reference profile
    trains ``ratio=2`` so 60,000 images at 64×64 px fit a CPU budget.

    >>> googlenet_fmnist()(torch.zeros(2, 1, 96, 96)).shape
    torch.Size([2, 10])
    >>> sum(p.numel() for p in googlenet_fmnist(ratio=2).parameters())
    1499554
    """
    def w(*channels):  # the channels of one layer or branch, divided by ratio
        out = tuple(c // ratio for c in channels)
        return out if len(out) > 1 else out[0]

    b1 = nn.Sequential(
        nn.Conv2d(in_channels, w(64), kernel_size=7, stride=2, padding=3), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b2 = nn.Sequential(
        nn.Conv2d(w(64), w(64), kernel_size=1), nn.ReLU(),
        nn.Conv2d(w(64), w(192), kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b3 = nn.Sequential(
        Inception(w(192), w(64), w(96, 128), w(16, 32), w(32)),          # 3a → 256 channels
        Inception(w(256), w(128), w(128, 192), w(32, 96), w(64)),        # 3b → 480
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b4 = nn.Sequential(
        Inception(w(480), w(192), w(96, 208), w(16, 48), w(64)),         # 4a → 512
        Inception(w(512), w(160), w(112, 224), w(24, 64), w(64)),        # 4b → 512
        Inception(w(512), w(128), w(128, 256), w(24, 64), w(64)),        # 4c → 512
        Inception(w(512), w(112), w(144, 288), w(32, 64), w(64)),        # 4d → 528
        Inception(w(528), w(256), w(160, 320), w(32, 128), w(128)),      # 4e → 832
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b5 = nn.Sequential(
        Inception(w(832), w(256), w(160, 320), w(32, 128), w(128)),      # 5a → 832
        Inception(w(832), w(384), w(192, 384), w(48, 128), w(128)),      # 5b → 1024
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
    net = nn.Sequential(b1, b2, b3, b4, b5, nn.Linear(w(1024), num_classes))
    net.apply(init_cnn)  # d2l's Xavier-uniform initialization
    return net


def branches_of(block: Inception) -> dict[str, nn.Sequential]:
    """The four branches of ``block`` as separate modules, named as in :data:`BRANCHES`.

    They share the block's layers (no copy), so counting their parameters or FLOPs
    counts the block's, branch by branch.

    >>> block = Inception(192, 64, (96, 128), (16, 32), 32)
    >>> [b(torch.zeros(1, 192, 8, 8)).shape[1] for b in branches_of(block).values()]
    [64, 128, 32, 32]
    """
    return dict(zip(BRANCHES, (
        nn.Sequential(block.b1_1, nn.ReLU()),
        nn.Sequential(block.b2_1, nn.ReLU(), block.b2_2, nn.ReLU()),
        nn.Sequential(block.b3_1, nn.ReLU(), block.b3_2, nn.ReLU()),
        nn.Sequential(block.b4_1, block.b4_2, nn.ReLU()))))


def inception_inputs(net: nn.Module, input_size) -> dict[str, tuple[int, ...]]:
    """The input shape of every :class:`Inception` block of ``net`` for one forward pass
    at ``input_size`` (N, C, H, W), keyed by the block's name in ``net``.

    >>> shapes = inception_inputs(googlenet_fmnist(), (1, 1, 96, 96))
    >>> shapes["2.0"], shapes["4.1"]
    ((1, 192, 12, 12), (1, 832, 3, 3))
    """
    shapes, hooks = {}, []
    for name, module in net.named_modules():
        if isinstance(module, Inception):
            hooks.append(module.register_forward_pre_hook(
                lambda mod, args, name=name: shapes.__setitem__(name, tuple(args[0].shape))))
    was_training = net.training
    try:
        with torch.no_grad():
            net.eval()(torch.zeros(input_size))
    finally:
        net.train(was_training)
        for hook in hooks:
            hook.remove()
    return shapes


# The paper's names of the nine blocks (Szegedy et al. 2015, Table 1), in network order.
_PAPER_NAMES = ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b")


def branch_accounting(net: nn.Module, input_size) -> list[dict]:
    """Per Inception block of ``net`` and per branch: output channels, parameters and
    forward FLOPs at ``input_size``, measured with :mod:`cnnlab.measure`.

    Returns one dict per (block, branch): ``block`` (the paper's name, "3a" … "5b"),
    ``branch`` (from :data:`BRANCHES`), ``in_shape``, ``channels``, ``params``,
    ``flops`` (a multiply-add counted as 2) and the branch's share of the block's
    channels, parameters and FLOPs (``channel_share``, ``param_share``,
    ``flop_share``).

    >>> rows = branch_accounting(googlenet_fmnist(), (1, 1, 96, 96))
    >>> [r["channels"] for r in rows if r["block"] == "3a"]
    [64, 128, 32, 32]
    """
    blocks = {name: m for name, m in net.named_modules() if isinstance(m, Inception)}
    shapes = inception_inputs(net, input_size)
    rows = []
    for paper_name, (name, block) in zip(_PAPER_NAMES, blocks.items()):
        shape = shapes[name]
        block_rows = []
        for branch, module in branches_of(block).items():
            with torch.no_grad():
                out = module.eval()(torch.zeros(shape))
            block_rows.append(dict(
                block=paper_name, branch=branch, in_shape=shape, channels=out.shape[1],
                params=measure.count_parameters(module),
                flops=measure.flops(module, shape).total_flops))
        for key in ("channels", "params", "flops"):
            total = sum(r[key] for r in block_rows)
            for r in block_rows:
                r[key.rstrip("s") + "_share"] = r[key] / total
        rows += block_rows
    return rows


def format_branch_table(rows: list[dict], block: str | None = None) -> Table:
    """:func:`branch_accounting`'s rows as a table (only ``block``'s rows if given): each
    branch's channels, parameters and MFLOPs, with its share of the block's.

    >>> format_branch_table(branch_accounting(googlenet_fmnist(), (1, 1, 96, 96)), "3a").header
    ['block', 'branch', 'channels', 'parameters', 'MFLOPs']
    """
    return Table(["block", "branch", "channels", "parameters", "MFLOPs"],
                 [[r["block"], r["branch"], f"{r['channels']} ({r['channel_share']:.1%})",
                   f"{r['params']:,} ({r['param_share']:.1%})",
                   f"{r['flops'] / 1e6:.2f} ({r['flop_share']:.1%})"]
                  for r in rows if block is None or r["block"] == block])


def plot_branch_table(rows: list[dict], keys=("channels", "params", "flops"), axes=None,
                      path=None):
    """Stacked bars, one per Inception block: each branch's share of the block's output
    channels, parameters and FLOPs (one panel per key). ``axes`` draws into existing
    panels (one per key), ``path`` saves the figure. Returns the figure."""

    blocks = list(dict.fromkeys(r["block"] for r in rows))
    titles = {"channels": "output channels", "params": "parameters", "flops": "FLOPs"}
    fig, axes = plot.panels("plot_branch_table", axes, len(keys), path,
                            figsize=(4 * len(keys), 3.2), sharey=True)
    for ax, key in zip(axes, keys):
        bottom = [0.0] * len(blocks)
        for branch in BRANCHES:
            share = [next(r[key.rstrip("s") + "_share"] for r in rows
                          if r["block"] == b and r["branch"] == branch) for b in blocks]
            ax.bar(blocks, share, bottom=bottom, label=branch)
            bottom = [b + s for b, s in zip(bottom, share)]
        ax.set_title(f"share of the block's {titles.get(key, key)}")
        ax.set_xlabel("Inception block")
    axes[0].set_ylabel("share")
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    fig.tight_layout()
    plot.show(fig, path)
    return fig
