"""ResNet for ImageNet, layer for layer as torchvision builds it.

He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016,
arXiv:1512.03385. A block learns a residual F(x) and outputs relu(F(x) + x), so
an extra block can always fall back to (nearly) the identity by pushing F towards
zero; that is why 152 stacked layers still train better than 34 (the paper's
"degradation problem": deeper *plain* nets have higher *training* error).

Two relatives share the same code through the bottleneck's ``groups`` and
``width_per_group``: ResNeXt (Xie, Girshick, Dollár, Tu, He, "Aggregated Residual
Transformations for Deep Neural Networks", CVPR 2017, arXiv:1611.05431) splits the
3×3 convolution into 32 groups, and Wide ResNet (Zagoruyko & Komodakis, "Wide
Residual Networks", BMVC 2016, arXiv:1605.07146) doubles the bottleneck width.

The parameter names are torchvision's (``conv1``, ``bn1``, ``layer1``…``layer4``,
``fc``, ``downsample.0``/``.1``), so a torchvision state_dict loads with
``strict=True`` and gives the same outputs. Like torchvision ("ResNet V1.5") the
bottleneck strides in its 3×3 convolution, not in the first 1×1 as the paper's
Caffe models do; the parameter count is the same either way.

=============  ==============  ==========================  ===========================================
stage          output (224²)   BasicBlock (18, 34)         Bottleneck (50, 101, 152)
=============  ==============  ==========================  ===========================================
conv1          112×112         7×7, 64, stride 2           same
maxpool        56×56           3×3 max, stride 2           same
layer1         56×56           [3×3, 64;  3×3, 64]  × b1   [1×1, 64;  3×3, 64;  1×1, 256]  × b1
layer2         28×28           [3×3, 128; 3×3, 128] × b2   [1×1, 128; 3×3, 128; 1×1, 512]  × b2
layer3         14×14           [3×3, 256; 3×3, 256] × b3   [1×1, 256; 3×3, 256; 1×1, 1024] × b3
layer4         7×7             [3×3, 512; 3×3, 512] × b4   [1×1, 512; 3×3, 512; 1×1, 2048] × b4
avgpool + fc   1×1             512 → classes               2048 → classes
=============  ==============  ==========================  ===========================================

Blocks (b1, b2, b3, b4): 18 → 2, 2, 2, 2; 34 and 50 → 3, 4, 6, 3; 101 → 3, 4, 23, 3;
152 → 3, 8, 36, 3 (the paper's Table 1). The adaptive average pool makes the
network accept any input side ≥ 1 pixel, as torchvision's metadata says.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from cnnlab.models.registry import register

__all__ = ["ResidualBlock", "BasicBlock", "Bottleneck", "ResNet", "ResNetConfig", "CONFIGS",
           "build_resnet", "conv3x3", "conv1x1", "init_resnet", "stride_in_first_1x1", "HE_2016"]

HE_2016 = "He et al. 2016, arXiv:1512.03385"


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """3×3 convolution that keeps the size (padding 1); no bias, BatchNorm follows."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1,
                     groups=groups, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """1×1 convolution: mixes channels only; no bias, BatchNorm follows."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)


class ResidualBlock(nn.Module):
    """What every block here shares: ``relu(residual(x) + shortcut(x))``.

    Subclasses build the layers and define :meth:`residual` (the branch F) and
    :attr:`last_bn` (the BatchNorm that ends F). ``downsample`` is the shortcut
    when x must change shape to be added to F(x); ``None`` means the identity.
    Variants change one method: SE blocks wrap :meth:`residual`, plain blocks
    (no shortcut) override :meth:`forward`.
    """

    expansion: int = 1  # output channels = channels * expansion
    downsample: nn.Module | None

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.residual(x) + identity)


class BasicBlock(ResidualBlock):
    """Two 3×3 conv-BN layers (ResNet-18/34); the first one strides.

    Args:
        in_channels: channels of x.
        channels: channels of both convolutions and of the output (expansion 1).
        stride: 2 halves the map (first block of layer2..4).
        downsample: shortcut module when x changes shape, else None (identity).
        groups, base_width: accepted for a common signature; only 1 and 64 are valid.
    """

    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1,
                 base_width: int = 64) -> None:
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and width_per_group=64; "
                             "use Bottleneck for ResNeXt / Wide ResNet")
        self.conv1 = conv3x3(in_channels, channels, stride)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(channels, channels)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = downsample

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out))  # no ReLU before the sum: F(x) may be negative

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn2


class Bottleneck(ResidualBlock):
    """1×1 reduce → 3×3 → 1×1 expand (ResNet-50/101/152, ResNeXt, Wide ResNet).

    The 3×3 convolution works on ``width = channels * base_width / 64 * groups``
    channels: 64 and 1 give the paper's bottleneck (width = channels), ResNeXt
    32x4d gives 32 groups of 4 per 64, Wide ResNet-50-2 doubles the width. The
    output has ``channels * 4`` channels. The stride sits on the 3×3 ("V1.5").
    """

    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1,
                 base_width: int = 64) -> None:
        super().__init__()
        width = int(channels * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(in_channels, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups)  # strided 3×3 sees every pixel
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, channels * self.expansion)
        self.bn3 = nn.BatchNorm2d(channels * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn3


def init_resnet(module: nn.Module) -> nn.Module:
    """He et al.'s initialisation for ReLU networks (arXiv:1502.01852), as torchvision's
    ResNet does it: every convolution normal with variance 2 / fan_out, every batch
    norm at scale 1 and shift 0. Returns ``module``.

    >>> conv = init_resnet(nn.Sequential(nn.Conv2d(64, 64, 3), nn.BatchNorm2d(64)))[0]
    >>> round(conv.weight.var().item() * 64 * 9, 1)   # 2 / fan_out, fan_out = 64·3·3
    2.0
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return module


