"""Look inside a network: layer table, stage-by-stage shapes, parameters, FLOPs, speed.

Every function takes a module or a registry name (built with
:func:`cnnlab.models.create` and its default configuration)::

    >>> from cnnlab import measure
    >>> measure.count_parameters("resnet18_fmnist")
    11178378
    >>> [tuple(s) for _, s in measure.layer_shapes("resnet18_fmnist", (1, 1, 96, 96))][-1]
    (1, 10)

* :func:`summary` — torchinfo's layer-by-layer table (output shape, parameters);
* :func:`layer_shapes` — the output shape of each layer or block, the trace d2l
  prints ("Sequential output shape: torch.Size([1, 64, 24, 24])");
* :func:`count_parameters` — the number of parameters;
* :func:`flops` — floating-point operations of one forward pass, per top-level child,
  counted by :class:`torch.utils.flop_counter.FlopCounterMode`;
* :func:`benchmark` — images per second, milliseconds per batch and peak memory of
  inference or training steps.

Nothing here changes the model passed in: :func:`summary` and :func:`layer_shapes`
run it in eval mode without gradients and restore its mode; :func:`benchmark`
works on a copy.
"""

from __future__ import annotations

import copy
import statistics
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode

from cnnlab import checks, models
from cnnlab.device import default_device, precision_name

__all__ = ["summary", "layer_shapes", "trace", "count_parameters", "init_variance", "flops",
           "FlopReport", "benchmark", "BenchResult", "latency_ms"]

_FMNIST_INPUT = (1, 1, 28, 28)


# --------------------------------------------------------------------------- helpers

def _resolve(model: nn.Module | str, input_size: Sequence[int] | None, func: str,
             batch: int = 1) -> tuple[nn.Module, tuple[int, ...], str]:
    """Return (module, full input size (N, C, H, W), display name).

    A registry name is built with its defaults; without ``input_size`` it gets the
    configuration's typical input (N, in_channels, input_size, input_size). A module
    without ``input_size`` gets a Fashion-MNIST batch of one, (1, 1, 28, 28). ``func``, the
    public function called, names the call in the messages of bad arguments.
    """
    _check_model(func, model)
    checks.shape(func, "input_size", input_size, (1, 1, 28, 28), none="the model's own input")
    if isinstance(model, str):
        spec = models.get_spec(model)
        name, module = model, models.create(model)
        default = (batch, spec.in_channels, spec.input_size, spec.input_size)
    else:
        name, module, default = type(model).__name__, model, _FMNIST_INPUT
    size = tuple(int(s) for s in (default if input_size is None else input_size))
    return module, size, name


def _check_model(func: str, model) -> None:
    checks.instance(func, "model", model, (nn.Module, str), "a torch.nn.Module or a registry name",
                    "'resnet18_fmnist'")


def _device_of(model: nn.Module) -> torch.device:
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


def _shape_of(out: Any) -> Any:
    """torch.Size of a tensor; a tuple of them for tuple/list outputs; None otherwise."""
    if isinstance(out, torch.Tensor):
        return out.shape
    if isinstance(out, (tuple, list)):
        return tuple(_shape_of(o) for o in out)
    return None


# --------------------------------------------------------------------------- summary

class _Summary:
    """Mixin for torchinfo's ModelStatistics: Python >= 3.11 prints its units as
    "Units.MEGABYTES" (``format()`` of a ``str`` enum changed); show "M"/"G"/"T"."""

    def __repr__(self) -> str:
        text = super().__repr__()
        for word, unit in (("MEGABYTES", "M"), ("GIGABYTES", "G"), ("TERABYTES", "T")):
            text = text.replace(f"Units.{word}", unit)
        return text


