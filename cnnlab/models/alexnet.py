"""AlexNet: torchvision's ImageNet network.

Krizhevsky, Sutskever, Hinton, "ImageNet Classification with Deep Convolutional
Neural Networks", NeurIPS 2012 (never posted to arXiv). torchvision's layout is the
single-tower variant of Krizhevsky, "One weird trick for parallelizing convolutional
neural networks", 2014, arXiv:1404.5997.

AlexNet is LeNet made big: five convolutions (11×11 stride 4, then 5×5, then three
3×3) with ReLU, overlapping 3×3/2 max-pooling and two 4096-wide dropout layers,
trained on GPUs. That it beat hand-engineered features by a wide margin at ILSVRC
2012 started the deep-learning era of computer vision.

==============================  ==========  ============
stage (input 3×224×224)         output      channels
==============================  ==========  ============
11×11/4 conv, 3×3/2 max pool    55², 27²    64
5×5 conv, 3×3/2 max pool        27², 13²    192
3×3 conv ×3                     13²         384,256,256
3×3/2 max pool                  6²          256
adaptive avg pool               6²          256
fc, fc, fc (dropout 0.5)        4096, 4096, classes
==============================  ==========  ============

``alexnet`` is torchvision's network layer for layer (same parameter names, so its
ImageNet weights load): 61,100,840 parameters. The 2012 paper's single-tower widths
are 96-256-384-384-256, which is what d2l uses: that network, for Fashion-MNIST, is
the AlexNet chapter's ``alexnet_fmnist`` (:mod:`cnnlab.chapters.alexnet`).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from cnnlab.models.registry import register

__all__ = ["AlexNet", "make_features", "TORCHVISION_CONVS", "alexnet"]

# One row per convolution: (out_channels, kernel_size, stride, padding, max-pool after).
ConvSpec = tuple[int, int, int, int, bool]

TORCHVISION_CONVS: list[ConvSpec] = [
    (64, 11, 4, 2, True),
    (192, 5, 1, 2, True),
    (384, 3, 1, 1, False),
    (256, 3, 1, 1, False),
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
        pool_size: side of the adaptive average pool's output (the identity at 224×224).
        dropout: dropout probability on the inputs of the first two linear layers.
    """

    def __init__(self, convs: Sequence[ConvSpec] = TORCHVISION_CONVS, num_classes: int = 1000,
                 in_channels: int = 3, pool_size: int = 6, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = make_features(convs, in_channels)
        # Adaptive pooling fixes the classifier's input size whatever the image size.
        self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        flat = convs[-1][0] * pool_size * pool_size
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(flat, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes))

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
