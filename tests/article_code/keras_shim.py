# NOT Keras. A PyTorch stand-in for the few Keras 2 layers that *CV study notes: ResNet* and *The ResNet18 architecture* call,
# so that their functions can run here (no TensorFlow). It is a reconstruction for the
# errata tests, not seed code: it computes eagerly on NCHW tensors, builds each layer
# when first called (as Keras does), records every layer, and counts parameters the way
# Keras's model.summary() does (BatchNormalization's moving mean and variance included,
# as non-trainable). Shapes and parameter counts match Keras for what the seeds use;
# error messages are PyTorch's, not Keras's.
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

_built: list[tuple[str, nn.Module]] = []  # every layer built, in call order
outputs: list[tuple[str, tuple[int, ...]]] = []  # (layer name, NCHW output shape) per call


def reset() -> None:
    _built.clear()
    outputs.clear()


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


class _Layer:
    def __init__(self, name: str | None = None):
        self.name = name
        self.module: nn.Module | None = None

    def _out(self, y):
        outputs.append((self.name or type(self).__name__, tuple(y.shape)))
        return y

    def _register(self, module: nn.Module) -> nn.Module:
        self.module = module.eval()
        _built.append((self.name or type(self).__name__, module))
        return module


class Conv2D(_Layer):
    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", name=None):
        super().__init__(name)
        self.filters, self.kernel = filters, _pair(kernel_size)
        self.strides, self.padding = _pair(strides), padding

    def __call__(self, x):
        if self.padding == "same":
            if self.strides != (1, 1) or any(k % 2 == 0 for k in self.kernel):
                raise NotImplementedError("shim: 'same' only for odd kernels with stride 1")
            pad = tuple(k // 2 for k in self.kernel)
        else:
            pad = (0, 0)
        conv = self._register(nn.Conv2d(x.shape[1], self.filters, self.kernel,
                                        self.strides, pad, bias=True))  # Keras: use_bias=True
        return self._out(conv(x))


class BatchNormalization(_Layer):
    def __call__(self, x):
        return self._out(self._register(nn.BatchNorm2d(x.shape[1], eps=1e-3))(x))


class Activation(_Layer):
    def __init__(self, activation, name=None):
        super().__init__(name)
        self.activation = activation

    def __call__(self, x):
        return {"relu": F.relu, "softmax": lambda t: F.softmax(t, dim=1)}[self.activation](x)


class ZeroPadding2D(_Layer):
    def __init__(self, padding=(1, 1), name=None):
        super().__init__(name)
        self.padding = _pair(padding)

    def __call__(self, x):
        ph, pw = self.padding
        return self._out(F.pad(x, (pw, pw, ph, ph)))


class MaxPooling2D(_Layer):
    def __init__(self, pool_size=(2, 2), strides=None, name=None):
        super().__init__(name)
        self.pool, self.strides = _pair(pool_size), _pair(strides or pool_size)

    def __call__(self, x):
        return self._out(F.max_pool2d(x, self.pool, self.strides))  # Keras: padding='valid'


class AveragePooling2D(MaxPooling2D):
    def __call__(self, x):
        return self._out(F.avg_pool2d(x, self.pool, self.strides))


class Flatten(_Layer):
    def __call__(self, x):
        return x.permute(0, 2, 3, 1).flatten(1)  # Keras flattens channels-last


class Dense(_Layer):
    def __init__(self, units, activation=None, name=None):
        super().__init__(name)
        self.units, self.activation = units, activation

    def __call__(self, x):
        y = self._register(nn.Linear(x.shape[1], self.units))(x)
        return F.softmax(y, dim=1) if self.activation == "softmax" else y


class layers:  # the seeds write `layers.add([...])`
    @staticmethod
    def add(tensors):
        out = tensors[0]
        for t in tensors[1:]:
            out = out + t
        return out


def Input(shape):
    h, w, c = shape  # Keras shapes are channels-last
    return torch.randn(1, c, h, w)


class Model:
    def __init__(self, inputs, outputs, name=None):
        self.inputs, self.outputs, self.name = inputs, outputs, name
        self.layers = list(_built)
        self.weights_file: str | None = None

    def load_weights(self, filepath):
        self.weights_file = filepath  # recorded, not read

    def count_params(self) -> tuple[int, int]:
        """(trainable, non-trainable) as Keras's summary counts them."""
        trainable = sum(p.numel() for _, m in self.layers for p in m.parameters())
        moving = sum(m.running_mean.numel() + m.running_var.numel()
                     for _, m in self.layers if isinstance(m, nn.BatchNorm2d))
        return trainable, moving


NAMES = {n: globals()[n] for n in ("Conv2D", "BatchNormalization", "Activation", "ZeroPadding2D",
                                   "MaxPooling2D", "AveragePooling2D", "Flatten", "Dense",
                                   "layers", "Input", "Model")}