def summary(model: nn.Module | str, input_size: Sequence[int] | None = None, depth: int = 2,
            **kw: Any):
    """Layer-by-layer table of output shapes and parameters (torchinfo).

    Args:
        model: a module, or a registry name (built by ``cnnlab.models.create``).
        input_size: full input shape (N, C, H, W). Default: (1, 1, 28, 28) for a
            module (one Fashion-MNIST image); the configuration's own input for a name
            (e.g. (1, 3, 224, 224) for "resnet18").
        depth: how many levels of nested modules the table shows.
        **kw: passed to :func:`torchinfo.summary` (e.g. ``col_names=("output_size",
            "num_params", "mult_adds")``, ``row_settings=("var_names",)``).

    Returns:
        torchinfo's ``ModelStatistics``: a notebook shows it as the table; it has
        ``total_params``, ``trainable_params``, ``total_mult_adds`` and ``summary_list``.
        The forward pass runs in eval mode without gradients, on the model's device;
        the model's train/eval mode is restored afterwards.

    Example:
        >>> stats = summary("resnet18_fmnist", (1, 1, 96, 96), depth=1)
        >>> stats.total_params
        11178378
    """
    import torchinfo
    from torchinfo.model_statistics import ModelStatistics

    checks.non_negative_int("summary", "depth", depth, 2)
    module, size, _ = _resolve(model, input_size, "summary")
    kw.setdefault("col_names", ("output_size", "num_params"))
    kw.setdefault("verbose", 0)
    kw.setdefault("mode", "eval")
    kw.setdefault("device", _device_of(module))
    stats = torchinfo.summary(module, input_size=size, depth=depth, **kw)
    if isinstance(stats, ModelStatistics):
        stats.__class__ = type("ModelStatistics", (_Summary, ModelStatistics), {})
    return stats


def _traced_children(module: nn.Module, expand: Sequence[str]) -> list[tuple[str, nn.Module]]:
    """The top-level children, with the plain ``nn.Sequential`` ones named in ``expand``
    replaced by their own children (``features.0``, ``features.1``, ...)."""
    rows = []
    for name, child in module.named_children():
        if name in expand and type(child) is nn.Sequential:
            rows += [(f"{name}.{sub}", grandchild) for sub, grandchild in child.named_children()]
        else:
            rows.append((name, child))
    return rows


def trace(model: nn.Module, x: torch.Tensor,
          modules: Mapping[str, nn.Module] | Sequence[str],
          record: Callable[[nn.Module, tuple, Any], Any] | None = None) -> list[tuple[str, Any]]:
    """Run ``model`` once on ``x`` (eval mode, no gradients; its mode is restored) and
    collect what the named ``modules`` output, in call order.

    ``modules`` maps names to submodules, or lists names of ``model.get_submodule``.
    ``record(module, args, output)`` turns each call into the value kept (default: the
    output, detached). Returns ``[(name, value), ...]``: a module called twice appears
    twice, one never called does not appear. The hooks are removed however the pass ends.

    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten())
    >>> trace(net, torch.zeros(1, 1, 5, 5), ["0", "2"], lambda m, args, out: tuple(out.shape))
    [('0', (1, 4, 3, 3)), ('2', (1, 36))]
    """
    if not isinstance(modules, Mapping):
        modules = {name: model.get_submodule(name) for name in modules}
    keep = record or (lambda module, args, out: out.detach())
    calls: list[tuple[str, Any]] = []
    handles = [module.register_forward_hook(
        lambda m, args, out, name=name: calls.append((name, keep(m, args, out))))
        for name, module in modules.items()]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x.to(_device_of(model)))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return calls


def layer_shapes(model: nn.Module | str, input_size: Sequence[int] | None = None,
                 verbose: bool = False,
                 expand: Sequence[str] = ("features", "classifier", "stages"),
                 ) -> list[tuple[str, Any]]:
    """Output shape of each layer or block, in the order the forward pass calls them.

    This is the stage-by-stage trace of d2l's chapters: for a model built as a chain of
    layers and blocks it shows how resolution falls while channels grow. The rows are
    the model's top-level children; a plain ``nn.Sequential`` container named in
    ``expand`` (torchvision's ``features`` and ``classifier``) is traced one level
    deeper, so AlexNet, VGG and DenseNet show their layers and blocks, not two rows.
    Named blocks (a ``Residual``, a ``DenseBlock``, a VGG block) stay one row each.

    Args:
        model: a module or a registry name.
        input_size: full input shape (N, C, H, W); defaults as in :func:`summary`.
        verbose: also print one line per row, d2l style
            (``Sequential output shape:    torch.Size([1, 64, 24, 24])``).
        expand: names of the containers to trace into.

    Returns:
        ``[(name, output shape), ...]``, names as ``model.get_submodule`` takes them; a
        shape is a ``torch.Size`` (a tuple of them for a child returning several
        tensors). A child called twice appears twice;
        a child the forward pass does not call (an auxiliary head in eval mode) does not
        appear. Runs in eval mode without gradients; restores the model's mode.

    Example:
        >>> for name, shape in layer_shapes("resnet18_fmnist", (1, 1, 96, 96))[3:]:
        ...     print(f"{name:16s} {tuple(shape)}")
        3                (1, 64, 24, 24)
        resnet_block1    (1, 64, 24, 24)
        resnet_block2    (1, 128, 12, 12)
        resnet_block3    (1, 256, 6, 6)
        resnet_block4    (1, 512, 3, 3)
        global_avg_pool  (1, 512, 1, 1)
        fc               (1, 10)
    """
    checks.flags("layer_shapes", verbose=verbose)
    checks.instance("layer_shapes", "expand", expand, (list, tuple, set, frozenset),
                    "a list of container names", "('features',)")
    module, size, _ = _resolve(model, input_size, "layer_shapes")
    records = trace(module, torch.zeros(size), dict(_traced_children(module, expand)),
                    lambda m, args, out: _shape_of(out))
    if verbose:
        for name, shape in records:
            print(f"{type(module.get_submodule(name)).__name__} output shape:\t{shape}")
    return records


