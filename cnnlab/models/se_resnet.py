"""SE-ResNet: ResNet whose residual branches reweight their own channels.

Hu, Shen, Sun, "Squeeze-and-Excitation Networks", CVPR 2018, arXiv:1709.01507.
A squeeze-and-excitation (SE) unit averages each channel of a feature map to one
number (squeeze), passes the vector through a small bottleneck MLP ending in a
sigmoid (excitation) and multiplies every channel by its gate; placed on a ResNet
block's residual branch just before the sum, it lets the block emphasise the
channels that matter for this particular image at ~10% more parameters.

The blocks are :mod:`cnnlab.models.resnet`'s, unchanged except that
:meth:`~cnnlab.models.resnet.ResidualBlock.residual` is followed by the SE unit
(torchvision's :class:`torchvision.ops.SqueezeExcitation`: global average pool,
1×1 conv C→C/16, ReLU, 1×1 conv C/16→C, sigmoid, with biases). The trunk keeps
torchvision's parameter names, so a torchvision ResNet state_dict loads into it
with ``strict=False`` and only the ``…se.fc1/fc2`` entries are left missing.

=============  ==============  ==================================  =========================================
stage          output (224²)   SE-ResNet-18                        SE-ResNet-50
=============  ==============  ==================================  =========================================
conv1+maxpool  56×56           7×7, 64, /2; 3×3 max, /2            same
layer1         56×56           [3×3, 64; 3×3, 64; SE 64→4]  × 2    [1×1, 64; 3×3, 64; 1×1, 256; SE 256→16] × 3
layer2         28×28           [3×3, 128 ×2; SE 128→8]      × 2    [1×1, 128; 3×3, 128; 1×1, 512; SE →32]  × 4
layer3         14×14           [3×3, 256 ×2; SE 256→16]     × 2    [1×1, 256; 3×3, 256; 1×1, 1024; SE →64] × 6
layer4         7×7             [3×3, 512 ×2; SE 512→32]     × 2    [1×1, 512; 3×3, 512; 1×1, 2048; SE →128] × 3
avgpool + fc   1×1             512 → classes                       2048 → classes
=============  ==============  ==================================  =========================================

Parameters (1000 classes): SE-ResNet-50 28,088,024 = ResNet-50's 25,557,032 plus
2,530,992 in SE units (the paper's ~2.5M, ~10%); SE-ResNet-18 11,778,592. Both equal
the reduction-16 models of Cadene's ``pretrainedmodels`` (``senet.py``,
``se_resnet50``: SE on every bottleneck, C // 16, biases) and the counts asserted in
osmr/imgclsmob for ``seresnet18`` / ``seresnet50``. Cadene's and the original Caffe
SE-ResNet-50 stride in the first 1×1 convolution; ours strides in the 3×3 like
torchvision's ResNet-50 (same parameter count, slightly different function).
"""

from __future__ import annotations

import torch
from torchvision.ops import SqueezeExcitation

from cnnlab.models.registry import register
from cnnlab.models.resnet import BasicBlock, Bottleneck, ResNet, ResNetConfig, build_resnet

__all__ = ["SEMixin", "SEBasicBlock", "SEBottleneck", "SE_CONFIGS", "build_se_resnet"]

HU_2018 = "Hu, Shen, Sun 2018, arXiv:1709.01507"


class SEMixin:
    """Adds an SE unit (``self.se``) at the end of a ResNet block's residual branch.

    Mixed in before a :class:`~cnnlab.models.resnet.ResidualBlock` subclass, it
    builds the block as usual, then gates F(x) channel by channel before the
    shortcut is added: ``relu(se(F(x)) + x)``, the paper's Fig. 3.
    """

    reduction: int = 16  # the paper's r: C → C/16 → C

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        channels = self.last_bn.num_features  # channels of F(x)
        self.se = SqueezeExcitation(channels, channels // self.reduction)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        return self.se(super().residual(x))


class SEBasicBlock(SEMixin, BasicBlock):
    """:class:`~cnnlab.models.resnet.BasicBlock` with an SE unit on its branch."""


class SEBottleneck(SEMixin, Bottleneck):
    """:class:`~cnnlab.models.resnet.Bottleneck` with an SE unit on its branch."""


SE_CONFIGS: dict[str, ResNetConfig] = {
    "se_resnet18": ResNetConfig(SEBasicBlock, (2, 2, 2, 2), paper=HU_2018,
                                description="SE-ResNet-18: ResNet-18 + SE (r=16) in every block"),
    "se_resnet50": ResNetConfig(SEBottleneck, (3, 4, 6, 3), paper=HU_2018,
                                description="SE-ResNet-50: ResNet-50 + SE (r=16) in every block"),
}


def build_se_resnet(arch: str = "se_resnet50", num_classes: int = 1000, in_channels: int = 3,
                    zero_init_residual: bool = False) -> ResNet:
    """Build the configuration ``arch`` of :data:`SE_CONFIGS`.

    Example:
        >>> sum(p.numel() for p in build_se_resnet("se_resnet50").parameters())
        28088024
    """
    return build_resnet(arch, num_classes, in_channels, zero_init_residual, configs=SE_CONFIGS)


for _name, _cfg in SE_CONFIGS.items():
    register(_name, family="resnet", input_size=224, min_size=1, paper=_cfg.paper,
             description=_cfg.description, arch=_name)(build_se_resnet)
