"""Import d2l 1.0.3 on the course's modern stack, and build d2l's side of the benchmarks.

d2l 1.0.3 is installed with ``--no-deps`` (it pins numpy 1.23). On this stack
``import d2l.torch`` fails only because two of its top-level imports are absent:
``pandas`` (used by ``d2l.read_csv_labels`` and friends) and ``scipy``
(``scipy.spatial.distance_matrix``, used by the attention-pooling chapter). Neither
is reached by ``FashionMNIST``, ``Classifier``, ``Trainer`` or ``Residual``, so when
they are missing :func:`import_d2l` puts placeholder modules in ``sys.modules`` that
raise an ImportError naming the package if anything does use them. Nothing is
installed, nothing is downgraded, and cnnlab never imports d2l.

Plotting: d2l's ``ProgressBoard`` draws with matplotlib and shows the figure with
``IPython.display.display``. Here matplotlib uses the Agg backend (no window), and
``display(fig)`` renders the figure to SVG into memory, which is what Jupyter's
inline backend does with it in a notebook (d2l calls ``use_svg_display()``), so d2l
pays for its plot as it does in front of a learner; ``clear_output`` is a no-op.

The model: d2l 1.0.3's library has ``Residual`` but not the chapter's ``ResNet``
class (§8.6, not marked ``@save``); :class:`ResNet` / :class:`ResNet18` below
rebuild it exactly as the chapter does, on ``d2l.Classifier`` and ``d2l.Residual``
(lazy layers, ``d2l.init_cnn`` Xavier initialisation, SGD from
``Module.configure_optimizers``).
"""

from __future__ import annotations

import atexit
import importlib
import importlib.machinery
import io
import os
import shutil
import sys
import tempfile
import types
import warnings
from pathlib import Path


PLACEHOLDERS: list[str] = []  # which modules import_d2l had to stand in for


def _placeholder(name: str, attrs: tuple[str, ...] = ()) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__file__ = f"<placeholder for {name}: not installed; see benchmarks/_d2l_setup.py>"

    def missing(*_args, **_kwargs):
        raise ImportError(f"{name} is not installed; benchmarks/_d2l_setup.py only stands in "
                          f"for it so that `import d2l.torch` works")

    for attr in attrs:
        setattr(module, attr, missing)

    def __getattr__(attr):  # any other use fails loudly, never silently
        if attr.startswith("__"):
            raise AttributeError(attr)
        missing()

    module.__getattr__ = __getattr__
    return module


def _ensure(name: str, make) -> None:
    try:
        importlib.import_module(name)
    except ImportError:
        for mod_name, module in make().items():
            sys.modules[mod_name] = module
        PLACEHOLDERS.append(name)


class _NotebookDisplay:
    """Stands in for ``IPython.display`` inside d2l: render like Jupyter's inline backend."""

    @staticmethod
    def display(fig, *_args, **_kwargs):
        fig.canvas.print_figure(io.BytesIO(), format="svg", bbox_inches="tight")

    @staticmethod
    def clear_output(wait=False):
        pass


_D2L = None


def import_d2l():
    """``d2l.torch``, importable on numpy 2 / no pandas / no scipy, plotting off-screen."""
    global _D2L
    if _D2L is not None:
        return _D2L
    import matplotlib
    matplotlib.use("Agg")
    import torchvision  # noqa: F401  (imports torch._dynamo, which probes for pandas/scipy)
    _ensure("pandas", lambda: {"pandas": _placeholder("pandas")})

    def scipy_modules():
        scipy, spatial = _placeholder("scipy"), _placeholder("scipy.spatial", ("distance_matrix",))
        scipy.spatial = spatial
        return {"scipy": scipy, "scipy.spatial": spatial}

    _ensure("scipy.spatial", scipy_modules)
    import d2l.torch as d2l
    # d2l's default of 4 DataLoader workers on a 2-core machine makes torch warn on every
    # epoch; it is how d2l feeds, so keep the workers and drop the repeated warning.
    warnings.filterwarnings("ignore", message="This DataLoader will create")
    d2l.display = _NotebookDisplay  # d2l's ProgressBoard calls display.display / clear_output
    _D2L = d2l
    return d2l


def describe_workaround() -> str:
    import_d2l()
    stubbed = ", ".join(PLACEHOLDERS) or "none needed"
    return (f"d2l 1.0.3 (--no-deps); placeholder modules for: {stubbed}; "
            f"matplotlib Agg, ProgressBoard figures rendered to SVG in memory as Jupyter would")