def count_parameters(model: nn.Module | str, trainable_only: bool = False) -> int:
    """Number of parameters (each shared tensor counted once).

    Args:
        model: a module or a registry name.
        trainable_only: count only parameters with ``requires_grad``.

    Example:
        >>> count_parameters("resnet18_fmnist")
        11178378
    """
    checks.flags("count_parameters", trainable_only=trainable_only)
    module = _resolve(model, None, "count_parameters")[0]
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def init_variance(model: nn.Module | str) -> float:
    """The variance of the convolution weights times their fan-in (input channels ×
    kernel area), the mean over the convolutions: the scale the initialisation gives.

    PyTorch's default (``kaiming_uniform_`` with ``a=√5``, a uniform draw) gives 1/3;
    He et al.'s ``kaiming_normal_`` with ``mode="fan_in"`` gives 2. Read it on a freshly
    created network: training changes the weights. The chapters that state the scale
    of the initialisation glue this number.

    Example:
        >>> round(init_variance(nn.Conv2d(64, 64, 3)), 1)
        0.3
    """
    module = _resolve(model, None, "init_variance")[0]
    convs = [m.weight for m in module.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d))]
    if not convs:
        raise ValueError(f"{type(module).__name__} has no convolution")
    return sum(w.var().item() * w[0].numel() for w in convs) / len(convs)


# --------------------------------------------------------------------------- FLOPs

@dataclass
class FlopReport:
    """FLOPs of one forward pass (see :func:`flops`).

    Attributes:
        model: the model's name (registry name or class name).
        input_size: the input shape counted, (N, C, H, W).
        total_flops: floating-point operations, a multiply-add counted as 2.
        by_module: FLOPs per top-level child, in definition order (0 for children not
            called); FLOPs done by the root's own ``forward`` are under ``"(root)"``.
        by_operator: FLOPs per ATen operator ("aten.convolution", "aten.addmm", ...).
    """

    model: str
    input_size: tuple[int, ...]
    total_flops: int
    by_module: dict[str, int] = field(default_factory=dict)
    by_operator: dict[str, int] = field(default_factory=dict)

    @property
    def macs(self) -> float:
        """Multiply-accumulates, ``total_flops / 2``."""
        return self.total_flops / 2

    @property
    def gflops(self) -> float:
        """``total_flops`` in units of 10**9."""
        return self.total_flops / 1e9

    @property
    def gmacs(self) -> float:
        """Multiply-accumulates in units of 10**9: torchvision's "GFLOPS" metadata."""
        return self.macs / 1e9

    def __str__(self) -> str:
        width = max([len(k) for k in self.by_module] + [6])
        lines = [f"{self.model} at {tuple(self.input_size)}: {self.gflops:.3f} GFLOPs "
                 f"= {self.gmacs:.3f} GMACs"]
        for name, n in self.by_module.items():
            share = n / self.total_flops if self.total_flops else 0.0
            lines.append(f"  {name:<{width}}  {n / 1e9:9.4f} GFLOPs  {share:6.1%}")
        return "\n".join(lines)


