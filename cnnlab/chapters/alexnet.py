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

from cnnlab import models
from cnnlab.chapters._common import experiment_data, init_cnn, train_over_seeds
from cnnlab.models.registry import register
from cnnlab.recipe import d2l_recipe, Profile, reference_recipe
from cnnlab.stats import verdict

__all__ = ["alexnet_fmnist", "with_activation", "last_map_side", "PROFILES", "EXPERIMENT",
           "SEEDS", "activation_experiment", "activation_verdict", "D2L_PUBLISHED", "BENCHMARK_INPUTS"]

# d2l's printed result for this network (PyTorch edition, release 0.17.5, section
# "Deep Convolutional Neural Networks (AlexNet)"): one unseeded GPU run, SGD, full test set.
D2L_PUBLISHED = dict(test_acc=0.882, resize=224, lr=0.01, batch_size=128, epochs=10,
                     source='d2l 0.17.5 (PyTorch), "Deep Convolutional Neural Networks (AlexNet)"')

BENCHMARK_INPUTS = [("alexnet_fmnist", 96, 64)]

# d2l's recipe (plain SGD without momentum, lr 0.01, batch 128, 10 epochs, 224×224), and
# a CPU version. d2l's network at 68×68 px (the smallest comfortable size) cost 375 s of a
# 2-core CPU for this page, and its last map there is 1×1: the adaptive pool copied that
# one pixel 25 times into the 6,400 inputs of the classifier. The quick profile instead
# divides every convolution's channels by 4 (as d2l's VGG does) and the hidden fully
# connected layers to 1,024 units, and trains at 112×112 px, where the last map is 2×2
# and the classifier reads it as it is (``pool=2``): the same layers, strides and
# spatial classifier, a quarter of the width, 2,000 training images, 3 epochs.
FULL = d2l_recipe("alexnet_fmnist", D2L_PUBLISHED)
QUICK_MODEL = dict(ratio=4, hidden=1024, pool=2)
PROFILES = {
    "full": FULL,
    "reference": reference_recipe("alexnet_fmnist", 112, 2, QUICK_MODEL,
                                  "the quick network: a quarter of d2l's widths"),
    "quick": Profile(model="alexnet_fmnist", model_kwargs=QUICK_MODEL, epochs=3, batch_size=64,
                     lr=1e-3, optimizer="adam", schedule="onecycle", resize=112,
                     train_per_class=200, test_per_class=100,
                     source="ours: d2l's network with a quarter of its widths at 112×112 px "
                            "(last map 2×2) on a subset, Adam + one-cycle"),
}

# The chapter's experiment (ReLU against the sigmoid): the quick profile's network and
# size on 500 training images, the same for both activations and every profile, over
# SEEDS; each run is scored at the end on ``score_per_class`` × 10 test images.
EXPERIMENT = dict(resize=112, train_per_class=50, test_per_class=10, score_per_class=100,
                  batch_size=32, epochs=3, lr=1e-3, optimizer="adam")
SEEDS = (0, 1, 2)


def activation_experiment(profile: Profile, seeds=SEEDS, **overrides) -> dict:
    """Train the quick network with ReLU and with the sigmoid (:func:`with_activation`,
    same initial weights per seed) under :data:`EXPERIMENT` over ``seeds``.

    Returns :func:`cnnlab.chapters._common.train_over_seeds`' runs,
    ``{"ReLU": [...], "sigmoid": [...]}``, one history per seed with its ``score``.
    """
    setup = {**EXPERIMENT, **overrides}
    data, score, fit = experiment_data(profile, setup)

    def build(activation):
        return lambda seed: with_activation(
            models.create("alexnet_fmnist", seed=seed, **QUICK_MODEL), activation)
    return train_over_seeds({"ReLU": build(nn.ReLU), "sigmoid": build(nn.Sigmoid)},
                            data, seeds, score_data=score, **fit)


def activation_verdict(accuracies: dict):
    """The verdict on the paper's claim, from ``{"ReLU": [...], "sigmoid": [...]}`` (one
    test accuracy per seed, seeds in the same order): ReLU trains further than the
    sigmoid in the same steps, so ReLU − sigmoid is expected to be positive.

    >>> activation_verdict({"ReLU": [0.70, 0.72, 0.69], "sigmoid": [0.10, 0.10, 0.12]}).word
    'agrees'
    """
    return verdict(accuracies["sigmoid"], accuracies["ReLU"], expect="higher")


@register("alexnet_fmnist", family="alexnet", num_classes=10, in_channels=1, input_size=224,
          min_size=65, paper="Krizhevsky et al. 2012 (NeurIPS); d2l §8.1",
          description="d2l's AlexNet for Fashion-MNIST (96-256-384-384-256), adaptive pool, ≥65 px")
def alexnet_fmnist(num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5,
                   ratio: int = 1, hidden: int = 4096, pool: int = 5) -> nn.Sequential:
    """d2l §8.1's AlexNet: 46,764,746 parameters for 10 classes.

    The defaults are d2l's network. ``ratio`` divides every convolution's channels (as
    d2l's VGG does with its ``ratio=4``), ``hidden`` is the width of the two hidden fully
    connected layers and ``pool`` the side of the map the classifier reads (5: the last
    map at 224×224 px). The quick profile uses ``ratio=4, hidden=1024, pool=2`` at
    112×112 px, where the last map *is* 2×2: the classifier then reads four real
    positions, where d2l's ``pool=5`` at 68 px would copy one 1×1 map 25 times.

    >>> import torch
    >>> alexnet_fmnist()(torch.zeros(2, 1, 96, 96)).shape
    torch.Size([2, 10])
    >>> alexnet_fmnist(ratio=4, hidden=1024, pool=2)(torch.zeros(2, 1, 112, 112)).shape
    torch.Size([2, 10])
    """
    c1, c2, c3, c4, c5 = (c // ratio for c in (96, 256, 384, 384, 256))
    net = nn.Sequential(
        # A large 11×11 window with stride 4 captures objects in the large image.
        nn.Conv2d(in_channels, c1, kernel_size=11, stride=4, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),   # "overlapping pooling": window 3 > stride 2
        nn.Conv2d(c1, c2, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        # Three 3×3 convolutions; more output channels than LeNet by far.
        nn.Conv2d(c2, c3, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(c3, c4, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(c4, c5, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.AdaptiveAvgPool2d((pool, pool)),      # identity at 224 px; lets other sizes in
        nn.Flatten(),
        # Dropout after each hidden fully connected layer fights overfitting.
        nn.Linear(c5 * pool * pool, hidden), nn.ReLU(), nn.Dropout(p=dropout),
        nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(p=dropout),
        nn.Linear(hidden, num_classes),
    )
    net.apply(init_cnn)  # d2l initializes its CNNs with Xavier-uniform weights
    return net


def last_map_side(net: nn.Module, side: int) -> int:
    """The side of the map the last max pool leaves at ``side``×``side`` inputs (before
    the adaptive pool that feeds the classifier): 5 at 224 px, 2 at 112, 1 at 68.

    >>> last_map_side(alexnet_fmnist(), 224), last_map_side(alexnet_fmnist(), 68)
    (5, 1)
    """
    import torch
    cut = next(i for i, m in enumerate(net) if isinstance(m, nn.AdaptiveAvgPool2d))
    with torch.no_grad():
        return int(net[:cut].eval()(torch.zeros(1, net[0].in_channels, side, side)).shape[-1])


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
