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

import torch
from torch import nn

from cnnlab.chapters._common import experiment_data, init_cnn, scores, train_over_seeds
from cnnlab.models.registry import register
from cnnlab.recipe import d2l_recipe, Profile, reference_recipe
from cnnlab.stats import verdict

__all__ = ["nin_block", "nin", "nin_with_fc_head", "small_nin", "head_variants", "HEADS",
           "head_experiment", "head_verdict", "experiment_at_scale", "PROFILES", "EXPERIMENT",
           "AT_SCALE", "LRS", "SEEDS", "D2L_PUBLISHED", "BENCHMARK_INPUTS"]

# d2l's printed result for this network (PyTorch edition, release 0.17.5, section
# "Network in Network (NiN)"): one unseeded GPU run, SGD, full test set;
# one published run diverged.
D2L_PUBLISHED = dict(test_acc=0.785, resize=224, lr=0.1, batch_size=128, epochs=10,
                     source='d2l 0.17.5 (PyTorch), "Network in Network (NiN)"')

BENCHMARK_INPUTS = [("nin", 96, 64)]

# d2l's recipe: plain SGD (no momentum), lr 0.1, batch 128, 10 epochs, 224×224. NiN is
# sensitive to the learning rate: it has no batch norm, and every block, the class
# scores included, ends in a ReLU, so a step that is too large can silence the
# ReLUs of the last block, after which the scores are all zero and the loss is stuck
# at ln 10 (one published d2l run diverged this way). The quick profile uses Adam with
# a one-cycle schedule, which warms the rate up from a small value, at the smallest
# input the network accepts comfortably (the third max-pool needs a 3×3 map: 67 px),
# on a subset. At 67 px the last map is 1×1: the chapter's head experiment, at 28 px
# with 7×7 maps, is where global average pooling is seen at work.
FULL = d2l_recipe("nin", D2L_PUBLISHED)
PROFILES = {
    "full": FULL,
    "reference": reference_recipe("nin", 112, 2, dict(ratio=2), "half of d2l's widths"),
    "quick": Profile(model="nin", epochs=3, batch_size=32, lr=1e-3, optimizer="adam",
                     schedule="onecycle", resize=67, train_per_class=200, test_per_class=100,
                     source="ours: d2l's network at 67×67 (last map 1×1) on a subset, "
                            "Adam + one-cycle"),
}

# The chapter's experiment (global-average-pooling head against a fully connected head)
# trains two small NiNs (:func:`small_nin`, batch-normalized, dropout before the head) on
# 28×28 images, where the last map is 7×7, with the same budget and the same tuning effort
# for both heads and every profile: a sweep over LRS on SWEEP_SEED picks each head's
# rate, then each head trains at its rate over SEEDS. Each run is scored at the end on
# ``score_per_class`` × 10 test images.
EXPERIMENT = dict(resize=None, train_per_class=100, test_per_class=10, score_per_class=500,
                  batch_size=32, epochs=3, optimizer="adam", schedule="onecycle")
# At scale (``cnnlab record nin --experiment``, shipped in cnnlab/recorded/experiments/):
# the same experiment, sweep included, on ten times the images for four epochs, scored
# on all 10,000 test images: more than a page's two CPU minutes (the record took 12
# minutes on one CPU thread).
AT_SCALE = dict(train_per_class=1000, epochs=4, score_per_class=1000)
LRS = (1e-3, 4e-3)
SWEEP_SEED = 100
SEEDS = (0, 1, 2)


def nin_block(in_channels: int, out_channels: int, kernel_size: int, stride: int,
              padding: int, bn: bool = False) -> nn.Sequential:
    """A k×k convolution followed by two 1×1 convolutions, ReLU after each.

    The 1×1 convolutions act as a two-layer perceptron applied to each pixel's
    channel vector. ``bn=True`` puts batch normalization between each convolution and
    its ReLU (a later, modern remedy for NiN's sensitivity to the learning rate; not
    the paper's).

    >>> import torch
    >>> nin_block(3, 8, 3, 1, 1)(torch.zeros(1, 3, 5, 5)).shape
    torch.Size([1, 8, 5, 5])
    """
    def norm():
        return [nn.BatchNorm2d(out_channels)] if bn else []
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding), *norm(), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), *norm(), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), *norm(), nn.ReLU(),
    )


@register("nin", family="nin", num_classes=10, in_channels=1, input_size=224, min_size=67,
          paper="Lin, Chen, Yan 2013, arXiv:1312.4400; d2l §8.3",
          description="Network in Network as in d2l: mlpconv blocks, global average pooling, no fc")
