"""Lighter and explained: ResNet-18 pruned, quantised to int8, and looked into.

Three papers, one trained ResNet-18 (:func:`cnnlab.chapters.resnet.resnet18_fmnist`):

- Han, Pool, Tran, Dally, "Learning both Weights and Connections for Efficient Neural
  Networks", NeurIPS 2015, arXiv:1506.02626: set the weights of smallest magnitude to
  zero, fine-tune the rest, repeat. Here: one global L1 (magnitude) cut over every
  convolution and the fully connected layer with :mod:`torch.nn.utils.prune`, a short
  fine-tuning, then :func:`torch.nn.utils.prune.remove` to make the zeros permanent.
- Jacob et al., "Quantization and Training of Neural Networks for Efficient
  Integer-Arithmetic-Only Inference", CVPR 2018, arXiv:1712.05877: weights and
  activations as 8-bit integers, ``real = scale * (q - zero_point)``, with the scales
  of the activations found on a few calibration batches. Here: post-training static
  quantisation with PyTorch's FX graph mode and the ``x86`` backend, on the CPU.
- Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
  Gradient-Based Localization", ICCV 2017, arXiv:1610.02391: weight a layer's feature
  maps by the mean gradient of a class score and keep the positive part. Computed with
  the ``grad-cam`` package (pytorch-grad-cam), not with hand-written hooks.

What the chapter measures for each variant, on the CPU (quantised kernels are CPU
kernels; under the ``full`` profile only the training runs on the GPU):

=========================  =============================================  ==========================
variant                    what changes                                   what shrinks
=========================  =============================================  ==========================
fp32                       nothing: the trained network                   —
pruned, s = 50/80/90 %     the fraction s of weights with smallest |w|    nothing in a dense file;
                           set to 0 (global), fine-tuned, made permanent  a sparse or gzip file
int8 static (FX, x86)      weights and activations int8, conv+BN(+ReLU)   the file (about 4×) and
                           fused, activation ranges from calibration      the latency
int8 dynamic (Linear)      only ``nn.Linear`` weights int8                almost nothing in a CNN
=========================  =============================================  ==========================

Each row reports the file size (``torch.save`` of the state dict, bytes), the same file
gzip-compressed, the weights stored as CSR sparse tensors (float models), CPU latency
at batch 1 and at a larger batch, and test accuracy.

At 28×28 pixels ResNet-18's stages leave maps of 7, 4, 2 and 1 pixels: the last stage's
Grad-CAM is a single number per image (a constant map), so the chapter sets it beside
the Grad-CAM of the earlier stages (:func:`grad_cam`).
"""

from __future__ import annotations

import contextlib
import copy
import gzip
import io
import warnings
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune

from cnnlab import measure, plot, train
from cnnlab.chapters.resnet import FULL as RESNET_FULL
from cnnlab.table import Table

__all__ = ["PROFILES", "SPARSITIES", "FINETUNE", "CALIBRATION_IMAGES", "BENCH_BATCH",
           "prunable", "prune_global", "sparsity", "layer_sparsity", "make_permanent",
           "saved_bytes", "gzip_bytes", "sparse_state_dict", "dense_state_dict", "quantize_int8",
           "quantize_dynamic_linear", "ModelVersion", "measure_variant",
           "format_table", "stage_outputs", "split_inputs", "grad_cam", "plot_grad_cam"]

# The article's recipe (Adam, lr 0.001, batch 256, 2 epochs on 28×28 images, as in the
# ResNet chapter) on a GPU. The quick run trains 2 epochs on 150 training images per
# class in batches of 100 (30 steps) and tests on 50 per class: about 13 s of training
# on two quiet CPU cores; every variant below is scored on the same 500 test images.
PROFILES = {
    "full": RESNET_FULL,
    "quick": RESNET_FULL.replace(epochs=2, batch_size=100, train_per_class=150,
                                 test_per_class=50),
}

# Global sparsities to prune to.
SPARSITIES = (0.5, 0.8, 0.9)
# The fine-tuning after each cut: one epoch at half the learning rate; the quick one on
# 30 training images per class (a fifth of its training set), so that three of them
# cost less than one epoch of training. Same test images as the profile.
FINETUNE = {
    "full": PROFILES["full"].replace(epochs=1, lr=5e-4),
    "quick": PROFILES["quick"].replace(epochs=1, lr=5e-4, train_per_class=30),
}
# Training images that calibrate the int8 activation ranges (observers see them once).
CALIBRATION_IMAGES = 256
# The "larger batch" of the latency columns.
BENCH_BATCH = 64


# --------------------------------------------------------------------------- pruning