# --------------------------------------------------------------------------- data

def fashion_mnist_root() -> Path:
    """A writable copy of the raw Fashion-MNIST files in torchvision's layout (removed at exit).

    d2l's ``FashionMNIST`` calls ``torchvision.datasets.FashionMNIST(root, download=True)``;
    torchvision finds the verified ``.gz`` files there, unpacks them next to themselves and
    never goes online. The source is wherever cnnlab finds the data (``$CNNLAB_DATA``...).
    """
    from cnnlab.data import load_fashion_mnist
    raw = load_fashion_mnist(download=False).root
    root = Path(tempfile.mkdtemp(prefix="d2l-fmnist-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    (root / "FashionMNIST" / "raw").mkdir(parents=True)
    for gz in raw.glob("*-ubyte.gz"):
        shutil.copy2(gz, root / "FashionMNIST" / "raw" / gz.name)
    return root


def d2l_fashion_mnist(batch_size: int, resize: int, train_indices=None, val_indices=None,
                      root: Path | None = None):
    """``d2l.FashionMNIST(batch_size, resize=(r, r))``, optionally on subsets of the splits.

    The subsets are ``torch.utils.data.Subset`` of d2l's own datasets, so every image still
    goes through d2l's per-image ``Resize`` + ``ToTensor`` in its DataLoader
    (``num_workers=4``, d2l's default). ``val_indices=[]`` turns validation off.
    """
    import torch
    d2l = import_d2l()
    root = root or fashion_mnist_root()

    class _Root(d2l.DataModule):  # d2l's default root is '../data'; put ours in its place
        def __init__(self):
            super().__init__(root=str(root))

    class _Data(d2l.FashionMNIST, _Root):  # MRO: FashionMNIST -> _Root -> DataModule
        def val_dataloader(self):
            return None if len(self.val) == 0 else super().val_dataloader()

    data = _Data(batch_size=batch_size, resize=(resize, resize))
    if train_indices is not None:
        data.train = torch.utils.data.Subset(data.train, list(train_indices))
    if val_indices is not None:
        data.val = torch.utils.data.Subset(data.val, list(val_indices))
    return data


# --------------------------------------------------------------------------- model

def make_resnet18(lr: float, num_classes: int = 10):
    """d2l's ``ResNet18(lr)`` from §8.6 (PyTorch tab), as a ``d2l.Classifier``."""
    from torch import nn
    d2l = import_d2l()

    class ResNet(d2l.Classifier):
        def b1(self):
            return nn.Sequential(
                nn.LazyConv2d(64, kernel_size=7, stride=2, padding=3),
                nn.LazyBatchNorm2d(), nn.ReLU(),
                nn.MaxPool2d(kernel_size=3, stride=2, padding=1))

        def block(self, num_residuals, num_channels, first_block=False):
            blk = []
            for i in range(num_residuals):
                if i == 0 and not first_block:
                    blk.append(d2l.Residual(num_channels, use_1x1conv=True, strides=2))
                else:
                    blk.append(d2l.Residual(num_channels))
            return nn.Sequential(*blk)

        def __init__(self, arch, lr=0.1, num_classes=10):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Sequential(self.b1())
            for i, b in enumerate(arch):
                self.net.add_module(f"b{i+2}", self.block(*b, first_block=(i == 0)))
            self.net.add_module("last", nn.Sequential(
                nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.LazyLinear(num_classes)))
            self.net.apply(d2l.init_cnn)

    class ResNet18(ResNet):
        def __init__(self, lr=0.1, num_classes=10):
            super().__init__(((2, 64), (2, 128), (2, 256), (2, 512)), lr, num_classes)

    return ResNet18(lr=lr, num_classes=num_classes)


def init_like_d2l(model, data):
    """``model.apply_init([first training batch], d2l.init_cnn)``, as the chapter does."""
    d2l = import_d2l()
    model.apply_init([next(iter(data.get_dataloader(True)))[0]], d2l.init_cnn)
    return model


def copy_weights(src, dst) -> int:
    """Copy every parameter and buffer of ``src`` into ``dst`` by position (shapes checked).

    d2l's ResNet18 and ``cnnlab.models.create("resnet18_fmnist")`` declare the same layers
    in the same order under different names. Returns the number of parameters.
    """
    s, d = src.state_dict(), dst.state_dict()
    if len(s) != len(d):
        raise ValueError(f"{len(s)} tensors in the d2l model, {len(d)} in cnnlab's")
    new = {}
    for (ks, vs), (kd, vd) in zip(s.items(), d.items()):
        if vs.shape != vd.shape:
            raise ValueError(f"shape mismatch: d2l {ks} {tuple(vs.shape)} vs cnnlab {kd} "
                             f"{tuple(vd.shape)}")
        new[kd] = vs.detach().clone()
    dst.load_state_dict(new)
    return sum(p.numel() for p in dst.parameters())


# --------------------------------------------------------------------------- the chapters' networks

def chapter_networks() -> dict:
    """d2l 1.0.3's networks of chapters 7 and 8, by the cnnlab registry name they match.

    The library has LeNet (used as is); the other chapters' classes are not marked
    ``@save`` in the book, so they are written here as the chapters write them (lazy
    layers, minus the ``d2l.Classifier`` wrapper). Lazy layers get their shapes from
    one forward pass. ``tests/test_models_classic.py`` checks cnnlab's chapter models
    against these; this is the one copy of d2l's chapter code in the repository.
    """
    import torch
    from torch import nn
    from torch.nn import functional as F
    d2l = import_d2l()

    def d2l_lenet(num_classes=10):  # §7.6, in d2l's library
        return d2l.LeNet(num_classes=num_classes).net

    def d2l_bnlenet(num_classes=10):  # §8.5, BNLeNet
        return nn.Sequential(
            nn.LazyConv2d(6, kernel_size=5), nn.LazyBatchNorm2d(),
            nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
            nn.LazyConv2d(16, kernel_size=5), nn.LazyBatchNorm2d(),
            nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(), nn.LazyLinear(120), nn.LazyBatchNorm1d(),
            nn.Sigmoid(), nn.LazyLinear(84), nn.LazyBatchNorm1d(),
            nn.Sigmoid(), nn.LazyLinear(num_classes))

    def d2l_alexnet(num_classes=10):  # §8.1
        return nn.Sequential(
            nn.LazyConv2d(96, kernel_size=11, stride=4, padding=1),
            nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2),
            nn.LazyConv2d(256, kernel_size=5, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.LazyConv2d(384, kernel_size=3, padding=1), nn.ReLU(),
            nn.LazyConv2d(384, kernel_size=3, padding=1), nn.ReLU(),
            nn.LazyConv2d(256, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2), nn.Flatten(),
            nn.LazyLinear(4096), nn.ReLU(), nn.Dropout(p=0.5),
            nn.LazyLinear(4096), nn.ReLU(), nn.Dropout(p=0.5),
            nn.LazyLinear(num_classes))

    def d2l_vgg_block(num_convs, out_channels):  # §8.2
        layers = []
        for _ in range(num_convs):
            layers.append(nn.LazyConv2d(out_channels, kernel_size=3, padding=1))
            layers.append(nn.ReLU())
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        return nn.Sequential(*layers)

    def d2l_vgg(arch=((1, 16), (1, 32), (2, 64), (2, 128), (2, 128)), num_classes=10):
        conv_blks = []
        for (num_convs, out_channels) in arch:
            conv_blks.append(d2l_vgg_block(num_convs, out_channels))
        return nn.Sequential(
            *conv_blks, nn.Flatten(),
            nn.LazyLinear(4096), nn.ReLU(), nn.Dropout(0.5),
            nn.LazyLinear(4096), nn.ReLU(), nn.Dropout(0.5),
            nn.LazyLinear(num_classes))

    def d2l_nin_block(out_channels, kernel_size, strides, padding):  # §8.3
        return nn.Sequential(
            nn.LazyConv2d(out_channels, kernel_size, strides, padding), nn.ReLU(),
            nn.LazyConv2d(out_channels, kernel_size=1), nn.ReLU(),
            nn.LazyConv2d(out_channels, kernel_size=1), nn.ReLU())

    def d2l_nin(num_classes=10):
        return nn.Sequential(
            d2l_nin_block(96, kernel_size=11, strides=4, padding=0),
            nn.MaxPool2d(3, stride=2),
            d2l_nin_block(256, kernel_size=5, strides=1, padding=2),
            nn.MaxPool2d(3, stride=2),
            d2l_nin_block(384, kernel_size=3, strides=1, padding=1),
            nn.MaxPool2d(3, stride=2),
            nn.Dropout(0.5),
            d2l_nin_block(num_classes, kernel_size=3, strides=1, padding=1),
            nn.AdaptiveAvgPool2d((1, 1)),
            nn.Flatten())

    class D2LInception(nn.Module):  # §8.4
        # c1--c4 are the number of output channels for each branch
        def __init__(self, c1, c2, c3, c4, **kwargs):
            super().__init__(**kwargs)
            self.b1_1 = nn.LazyConv2d(c1, kernel_size=1)
            self.b2_1 = nn.LazyConv2d(c2[0], kernel_size=1)
            self.b2_2 = nn.LazyConv2d(c2[1], kernel_size=3, padding=1)
            self.b3_1 = nn.LazyConv2d(c3[0], kernel_size=1)
            self.b3_2 = nn.LazyConv2d(c3[1], kernel_size=5, padding=2)
            self.b4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
            self.b4_2 = nn.LazyConv2d(c4, kernel_size=1)

        def forward(self, x):
            b1 = F.relu(self.b1_1(x))
            b2 = F.relu(self.b2_2(F.relu(self.b2_1(x))))
            b3 = F.relu(self.b3_2(F.relu(self.b3_1(x))))
            b4 = F.relu(self.b4_2(self.b4_1(x)))
            return torch.cat((b1, b2, b3, b4), dim=1)

    def d2l_googlenet(num_classes=10):
        b1 = nn.Sequential(
            nn.LazyConv2d(64, kernel_size=7, stride=2, padding=3),
            nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        b2 = nn.Sequential(
            nn.LazyConv2d(64, kernel_size=1), nn.ReLU(),
            nn.LazyConv2d(192, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        b3 = nn.Sequential(D2LInception(64, (96, 128), (16, 32), 32),
                           D2LInception(128, (128, 192), (32, 96), 64),
                           nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        b4 = nn.Sequential(D2LInception(192, (96, 208), (16, 48), 64),
                           D2LInception(160, (112, 224), (24, 64), 64),
                           D2LInception(128, (128, 256), (24, 64), 64),
                           D2LInception(112, (144, 288), (32, 64), 64),
                           D2LInception(256, (160, 320), (32, 128), 128),
                           nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        b5 = nn.Sequential(D2LInception(256, (160, 320), (32, 128), 128),
                           D2LInception(384, (192, 384), (48, 128), 128),
                           nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
        return nn.Sequential(b1, b2, b3, b4, b5, nn.LazyLinear(num_classes))

    def d2l_conv_block(num_channels):  # §8.7
        return nn.Sequential(
            nn.LazyBatchNorm2d(), nn.ReLU(),
            nn.LazyConv2d(num_channels, kernel_size=3, padding=1))

    class D2LDenseBlock(nn.Module):
        def __init__(self, num_convs, num_channels):
            super().__init__()
            layer = []
            for i in range(num_convs):
                layer.append(d2l_conv_block(num_channels))
            self.net = nn.Sequential(*layer)

        def forward(self, X):
            for blk in self.net:
                Y = blk(X)
                # Concatenate input and output of each block along the channels
                X = torch.cat((X, Y), dim=1)
            return X

    def d2l_transition_block(num_channels):
        return nn.Sequential(
            nn.LazyBatchNorm2d(), nn.ReLU(),
            nn.LazyConv2d(num_channels, kernel_size=1),
            nn.AvgPool2d(kernel_size=2, stride=2))

    def d2l_densenet(num_channels=64, growth_rate=32, arch=(4, 4, 4, 4), num_classes=10):
        net = nn.Sequential(nn.Sequential(
            nn.LazyConv2d(64, kernel_size=7, stride=2, padding=3),
            nn.LazyBatchNorm2d(), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1)))
        for i, num_convs in enumerate(arch):
            net.add_module(f'dense_blk{i+1}', D2LDenseBlock(num_convs, growth_rate))
            # The number of output channels in the previous dense block
            num_channels += num_convs * growth_rate
            # A transition layer that halves the number of channels is added
            # between the dense blocks
            if i != len(arch) - 1:
                num_channels //= 2
                net.add_module(f'tran_blk{i+1}', d2l_transition_block(num_channels))
        net.add_module('last', nn.Sequential(
            nn.LazyBatchNorm2d(), nn.ReLU(),
            nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
            nn.LazyLinear(num_classes)))
        return net

    return {"alexnet_fmnist": d2l_alexnet, "vgg11_fmnist": d2l_vgg, "nin": d2l_nin,
            "googlenet_fmnist": d2l_googlenet, "lenet": d2l_lenet, "lenet_bn": d2l_bnlenet,
            "densenet_fmnist": d2l_densenet}
