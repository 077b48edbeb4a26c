"""The CIFAR-10 ResNets of the ResNet paper (§4.2) and their plain twins.

He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016,
arXiv:1512.03385, §4.2. On 32×32 images the paper stacks 6n+2 layers of 3×3
convolutions with 16, 32 and 64 channels; the *plain* net (no shortcuts) gets
worse as it gets deeper while the ResNet with exactly the same layers gets better,
which is the experiment that shows shortcuts cure the degradation problem.

================  =============  ========  ======
stage             output         channels  blocks
================  =============  ========  ======
conv1: 3×3        32×32          16        —
layer1            32×32          16        n
layer2 (/2)       16×16          32        n
layer3 (/2)       8×8            64        n
avgpool + fc      1×1            classes   —
================  =============  ========  ======

Each block is two 3×3 conv-BN layers (:class:`cnnlab.models.resnet.BasicBlock`),
so depth = 2·3n + conv1 + fc = 6n + 2. Where a block halves the map and doubles
the channels, the shortcut must change shape too; the paper's three options:

- "A" (default, the paper's CIFAR choice): identity on x subsampled by 2, extra
  channels filled with zeros; no parameters, so ResNet and plain net have the same count.
- "B": a 1×1 convolution + BN projection only where the shape changes.
- "C": a projection on every block.

Parameters with option A and 10 classes (Table 6 gives 0.27M, 0.46M, 0.66M, 0.85M, 1.7M):

=========  ==  ===========
depth      n   parameters
=========  ==  ===========
20         3   269,722
32         5   464,154
44         7   658,586
56         9   853,018
110        18  1,727,962
=========  ==  ===========

The convolutions keep size (padding 1) and the shortcut subsamples with
``x[..., ::2, ::2]``, so any input side ≥ 1 works.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from cnnlab.models.registry import register
from cnnlab.models.resnet import BasicBlock, conv1x1, conv3x3, init_resnet

__all__ = ["ZeroPadShortcut", "PlainBlock", "CifarResNet", "DEPTHS", "SHORTCUTS",
           "build_resnet_cifar", "build_plain_cifar"]

PAPER = "He et al. 2016, arXiv:1512.03385, §4.2"
DEPTHS: dict[int, int] = {20: 3, 32: 5, 44: 7, 56: 9, 110: 18}  # depth 6n+2 → n (Table 6)
SHORTCUTS = ("A", "B", "C")


class ZeroPadShortcut(nn.Module):
    """Option A: take every ``stride``-th pixel of x and append zero channels.

    The first ``in_channels`` output channels are x itself (subsampled), the
    remaining ``out_channels - in_channels`` are zero: a shortcut with no parameters.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ValueError("zero padding can only add channels: out_channels >= in_channels")
        self.extra = out_channels - in_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::self.stride, ::self.stride]      # same size as the strided 3×3 conv
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))  # (W, H, C) pads: zeros after the channels

    def extra_repr(self) -> str:
        return f"extra_channels={self.extra}, stride={self.stride}"


class PlainBlock(BasicBlock):
    """The same two conv-BN layers as a BasicBlock, with no shortcut: relu(F(x))."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.residual(x))


class CifarResNet(nn.Module):
    """ResNet (or plain net) of depth 6n+2 for 32×32 images, paper §4.2.

    Args:
        depth: 6n + 2 (20, 32, 44, 56, 110, 1202, ...).
        num_classes: outputs of ``fc``.
        in_channels: channels of the input images.
        shortcut: "A", "B" or "C" (see the module docstring), or None for the plain net.

    Example:
        >>> net = CifarResNet(20)
        >>> net(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(self, depth: int = 20, num_classes: int = 10, in_channels: int = 3,
                 shortcut: str | None = "A") -> None:
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"depth must be 6n+2 with n >= 1 (20, 32, 44, 56, 110, ...), got {depth}")
        if shortcut is not None and shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be 'A', 'B' or 'C' (or None for a plain net), "
                             f"got {shortcut!r}")
        n = (depth - 2) // 6
        self.shortcut = shortcut
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(16, 16, n, stride=1)
        self.layer2 = self._make_layer(16, 32, n, stride=2)
        self.layer3 = self._make_layer(32, 64, n, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)

        init_resnet(self)  # the paper initialises as in He et al. 2015 (arXiv:1502.01852)

    def _block(self, in_channels: int, out_channels: int, stride: int) -> BasicBlock:
        if self.shortcut is None:
            return PlainBlock(in_channels, out_channels, stride)
        reshapes = stride != 1 or in_channels != out_channels
        if self.shortcut == "A" and reshapes:
            downsample: nn.Module | None = ZeroPadShortcut(in_channels, out_channels, stride)
        elif self.shortcut == "C" or (self.shortcut == "B" and reshapes):
            downsample = nn.Sequential(conv1x1(in_channels, out_channels, stride),
                                       nn.BatchNorm2d(out_channels))
        else:
            downsample = None  # identity
        return BasicBlock(in_channels, out_channels, stride, downsample)

    def _make_layer(self, in_channels: int, out_channels: int, blocks: int,
                    stride: int) -> nn.Sequential:
        """A stage: the first block strides and widens, the other n - 1 keep the shape."""
        return nn.Sequential(self._block(in_channels, out_channels, stride),
                             *(self._block(out_channels, out_channels, 1) for _ in range(1, blocks)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def build_resnet_cifar(depth: int = 20, num_classes: int = 10, in_channels: int = 3,
                       shortcut: str = "A") -> CifarResNet:
    """ResNet-``depth`` for CIFAR; ``shortcut`` is the paper's option "A", "B" or "C".

    Example:
        >>> from cnnlab import models
        >>> net = models.create("resnet20", shortcut="B")
    """
    if shortcut is None:
        raise ValueError("a ResNet needs a shortcut option ('A', 'B' or 'C'); "
                         "for no shortcuts use the plain nets (e.g. 'plain20')")
    return CifarResNet(depth, num_classes, in_channels, shortcut)


def build_plain_cifar(depth: int = 20, num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """Plain-``depth``: the same layers as ResNet-``depth`` without any shortcut."""
    return CifarResNet(depth, num_classes, in_channels, shortcut=None)


for _depth, _n in DEPTHS.items():
    register(f"resnet{_depth}", family="resnet", num_classes=10, in_channels=3, input_size=32,
             min_size=1, paper=PAPER, depth=_depth,
             description=f"ResNet-{_depth} for CIFAR-10 (n={_n}; shortcut option A, B or C)"
             )(build_resnet_cifar)
    register(f"plain{_depth}", family="resnet", num_classes=10, in_channels=3, input_size=32,
             min_size=1, paper=PAPER, depth=_depth,
             description=f"plain-{_depth}: ResNet-{_depth}'s layers with no shortcuts (CIFAR-10)"
             )(build_plain_cifar)
