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