def flops(model: nn.Module | str, input_size: Sequence[int] | None = None) -> FlopReport:
    """Count the floating-point operations of one forward pass.

    Counted by :class:`torch.utils.flop_counter.FlopCounterMode`, which runs the
    model once (eval mode, no gradients) and adds up the operations of matrix
    products and convolutions, a multiply-accumulate counted as **2** FLOPs. Batch
    norm, activations, pooling and additions are not counted (they are a few percent
    of a CNN's work).

    torchvision's weights metadata (``Weights.meta["_ops"]``, shown as "GFLOPS" in
    its documentation) counts the same operations but a multiply-accumulate as
    **1**: ``meta["_ops"] == report.gmacs == report.gflops / 2``. For ResNet-18 at
    1x3x224x224: 3.628 GFLOPs here, 1.814 in torchvision's table (and in He et al.
    2016, arXiv:1512.03385, Table 1: "1.8 x 10^9 FLOPs", also multiply-adds).

    Args:
        model: a module or a registry name.
        input_size: full input shape (N, C, H, W); defaults as in :func:`summary`.
            FLOPs grow linearly with N.

    Example:
        >>> import torchvision
        >>> round(flops(torchvision.models.resnet18(), (1, 3, 224, 224)).gmacs, 3)
        1.814
    """
    module, size, name = _resolve(model, input_size, "flops")
    root = type(module).__name__
    counter = FlopCounterMode(display=False)
    was_training = module.training
    try:
        module.eval()
        with torch.no_grad(), counter:
            module(torch.zeros(size, device=_device_of(module)))
    finally:
        module.train(was_training)
    counts = counter.get_flop_counts()
    total = int(counter.get_total_flops())
    by_module = {child: int(sum(counts.get(f"{root}.{child}", {}).values()))
                 for child, _ in module.named_children()}
    rest = total - sum(by_module.values())
    if rest:
        by_module["(root)"] = rest
    by_operator = {str(op): int(n) for op, n in counts.get("Global", {}).items()}
    return FlopReport(name, size, total, by_module, by_operator)


# --------------------------------------------------------------------------- benchmark

@dataclass
class BenchResult:
    """Throughput and memory of a model (see :func:`benchmark`).

    Attributes:
        model: the model's name.
        device: where it ran ("cuda:0", "cpu").
        mode: "inference" or "train".
        batch_size: images per step.
        input_size: one batch's shape (N, C, H, W).
        steps: timed steps; warmup: untimed steps before them.
        ms_per_batch: mean wall-clock milliseconds per step over the timed steps.
        images_per_s: ``batch_size * steps / elapsed seconds``.
        peak_memory_mib: peak memory in MiB (2**20 bytes); see ``memory_method``.
        memory_method: how the peak was measured, in words.
        channels_last: whether model and input used ``torch.channels_last``.
        precision: ``"fp32"`` or the autocast dtype, e.g. ``"bf16 autocast"``.
    """

    model: str
    device: str
    mode: str
    batch_size: int
    input_size: tuple[int, ...]
    steps: int
    warmup: int
    ms_per_batch: float
    images_per_s: float
    peak_memory_mib: float | None
    memory_method: str
    channels_last: bool = False
    precision: str = "fp32"

    def __str__(self) -> str:
        mem = "n/a" if self.peak_memory_mib is None else f"{self.peak_memory_mib:.1f} MiB"
        return (f"{self.model} {self.mode} on {self.device}, batch {self.batch_size} "
                f"{tuple(self.input_size[1:])}{', channels_last' if self.channels_last else ''}, "
                f"{self.precision}: "
                f"{self.images_per_s:,.1f} img/s, {self.ms_per_batch:.2f} ms/batch, "
                f"peak memory {mem}")


class _TensorMemory(TorchDispatchMode):
    """Peak bytes of live tensor storages while active (a CPU stand-in for
    ``torch.cuda.max_memory_allocated``).

    Storages that exist before (parameters, gradients, input...) are registered with
    :meth:`add`; every storage an operator returns is added when it first appears and
    removed when it is freed (a finalizer on the storage, whose Python object lives as
    long as the storage does).
    """

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[int, int] = {}
        self.current = 0
        self.peak = 0

    def _free(self, key: int) -> None:
        self.current -= self.live.pop(key, 0)

    def add(self, t: Any) -> None:
        if not isinstance(t, torch.Tensor) or t.device.type == "meta":
            return
        storage = t.untyped_storage()
        key = id(storage)
        if key not in self.live:
            self.live[key] = storage.nbytes()
            self.current += self.live[key]
            weakref.finalize(storage, self._free, key)
            self.peak = max(self.peak, self.current)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            self.add(t)
        return out


