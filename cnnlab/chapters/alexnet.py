"""AlexNet, as d2l §8.1 builds it for Fashion-MNIST.

Krizhevsky, Sutskever, Hinton, "ImageNet Classification with Deep Convolutional
Neural Networks", NeurIPS 2012 (never posted to arXiv).

AlexNet is LeNet made big: five convolutions with ReLU instead of the sigmoid,
overlapping 3×3/2 max-pooling and two 4096-wide fully connected layers regularised by
dropout, trained on GPUs. Beating hand-engineered features by a wide margin at ILSVRC
2012, it started the deep-learning era of computer vision.

=======================  ==========  ========
stage (input 1×224×224)  output      channels
=======================  ==========  ========
11×11/4 conv, ReLU       54×54       96
3×3/2 max pool           26×26       96
5×5 conv, ReLU           26×26       256
3×3/2 max pool           12×12       256
3×3 conv ×3, ReLU        12×12       384, 384, 256
3×3/2 max pool           5×5         256
adaptive avg pool        5×5         256
fc, fc (dropout 0.5)     4096, 4096  —
fc                       classes     —
=======================  ==========  ========

``alexnet_fmnist`` is d2l's network (the paper's single-tower widths 96-256-384-384-256,
1 input channel, dropout after the ReLUs): 46,764,746 parameters for 10 classes. The
adaptive average pool before the classifier is ours: the identity at d2l's 224×224
inputs, it lets smaller images through. The smallest input is 65×65: the third
3×3/2 max pool needs a 3×3 map, which needs 65 pixels (64 gives 2×2).
torchvision's ImageNet AlexNet is :mod:`cnnlab.models.alexnet`.

AlexNet is the first network of the course trained at scale; its notebook shows the
training loop, :func:`cnnlab.train.fit`, with ``show_source``.
"""

from __future__ import annotations

from torch import nn

from cnnlab.chapters._common import init_cnn
from cnnlab.models.registry import register
from cnnlab.profiles import Profile, d2l_recipe

__all__ = ["alexnet_fmnist", "with_activation", "PROFILES", "EXPERIMENT"]

# d2l's printed result for this network (PyTorch edition, release 0.17.5, section
# "Deep Convolutional Neural Networks (AlexNet)"): one unseeded GPU run, SGD, full test set.
D2L_PUBLISHED = dict(test_acc=0.882, resize=224, lr=0.01, batch_size=128, epochs=10,
                     source='d2l 0.17.5 (PyTorch), "Deep Convolutional Neural Networks (AlexNet)"')

BENCHMARK_INPUTS = [("alexnet_fmnist", 96, 64)]

# d2l's recipe (plain SGD without momentum, lr 0.01, batch 128, 10 epochs, 224×224), and
# the same network on a CPU: 68×68 images (the smallest comfortable size above the
# 65-pixel minimum), 300 training images per class, Adam with a one-cycle schedule for
# 3 epochs. Most of AlexNet's 46.8M parameters sit in its fully connected layers, so a
# step costs about as much at 68 px as the convolutions do: the subset is what keeps
# the run short.
FULL = d2l_recipe("alexnet_fmnist", D2L_PUBLISHED)
PROFILES = {
    "full": FULL,
    "quick": Profile(model="alexnet_fmnist", epochs=3, batch_size=64, lr=1e-3,
                     optimizer="adam", schedule="onecycle", resize=68, train_per_class=300,
                     test_per_class=100,
                     source="ours: d2l's network at 68×68 on a subset, Adam + one-cycle"),
}

# The chapter's experiment (ReLU against the sigmoid): a budget smaller than the quick
# profile's, the same for both networks and for every profile, so the comparison costs
# under a minute of CPU time.
EXPERIMENT = dict(resize=68, train_per_class=100, test_per_class=50, batch_size=64,
                  epochs=3, lr=1e-3, optimizer="adam")


@register("alexnet_fmnist", family="alexnet", num_classes=10, in_channels=1, input_size=224,
          min_size=65, paper="Krizhevsky et al. 2012 (NeurIPS); d2l §8.1",
          description="d2l's AlexNet for Fashion-MNIST (96-256-384-384-256), adaptive pool, ≥65 px")
def alexnet_fmnist(num_classes: int = 10, in_channels: int = 1,
                   dropout: float = 0.5) -> nn.Sequential:
    """d2l §8.1's AlexNet: 46,764,746 parameters for 10 classes.

    >>> import torch
    >>> alexnet_fmnist()(torch.zeros(2, 1, 96, 96)).shape
    torch.Size([2, 10])
    """
    net = nn.Sequential(
        # A large 11×11 window with stride 4 captures objects in the large image.
        nn.Conv2d(in_channels, 96, kernel_size=11, stride=4, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),   # "overlapping pooling": window 3 > stride 2
        nn.Conv2d(96, 256, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        # Three 3×3 convolutions; more output channels than LeNet by far.
        nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.AdaptiveAvgPool2d((5, 5)),            # identity at 224 px; lets smaller images in
        nn.Flatten(),
        # Dropout after each hidden fully connected layer fights overfitting.
        nn.Linear(256 * 5 * 5, 4096), nn.ReLU(), nn.Dropout(p=dropout),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(p=dropout),
        nn.Linear(4096, num_classes),
    )
    net.apply(init_cnn)  # d2l initializes its CNNs with Xavier-uniform weights
    return net


def with_activation(net: nn.Module, activation: type[nn.Module] = nn.Sigmoid) -> nn.Module:
    """Replace every :class:`~torch.nn.ReLU` of ``net`` by ``activation()``, in place.

    Nothing else changes: the weights (already initialised) stay the same, so a ReLU
    network and its sigmoid copy start from identical parameters and differ only in
    their nonlinearity. Returns ``net``.

    >>> import torch
    >>> from cnnlab import models
    >>> net = with_activation(models.create("alexnet_fmnist", seed=0))
    >>> kinds = [type(m) for m in net.modules()]
    >>> kinds.count(nn.Sigmoid), kinds.count(nn.ReLU)
    (7, 0)
    """
    for name, child in net.named_children():
        if isinstance(child, nn.ReLU):
            setattr(net, name, activation())
        else:
            with_activation(child, activation)
    return net