def prunable(net: nn.Module) -> list[tuple[nn.Module, str]]:
    """``(module, "weight")`` for every convolution and fully connected layer: the
    parameters that magnitude pruning cuts (biases and BatchNorm are left whole)."""
    return [(m, "weight") for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def prune_global(net: nn.Module, amount: float) -> nn.Module:
    """Zero the fraction ``amount`` of all prunable weights with the smallest |w|, in place.

    One threshold for the whole network (``prune.global_unstructured`` with
    ``prune.L1Unstructured``): layers whose weights are small lose more of them. Until
    :func:`make_permanent`, each pruned layer keeps ``weight_orig`` and a
    ``weight_mask`` buffer, and a forward pre-hook recomputes ``weight = orig * mask``, so
    fine-tuning cannot revive a cut weight.

    >>> net = prune_global(nn.Sequential(nn.Linear(10, 10)), 0.3)
    >>> round(sparsity(net), 2)
    0.3
    """
    if not 0.0 <= amount < 1.0:
        raise ValueError(f"amount is the fraction of weights to cut, in [0, 1); got {amount}")
    params = prunable(net)
    if not params:
        raise ValueError("the network has no Conv2d or Linear weights to prune")
    net.to(memory_format=torch.contiguous_format)   # fit leaves channels_last weights,
    prune.global_unstructured(                      # which prune cannot flatten with view
        params, pruning_method=prune.L1Unstructured, amount=amount)
    return net


def _weights(net: nn.Module) -> list[tuple[str, torch.Tensor]]:
    return [(name, m.weight) for name, m in net.named_modules()
            if isinstance(m, (nn.Conv2d, nn.Linear))]


def sparsity(net: nn.Module) -> float:
    """Fraction of zeros among the prunable weights (with or without masks in place)."""
    weights = [w for _, w in _weights(net)]
    total = sum(w.numel() for w in weights)
    return sum(int((w == 0).sum()) for w in weights) / total


def layer_sparsity(net: nn.Module) -> dict[str, float]:
    """Fraction of zeros in each prunable layer's weight, by module name."""
    return {name: float((w == 0).float().mean()) for name, w in _weights(net)}


def make_permanent(net: nn.Module) -> nn.Module:
    """``prune.remove`` on every pruned layer: ``weight`` becomes a plain parameter again,
    zeros included, and the mask, ``weight_orig`` and the hook are gone."""
    for module, name in prunable(net):
        if prune.is_pruned(module) and hasattr(module, f"{name}_mask"):
            prune.remove(module, name)
    return net


# --------------------------------------------------------------------------- files


def saved_bytes(obj) -> int:
    """Bytes that ``torch.save(obj, file)`` writes (a state dict, a tensor, ...)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getbuffer().nbytes


def gzip_bytes(obj, level: int = 1) -> int:
    """Bytes of the same file after gzip (the zeros of a pruned model compress; level 1,
    the fastest, is within a percent of level 6 on these files)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return len(gzip.compress(buffer.getvalue(), compresslevel=level))


def sparse_state_dict(state: dict[str, torch.Tensor], layout: str = "csr") -> dict:
    """The state dict with every float weight of 2 or more dimensions stored sparse.

    ``layout="csr"``: the weight seen as a matrix (out, in·kh·kw) in compressed sparse
    rows with int32 indices: 4 bytes of value + 4 of column index per non-zero, plus
    one row pointer per output channel. ``layout="coo"``: ``Tensor.to_sparse()``, one
    int64 index per dimension and non-zero (36 bytes per non-zero of a 4-d weight, more
    than the 4 bytes of a dense entry until over 89% are zero). Other tensors stay dense.
    """
    if layout not in ("csr", "coo"):
        raise ValueError(f"layout must be 'csr' or 'coo', got {layout!r}")
    out = {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Sparse CSR tensor support is in beta")
        for key, t in state.items():
            if not (isinstance(t, torch.Tensor) and t.is_floating_point() and t.dim() >= 2):
                out[key] = t
            elif layout == "coo":
                out[key] = t.detach().to_sparse()
            else:  # the matrix in CSR with int32 indices, and the weight's shape
                csr = t.detach().reshape(t.shape[0], -1).to_sparse_csr()
                out[key] = (torch.sparse_csr_tensor(
                    csr.crow_indices().int(), csr.col_indices().int(), csr.values(), csr.shape,
                    check_invariants=False), tuple(t.shape))
    return out


def dense_state_dict(state: dict) -> dict:
    """The inverse of :func:`sparse_state_dict`: every sparse weight dense again."""
    out = {}
    for key, t in state.items():
        if isinstance(t, tuple):          # (CSR matrix, weight shape)
            out[key] = t[0].to_dense().reshape(t[1])
        elif isinstance(t, torch.Tensor) and t.layout == torch.sparse_coo:
            out[key] = t.to_dense()
        else:
            out[key] = t
    return out


# --------------------------------------------------------------------------- quantisation


@contextlib.contextmanager
def _quiet_quantization():
    """torch.ao.quantization warns that it is deprecated (see the chapter) and, for the
    x86 backend's observers, once per layer about ``reduce_range``: silence both."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.ao.quantization is deprecated")
        warnings.filterwarnings("ignore", message=".*quant_min and quant_max")
        warnings.filterwarnings("ignore", message=".*torch.quantize_per_tensor")
        yield


def quantize_int8(net: nn.Module, calibration: Iterable, images: int = CALIBRATION_IMAGES,
                  backend: str = "x86") -> nn.Module:
    """Post-training static int8 quantisation (FX graph mode) of a copy of ``net``.

    1. ``prepare_fx`` traces the network, fuses conv+BN(+ReLU) and inserts observers
       after every op (the ``backend``'s default qconfig: per-channel symmetric int8
       weights, uint8 activations from a histogram observer).
    2. Calibration: ``images`` images from the batches ``calibration`` yields run through
       it once, in eval mode, so each observer records its activation range.
    3. ``convert_fx`` replaces each op by its quantised kernel (fbgemm/oneDNN int8
       convolutions, ``quantized.add_relu`` for the shortcut sum); the input is
       quantised on entry and the logits dequantised on exit.

    The result runs on the CPU only. ``net`` is not changed.

    >>> q = quantize_int8(nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU()), [torch.randn(8, 1, 6, 6)])
    >>> q(torch.randn(2, 1, 6, 6)).shape
    torch.Size([2, 4, 4, 4])
    """
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    if backend not in torch.backends.quantized.supported_engines:
        raise ValueError(f"quantised engine {backend!r} is not in this torch build; "
                         f"choose one of {torch.backends.quantized.supported_engines}")
    torch.backends.quantized.engine = backend
    model = copy.deepcopy(net).cpu().eval().to(memory_format=torch.contiguous_format)
    seen, example = 0, None
    with _quiet_quantization():
        for batch in calibration:
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            x = x[: images - seen].detach().float().cpu().contiguous()
            if example is None:
                example = (x[:1],)
                prepared = prepare_fx(model, get_default_qconfig_mapping(backend), example)
            with torch.no_grad():
                prepared(x)
            seen += len(x)
            if seen >= images:
                break
        if example is None:
            raise ValueError("no calibration batch: pass batches of images (e.g. data.train)")
        return convert_fx(prepared)


def quantize_dynamic_linear(net: nn.Module) -> nn.Module:
    """Dynamic int8 quantisation of a copy of ``net``: only ``nn.Linear`` weights become
    int8 (activations are quantised on the fly); every convolution stays fp32."""
    with _quiet_quantization():
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(net).cpu().eval(),
                                                      {nn.Linear}, dtype=torch.qint8)


# --------------------------------------------------------------------------- measuring


@dataclass
class ModelVersion:
    """One version of the model (fp32, int8, pruned...): a row of the chapter's table, sizes
    in bytes, latencies in milliseconds."""

    name: str
    accuracy: float
    file_bytes: int
    gzip_bytes: int
    sparse_bytes: int | None
    ms_batch1: float
    ms_batch: float
    batch: int
    sparsity: float | None = None
    accuracy_before: float | None = None   # pruned: before fine-tuning


def measure_variant(name: str, net: nn.Module, data, accuracy_before: float | None = None,
                    batch: int = BENCH_BATCH, shape: Sequence[int] = (1, 28, 28)) -> ModelVersion:
    """Size on disk, CPU latency at batch 1 and ``batch``, and test accuracy of ``net``
    (moved to the CPU). Float models also get their sparsity and the CSR file size."""
    net = net.cpu().eval()
    state = net.state_dict()
    is_float = all(isinstance(t, torch.Tensor) and not t.is_quantized for t in state.values())
    return ModelVersion(
        name=name, file_bytes=saved_bytes(state),
        accuracy=train.evaluate(net.cpu(), data, device="cpu", channels_last=False, amp=False),
        gzip_bytes=gzip_bytes(state),
        sparse_bytes=saved_bytes(sparse_state_dict(state)) if is_float else None,
        ms_batch1=measure.latency_ms(net, 1, shape), ms_batch=measure.latency_ms(net, batch, shape),
        batch=batch,
        sparsity=sparsity(net) if is_float and prunable(net) else None,
        accuracy_before=accuracy_before)


def format_table(rows: Sequence[ModelVersion]) -> Table:
    """The versions as a table (MB = 10**6 bytes)."""
    batch = rows[0].batch
    return Table(
        ["version", "zeros", "file MB", "gzip MB", "CSR MB", "ms, b=1", f"ms, b={batch}",
         "acc before", "acc"],
        [[r.name, "—" if r.sparsity is None else f"{r.sparsity:.0%}", f"{r.file_bytes / 1e6:.1f}",
          f"{r.gzip_bytes / 1e6:.1f}",
          "—" if r.sparse_bytes is None else f"{r.sparse_bytes / 1e6:.1f}",
          f"{r.ms_batch1:.2f}", f"{r.ms_batch:.1f}",
          "—" if r.accuracy_before is None else f"{r.accuracy_before:.3f}", f"{r.accuracy:.3f}"]
         for r in rows])


# --------------------------------------------------------------------------- looking inside


def stage_outputs(net: nn.Module, x: torch.Tensor,
                  names: Sequence[str] = ("2", "resnet_block1", "resnet_block2",
                                          "resnet_block3", "resnet_block4")) -> dict:
    """The outputs of the named children of ``net`` for input ``x`` (eval mode, no
    gradients): by default the stem's ReLU (before the max-pool) and the four stages."""
    return dict(measure.trace(net, x, names, lambda m, args, out: out.detach().cpu()))


def split_inputs(data, split: str = "test") -> torch.Tensor:
    """A whole split (``"test"`` or ``"train"``) as the network sees it: float,
    normalised, in stored order for the test split."""
    return torch.cat([x.cpu() for x, _ in getattr(data, split)])


def grad_cam(net: nn.Module, x: torch.Tensor, layer: nn.Module,
             classes: Sequence[int] | None = None) -> np.ndarray:
    """Grad-CAM maps ``(N, H, W)`` of ``layer`` for the images ``x`` ``(N, C, H, W)``.

    ``pytorch_grad_cam.GradCAM`` weights each channel of the layer's output by the mean
    gradient of the class score (``classes``, default: the predicted ones), sums the
    channels, keeps the positive part, scales each map to [0, 1] and resizes it
    bilinearly to the input's size. A layer whose output is 1×1 (ResNet-18's last stage
    at 28 px) gives one number per image, hence a constant map (all zeros after the
    scaling).
    """
    try:
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    except ImportError as error:
        raise ImportError("Grad-CAM needs the grad-cam package: pip install grad-cam "
                          "(or pip install 'cnnlab[book]')") from error
    device = next(net.parameters()).device
    targets = None if classes is None else [ClassifierOutputTarget(int(c)) for c in classes]
    was_training = net.training
    try:
        with GradCAM(model=net, target_layers=[layer]) as cam:
            return cam(input_tensor=x.to(device), targets=targets)
    finally:
        net.train(was_training)


def plot_grad_cam(net: nn.Module, x: torch.Tensor, images: torch.Tensor,
                  layers: dict[str, nn.Module], titles: Sequence[str], upsample: int = 4,
                  colors: Sequence[str] | None = None, axes=None, path=None):
    """One row per image: the image, then its Grad-CAM for each of ``layers`` overlaid on it.

    ``x``: the network's inputs ``(N, C, H, W)``; ``images``: the same images as stored
    (uint8 ``(N, 1, H, W)``) for display; each map is computed for the predicted class,
    upsampled ``upsample``× (bilinear; the image nearest-neighbour) and overlaid with
    ``pytorch_grad_cam.utils.image.show_cam_on_image`` (jet colour map, half and half).
    ``axes`` draws into existing panels (images × (1 + layers)), ``path`` saves the
    figure. Returns the figure.
    """
    import cv2
    from pytorch_grad_cam.utils.image import show_cam_on_image

    maps = {name: grad_cam(net, x, layer) for name, layer in layers.items()}
    n, cols = len(x), 1 + len(layers)
    fig, axes = plot.panels("plot_grad_cam", axes, (n, cols), path,
                            figsize=(1.6 * cols, 1.7 * n))
    for i in range(n):
        gray = images[i, 0].float().numpy() / 255
        side = gray.shape[-1] * upsample
        big = cv2.resize(gray, (side, side), interpolation=cv2.INTER_NEAREST)
        rgb = np.repeat(big[..., None], 3, axis=2).astype(np.float32)
        axes[i, 0].imshow(big, cmap="gray")
        axes[i, 0].set_title(titles[i], fontsize=7.5,
                             color=(colors[i] if colors is not None else "black"))
        for j, (name, cams) in enumerate(maps.items(), start=1):
            heat = cv2.resize(cams[i], (side, side), interpolation=cv2.INTER_LINEAR)
            axes[i, j].imshow(show_cam_on_image(rgb, heat, use_rgb=True))
            if i == 0:
                axes[i, j].set_title(name, fontsize=8)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
    plot.show(fig, path)
    return fig
