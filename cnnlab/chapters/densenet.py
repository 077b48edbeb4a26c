"""DenseNet: every layer sees the feature maps of all layers before it in its block.

Huang, Liu, van der Maaten, Weinberger, "Densely Connected Convolutional Networks",
CVPR 2017, arXiv:1608.06993.

Where ResNet adds a block's input to its output, a dense block *concatenates*: layer
l receives [x0, x1, …, x_{l-1}] and contributes ``growth_rate`` new channels, so
features are reused rather than relearned and each layer can stay narrow. Transition
blocks (BN-ReLU-1×1 conv-2×2 avg pool) between dense blocks halve the channels and
the map size, keeping the model small.

==============================  ==========  ========================
stage (input 1×96×96)           output      channels (growth 32)
==============================  ==========  ========================
7×7/2 conv, BN, ReLU, 3×3/2 max 24×24       64
dense_blk1 (4 conv blocks)      24×24       64 + 4·32 = 192
tran_blk1                       12×12       96
dense_blk2                      12×12       96 + 128 = 224
tran_blk2                       6×6         112
dense_blk3                      6×6         112 + 128 = 240
tran_blk3                       3×3         120
dense_blk4                      3×3         120 + 128 = 248
BN, ReLU, global avg pool, fc   1×1         248 → classes
==============================  ==========  ========================

``densenet_fmnist`` is d2l §8.7's small DenseNet: each layer the paper's basic
BN-ReLU-3×3 conv (no bottleneck), convolutions with bias, 1 channel, 10 classes:
758,226 parameters. The smallest input is 29×29 (three transitions after a ÷4 stem).
torchvision's DenseNet-121 … 201 are :mod:`cnnlab.models.densenet`.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from cnnlab import measure
from cnnlab.chapters._common import init_cnn
from cnnlab.models.registry import register
from cnnlab.recipe import d2l_recipe, reference_recipe

__all__ = ["conv_block", "DenseBlock", "transition_block", "densenet_fmnist", "channel_growth",
           "PROFILES", "D2L_PUBLISHED", "BENCHMARK_INPUTS"]

# d2l's printed result for this network (PyTorch edition, release 0.17.5, section
# "Densely Connected Networks (DenseNet)"): one unseeded GPU run, SGD, full test set.
D2L_PUBLISHED = dict(test_acc=0.821, resize=96, lr=0.1, batch_size=256, epochs=10,
                     source='d2l 0.17.5 (PyTorch), "Densely Connected Networks (DenseNet)"')

# d2l's recipe: SGD, lr 0.1, batch 256, 10 epochs at 96×96. The quick run is smaller in
# every direction that costs CPU time: 32×32 (the smallest convenient size above the
# network's 29), 300 training and 100 test images per class, 3 epochs, and Adam, which
# gets further than SGD in so few steps.
FULL = d2l_recipe("densenet_fmnist", D2L_PUBLISHED)
PROFILES = {
    "full": FULL,
    "reference": reference_recipe("densenet_fmnist", 64, 2),
    "quick": FULL.replace(epochs=3, batch_size=128, lr=1e-3, optimizer="adam", resize=32,
                          train_per_class=300, test_per_class=100),
}

BENCHMARK_INPUTS = [("densenet_fmnist", 64, 64)]


def conv_block(in_channels: int, num_channels: int) -> nn.Sequential:
    """BN-ReLU-3×3 conv: the layer of a dense block ("pre-activation" order)."""
    return nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(),
                         nn.Conv2d(in_channels, num_channels, kernel_size=3, padding=1))


class DenseBlock(nn.Module):
    """``num_convs`` conv blocks; each sees the block input and all earlier outputs.

    The output has ``in_channels + num_convs * num_channels`` channels.

    >>> DenseBlock(2, 3, 10)(torch.zeros(4, 3, 8, 8)).shape
    torch.Size([4, 23, 8, 8])
    """

    def __init__(self, num_convs: int, in_channels: int, num_channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(*[conv_block(in_channels + i * num_channels, num_channels)
                                   for i in range(num_convs)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for blk in self.net:
            y = blk(x)
            x = torch.cat((x, y), dim=1)  # concatenate input and output along channels
        return x


def transition_block(in_channels: int, num_channels: int) -> nn.Sequential:
    """BN-ReLU-1×1 conv-2×2/2 avg pool: fewer channels, half the height and width."""
    return nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(),
                         nn.Conv2d(in_channels, num_channels, kernel_size=1),
                         nn.AvgPool2d(kernel_size=2, stride=2))


@register("densenet_fmnist", family="densenet", num_classes=10, in_channels=1, input_size=96,
          min_size=29, paper="Huang et al. 2017, arXiv:1608.06993; d2l §8.7",
          description="d2l's small DenseNet for Fashion-MNIST: k=32, 4 blocks of 4 plain layers")
def densenet_fmnist(num_classes: int = 10, in_channels: int = 1, growth_rate: int = 32,
                    arch: Sequence[int] = (4, 4, 4, 4), num_channels: int = 64) -> nn.Sequential:
    """d2l §8.7's DenseNet: 758,226 parameters for 10 classes.

    >>> densenet_fmnist()(torch.zeros(2, 1, 96, 96)).shape
    torch.Size([2, 10])
    """
    net = nn.Sequential(nn.Sequential(
        nn.Conv2d(in_channels, num_channels, kernel_size=7, stride=2, padding=3),
        nn.BatchNorm2d(num_channels), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1)))
    for i, num_convs in enumerate(arch):
        net.add_module(f"dense_blk{i + 1}", DenseBlock(num_convs, num_channels, growth_rate))
        num_channels += num_convs * growth_rate  # the dense block's output channels
        if i != len(arch) - 1:  # a transition halves the channels between dense blocks
            net.add_module(f"tran_blk{i + 1}", transition_block(num_channels, num_channels // 2))
            num_channels //= 2
    net.add_module("last", nn.Sequential(
        nn.BatchNorm2d(num_channels), nn.ReLU(),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
        nn.Linear(num_channels, num_classes)))
    net.apply(init_cnn)  # d2l's Xavier-uniform initialization
    return net


def channel_growth(net: nn.Module, input_size: Sequence[int] = (1, 1, 96, 96)) -> list[dict]:
    """Channels and map size after every layer of a dense block and every stage of ``net``.

    Runs one forward pass (eval mode, no gradients) with hooks and returns one row per
    step, in order: ``{"stage", "layer", "channels", "size"}``. ``layer`` is
    ``"stem"``, ``"dense layer i"`` (the channels *after* its concatenation: the block's
    input plus ``i`` times the growth rate), ``"transition"`` or ``"head"``.

    >>> rows = channel_growth(densenet_fmnist(), (1, 1, 96, 96))
    >>> [(r["stage"], r["channels"]) for r in rows if r["layer"] == "transition"]
    [('tran_blk1', 96), ('tran_blk2', 112), ('tran_blk3', 120)]
    """
    watched, label = {}, {}
    for stage, child in net.named_children():
        if isinstance(child, DenseBlock):
            for i, layer in enumerate(child.net):
                watched[f"{stage}.{i}"] = layer
                label[f"{stage}.{i}"] = (stage, f"dense layer {i + 1}")
        else:
            watched[stage] = child
            label[stage] = (stage, "transition" if stage.startswith("tran") else
                            "head" if stage == "last" else "stem")

    def channels_and_size(module, args, out):
        # a dense layer's output is concatenated to its input: count both
        extra = args[0].shape[1] if any(module is m for m in dense_layers) else 0
        return int(extra + out.shape[1]), tuple(int(s) for s in out.shape[2:])

    dense_layers = [m for name, m in watched.items() if label[name][1].startswith("dense")]
    calls = measure.trace(net, torch.zeros(tuple(input_size)), watched, channels_and_size)
    rows = [dict(stage=label[name][0], layer=label[name][1], channels=c, size=size)
            for name, (c, size) in calls]
    return rows