def nin(num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5,
        ratio: int = 1) -> nn.Sequential:
    """d2l's NiN; works for any channel/class count (e.g. 3 channels, 1000 classes).

    ``ratio`` divides every block's width (96, 256, 384), as d2l's ``ratio`` does for
    VGG: the reference profile trains ``ratio=2`` so 60,000 images fit a CPU budget.

    >>> import torch
    >>> nin(num_classes=1000, in_channels=3)(torch.zeros(1, 3, 224, 224)).shape
    torch.Size([1, 1000])
    """
    c1, c2, c3 = (96 // ratio, 256 // ratio, 384 // ratio)
    net = nn.Sequential(
        nin_block(in_channels, c1, kernel_size=11, stride=4, padding=0),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nin_block(c1, c2, kernel_size=5, stride=1, padding=2),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nin_block(c2, c3, kernel_size=3, stride=1, padding=1),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Dropout(dropout),
        # The classifier is a NiN block with one output channel per class ...
        nin_block(c3, num_classes, kernel_size=3, stride=1, padding=1),
        # ... whose maps are averaged into scores: no fully connected layer.
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
    )
    net.apply(init_cnn)  # d2l's Xavier-uniform initialization
    return net


def nin_with_fc_head(num_classes: int = 10, in_channels: int = 1, input_size: int = 224,
                     hidden: int = 4096, dropout: float = 0.5) -> nn.Sequential:
    """d2l's NiN with an AlexNet-style fully connected classifier instead of its own head.

    The first three NiN blocks (and their pools and dropout) are :func:`nin`'s; the
    last NiN block and the global average pooling are replaced by
    ``Flatten → Linear(384·s·s, hidden) → ReLU → Dropout → Linear(hidden, hidden) →
    ReLU → Dropout → Linear(hidden, num_classes)``, where s×s is the map the third
    pool leaves at ``input_size`` (5×5 at 224 px). Only for counting what a fully
    connected head costs: it is not registered.

    >>> net = nin_with_fc_head(input_size=224)
    >>> net(torch.zeros(1, 1, 224, 224)).shape
    torch.Size([1, 10])
    """
    body = nin(num_classes, in_channels)[:7]  # up to the dropout before the last block
    with torch.no_grad():
        features = body.eval()(torch.zeros(1, in_channels, input_size, input_size)).numel()
    head = nn.Sequential(
        nn.Flatten(),
        nn.Linear(features, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, num_classes))
    head.apply(init_cnn)
    return nn.Sequential(*body, *head).train()


def small_nin(head: str = "gap", num_classes: int = 10, in_channels: int = 1,
              hidden: int = 256, widths: tuple[int, int] = (32, 64), bn: bool = True,
              dropout: float = 0.5) -> nn.Sequential:
    """A two-block NiN for 28×28 images with one of two classifiers (the experiment's).

    The body is ``nin_block(·, widths[0], 5×5)``, 2×2 max pool, ``nin_block(·,
    widths[1], 3×3)``, 2×2 max pool: ``widths[1]`` maps of 7×7 (so global average
    pooling averages 49 positions, not one), then dropout, as the NiN paper trains its
    head. ``head="gap"`` ends as the paper's CIFAR-10 NiN does, in an mlpconv layer (3×3
    and 1×1 at ``widths[1]``, then 1×1 to one linear map per class) and global average
    pooling; ``head="fc"`` flattens the maps into a fully connected
    layer of ``hidden`` units (ReLU, dropout) and a linear classifier, as AlexNet and
    VGG do. ``bn=True`` (the default) normalizes every convolution of both (see
    :func:`nin_block`).

    >>> small_nin("gap")(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    >>> small_nin("fc")(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """
    c1, c2 = widths
    body = nn.Sequential(nin_block(in_channels, c1, kernel_size=5, stride=1, padding=2, bn=bn),
                         nn.MaxPool2d(2),
                         nin_block(c1, c2, kernel_size=3, stride=1, padding=1, bn=bn),
                         nn.MaxPool2d(2))
    body.apply(init_cnn)  # first, so that both heads get the same body for the same seed
    if head == "gap":
        # The paper's last mlpconv (its CIFAR-10 NiN: 3×3, then 1×1 at the same width,
        # then 1×1 to one map per class): the perceptron is as wide as the body, and
        # only its last layer narrows to the classes. Its class maps stay linear, so a
        # score can be negative, as a fully connected layer's can.
        norm = (lambda: [nn.BatchNorm2d(c2)]) if bn else (lambda: [])
        classifier = [nn.Dropout(dropout),
                      nn.Conv2d(c2, c2, kernel_size=3, padding=1), *norm(), nn.ReLU(),
                      nn.Conv2d(c2, c2, kernel_size=1), *norm(), nn.ReLU(),
                      nn.Conv2d(c2, num_classes, kernel_size=1),
                      nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten()]
    elif head == "fc":
        classifier = [nn.Dropout(dropout), nn.Flatten(), nn.Linear(c2 * 7 * 7, hidden), nn.ReLU(),
                      nn.Dropout(dropout), nn.Linear(hidden, num_classes)]
    else:
        raise ValueError(f"head must be 'gap' or 'fc', not {head!r}")
    classifier = nn.Sequential(*classifier).apply(init_cnn)
    return nn.Sequential(*body, *classifier)


HEADS = {"1×1 conv + GAP head": "gap", "fully connected head": "fc"}


def head_variants(seed: int = 0, **kwargs) -> dict[str, nn.Module]:
    """The experiment's two networks, :func:`small_nin` with each head, labelled.

    Both are built after ``torch.manual_seed(seed)``, so their bodies start from the
    same weights and only the head differs.

    >>> {k: type(v).__name__ for k, v in head_variants().items()}
    {'1×1 conv + GAP head': 'Sequential', 'fully connected head': 'Sequential'}
    """
    nets = {}
    for label, head in HEADS.items():
        torch.manual_seed(seed)
        nets[label] = small_nin(head, **kwargs)
    return nets


def head_experiment(profile: Profile, seeds=SEEDS, lrs=LRS, **overrides) -> dict:
    """The head experiment, with equal tuning effort for both heads.

    1. **Sweep**: each head trains once per learning rate of ``lrs`` (seed
       ``SWEEP_SEED``, which is not one of ``seeds``); the rate with the higher score
       is that head's.
    2. **Seeds**: each head trains at its own rate once per seed of ``seeds``, from the
       same initial body as the other head (:func:`head_variants`).

    Returns ``{"sweep": {head: {lr: history}}, "lr": {head: lr}, "runs": {head:
    [history per seed]}}``; every history carries its ``score`` on ``score_per_class``
    × 10 test images.
    """
    setup = {**EXPERIMENT, **overrides}
    data, score, fit = experiment_data(profile, setup)
    fit.pop("lr", None)

    def build(label):
        return lambda seed: head_variants(seed)[label]
    sweep = {}
    for label in HEADS:
        arms = {lr: (build(label), dict(lr=lr)) for lr in lrs}
        sweep[label] = {lr: runs[0] for lr, runs in
                        train_over_seeds(arms, data, [SWEEP_SEED], score_data=score, **fit).items()}
    chosen = {label: max(by_lr, key=lambda lr: by_lr[lr].score) for label, by_lr in sweep.items()}
    runs = train_over_seeds({label: (build(label), dict(lr=chosen[label])) for label in HEADS},
                            data, seeds, score_data=score, **fit)
    return dict(sweep=sweep, lr=chosen, runs=runs)


def head_verdict(accuracies: dict):
    """The verdict on NiN's claim, from ``{head label: [accuracy per seed]}``: global
    average pooling is "a structural regularizer" that generalizes better than fully
    connected layers (Lin et al. 2013, §3.2 and §4.6; Table 5, CIFAR-10 test error:
    GAP 10.41%, fully connected with dropout 10.88%), so GAP − FC is expected positive.

    >>> head_verdict({"1×1 conv + GAP head": [0.84, 0.85, 0.86],
    ...               "fully connected head": [0.81, 0.80, 0.82]}).word
    'agrees'
    """
    gap, fc = HEADS
    return verdict(accuracies[fc], accuracies[gap], expect="higher")


def experiment_at_scale(profile: Profile, **settings) -> dict:
    """The head experiment with ``settings`` (:data:`AT_SCALE` when ``cnnlab record nin
    --experiment`` runs it): ``{"scores": {head: [score per seed]}, "lr": {head: the
    rate its sweep chose}, "device": ...}``, for :func:`cnnlab.record.record_experiment`."""
    found = head_experiment(profile, **settings)
    first = next(iter(found["runs"].values()))[0]
    return {"scores": scores(found["runs"]), "lr": found["lr"], "device": first[-1].device}
