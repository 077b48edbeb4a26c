"""GoogLeNet (Inception v1): torchvision's ImageNet network.

Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke, Rabinovich, "Going
Deeper with Convolutions", CVPR 2015, arXiv:1409.4842.

An Inception block runs four branches side by side — a 1×1 convolution, a 1×1
"reduce" then 3×3, a 1×1 reduce then 5×5, and a 3×3 max-pool then 1×1 "pool proj" —
and concatenates them along channels, so each block looks at several scales at once
while the cheap 1×1 reductions keep the cost down. Nine such blocks, a small
convolutional stem and global average pooling make a 22-layer network with fewer
parameters than AlexNet; two auxiliary classifiers on intermediate blocks add
gradient signal during training only.

=====================  ==========  ==================================================
stage (input 224×224)  output      channels (#1×1, #3×3 reduce, #3×3, #5×5 reduce,
                                   #5×5, pool proj → out), paper Table 1
=====================  ==========  ==================================================
7×7/2 conv, 3×3/2 max  56×56       64
1×1 conv, 3×3 conv     56×56       64, 192
3×3/2 max              28×28       192
inception 3a, 3b       28×28       (64,96,128,16,32,32 → 256), (128,128,192,32,96,64 → 480)
3×3/2 max              14×14       480
inception 4a           14×14       192,96,208,16,48,64 → 512   (aux1 reads this)
inception 4b, 4c       14×14       160,112,224,24,64,64 → 512; 128,128,256,24,64,64 → 512
inception 4d           14×14       112,144,288,32,64,64 → 528  (aux2 reads this)
inception 4e           14×14       256,160,320,32,128,128 → 832
max pool               7×7         832
inception 5a, 5b       7×7         (256,160,320,32,128,128 → 832), (384,192,384,48,128,128 → 1024)
avg pool, dropout, fc  1×1         1024 → classes
=====================  ==========  ==================================================

``googlenet`` is torchvision's model (same module and parameter names, so its
ImageNet state_dict loads with ``strict=True``), which follows the TensorFlow port
rather than the paper in four places:

* **the "5×5" branch uses a 3×3 convolution** — a known bug of the port, kept
  because the pretrained weights depend on it (pytorch/vision#906, #1927).
  ``five_by_five=True`` builds the paper's 5×5 instead (new shapes: the weights no
  longer load; 7,005,832 parameters without aux);
* every convolution is conv (no bias) + BatchNorm (eps 0.001) + ReLU; GoogLeNet
  predates BatchNorm, and the stem's local response normalization is dropped;
* max-pools use ``ceil_mode=True`` (Caffe's rounding) and the pool after 4e is 2×2/2;
* the auxiliary heads pool adaptively to 4×4 (the paper: 5×5/3 average pool).

Parameters for 1000 classes: **6,624,904** with ``aux_logits=False`` (our registry
default, and the count torchvision publishes for its weights, whose aux heads are
dropped after loading) and **13,004,888** with ``aux_logits=True``, which is what
``torchvision.models.googlenet(weights=None)`` builds by default. Like torchvision,
the model returns plain logits in eval mode; in train mode with aux heads it returns
``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``. The smallest input is 15×15.

d2l's GoogLeNet for 96×96 Fashion-MNIST (plain conv + ReLU, a true 5×5 branch, no
aux heads) is the GoogLeNet chapter's ``googlenet_fmnist`` (:mod:`cnnlab.chapters.googlenet`).
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.models.registry import register

__all__ = ["INCEPTION_CFG", "BasicConv2d", "Inception", "InceptionAux", "GoogLeNet",
           "GoogLeNetOutputs", "googlenet"]

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])

# The paper's Table 1, one row per Inception block:
# (#1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj). A block outputs
# #1×1 + #3×3 + #5×5 + pool proj channels, which is the next block's input.
INCEPTION_CFG: dict[str, tuple[int, int, int, int, int, int]] = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def inception_out(name: str) -> int:
    """Output channels of Inception block ``name`` ("4d" → 112+288+64+64 = 528)."""
    c1, _, c3, _, c5, pool = INCEPTION_CFG[name]
    return c1 + c3 + c5 + pool


class BasicConv2d(nn.Module):
    """torchvision's conv unit: convolution without bias, BatchNorm (eps 0.001), ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    """Four parallel branches concatenated along channels; height and width unchanged.

    Args:
        in_channels: input channels.
        ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj: a row of Table 1.
        five_by_five: use a 5×5 kernel in branch 3 as in the paper. torchvision
            uses 3×3 there (pytorch/vision#906); keep False to load its weights.
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
                 ch5x5: int, pool_proj: int, five_by_five: bool = False) -> None:
        super().__init__()
        conv_block = BasicConv2d
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            conv_block(in_channels, ch3x3red, kernel_size=1),  # reduce channels first: cheaper 3×3
            conv_block(ch3x3red, ch3x3, kernel_size=3, padding=1))
        k = 5 if five_by_five else 3  # torchvision's "5×5" is 3×3: a known bug, kept for its weights
        self.branch3 = nn.Sequential(
            conv_block(in_channels, ch5x5red, kernel_size=1),
            conv_block(ch5x5red, ch5x5, kernel_size=k, padding=k // 2))
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            conv_block(in_channels, pool_proj, kernel_size=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier on an intermediate map (training only): pool, 1×1 conv, 2 fc."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7) -> None:
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(x, (4, 4))  # 14×14 → 4×4 (paper: 5×5 avg pool, stride 3)
        x = torch.flatten(self.conv(x), 1)
        x = self.dropout(F.relu(self.fc1(x), inplace=True))
        return self.fc2(x)


class GoogLeNet(nn.Module):
    """torchvision's GoogLeNet; see the module docstring for its differences from the paper.

    Args:
        num_classes: output classes.
        in_channels: input channels (3 for ImageNet weights).
        aux_logits: build the two auxiliary classifiers (used in training only).
        transform_input: re-normalize ImageNet-normalized inputs to [-1, 1]-style
            inputs, as torchvision's pretrained weights expect (3 channels only).
        dropout: dropout before the final fc layer.
        dropout_aux: dropout inside the auxiliary classifiers.
        five_by_five: the paper's 5×5 kernels in branch 3 (breaks weight loading).
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False,
                 transform_input: bool = False, dropout: float = 0.2, dropout_aux: float = 0.7,
                 five_by_five: bool = False) -> None:
        super().__init__()
        if transform_input and in_channels != 3:
            raise ValueError("transform_input re-normalizes RGB inputs; it needs in_channels=3")
        self.aux_logits = aux_logits
        self.transform_input = transform_input

        self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        # inception3a ... inception5b from the table; each block's input is the
        # previous block's output (192 from the stem for 3a).
        channels = 192
        for name, row in INCEPTION_CFG.items():
            self.add_module(f"inception{name}", Inception(channels, *row, five_by_five=five_by_five))
            channels = inception_out(name)
            if name == "3b":
                self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            elif name == "4e":
                self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)  # paper: 3×3/2

        if aux_logits:
            self.aux1 = InceptionAux(inception_out("4a"), num_classes, dropout=dropout_aux)
            self.aux2 = InceptionAux(inception_out("4d"), num_classes, dropout=dropout_aux)
        else:
            self.aux1 = None
            self.aux2 = None

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(channels, num_classes)

        # torchvision's initialization: truncated normal, std 0.01.
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _transform_input(self, x: torch.Tensor) -> torch.Tensor:
        # From ImageNet mean/std normalization to the (x - 0.5) / 0.5 the port was trained on.
        mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
        return torch.cat([x[:, c:c + 1] * (std[c] / 0.5) + (mean[c] - 0.5) / 0.5 for c in range(3)], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor | GoogLeNetOutputs:
        if self.transform_input:
            x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))                 # 224 → 112 → 56
        x = self.maxpool2(self.conv3(self.conv2(x)))     # 56 → 28
        x = self.maxpool3(self.inception3b(self.inception3a(x)))  # 28 → 14
        x = self.inception4a(x)
        use_aux = self.training and self.aux1 is not None   # aux heads: training only
        aux1 = self.aux1(x) if use_aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if use_aux else None
        x = self.maxpool4(self.inception4e(x))           # 14 → 7
        x = self.inception5b(self.inception5a(x))
        x = torch.flatten(self.avgpool(x), 1)
        x = self.fc(self.dropout(x))
        if use_aux:
            return GoogLeNetOutputs(x, aux2, aux1)       # torchvision's order: aux2 before aux1
        return x


@register("googlenet", family="googlenet", num_classes=1000, in_channels=3, input_size=224,
          min_size=15, paper="Szegedy et al. 2014, arXiv:1409.4842", torchvision="googlenet",
          description="torchvision's GoogLeNet (BN, 3×3 in the '5×5' branch); aux heads optional")
def googlenet(num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False,
              **kwargs: Any) -> GoogLeNet:
    """torchvision's GoogLeNet; 6,624,904 parameters (13,004,888 with ``aux_logits=True``).

    ``aux_logits`` defaults to False so that training loops get plain logits and the
    parameter names equal those of torchvision's pretrained model. Pass
    ``aux_logits=True`` for torchvision's ``googlenet(weights=None)`` network.

    >>> import torch
    >>> googlenet(num_classes=10).eval()(torch.zeros(1, 3, 64, 64)).shape
    torch.Size([1, 10])
    """
    return GoogLeNet(num_classes, in_channels, aux_logits=aux_logits, **kwargs)