def _sync(device: torch.device) -> None:
    """Wait for the device's queued work, so that the clock measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def benchmark(model: nn.Module | str, input_size: Sequence[int] | None = None,
              batch_size: int | None = None, device: str | torch.device | None = None,
              mode: str = "inference", steps: int = 20, warmup: int = 5,
              channels_last: bool = False, lr: float = 0.01,
              amp_dtype: torch.dtype | None = None) -> BenchResult:
    """Time inference or training steps on random data and measure peak memory.

    The model passed in is not changed: the benchmark runs on a deep copy, moved to
    ``device``.

    * ``mode="inference"``: a step is one forward pass in eval mode under
      :func:`torch.inference_mode`.
    * ``mode="train"``: a step is forward, cross-entropy on random labels, backward
      and an SGD step (momentum 0.9), in train mode.

    ``warmup`` untimed steps run first (cuDNN algorithm choice, allocator warm-up),
    then ``steps`` timed steps; on CUDA the clock starts and stops after
    :func:`torch.cuda.synchronize`, so the time covers the GPU's work, not just the
    kernel launches. Throughput is ``batch_size * steps / elapsed``.

    Peak memory, in MiB:

    * CUDA: ``torch.cuda.max_memory_allocated`` over the timed steps (reset after the
      warm-up): every tensor the caching allocator holds for the model, its input,
      activations, gradients and optimizer state; not the allocator's cached reserve
      or the CUDA context.
    * CPU: the same quantity counted by hand: the peak total size of live tensor
      storages during the last warm-up step, parameters, buffers, gradients, optimizer
      state and input included, tracked with a ``TorchDispatchMode``. Not counted: the
      process's other memory and library workspaces outside PyTorch's allocator (e.g.
      oneDNN scratch buffers). A training step is counted only when it follows another
      one (``warmup >= 2``), as on CUDA: the first step starts without gradients and
      momentum, and its peak (weights + activations, or weights + gradients + momentum
      at the update) hides either the activations or the state. Otherwise (and with
      ``warmup=0`` in inference) nothing is tracked and the result is ``None``.
      (Process RSS is not used: its peak is a lifetime high-water mark.)

    Args:
        model: a module or a registry name.
        input_size: one image (C, H, W), or a batch (N, C, H, W) whose N is the batch
            size unless ``batch_size`` is given. Default: the registry configuration's
            input for a name, (1, 28, 28) for a module.
        batch_size: images per step (default: N of a 4-d ``input_size``, else 64).
        device: "cuda", "cpu", ... (default: :func:`cnnlab.device.default_device`:
            ``$CNNLAB_DEVICE``, else CUDA when available, else the CPU, as ``fit``).
        mode: "inference" or "train".
        steps: timed steps (>= 1). warmup: untimed steps before them (>= 0).
        channels_last: convert model and input to ``torch.channels_last`` (NHWC),
            usually faster for convolutions on GPUs and on CPU with oneDNN.
        lr: the SGD learning rate in train mode (the copy's weights change).
        amp_dtype: run the forward pass under autocast with this dtype (e.g.
            ``torch.bfloat16``; :func:`cnnlab.device.amp_dtype_for` gives the trainer's
            choice for a device); None: fp32.

    Example:
        >>> r = benchmark("resnet18_fmnist", (1, 28, 28), batch_size=8, device="cpu",
        ...               steps=2, warmup=1)
        >>> r.images_per_s > 0 and r.steps == 2
        True
    """
    func = "benchmark"
    _check_model(func, model)
    checks.shape(func, "input_size", input_size, (1, 28, 28), ("(C, H, W)", "(N, C, H, W)"),
                 none="the model's own input")
    checks.positive_int(func, "batch_size", batch_size, 64, none="N of input_size, else 64")
    checks.device(func, "device", device, none="$CNNLAB_DEVICE, else CUDA when present")
    checks.one_of(func, "mode", mode, ("inference", "train"))
    checks.positive_int(func, "steps", steps, 20)
    checks.non_negative_int(func, "warmup", warmup, 5)
    checks.flags(func, channels_last=channels_last)
    checks.positive_float(func, "lr", lr, 0.01)
    checks.one_of(func, "amp_dtype", amp_dtype, (torch.bfloat16, torch.float16),
                  none="fp32 (no autocast)")
    whole = None if input_size is None else tuple(input_size)
    module, size, name = _resolve(model, whole if whole is None or len(whole) == 4
                                  else (1, *whole), func)
    if not isinstance(model, str):
        module = copy.deepcopy(module)  # moved and trained here: leave the caller's alone
    if whole is not None and len(whole) == 4 and batch_size is None:
        batch_size = whole[0]
    input_size = size[1:]
    batch_size = 64 if batch_size is None else int(batch_size)

    dev = default_device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    module = module.to(dev, memory_format=fmt)
    x = torch.randn(batch_size, *input_size, device=dev).contiguous(memory_format=fmt)
    train = mode == "train"
    module.train(train)
    opt = torch.optim.SGD(module.parameters(), lr=lr, momentum=0.9) if train else None
    labels: torch.Tensor | None = None

    def forward() -> Any:
        if amp_dtype is None:
            return module(x)
        with torch.autocast(dev.type, dtype=amp_dtype):
            return module(x)

    def step() -> None:
        nonlocal labels
        if not train:
            with torch.inference_mode():
                forward()
            return
        out = forward()
        if isinstance(out, (tuple, list)):  # e.g. GoogLeNet's (logits, aux2, aux1)
            out = out[0]
        if labels is None:
            labels = torch.randint(0, out.shape[-1], (batch_size,), device=dev)
        loss = nn.functional.cross_entropy(out, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    tracker = None
    first_tracked = 1 if train else 0   # a training step with the state of a previous one
    for i in range(warmup):
        if dev.type == "cpu" and i == warmup - 1 and i >= first_tracked:
            tracker = _TensorMemory()
            for t in [x, *module.parameters(), *module.buffers()]:
                tracker.add(t)
            for p in module.parameters():
                tracker.add(p.grad)
            if opt is not None:
                for state in opt.state.values():
                    for t in state.values():
                        tracker.add(t)
            with tracker:
                step()
        else:
            step()

    if dev.type == "cuda":
        _sync(dev)
        torch.cuda.reset_peak_memory_stats(dev)
    _sync(dev)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(dev)
    elapsed = time.perf_counter() - start

    if dev.type == "cuda":
        peak = torch.cuda.max_memory_allocated(dev) / 2**20
        method = "torch.cuda.max_memory_allocated over the timed steps"
    elif tracker is not None:
        peak = tracker.peak / 2**20
        method = "peak of live tensor storages in the last warm-up step (TorchDispatchMode)"
    else:
        peak, method = None, (f"not measured on {dev.type}" if dev.type != "cpu" else
                              f"not measured: needs warmup >= {first_tracked + 1}")
    return BenchResult(model=name, device=str(dev), mode=mode, batch_size=batch_size,
                       input_size=(batch_size, *input_size), steps=steps, warmup=warmup,
                       ms_per_batch=1000 * elapsed / steps,
                       images_per_s=batch_size * steps / elapsed,
                       peak_memory_mib=peak, memory_method=method,
                       channels_last=channels_last, precision=precision_name(amp_dtype))


def latency_ms(model: nn.Module, batch_size: int, input_size: Sequence[int] = (1, 28, 28),
               repeats: int = 3, steps: int | None = None,
               device: str | torch.device = "cpu") -> float:
    """Milliseconds of one inference batch: the median over ``repeats`` runs of
    :func:`benchmark` (the median keeps one disturbed run from moving the number).

    ``steps`` timed batches per run (default 10 at batch 1, else 3), on ``device``
    (the CPU by default, with the current ``torch.get_num_threads()``).

    >>> latency_ms(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), 4, steps=2) > 0
    True
    """
    checks.positive_int("latency_ms", "repeats", repeats, 3)
    steps = steps or (10 if batch_size == 1 else 3)
    runs = [benchmark(model, tuple(input_size), batch_size=batch_size, device=device,
                      steps=steps, warmup=2).ms_per_batch for _ in range(repeats)]
    return statistics.median(runs)
