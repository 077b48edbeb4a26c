"""DenseNet: every layer sees the feature maps of all layers before it in its block.

Huang, Liu, van der Maaten, Weinberger, "Densely Connected Convolutional Networks",
CVPR 2017, arXiv:1608.06993.

Where ResNet adds a block's input to its output, a dense block *concatenates*:
layer l receives [x0, x1, …, x_{l-1}] and contributes k new channels (the growth
rate), so features are reused rather than relearned and each layer can stay narrow.
Transition layers (BN-ReLU-1×1 conv-2×2 avg pool) between blocks halve the channels
(compression 0.5) and the map size.

================================  ==========  ==========================================
stage (input 224×224)             output      DenseNet-121 channels (k = 32)
================================  ==========  ==========================================
7×7/2 conv, BN, ReLU, 3×3/2 max   56×56       64
dense block 1 (6 layers)          56×56       64 + 6·32 = 256
transition 1                      28×28       128
dense block 2 (12 layers)         28×28       128 + 12·32 = 512
transition 2                      14×14       256
dense block 3 (24 layers)         14×14       256 + 24·32 = 1024
transition 3                      7×7         512
dense block 4 (16 layers)         7×7         512 + 16·32 = 1024
BN, ReLU, global avg pool, fc     1×1         1024 → classes
================================  ==========  ==========================================

Each torchvision dense layer is the paper's DenseNet-B layer: BN-ReLU-1×1 conv to
4k channels (the bottleneck) then BN-ReLU-3×3 conv to k channels. Configurations
(k, layers per block, stem channels) and parameters for 1000 classes:
densenet121 (32, 6-12-24-16, 64) 7,978,856; densenet161 (48, 6-12-36-24, 96)
28,681,000; densenet169 (32, 6-12-32-32, 64) 14,149,480; densenet201
(32, 6-12-48-32, 64) 20,013,928. Module names are torchvision's current ones
(``features.denseblock1.denselayer1.norm1`` …), so ``load_state_dict(
tv_model.state_dict(), strict=True)`` works directly. Checkpoints saved before
torchvision 0.3 use ``norm.1``/``conv.1`` keys; torchvision's ``_load_state_dict``
renames them with a regex, and so would you for such files. The smallest input is
29×29 (three transitions after a ÷4 stem).

d2l's small DenseNet for 96×96 Fashion-MNIST (plain BN-ReLU-3×3 layers without
bottleneck, convolutions with bias) is the DenseNet chapter's ``densenet_fmnist``
(:mod:`cnnlab.chapters.densenet`).
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.models.registry import register

__all__ = ["DenseLayer", "DenseBlock", "Transition", "DenseNet", "CONFIGS", "densenet"]

# name -> (growth rate k, layers per dense block, channels of the stem convolution)
CONFIGS: dict[str, tuple[int, tuple[int, int, int, int], int]] = {
    "densenet121": (32, (6, 12, 24, 16), 64),
    "densenet161": (48, (6, 12, 36, 24), 96),
    "densenet169": (32, (6, 12, 32, 32), 64),
    "densenet201": (32, (6, 12, 48, 32), 64),
}


class DenseLayer(nn.Module):
    """DenseNet-B layer: BN-ReLU-1×1 conv (bn_size·k channels), BN-ReLU-3×3 conv (k channels).

    The 1×1 bottleneck caps the cost of the 3×3 conv however wide the concatenated
    input has grown. Names match torchvision's ``_DenseLayer``.
    """

    def __init__(self, in_channels: int, growth_rate: int, bn_size: int = 4,
                 drop_rate: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, bn_size * growth_rate, kernel_size=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, padding=1,
                               bias=False)
        self.drop_rate = float(drop_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(self.relu1(self.norm1(x)))
        out = self.conv2(self.relu2(self.norm2(out)))
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        return out


class DenseBlock(nn.ModuleDict):
    """``num_layers`` layers; each gets the concatenation of the block input and all earlier outputs.

    Args:
        num_layers: layers in the block.
        in_channels: channels of the block input.
        growth_rate: channels each layer adds (k).
        make_layer: ``make_layer(in_channels, growth_rate) -> nn.Module``, e.g. a
            :class:`DenseLayer` with its settings bound by ``functools.partial``.

    The output has ``in_channels + num_layers * growth_rate`` channels.

    >>> import torch
    >>> DenseBlock(2, 3, 10)(torch.zeros(4, 3, 8, 8)).shape
    torch.Size([4, 23, 8, 8])
    """

    def __init__(self, num_layers: int, in_channels: int, growth_rate: int,
                 make_layer: Callable[[int, int], nn.Module] = DenseLayer) -> None:
        super().__init__()
        for i in range(num_layers):
            self.add_module(f"denselayer{i + 1}", make_layer(in_channels + i * growth_rate, growth_rate))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(torch.cat(features, 1)))  # input: everything so far
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    """BN-ReLU-1×1 conv-2×2/2 average pool: fewer channels, half the height and width."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """torchvision's DenseNet: ``features`` (stem, blocks, transitions, norm5) and ``classifier``.

    Args:
        growth_rate: k, channels added by every dense layer.
        block_config: layers in each dense block.
        num_init_features: channels of the stem convolution.
        bn_size: bottleneck width factor (4 → 4k channels before the 3×3 conv).
        drop_rate: dropout after each dense layer.
        num_classes: output classes.
        in_channels: input channels.
    """

    def __init__(self, growth_rate: int = 32, block_config: Sequence[int] = (6, 12, 24, 16),
                 num_init_features: int = 64, bn_size: int = 4, drop_rate: float = 0.0,
                 num_classes: int = 1000, in_channels: int = 3) -> None:
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(in_channels, num_init_features, kernel_size=7, stride=2, padding=3,
                                bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU(inplace=True)),
            ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ]))
        make_layer = partial(DenseLayer, bn_size=bn_size, drop_rate=drop_rate)
        channels = num_init_features
        for i, num_layers in enumerate(block_config):
            self.features.add_module(f"denseblock{i + 1}",
                                     DenseBlock(num_layers, channels, growth_rate, make_layer))
            channels += num_layers * growth_rate
            if i != len(block_config) - 1:  # no transition after the last block
                self.features.add_module(f"transition{i + 1}",
                                         Transition(channels, channels // 2))
                channels //= 2              # compression θ = 0.5
        self.features.add_module("norm5", nn.BatchNorm2d(channels))  # pre-activation nets end in BN
        self.classifier = nn.Linear(channels, num_classes)

        # torchvision's initialization ("official init from torch repo").
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.features(x), inplace=True)
        out = torch.flatten(F.adaptive_avg_pool2d(out, (1, 1)), 1)
        return self.classifier(out)


def densenet(config: str = "densenet121", num_classes: int = 1000, in_channels: int = 3,
             drop_rate: float = 0.0) -> DenseNet:
    """torchvision's ``densenet121/161/169/201(weights=None)`` by name (see :data:`CONFIGS`).

    >>> sum(p.numel() for p in densenet("densenet121").parameters())
    7978856
    """
    growth_rate, block_config, num_init_features = CONFIGS[config]
    return DenseNet(growth_rate, block_config, num_init_features, bn_size=4, drop_rate=drop_rate,
                    num_classes=num_classes, in_channels=in_channels)


for _name, (_k, _blocks, _init) in CONFIGS.items():
    register(_name, family="densenet", num_classes=1000, in_channels=3, input_size=224, min_size=29,
             paper="Huang et al. 2017, arXiv:1608.06993", torchvision=_name,
             description=f"torchvision's {_name}: DenseNet-BC, k={_k}, blocks {'-'.join(map(str, _blocks))}",
             config=_name)(densenet)
