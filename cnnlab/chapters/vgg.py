"""VGG: a network built from repeated blocks, as d2l §8.2 builds it for Fashion-MNIST.

Simonyan, Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015, arXiv:1409.1556.

A VGG block is a few 3×3 convolutions (padding 1, ReLU) followed by a 2×2/2 max pool
that halves the map. Two stacked 3×3 convolutions see as far as one 5×5 with fewer
parameters and one more nonlinearity, so depth, not kernel size, became the knob: the
network is five such blocks, channels doubling, and AlexNet's three fc layers.

=====================  =========  ===========================  =====
stage (input 224×224)  output     channels (VGG-11 ÷ ``ratio``)  convs
=====================  =========  ===========================  =====
vgg_block 1            112×112    64 ÷ 4 = 16                  1
vgg_block 2            56×56      128 ÷ 4 = 32                 1
vgg_block 3            28×28      256 ÷ 4 = 64                 2
vgg_block 4            14×14      512 ÷ 4 = 128                2
vgg_block 5            7×7        512 ÷ 4 = 128                2
adaptive avg pool      7×7        128                          —
fc, fc, fc             4096, 4096, classes (ReLU + dropout 0.5 after the first two)
=====================  =========  ===========================  =====

``vgg11_fmnist`` is d2l's narrow VGG-11 (the paper's configuration A with every
channel count divided by 4), one input channel, 10 classes: 43,093,322 parameters,
25.7M of them in the 6272×4096 first fc layer. The adaptive 7×7 average pool is
torchvision's: the identity at 224×224, it lets any input from 32×32 up through (d2l's
plain flatten accepts only 224 to 255 pixels). torchvision's VGG-11 … VGG-19 are
:mod:`cnnlab.models.vgg`.
"""

from __future__ import annotations

from typing import Any, Sequence

from torch import nn

from cnnlab import measure
from cnnlab.chapters._common import (experiment_data, init_cnn, init_kaiming, scores,
                                     train_over_seeds)
from cnnlab.models.registry import register
from cnnlab.recipe import d2l_recipe, Profile, reference_recipe
from cnnlab.seeding import seed_everything
from cnnlab.stats import verdict

__all__ = ["vgg_block", "VGG11_ARCH", "vgg11_fmnist", "PROFILES", "VARIANTS", "EXPERIMENT",
           "EXPERIMENT_MODEL", "SEEDS", "TRAINED", "BENCH_SIDE", "BENCH_BATCH", "conv_layers",
           "variant_costs", "depth_experiment", "depth_verdict", "experiment_at_scale",
           "AT_SCALE", "page_versus_record", "VGG13_ARCH", "D2L_PUBLISHED", "BENCHMARK_INPUTS"]

# d2l's printed result for this network (PyTorch edition, release 0.17.5, section
# "Networks Using Blocks (VGG)"): one unseeded GPU run, SGD, full test set;
# VGG-11 with every width divided by 4.
D2L_PUBLISHED = dict(test_acc=0.922, resize=224, lr=0.05, batch_size=128, epochs=10,
                     source='d2l 0.17.5 (PyTorch), "Networks Using Blocks (VGG)"')

BENCHMARK_INPUTS = [("vgg11_fmnist", 64, 64)]

# The paper's configuration A (VGG-11), one row per block: (number of convs, channels).
VGG11_ARCH: tuple[tuple[int, int], ...] = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))

# d2l's recipe (plain SGD without momentum, lr 0.05, batch 128, 10 epochs, 224×224), and
# a CPU version. d2l's network at 32×32 px cost 298 s of a 2-core CPU for this page, and
# five halvings leave a 1×1 map there, which the adaptive pool copied 49 times into the
# 6,272 inputs of the first fully connected layer. The quick profile trains d2l's VGG-11
# ÷4 at 64×64 px, where the last map is 2×2, with a classifier that reads that map as it
# is (``pool=2``) and hidden layers of 1,024 units: the same blocks, a smaller head.
FULL = d2l_recipe("vgg11_fmnist", D2L_PUBLISHED)
QUICK_MODEL = dict(pool=2, hidden=1024)
PROFILES = {
    "full": FULL,
    "reference": reference_recipe("vgg11_fmnist", 64, 2, QUICK_MODEL,
                                  "the quick network: d2l's blocks with a 1,024-unit head"),
    "quick": Profile(model="vgg11_fmnist", model_kwargs=QUICK_MODEL, epochs=3, batch_size=64,
                     lr=1e-3, optimizer="adam", schedule="onecycle", resize=64,
                     train_per_class=150, test_per_class=100,
                     source="ours: d2l's blocks at 64×64 px (last map 2×2) with a 1,024-unit "
                            "head, on a subset, Adam + one-cycle"),
}

