"""Batch normalization: LeNet-5 and LeNet with batch normalization, as d2l builds them.

LeCun, Bottou, Bengio, Haffner, "Gradient-Based Learning Applied to Document
Recognition", Proc. IEEE 86(11), 1998 (no arXiv id). Batch normalization: Ioffe,
Szegedy, "Batch Normalization: Accelerating Deep Network Training by Reducing
Internal Covariate Shift", ICML 2015, arXiv:1502.03167.

Two convolution + pooling stages turn a 28×28 digit into sixteen 5×5 (or 4×4)
feature maps, and three fully connected layers turn those into class scores.
Batch normalization standardizes every layer's input over the minibatch (then
rescales it with learned γ, β), which lets the sigmoid network train with a large
learning rate.

:func:`lenet` is d2l's LeNet (§7.6: sigmoid, average pooling, first convolution
padded by 2); :func:`lenet_bn` is d2l's concise ``BNLeNet`` (§8.5), whose first
convolution is *not* padded, so its maps are 24→12→8→4 and the first linear layer
sees 16·4·4 = 256 features instead of 400.

======================  ===================  ===================  ========
stage (input 1×28×28)   lenet output         lenet_bn output      channels
======================  ===================  ===================  ========
5×5 conv (+BN), σ       28×28 (padding 2)    24×24                6
2×2/2 avg pool          14×14                12×12                6
5×5 conv (+BN), σ       10×10                8×8                  16
2×2/2 avg pool          5×5                  4×4                  16
flatten, fc (+BN), σ    120                  120                  —
fc (+BN), σ             84                   84                   —
fc                      classes              classes              —
======================  ===================  ===================  ========

The fully connected head fixes the input size: both nets take 28×28 images (28 to
31 pixels pass through the floor divisions of the pooling layers; 32 and more give
a shape mismatch in the first linear layer). With 10 classes ``lenet`` has 61,706
parameters and ``lenet_bn`` 44,878 (44,442 weights and biases plus 436 BN γ, β).
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlab.chapters._common import init_cnn
from cnnlab.models.registry import register
from cnnlab.recipe import d2l_recipe, reference_recipe

__all__ = ["lenet", "lenet_bn", "batch_norm", "PROFILES", "D2L_PUBLISHED", "BENCHMARK_INPUTS"]

# d2l's printed result for this network (PyTorch edition, release 0.17.5, section
# "Batch Normalization"): one unseeded GPU run, SGD, full test set;
# 0.836–0.838 across the printed runs.
D2L_PUBLISHED = dict(test_acc=0.837, resize=28, lr=1.0, batch_size=256, epochs=10,
                     source='d2l 0.17.5 (PyTorch), "Batch Normalization"')

# d2l's recipe for BN-LeNet: plain SGD (no momentum), lr 1.0, batch 256, 10 epochs,
# 28×28. The quick run keeps the optimizer, learning rate and batch, for 5 epochs on
# 2,000 training and 500 test images per class (about 2 CPU-minutes on two cores, fp32).
FULL = d2l_recipe("lenet_bn", D2L_PUBLISHED)
PROFILES = {
    "full": FULL,
    "reference": reference_recipe("lenet_bn", None, 4),
    "quick": FULL.replace(epochs=5, train_per_class=2000, test_per_class=500),
}

BENCHMARK_INPUTS = [("lenet_bn", 28, 256)]


def batch_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor,
               running_mean: torch.Tensor, running_var: torch.Tensor, training: bool,
               momentum: float = 0.1, eps: float = 1e-5
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Batch normalization written out, as ``nn.BatchNorm1d``/``nn.BatchNorm2d`` compute it.

    ``x`` is ``(N, C)`` (after a linear layer) or ``(N, C, H, W)`` (after a convolution);
    every channel is normalized with one mean and one variance, taken over the batch
    (and, for a convolution, over all positions of the map), then scaled by ``gamma``
    and shifted by ``beta``.

    * ``training=True``: the statistics of *this batch* (the biased variance, divided by
      n), and the running averages move towards them:
      ``running = (1 - momentum) * running + momentum * batch_statistic`` — PyTorch
      stores the *unbiased* variance (divided by n - 1) in ``running_var``.
    * ``training=False``: the running averages, so that a prediction does not depend
      on the other images of the batch.

    Returns ``(y, new_running_mean, new_running_var)``; the inputs are not changed.

    >>> x = torch.randn(8, 3, 4, 4)
    >>> bn = nn.BatchNorm2d(3)
    >>> y, m, v = batch_norm(x, bn.weight, bn.bias, bn.running_mean, bn.running_var, True)
    >>> torch.allclose(y, bn(x), atol=1e-5) and torch.allclose(m, bn.running_mean)
    True
    """
    if x.dim() not in (2, 4):
        raise ValueError(f"expected (N, C) or (N, C, H, W), got shape {tuple(x.shape)}")
    dims = (0,) if x.dim() == 2 else (0, 2, 3)
    shape = (1, -1) if x.dim() == 2 else (1, -1, 1, 1)
    if training:
        mean = x.mean(dim=dims)
        var = x.var(dim=dims, unbiased=False)   # the batch's own variance normalizes it
        n = x.numel() // x.shape[1]              # values per channel
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    else:
        mean, var = running_mean, running_var
    x_hat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)
    return gamma.reshape(shape) * x_hat + beta.reshape(shape), running_mean, running_var


@register("lenet", family="lenet", num_classes=10, in_channels=1, input_size=28, min_size=28,
          paper="LeCun et al. 1998, Proc. IEEE; d2l §7.6",
          description="LeNet-5 as in d2l: sigmoid, average pooling, 28×28 inputs only")
def lenet(num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    """d2l's LeNet-5 (§7.6), 61,706 parameters for 10 classes.

    >>> import torch
    >>> lenet()(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """
    net = nn.Sequential(
        nn.Conv2d(in_channels, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, num_classes),
    )
    net.apply(init_cnn)
    return net


@register("lenet_bn", family="lenet", num_classes=10, in_channels=1, input_size=28, min_size=28,
          paper="LeCun et al. 1998; Ioffe & Szegedy 2015, arXiv:1502.03167; d2l §8.5",
          description="d2l's BNLeNet: LeNet with BatchNorm after every conv/fc, 28×28 inputs only")
def lenet_bn(num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    """d2l's concise ``BNLeNet`` (§8.5), 44,878 parameters for 10 classes.

    BN sits between each layer and its sigmoid: it normalizes the pre-activation,
    which is what keeps the sigmoid out of its flat tails. The conv/linear biases
    are kept as in d2l even though BN's β makes them redundant.
    """
    net = nn.Sequential(
        nn.Conv2d(in_channels, 6, kernel_size=5), nn.BatchNorm2d(6),
        nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.BatchNorm2d(16),
        nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, 120), nn.BatchNorm1d(120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(),
        nn.Linear(84, num_classes),
    )
    net.apply(init_cnn)
    return net
