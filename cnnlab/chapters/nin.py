"""NiN: Network in Network, as d2l §8.3 builds it.

Lin, Chen, Yan, "Network In Network", ICLR 2014, arXiv:1312.4400.

After each ordinary convolution, NiN applies two 1×1 convolutions: a small
fully connected network ("mlpconv") run at every pixel, adding nonlinearity
without touching the spatial layout. The last block outputs one channel per class
and global average pooling turns each channel into a score, so NiN has no fully
connected layers at all (and about 2M parameters against AlexNet's 61M).

========================  ==========  ========
stage (input 1×224×224)   output      channels
========================  ==========  ========
nin_block 11×11/4         54×54       96
3×3/2 max pool            26×26       96
nin_block 5×5             26×26       256
3×3/2 max pool            12×12       256
nin_block 3×3             12×12       384
3×3/2 max pool            5×5         384
dropout 0.5               5×5         384
nin_block 3×3             5×5         classes
global avg pool, flatten  —           classes
========================  ==========  ========

This is d2l's ImageNet-style configuration (AlexNet's kernel sizes and strides,
no padding in the first layer). With 10 classes and 1 channel it has 1,992,166
parameters; with 3 channels and 1000 classes 7,439,608 (the last block's two
1000×1000 1×1 convolutions alone hold 2M each).
The smallest input is 67×67: the third max-pool needs a 3×3 map.
Note that every nin_block ends in a ReLU, the last one included, so the class
scores are non-negative before pooling (as in d2l and the paper's Caffe model).
"""

from __future__ import annotations

from torch import nn

from cnnlab.chapters._common import init_cnn
from cnnlab.models.registry import register

__all__ = ["nin_block", "nin"]

# d2l's printed result for this network (PyTorch edition, release 0.17.5, section
# "Network in Network (NiN)"): one unseeded GPU run, SGD, full test set;
# one published run diverged.
D2L_PUBLISHED = dict(test_acc=0.785, resize=224, lr=0.1, batch_size=128, epochs=10,
                     source='d2l 0.17.5 (PyTorch), "Network in Network (NiN)"')

BENCHMARK_INPUTS = [("nin", 96, 64)]


def nin_block(in_channels: int, out_channels: int, kernel_size: int, stride: int,
              padding: int) -> nn.Sequential:
    """A k×k convolution followed by two 1×1 convolutions, ReLU after each.

    The 1×1 convolutions act as a two-layer perceptron applied to each pixel's
    channel vector.

    >>> import torch
    >>> nin_block(3, 8, 3, 1, 1)(torch.zeros(1, 3, 5, 5)).shape
    torch.Size([1, 8, 5, 5])
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
    )


@register("nin", family="nin", num_classes=10, in_channels=1, input_size=224, min_size=67,
          paper="Lin, Chen, Yan 2013, arXiv:1312.4400; d2l §8.3",
          description="Network in Network as in d2l: mlpconv blocks, global average pooling, no fc")
def nin(num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5) -> nn.Sequential:
    """d2l's NiN; works for any channel/class count (e.g. 3 channels, 1000 classes).

    >>> import torch
    >>> nin(num_classes=1000, in_channels=3)(torch.zeros(1, 3, 224, 224)).shape
    torch.Size([1, 1000])
    """
    net = nn.Sequential(
        nin_block(in_channels, 96, kernel_size=11, stride=4, padding=0),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nin_block(96, 256, kernel_size=5, stride=1, padding=2),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nin_block(256, 384, kernel_size=3, stride=1, padding=1),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Dropout(dropout),
        # The classifier is a NiN block with one output channel per class ...
        nin_block(384, num_classes, kernel_size=3, stride=1, padding=1),
        # ... whose maps are averaged into scores: no fully connected layer.
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
    )
    net.apply(init_cnn)  # d2l's Xavier-uniform initialization
    return net