# The chapter's experiment is the paper's own control (§4.1): its configuration B, two
# 3×3 convolutions per block, against "a shallow net with five 5×5 conv. layers, which
# was derived from B by replacing each pair of 3×3 conv. layers with a single 5×5 conv.
# layer (which has the same receptive field)": the same widths, the same receptive
# field, half the depth. The paper measured the shallow net's top-1 error 7% higher.
# As ``conv_arch`` rows for :func:`vgg11_fmnist` (number of convs, channels before the
# ÷4 of ``ratio``, and the kernel when it is not 3).
VGG13_ARCH: tuple[tuple[int, int], ...] = ((2, 64), (2, 128), (2, 256), (2, 512), (2, 512))
VARIANTS: dict[str, tuple[tuple[int, ...], ...]] = {
    "VGG-11": VGG11_ARCH,
    "B: 3×3 pairs": VGG13_ARCH,
    "B with 5×5": tuple((1, channels, 5) for _, channels in VGG13_ARCH),
}
# Their trainings: the same budget for each, under every profile, over SEEDS. At 32×32 px
# the last map is 1×1, so the experiment's head reads it as it is (``pool=1``, no copies)
# with 256 hidden units. Every variant starts from Kaiming initialisation (He et al.
# 2015) and normalizes each convolution's output (``bn=True``, torchvision's vgg*_bn;
# Ioffe & Szegedy 2015): the paper trained B by initialising it from a trained A, and
# with d2l's Xavier initialisation and no normalization a 10-layer stack barely leaves
# ln 10 within a CPU budget. Each run is scored at the end on ``score_per_class`` × 10
# test images.
EXPERIMENT = dict(resize=32, train_per_class=60, test_per_class=10, score_per_class=100,
                  batch_size=32, epochs=3, lr=1e-3, optimizer="adam", schedule="onecycle")
EXPERIMENT_MODEL = dict(pool=1, hidden=256, init="kaiming", bn=True)
# At scale (``cnnlab record vgg --experiment``, shipped in cnnlab/recorded/experiments/):
# the same experiment on all 60,000 training images for 6 epochs (nearer the paper's
# regime: all the data there is), scored on all 10,000 test images. The record before
# it, on 10,000 images for 4 epochs (commit 4d80c6f), found the 5×5 layers ahead by
# 1.1 ± 0.3 points.
AT_SCALE = dict(train_per_class=6000, epochs=6, score_per_class=1000)
SEEDS = (0, 1, 2)
# The variants the experiment trains (VGG-11 is measured for its costs only: training it
# too would take the page past two minutes of CPU time).
TRAINED = ("B: 3×3 pairs", "B with 5×5")
# Time per step is measured at 96×96 (batch 16), where the blocks, not the head, do
# most of the work.
BENCH_SIDE, BENCH_BATCH = 96, 16


def vgg_block(num_convs: int, in_channels: int, out_channels: int, kernel_size: int = 3,
              bn: bool = False) -> nn.Sequential:
    """``num_convs`` conv-ReLU layers (``kernel_size``, padded to keep the size; 3 in
    VGG), then a 2×2/2 max pool. ``bn=True`` puts batch normalization between each
    convolution and its ReLU, as torchvision's ``vgg11_bn`` does.

    >>> import torch
    >>> vgg_block(2, 3, 64)(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 64, 16, 16])
    """
    layers: list[nn.Module] = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2),
                   *([nn.BatchNorm2d(out_channels)] if bn else []), nn.ReLU()]
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))  # halves height and width
    return nn.Sequential(*layers)