class ResNet(nn.Module):
    """Stem, four stages of residual blocks, global average pool, linear classifier.

    Args:
        block: :class:`BasicBlock`, :class:`Bottleneck` or a subclass of either.
        layers: number of blocks in layer1..layer4.
        num_classes: outputs of ``fc``.
        zero_init_residual: start every block's last BN at weight 0, so each block
            begins as the identity (Goyal et al. 2017, arXiv:1706.02677).
        groups, width_per_group: bottleneck grouping / width (ResNeXt, Wide ResNet).
        in_channels: channels of the input images (``conv1``'s input).

    Example:
        >>> net = ResNet(BasicBlock, [2, 2, 2, 2], num_classes=10, in_channels=1)
        >>> net(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: list[int] | tuple[int, ...],
                 num_classes: int = 1000, zero_init_residual: bool = False, groups: int = 1,
                 width_per_group: int = 64, in_channels: int = 3) -> None:
        super().__init__()
        if len(layers) != 4:
            raise ValueError(f"layers gives the blocks of the 4 stages, got {list(layers)}")
        self.groups = groups
        self.base_width = width_per_group
        self.inplanes = 64  # channels entering the next stage; _make_layer updates it
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])  # the max-pool already halved
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))  # any input size → 1×1
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        init_resnet(self)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, ResidualBlock):
                    nn.init.zeros_(m.last_bn.weight)

    def _make_layer(self, block: type[BasicBlock] | type[Bottleneck], channels: int,
                    blocks: int, stride: int = 1) -> nn.Sequential:
        """One stage: the first block may stride and change channels, the rest keep both."""
        out_channels = channels * block.expansion
        downsample = None
        if stride != 1 or self.inplanes != out_channels:
            # the paper's option B: project only where the shape changes
            downsample = nn.Sequential(conv1x1(self.inplanes, out_channels, stride),
                                       nn.BatchNorm2d(out_channels))
        stage = [block(self.inplanes, channels, stride, downsample, self.groups, self.base_width)]
        self.inplanes = out_channels
        stage += [block(out_channels, channels, groups=self.groups, base_width=self.base_width)
                  for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class ResNetConfig(NamedTuple):
    """One registered configuration: the blocks and how many per stage."""

    block: type[BasicBlock] | type[Bottleneck]
    layers: tuple[int, int, int, int]
    groups: int = 1
    width_per_group: int = 64
    paper: str = HE_2016
    description: str = ""

    def build(self, num_classes: int = 1000, in_channels: int = 3,
              zero_init_residual: bool = False) -> "ResNet":
        """The network this configuration describes."""
        return ResNet(self.block, self.layers, num_classes=num_classes,
                      zero_init_residual=zero_init_residual, groups=self.groups,
                      width_per_group=self.width_per_group, in_channels=in_channels)


CONFIGS: dict[str, ResNetConfig] = {
    "resnet18": ResNetConfig(BasicBlock, (2, 2, 2, 2),
                             description="ResNet-18 (basic blocks), torchvision layout"),
    "resnet34": ResNetConfig(BasicBlock, (3, 4, 6, 3),
                             description="ResNet-34 (basic blocks), torchvision layout"),
    "resnet50": ResNetConfig(Bottleneck, (3, 4, 6, 3),
                             description="ResNet-50 (bottlenecks, V1.5 stride), torchvision layout"),
    "resnet101": ResNetConfig(Bottleneck, (3, 4, 23, 3),
                              description="ResNet-101 (bottlenecks, V1.5 stride), torchvision layout"),
    "resnet152": ResNetConfig(Bottleneck, (3, 8, 36, 3),
                              description="ResNet-152 (bottlenecks, V1.5 stride), torchvision layout"),
    "resnext50_32x4d": ResNetConfig(Bottleneck, (3, 4, 6, 3), groups=32, width_per_group=4,
                                    paper="Xie et al. 2017, arXiv:1611.05431",
                                    description="ResNeXt-50 32×4d: 32 groups in each 3×3"),
    "wide_resnet50_2": ResNetConfig(Bottleneck, (3, 4, 6, 3), width_per_group=128,
                                    paper="Zagoruyko & Komodakis 2016, arXiv:1605.07146",
                                    description="Wide ResNet-50-2: bottlenecks twice as wide"),
}


def build_resnet(arch: str = "resnet18", num_classes: int = 1000, in_channels: int = 3,
                 zero_init_residual: bool = False,
                 configs: dict[str, ResNetConfig] | None = None) -> ResNet:
    """Build the configuration ``arch`` of ``configs`` (default :data:`CONFIGS`,
    torchvision's names; SE-ResNet passes its own table).

    Example:
        >>> net = build_resnet("resnet50", num_classes=10, in_channels=1)
        >>> sum(p.numel() for p in build_resnet("resnet18").parameters())
        11689512
    """
    configs = CONFIGS if configs is None else configs
    try:
        cfg = configs[arch]
    except KeyError:
        raise ValueError(f"unknown configuration {arch!r}; choose one of "
                         f"{', '.join(configs)}") from None
    return cfg.build(num_classes, in_channels, zero_init_residual)


for _name, _cfg in CONFIGS.items():
    register(_name, family="resnet", input_size=224, min_size=1, paper=_cfg.paper,
             torchvision=_name, description=_cfg.description, arch=_name)(build_resnet)


def stride_in_first_1x1(net: nn.Module) -> nn.Module:
    """Move the stride of every strided :class:`~cnnlab.models.resnet.Bottleneck` from its
    3×3 (``conv2``, torchvision's "v1.5") to its first 1×1 (``conv1``), as the paper's
    original Caffe models and the Keras ResNet-50 place it; in place, returns ``net``. The weights keep
    their shapes (a stride has no parameters); the output sizes of ``conv1`` change, and
    so does the work: the 3×3 then runs on the smaller map.

    >>> net = stride_in_first_1x1(build_resnet("resnet50"))
    >>> net.layer2[0].conv1.stride, net.layer2[0].conv2.stride
    ((2, 2), (1, 1))
    """
    moved = 0
    for block in net.modules():
        if isinstance(block, Bottleneck) and block.conv2.stride != (1, 1):
            block.conv1.stride, block.conv2.stride = block.conv2.stride, (1, 1)
            moved += 1
    if not moved:
        raise ValueError("no strided 3×3 in a Bottleneck: nothing to move "
                         "(a BasicBlock network, or already moved)")
    return net
