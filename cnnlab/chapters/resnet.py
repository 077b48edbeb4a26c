"""ResNet-18 for Fashion-MNIST, as the article "残差网络(ResNet)" and d2l §8.6 build it.

He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016,
arXiv:1512.03385. Instead of asking a stack of layers to fit a mapping H(x), a
residual block lets them fit the residual F(x) = H(x) - x and adds the input back,
H(x) = F(x) + x; an identity is then as easy as driving F to zero, so extra depth
cannot make the network worse to optimise.

This is the teaching version of the article "残差网络(ResNet)" (Residual networks),
itself Zhang et al., *Dive into Deep Learning*, §8.6: convolutions keep their bias,
the shortcut is a 1×1 convolution only where the shape changes, and the module names
are the article's, so a ``ResNet18.params`` file saved by its script loads into
:func:`resnet18_fmnist`. torchvision's ResNets are :mod:`cnnlab.models.resnet`.

=========================  ==========  ========  ======
stage (input 1×224×224)    output      channels  blocks
=========================  ==========  ========  ======
stem: 7×7/2 conv, 3×3/2 max 56×56      64        —
resnet_block1              56×56       64        2
resnet_block2              28×28       128       2
resnet_block3              14×14       256       2
resnet_block4              7×7         512       2
global_avg_pool + fc       1×1         classes   —
=========================  ==========  ========  ======

With 28×28 Fashion-MNIST images the spatial sizes are 7, 7, 4, 2, 1 instead.
For 10 classes and one input channel it has 11,178,378 parameters.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from cnnlab.chapters._common import experiment_data, train_over_seeds
from cnnlab.models.registry import register
from cnnlab.recipe import Profile, reference_recipe
from cnnlab.seeding import seed_everything
from cnnlab.stats import verdict

__all__ = ["Residual", "resnet_block", "GlobalAvgPool2d", "resnet18_fmnist", "PlainBlock",
           "plain_resnet18", "PROFILES", "EXPERIMENT", "EXPERIMENT_WIDTH", "SEEDS",
           "shortcut_experiment", "shortcut_verdict", "D2L_PUBLISHED", "BENCHMARK_INPUTS"]

# d2l's printed result for this network (PyTorch edition, release 0.17.5, section
# "Residual Networks (ResNet)"): one unseeded GPU run, SGD, full test set;
# this chapter's full profile is the article's Adam recipe instead.
D2L_PUBLISHED = dict(test_acc=0.918, resize=96, lr=0.05, batch_size=256, epochs=10,
                     source='d2l 0.17.5 (PyTorch), "Residual Networks (ResNet)"')

# The article's recipe: Adam, lr 0.001, batch 256, 2 epochs on 28×28 images. The quick
# run keeps Adam at lr 0.001 for 3 epochs on 200 training and 100 test images per class,
# in batches of 128 (so that 2,000 images still make 16 steps an epoch): the same
# experiment, smaller (600 images per class took 283 s of a 2-core CPU for this page).
FULL = Profile(model="resnet18_fmnist", epochs=2, batch_size=256, lr=1e-3, optimizer="adam",
               source='"残差网络(ResNet)" (Adam, lr 0.001, batch 256, 2 epochs, 28×28)')
PROFILES = {
    "full": FULL,
    "reference": reference_recipe("resnet18_fmnist", 64, 2, dict(width=32),
                                  "half of the article's widths (32 to 256 channels)"),
    "quick": FULL.replace(epochs=3, batch_size=128, train_per_class=200, test_per_class=100,
                          source=FULL.source + "; quick: batch 128 on a subset"),
}

# The chapter's experiment (the same network without its shortcuts): both at a quarter
# of the width (``width=16``: the same 18 layers, strides and stages), over SEEDS, on the
# quick recipe's optimiser with a smaller subset. Each run is scored at the end on
# ``score_per_class`` × 10 test images; the claim is read on the final training loss.
EXPERIMENT = dict(resize=None, train_per_class=100, test_per_class=10, score_per_class=300,
                  batch_size=100, epochs=3, lr=1e-3, optimizer="adam")
EXPERIMENT_WIDTH = 16
SEEDS = (0, 1, 2)

# trainer_vs_d2l's setting, and the quick profile's.
BENCHMARK_INPUTS = [("resnet18_fmnist", 96, 128), ("resnet18_fmnist", 28, 256)]


class Residual(nn.Module):
    """The residual block of the article and d2l: two 3×3 conv-BN layers plus a shortcut.

    Args:
        in_channels: channels of the input x.
        out_channels: channels of F(x) and of the output.
        use_1x1conv: put a 1×1 convolution on the shortcut so that x matches F(x)
            in channels and size (needed when either changes).
        stride: stride of the first 3×3 convolution (2 halves the map).
    """

    def __init__(self, in_channels: int, out_channels: int, use_1x1conv: bool = False,
                 stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, stride=stride)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        self.conv3 = (nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride)
                      if use_1x1conv else None)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))   # first half of F(x)
        y = self.bn2(self.conv2(y))           # F(x), no ReLU before the sum
        if self.conv3 is not None:
            x = self.conv3(x)                 # project x to F(x)'s shape
        return F.relu(y + x)                  # H(x) = F(x) + x


def resnet_block(in_channels: int, out_channels: int, num_residuals: int,
                 first_block: bool = False) -> nn.Sequential:
    """A stage of ``num_residuals`` blocks; all but the first stage halve the map.

    The first stage follows the stem's max-pool, which has already halved the
    map, so it keeps size and channels (``first_block=True``).
    """
    if first_block and in_channels != out_channels:
        raise ValueError("the first stage keeps the channel count: in_channels == out_channels")
    blocks = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blocks.append(Residual(in_channels, out_channels, use_1x1conv=True, stride=2))
        else:
            blocks.append(Residual(out_channels, out_channels))
    return nn.Sequential(*blocks)


class GlobalAvgPool2d(nn.Module):
    """Average each channel over the whole map: (N, C, H, W) -> (N, C, 1, 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(x, 1)


@register("resnet18_fmnist", family="resnet", num_classes=10, in_channels=1, input_size=28,
          min_size=1, paper="He et al. 2016, arXiv:1512.03385; d2l §8.6",
          description="ResNet-18 of d2l and the Residual networks article, for Fashion-MNIST (conv bias)")
def resnet18_fmnist(num_classes: int = 10, in_channels: int = 1, width: int = 64) -> nn.Sequential:
    """The article's ``resnet18(output, in_channels)``: stem, four stages of two blocks, GAP, fc.

    ``width`` is the first stage's channels (64, the article's; the stages double it):
    the chapter's experiment uses 16, the same 18 layers at a sixteenth of the work.
    """
    w = width
    net = nn.Sequential(
        nn.Conv2d(in_channels, w, kernel_size=7, stride=2, padding=3),
        nn.BatchNorm2d(w),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    )
    net.add_module("resnet_block1", resnet_block(w, w, 2, first_block=True))
    net.add_module("resnet_block2", resnet_block(w, 2 * w, 2))
    net.add_module("resnet_block3", resnet_block(2 * w, 4 * w, 2))
    net.add_module("resnet_block4", resnet_block(4 * w, 8 * w, 2))
    net.add_module("global_avg_pool", GlobalAvgPool2d())
    net.add_module("fc", nn.Sequential(nn.Flatten(), nn.Linear(8 * w, num_classes)))
    return net


# --------------------------------------------------------------------------- the experiment

class PlainBlock(Residual):
    """:class:`Residual` without its shortcut: the same two 3×3 conv-BN layers, but the
    block must learn H(x) itself, as the "plain" networks of He et al. (Fig. 3) do.

    There is no shortcut, so there is no 1×1 projection either (``use_1x1conv`` is
    accepted for the same signature and ignored).

    >>> tuple(PlainBlock(3, 6, stride=2)(torch.zeros(1, 3, 8, 8)).shape)
    (1, 6, 4, 4)
    """

    def __init__(self, in_channels: int, out_channels: int, use_1x1conv: bool = False,
                 stride: int = 1) -> None:
        super().__init__(in_channels, out_channels, use_1x1conv=False, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)))   # H(x) = F(x): nothing added back