@register("vgg11_fmnist", family="vgg", num_classes=10, in_channels=1, input_size=224, min_size=32,
          paper="Simonyan & Zisserman 2015, arXiv:1409.1556; d2l §8.2",
          description="d2l's narrow VGG-11 for Fashion-MNIST (channels ÷ 4, 4096-wide fc)")
def vgg11_fmnist(num_classes: int = 10, in_channels: int = 1, ratio: int = 4,
                 conv_arch: Sequence[tuple[int, int]] = VGG11_ARCH,
                 dropout: float = 0.5, pool: int = 7, hidden: int = 4096,
                 init: str = "xavier", bn: bool = False) -> nn.Sequential:
    """d2l's small VGG-11: the channels of ``conv_arch`` divided by ``ratio``.

    ``ratio=4`` (d2l's choice) trains about 16× faster than the full widths; the fc
    layers stay 4096 wide as in d2l. ``pool`` is the side of the map the classifier
    reads (7: the last map at 224 px; give the real side at smaller inputs so that the
    adaptive pool does not copy pixels), ``hidden`` the width of the two hidden fully
    connected layers, ``init`` ``"xavier"`` (d2l's, Glorot & Bengio 2010) or
    ``"kaiming"`` (He et al. 2015, for deep ReLU stacks), ``bn`` batch normalization in
    every block (:func:`vgg_block`). A row of ``conv_arch`` is ``(convs, channels)`` or
    ``(convs, channels, kernel size)``.

    >>> import torch
    >>> vgg11_fmnist()(torch.zeros(2, 1, 64, 64)).shape
    torch.Size([2, 10])
    """
    conv_blks = []
    for num_convs, out_channels, *kernel in conv_arch:
        conv_blks.append(vgg_block(num_convs, in_channels, out_channels // ratio, *kernel, bn=bn))
        in_channels = out_channels // ratio
    net = nn.Sequential(
        *conv_blks,
        nn.AdaptiveAvgPool2d((pool, pool)), nn.Flatten(),
        nn.Linear(in_channels * pool * pool, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),
    )
    if init not in ("xavier", "kaiming"):
        raise ValueError(f"init must be 'xavier' or 'kaiming', not {init!r}")
    net.apply(init_cnn if init == "xavier" else init_kaiming)  # d2l's: Xavier-uniform
    return net


def conv_layers(conv_arch: Sequence[tuple[int, ...]]) -> int:
    """The number of convolutional layers of a ``conv_arch`` (the sum of its blocks' convs).

    >>> conv_layers(VGG11_ARCH)
    8
    """
    return sum(row[0] for row in conv_arch)


def variant_costs(conv_arch: Sequence[tuple[int, ...]], side: int, ratio: int = 4,
                  batch_size: int = 32, steps: int = 5, device: Any = None) -> dict[str, Any]:
    """What one ``conv_arch`` of :func:`vgg11_fmnist` costs at ``side``×``side`` inputs.

    Returns a dict: ``convs`` (convolutional layers), ``params`` (the whole network),
    ``body_params`` (the convolutional blocks only: the fc head is the same for every
    architecture whose last block has the same width), ``gflops`` and ``body_gflops``
    (forward pass of one image: the whole network, and its blocks) and ``ms_per_step`` (one training step of ``batch_size`` images, measured by
    :func:`cnnlab.measure.benchmark` on ``device``).

    >>> costs = variant_costs(VGG11_ARCH, side=32, batch_size=2, steps=1, device="cpu")
    >>> costs["convs"], costs["params"]
    (8, 43093322)
    """
    net = vgg11_fmnist(conv_arch=conv_arch, ratio=ratio)
    body = net[:len(conv_arch)]
    report = measure.flops(net, (1, 1, side, side))
    bench = measure.benchmark(net, (1, 1, side, side), batch_size=batch_size, device=device,
                              mode="train", steps=steps, warmup=1)
    return dict(convs=conv_layers(conv_arch), params=measure.count_parameters(net),
                body_params=measure.count_parameters(body),
                gflops=report.gflops,
                body_gflops=sum(report.by_module[str(i)] for i in range(len(conv_arch))) / 1e9,
                ms_per_step=bench.ms_per_batch)


def depth_experiment(profile: Profile, seeds=SEEDS, variants=None, **overrides) -> dict:
    """Train each of :data:`TRAINED` (or ``variants``, a list of names of :data:`VARIANTS`) with
    :data:`EXPERIMENT_MODEL`'s head and initialisation under :data:`EXPERIMENT` over
    ``seeds``: :func:`cnnlab.chapters._common.train_over_seeds`' runs, by variant name.
    """
    setup = {**EXPERIMENT, **overrides}
    data, score, fit = experiment_data(profile, setup)

    def build(arch):
        def make(seed):
            seed_everything(seed)
            return vgg11_fmnist(conv_arch=arch, **EXPERIMENT_MODEL)
        return make
    names = list(TRAINED) if variants is None else list(variants)
    return train_over_seeds({name: build(VARIANTS[name]) for name in names}, data, seeds,
                            score_data=score, **fit)


def depth_verdict(accuracies: dict):
    """The verdict on the VGG paper's lesson, from ``{variant: [accuracy per seed]}``: with
    the same widths and receptive field, two stacked 3×3 convolutions classify better
    than one 5×5 (Simonyan & Zisserman §4.1: the 5×5 net's top-1 error was 7% higher),
    so pairs − 5×5 is expected positive.

    >>> depth_verdict({"B: 3×3 pairs": [0.80, 0.82, 0.81],
    ...                "B with 5×5": [0.76, 0.77, 0.78]}).word
    'agrees'
    """
    return verdict(accuracies["B with 5×5"], accuracies["B: 3×3 pairs"], expect="higher")


def page_versus_record(accuracies: dict, train_losses: dict, scale_accuracies: dict,
                       setup: dict = EXPERIMENT) -> str:
    """A sentence setting the page's run beside the record at scale: the same verdict
    (:func:`depth_verdict`), or which one the page reached and how far each arm had fit
    its own training images (``train_losses``: ``{variant: mean final training loss}``).

    >>> page = {"B: 3×3 pairs": [0.58, 0.60, 0.57], "B with 5×5": [0.69, 0.68, 0.70]}
    >>> scale = {"B: 3×3 pairs": [0.925, 0.924, 0.924], "B with 5×5": [0.917, 0.920, 0.919]}
    >>> print(page_versus_record(page, {"B: 3×3 pairs": 1.85, "B with 5×5": 1.60}, scale))
    The page's own run, on 600 images for 3 epochs, did not: its verdict is "contradicts". On that budget the 3×3 pairs ended with a higher training loss than the 5×5 layers (1.85 against 1.60): the deeper stack had not yet fit even its training images as well.
    """
    page, scale = depth_verdict(accuracies), depth_verdict(scale_accuracies)
    budget = f"{setup['train_per_class'] * 10:,} images for {setup['epochs']} epochs"
    if page.word == scale.word:
        return f"The page's own run, on {budget}, reached the same verdict."
    pairs, five = train_losses["B: 3×3 pairs"], train_losses["B with 5×5"]
    fit = ("the deeper stack had not yet fit even its training images as well." if pairs > five
           else "it fit its training images better and the test images worse.")
    return (f"The page's own run, on {budget}, did not: its verdict is \"{page.word}\". "
            f"On that budget the 3×3 pairs ended with a {'higher' if pairs > five else 'lower'} "
            f"training loss than the 5×5 layers ({pairs:.2f} against {five:.2f}): {fit}")


def experiment_at_scale(profile: Profile, **settings) -> dict:
    """The depth experiment with ``settings`` (:data:`AT_SCALE` when ``cnnlab record vgg
    --experiment`` runs it): ``{"scores": {variant: [score per seed]}, "device": ...}``,
    for :func:`cnnlab.record.record_experiment`."""
    runs = depth_experiment(profile, **settings)
    return {"scores": scores(runs), "device": next(iter(runs.values()))[0][-1].device}
