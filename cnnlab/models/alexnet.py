"""AlexNet: torchvision's ImageNet network and d2l's Fashion-MNIST version.

Krizhevsky, Sutskever, Hinton, "ImageNet Classification with Deep Convolutional
Neural Networks", NeurIPS 2012 (never posted to arXiv). torchvision's layout is the
single-tower variant of Krizhevsky, "One weird trick for parallelizing convolutional
neural networks", 2014, arXiv:1404.5997.

AlexNet is LeNet made big: five convolutions (11×11 stride 4, then 5×5, then three
3×3) with ReLU, overlapping 3×3/2 max-pooling and two 4096-wide dropout layers,
trained on GPUs. That it beat hand-engineered features by a wide margin at ILSVRC
2012 started the deep-learning era of computer vision.

The two configurations differ in channel widths and the first padding:

=============================  =================  ============  ================  ============
stage                          torchvision 224²   channels      d2l 1×224²        channels
=============================  =================  ============  ================  ============
11×11/4 conv, 3×3/2 max        55², 27²           64            54², 26²          96
5×5 conv, 3×3/2 max            27², 13²           192           26², 12²          256
3×3 conv ×3                    13²                384,256,256   12²               384,384,256
3×3/2 max                      6²                 256           5²                256
adaptive avg pool              6²                 256           5²                256
fc, fc, fc (dropout 0.5)       4096, 4096, cls    —             4096, 4096, cls   —
=============================  =================  ============  ================  ============

``alexnet`` is torchvision's network layer for layer (same parameter names, so its
ImageNet weights load): 61,100,840 parameters. The 2012 paper's single-tower widths
are 96-256-384-384-256, which is what d2l uses. ``alexnet_fmnist`` is d2l §8.1's
network (1 input channel, dropout after the ReLUs, 46,764,746 parameters for 10
classes) plus an adaptive average pool before the classifier, which is the identity
at d2l's 224×224 inputs and lets smaller images through. Its smallest input is
65×65: the third 3×3/2 max-pool needs a 3×3 map, which needs 65 pixels (64 gives 2×2).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from cnnlab.models.lenet import init_cnn
from cnnlab.models.registry import register

__all__ = ["AlexNet", "make_features", "TORCHVISION_CONVS", "D2L_CONVS", "alexnet",
           "alexnet_fmnist"]

# One row per convolution: (out_channels, kernel_size, stride, padding, max-pool after).
ConvSpec = tuple[int, int, int, int, bool]

TORCHVISION_CONVS: list[ConvSpec] = [
    (64, 11, 4, 2, True),
    (192, 5, 1, 2, True),
    (384, 3, 1, 1, False),
    (256, 3, 1, 1, False),
    (256, 3, 1, 1, True),
]

D2L_CONVS: list[ConvSpec] = [
    (96, 11, 4, 1, True),
    (256, 5, 1, 2, True),
    (384, 3, 1, 1, False),
    (384, 3, 1, 1, False),
    (256, 3, 1, 1, True),
]


def make_features(convs: Sequence[ConvSpec], in_channels: int = 3) -> nn.Sequential:
    """Conv-ReLU layers with a 3×3/2 max-pool where the row asks for one.

    The layer indices come out as torchvision's (features.0 is the first conv,
    features.3 the second, ...), so torchvision's state_dict keys fit.
    """
    layers: list[nn.Module] = []
    for out_channels, kernel_size, stride, padding, pool in convs:
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding),
                   nn.ReLU(inplace=True)]
        if pool:
            # "Overlapping pooling" (paper §3.4): window 3 > stride 2.
            layers.append(nn.MaxPool2d(kernel_size=3, stride=2))
        in_channels = out_channels
    return nn.Sequential(*layers)


class AlexNet(nn.Module):
    """``features`` → ``avgpool`` → flatten → ``classifier`` (torchvision's attribute names).

    Args:
        convs: the convolution table, e.g. :data:`TORCHVISION_CONVS`.
        num_classes: output classes.
        in_channels: input channels.
        pool_size: side of the adaptive average pool's output (6 for torchvision,
            5 for d2l; both are the identity at 224×224).
        dropout: dropout probability in the classifier.
        dropout_first: torchvision drops the *inputs* of the first two linear layers
            (Dropout, Linear, ReLU, ...); d2l drops their *outputs* (Linear, ReLU,
            Dropout, ...). Same parameters, different regularization in training.
    """

    def __init__(self, convs: Sequence[ConvSpec] = TORCHVISION_CONVS, num_classes: int = 1000,
                 in_channels: int = 3, pool_size: int = 6, dropout: float = 0.5,
                 dropout_first: bool = True) -> None:
        super().__init__()
        self.features = make_features(convs, in_channels)
        # Adaptive pooling fixes the classifier's input size whatever the image size.
        self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        flat = convs[-1][0] * pool_size * pool_size
        if dropout_first:
            head = [nn.Dropout(p=dropout), nn.Linear(flat, 4096), nn.ReLU(inplace=True),
                    nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True)]
        else:
            head = [nn.Linear(flat, 4096), nn.ReLU(inplace=True), nn.Dropout(p=dropout),
                    nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(p=dropout)]
        self.classifier = nn.Sequential(*head, nn.Linear(4096, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


@register("alexnet", family="alexnet", num_classes=1000, in_channels=3, input_size=224,
          min_size=63, paper="Krizhevsky et al. 2012 (NeurIPS); Krizhevsky 2014, arXiv:1404.5997",
          torchvision="alexnet",
          description="torchvision's AlexNet (64-192-384-256-256 convs), ImageNet weights load")
def alexnet(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> AlexNet:
    """torchvision's ``alexnet(weights=None)``: 61,100,840 parameters for 1000 classes.

    >>> import torch
    >>> alexnet()(torch.zeros(1, 3, 224, 224)).shape
    torch.Size([1, 1000])
    """
    # PyTorch's default initialization, as torchvision (it has no custom init here).
    return AlexNet(TORCHVISION_CONVS, num_classes, in_channels, pool_size=6, dropout=dropout)


@register("alexnet_fmnist", family="alexnet", num_classes=10, in_channels=1, input_size=224,
          min_size=65, paper="Krizhevsky et al. 2012 (NeurIPS); d2l §8.1",
          description="d2l's AlexNet for Fashion-MNIST (96-256-384-384-256), adaptive pool, ≥65 px")
def alexnet_fmnist(num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5) -> AlexNet:
    """d2l §8.1's AlexNet: 46,764,746 parameters for 10 classes.

    >>> import torch
    >>> alexnet_fmnist()(torch.zeros(2, 1, 96, 96)).shape
    torch.Size([2, 10])
    """
    net = AlexNet(D2L_CONVS, num_classes, in_channels, pool_size=5, dropout=dropout,
                  dropout_first=False)
    net.apply(init_cnn)  # d2l initializes its CNNs with Xavier-uniform weights
    return net
