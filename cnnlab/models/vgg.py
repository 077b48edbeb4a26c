"""VGG: networks built from repeated blocks of 3×3 convolutions.

Simonyan, Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015, arXiv:1409.1556.

A VGG block is a few 3×3 convolutions (padding 1, ReLU) followed by a 2×2/2
max-pool that halves the map; the whole network is five such blocks, channels
doubling 64→512, and AlexNet's three fully connected layers. Two stacked 3×3
convolutions see as far as one 5×5 with fewer parameters and one more nonlinearity,
so depth, not kernel size, became the knob.

=====================  =========  ========  ===========================
stage (input 224×224)  output     channels  convs per block A / B / D / E
=====================  =========  ========  ===========================
block 1                112×112    64        1 / 2 / 2 / 2
block 2                56×56      128       1 / 2 / 2 / 2
block 3                28×28      256       2 / 2 / 3 / 4
block 4                14×14      512       2 / 2 / 3 / 4
block 5                7×7        512       2 / 2 / 3 / 4
adaptive avg pool      7×7        512       —
fc, fc, fc             4096, 4096, classes  (ReLU + dropout 0.5 after the first two)
=====================  =========  ========  ===========================

Configurations A, B, D, E are the paper's Table 1 columns (VGG-11, -13, -16, -19;
the modern-CNN article's ``cfg_vgg16`` is ``cfgs["D"]`` and ``cfg_vgg19`` ``cfgs["E"]``).
``vgg11`` … ``vgg19_bn`` are torchvision's networks with its parameter names
(``features.N``, ``classifier.N``), so its ImageNet weights load; the ``_bn``
versions put BatchNorm between each convolution and its ReLU (not in the paper).
Parameters for 1000 classes: vgg11 132,863,336, vgg13 133,047,848, vgg16 138,357,544,
vgg19 143,667,240; with BN 132,868,840, 133,053,736, 138,365,992, 143,678,248.
Five 2×2 pools need inputs of at least 32×32.

d2l's narrow VGG-11 for Fashion-MNIST is the VGG chapter's ``vgg11_fmnist``
(:mod:`cnnlab.chapters.vgg`).
"""

from __future__ import annotations

from typing import Sequence, Union

import torch
from torch import nn

from cnnlab.models.registry import register

__all__ = ["cfgs", "make_layers", "VGG", "vgg"]

# torchvision's configuration table: an int is a 3×3 conv with that many output
# channels, "M" a 2×2/2 max-pool. Keys are the paper's Table 1 columns.
cfgs: dict[str, list[Union[int, str]]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
          512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}

def make_layers(cfg: Sequence[Union[int, str]], batch_norm: bool = False,
                in_channels: int = 3) -> nn.Sequential:
    """torchvision's flat feature extractor for a configuration (same indices, same names).

    Flat, so parameter names are ``features.0.weight`` … as in torchvision's checkpoints
    (d2l's ``vgg_block`` per block builds the same layers, nested).
    """
    layers: list[nn.Module] = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        conv = nn.Conv2d(in_channels, int(v), kernel_size=3, padding=1)
        layers += [conv, nn.BatchNorm2d(int(v)), nn.ReLU(inplace=True)] if batch_norm else \
                  [conv, nn.ReLU(inplace=True)]
        in_channels = int(v)
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``features`` → ``avgpool`` (adaptive 7×7) → flatten → ``classifier``, as torchvision.

    Args:
        features: the convolutional part (:func:`make_layers`).
        num_classes: output classes.
        feature_channels: channels out of ``features`` (512 for the ImageNet nets).
        hidden: width of the two hidden fully connected layers.
        dropout: dropout after each hidden layer's ReLU.
    """

    def __init__(self, features: nn.Module, num_classes: int = 1000, feature_channels: int = 512,
                 hidden: int = 4096, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(feature_channels * 7 * 7, hidden), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def _torchvision_init(model: nn.Module) -> None:
    """torchvision's VGG initialization (He-normal convs, N(0, 0.01) linear layers)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.constant_(m.bias, 0)


def vgg(cfg: Union[str, Sequence[Union[int, str]]] = "D", batch_norm: bool = False,
        num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5,
        init_weights: bool = True) -> VGG:
    """A torchvision-compatible VGG for configuration ``cfg`` ("A", "B", "D", "E" or a list).

    >>> net = vgg("A", batch_norm=True, num_classes=10)
    >>> type(net.features[1]).__name__, net.classifier[-1].out_features
    ('BatchNorm2d', 10)
    """
    layers = cfgs[cfg] if isinstance(cfg, str) else list(cfg)
    last = [v for v in layers if v != "M"][-1]
    model = VGG(make_layers(layers, batch_norm, in_channels), num_classes, int(last), dropout=dropout)
    if init_weights:
        _torchvision_init(model)
    return model


# registry name -> configuration; each also gets a "_bn" twin.
_TORCHVISION_VGGS = {"vgg11": "A", "vgg13": "B", "vgg16": "D", "vgg19": "E"}

for _name, _cfg in _TORCHVISION_VGGS.items():
    for _bn in (False, True):
        _full = _name + ("_bn" if _bn else "")
        register(_full, family="vgg", num_classes=1000, in_channels=3, input_size=224, min_size=32,
                 paper="Simonyan & Zisserman 2015, arXiv:1409.1556", torchvision=_full,
                 description=f"torchvision's {_full}: VGG configuration {_cfg}"
                             + (" with BatchNorm" if _bn else ""),
                 cfg=_cfg, batch_norm=_bn)(vgg)