def plain_resnet18(num_classes: int = 10, in_channels: int = 1, width: int = 64) -> nn.Sequential:
    """:func:`resnet18_fmnist` with every :class:`Residual` replaced by a :class:`PlainBlock`
    of the same channels and stride: the same 18 weighted layers, no shortcuts.

    It is not registered (it is this chapter's experiment, not a model of the course);
    seed it with :func:`cnnlab.seed_everything` before building it. It has the 1×1
    projections' parameters fewer than ResNet-18:

    >>> from cnnlab import measure
    >>> measure.count_parameters(resnet18_fmnist()) - measure.count_parameters(plain_resnet18())
    172928
    """
    net = resnet18_fmnist(num_classes=num_classes, in_channels=in_channels, width=width)
    for stage in (net.resnet_block1, net.resnet_block2, net.resnet_block3, net.resnet_block4):
        for i, block in enumerate(stage):
            stage[i] = PlainBlock(block.conv1.in_channels, block.conv1.out_channels,
                                  stride=block.conv1.stride[0])
    return net


def shortcut_experiment(profile: Profile, seeds=SEEDS, **overrides) -> dict:
    """ResNet-18 and :func:`plain_resnet18`, both ``width=EXPERIMENT_WIDTH``, trained under
    :data:`EXPERIMENT` over ``seeds`` (the same initial weights for the layers they share,
    per seed): ``{"residual (ResNet-18)": [...], "plain (no shortcuts)": [...]}``."""

    data, score, fit = experiment_data(profile, {**EXPERIMENT, **overrides})

    def build(make):
        def seeded(seed):
            seed_everything(seed)
            return make(width=EXPERIMENT_WIDTH)
        return seeded
    return train_over_seeds({"residual (ResNet-18)": build(resnet18_fmnist),
                             "plain (no shortcuts)": build(plain_resnet18)},
                            data, seeds, score_data=score, **fit)


def shortcut_verdict(final_losses: dict):
    """The verdict on He et al.'s claim, from ``{label: [final training loss per seed]}``:
    with shortcuts the same network is optimized faster, so after the same steps the
    residual network's training loss is lower (residual − plain expected negative).

    >>> shortcut_verdict({"residual (ResNet-18)": [0.50, 0.52, 0.49],
    ...                   "plain (no shortcuts)": [0.70, 0.75, 0.72]}).word
    'agrees'
    """
    return verdict(final_losses["plain (no shortcuts)"], final_losses["residual (ResNet-18)"],
                   expect="lower")
