"""Training and evaluation: ``fit``, ``evaluate``, and resumable checkpoints.

The loop is the one every chapter teaches (forward, loss, backward, step); its
speed comes from a few deliberate choices, each measured (``benchmarks/``):

- the data already lives on the training device (:mod:`cnnlab.data`): no DataLoader;
- ``channels_last`` memory format, and ``zero_grad(set_to_none=True)``;
- loss and accuracy are summed on the device and read once per epoch, so the GPU
  never waits for the Python loop;
- mixed precision where the hardware has it: bf16 autocast on recent GPUs and on CPUs
  with AVX512-BF16/AMX, fp16 with a gradient scaler on older GPUs, fp32 elsewhere
  (:mod:`cnnlab.device` has the measurements); ``cudnn.benchmark`` on CUDA;
  ``torch.compile`` on request.

>>> from cnnlab import data, models, train
>>> ds = data.fashion_mnist(train_per_class=100, test_per_class=20)   # doctest: +SKIP
>>> history = train.fit(models.create("lenet_bn"), ds, epochs=2)       # doctest: +SKIP
>>> history[-1].test_acc                                              # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from cnnlab import checks, distributed, dry_run, settings
from cnnlab.checkpoint import (CheckpointError, load_parameters, model_name, restore_checkpoint,
                               save_checkpoint, save_parameters, unwrap)
from cnnlab.data import Batches, ImageData
from cnnlab.device import amp_dtype_for, default_device, precision_name, settings_for
from cnnlab.seeding import seed_everything

__all__ = ["fit", "evaluate", "predict", "class_probabilities", "History", "EpochStats", "NonFiniteLossError",
           "save_parameters", "load_parameters", "CheckpointError", "make_optimizer"]


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss; raised at the first such step."""


@dataclass
class EpochStats:
    """What one epoch did. Accuracies are fractions in [0, 1]."""

    epoch: int
    train_loss: float
    train_acc: float
    test_acc: float
    examples_per_s: float
    seconds: float
    lr: float
    device: str

    def __str__(self) -> str:
        return (f"epoch {self.epoch:>3}  loss {self.train_loss:.4f}  train acc {self.train_acc:.3f}"
                f"  test acc {self.test_acc:.3f}  {self.examples_per_s:,.0f} ex/s"
                f"  {self.seconds:.1f} s  ({self.device})")


@dataclass
class History:
    """The per-epoch record ``fit`` returns; index it, print it, plot it.

    ``label`` names the run in plots that compare several (``fit`` sets it to the
    model's registry name; set your own, e.g. ``history.label = "lr 0.1"``). Plot one
    with ``plot.curves(history)``, several with ``plot.curves([h1, h2])``.
    """

    epochs: list[EpochStats] = field(default_factory=list)
    label: str = ""

    def __getitem__(self, i: int) -> EpochStats:
        return self.epochs[i]

    def __len__(self) -> int:
        return len(self.epochs)

    def __iter__(self):
        return iter(self.epochs)

    def column(self, name: str) -> list[float]:
        """One field over all epochs, e.g. ``history.column("test_acc")``."""
        return [getattr(e, name) for e in self.epochs]

    @property
    def total_seconds(self) -> float:
        return sum(e.seconds for e in self.epochs)

    def to_list(self) -> list[dict]:
        return [asdict(e) for e in self.epochs]

    @classmethod
    def from_list(cls, rows: Iterable[dict], label: str = "") -> "History":
        return cls([EpochStats(**r) for r in rows], label=label)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.epochs)


# --------------------------------------------------------------------------- building blocks

def make_optimizer(params, name: str | Callable, lr: float, weight_decay: float = 0.0,
                   momentum: float = 0.9) -> torch.optim.Optimizer:
    """``"adam"``, ``"adamw"``, ``"sgd"`` (with momentum) or a callable ``params -> optimizer``."""
    _check_optimizer_settings("make_optimizer", lr, weight_decay, momentum)
    if callable(name):
        return name(params)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                               nesterov=momentum > 0)
    raise ValueError(f"Unknown optimizer {name!r}: use 'adam', 'adamw', 'sgd' or a callable.")


def _check_optimizer_settings(func: str, lr, weight_decay, momentum) -> None:
    checks.positive_float(func, "lr", lr, 1e-3)
    checks.non_negative_float(func, "weight_decay", weight_decay, 5e-4)
    checks.fraction(func, "momentum", momentum, 0.9)


def _make_scheduler(optimizer, schedule: str | None, lr: float, total_steps: int,
                    warmup_steps: int):
    """Per-step schedule: None (constant), ``"onecycle"`` or ``"cosine"`` (with warm-up)."""
    if schedule is None:
        return None
    if schedule == "onecycle":
        # Smith & Topin 2017 (arXiv:1708.07120): ramp up to lr, anneal far below it.
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps)
    if schedule == "cosine":
        def factor(step: int) -> float:
            if step < warmup_steps:
                return (step + 1) / warmup_steps
            progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
            return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    raise ValueError(f"Unknown schedule {schedule!r}: use None, 'onecycle' or 'cosine'.")


def _loss(outputs, y: torch.Tensor, criterion) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss and main logits; GoogLeNet's auxiliary outputs are weighted 0.3 (Szegedy et al.)."""
    if isinstance(outputs, tuple):
        logits, *aux = outputs
        return criterion(logits, y) + 0.3 * sum(criterion(a, y) for a in aux), logits
    return criterion(outputs, y), outputs


def _batches_of(data: ImageData | Batches, split: str) -> Batches:
    return data if isinstance(data, Batches) else getattr(data, split)


_DATA_EXAMPLE = "data.fashion_mnist()"


def _check_scoring(func: str, model, data, device, tta_flip, channels_last, amp) -> None:
    """The arguments :func:`class_probabilities`, :func:`predict` and :func:`evaluate` share."""
    checks.instance(func, "model", model, nn.Module, "a torch.nn.Module",
                    "models.create('lenet_bn')")
    checks.instance(func, "data", data, (ImageData, Batches),
                    "cnnlab.data.ImageData or Batches", _DATA_EXAMPLE)
    checks.device(func, "device", device, none="the model's own device")
    checks.flags(func, tta_flip=tta_flip)
    checks.boolean(func, "channels_last", channels_last, none="the device's best choice")
    checks.boolean(func, "amp", amp, none="the device's best choice")


class _Progress:
    """A tqdm bar (widgets in Jupyter, text elsewhere) on rank 0, or nothing.

    ``CNNLAB_PROGRESS`` = ``auto`` (default), ``text`` or ``off``.
    """

    def __init__(self, total: int, enabled: bool, desc: str) -> None:
        mode = settings.progress()
        self.bar = None
        if enabled and mode != "off":
            if mode == "text":
                from tqdm import tqdm
                self.bar = tqdm(total=total, desc=desc, mininterval=5, file=sys.stderr)
            else:
                from tqdm.auto import tqdm
                self.bar = tqdm(total=total, desc=desc)

    def update(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --------------------------------------------------------------------------- evaluation

@torch.no_grad()
def class_probabilities(model: nn.Module, data: ImageData | Batches,
                        device: str | torch.device | None = None, tta_flip: bool = False,
                        channels_last: bool | None = None,
                        amp: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax probabilities ``(N, classes)`` and true labels for the test split (or the
    given batches), in the split's order.

    ``channels_last`` and ``amp`` (default: the device's best choices, as in
    :func:`fit`) set the memory format of model and inputs and the autocast precision,
    so a reloaded model computes exactly like the trained one did in ``fit``.
    ``tta_flip`` averages with the mirror image (clothes are left-right symmetric).
    """
    _check_scoring("class_probabilities", model, data, device, tta_flip, channels_last, amp)
    batches = _batches_of(data, "test")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    batches = batches.to(device) if batches.device != device else batches
    was_training = model.training
    model.eval()
    probs, labels = [], []
    if channels_last is None:
        channels_last = settings_for(device).channels_last
    amp_dtype = amp_dtype_for(device, amp)
    model.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    with torch.no_grad():
        for x, y in batches.iterate(0):
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=amp_dtype or torch.float32,
                                enabled=amp_dtype is not None):
                p = model(x).float().softmax(1)
                if tta_flip:
                    p = (p + model(x.flip(3)).float().softmax(1)) / 2
            probs.append(p)
            labels.append(y)
    model.train(was_training)
    if not probs:  # a shard with no test images (more processes than images)
        return (torch.zeros(0, 0, device=device),
                torch.zeros(0, dtype=torch.long, device=device))
    return torch.cat(probs), torch.cat(labels)


def predict(model: nn.Module, data: ImageData | Batches, device: str | torch.device | None = None,
            tta_flip: bool = False, channels_last: bool | None = None,
            amp: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted classes and true labels for the test split (or the given batches);
    see :func:`class_probabilities` for the arguments."""
    _check_scoring("predict", model, data, device, tta_flip, channels_last, amp)
    probs, labels = class_probabilities(model, data, device, tta_flip, channels_last, amp)
    return probs.argmax(1) if len(probs) else labels, labels


def _require_test_images(count: int) -> None:
    if count == 0:
        raise ValueError("There are no test images to score (an empty test split): give the data "
                         "a test split with at least one image, e.g. test_per_class >= 1.")


def evaluate(model: nn.Module, data: ImageData | Batches, device: str | torch.device | None = None,
             tta_flip: bool = False, channels_last: bool | None = None,
             amp: bool | None = None) -> float:
    """Accuracy (fraction correct) of ``model`` on the test split of ``data``.

    Under ``torchrun`` each process scores its shard and the counts are summed.
    See :func:`predict` for the arguments.
    """
    _check_scoring("evaluate", model, data, device, tta_flip, channels_last, amp)
    preds, labels = predict(model, data, device, tta_flip, channels_last, amp)
    counts = torch.stack([(preds == labels).sum(), torch.tensor(len(labels), device=preds.device)])
    distributed.all_reduce_sum(counts)
    correct, total = counts.tolist()
    _require_test_images(total)
    return correct / total


# --------------------------------------------------------------------------- the loop

def fit(model: nn.Module, data: ImageData, epochs: int, *, lr: float = 1e-3,
        optimizer: str | Callable = "adam", weight_decay: float = 0.0, momentum: float = 0.9,
        schedule: str | None = None, warmup_epochs: float = 0.0, label_smoothing: float = 0.0,
        ema: float | None = None, tta_flip: bool = False,
        device: str | torch.device | None = None, amp: bool | None = None,
        channels_last: bool | None = None, compile: bool = False,
        checkpoint: str | os.PathLike | None = None, resume: str | os.PathLike | None = None,
        seed: int | None = None, deterministic: bool = False, progress: bool = True,
        on_epoch_end: Callable[[EpochStats], None] | None = None) -> History:
    """Train ``model`` on ``data.train`` for ``epochs`` epochs, testing after each.

    Args:
        model: any classifier returning logits (GoogLeNet's auxiliary outputs are handled).
        data: from :func:`cnnlab.data.fashion_mnist` or a profile's ``data()``.
        epochs: total number of epochs (when resuming, training continues up to this).
        lr: (peak) learning rate. optimizer: ``"adam"``, ``"adamw"``, ``"sgd"`` or a callable.
        weight_decay, momentum: optimiser settings (momentum for SGD only).
        schedule: None (constant lr), ``"onecycle"`` or ``"cosine"`` (after
            ``warmup_epochs`` of linear warm-up).
        label_smoothing: cross-entropy label smoothing (Szegedy et al. 2016, arXiv:1512.00567).
        ema: decay of an exponential moving average of the weights (e.g. 0.999); the test
            accuracy is then the averaged model's, and it is the one returned in ``model``.
            The average spans about ``1 / (1 - ema)`` steps: keep that well below the
            run's number of steps, or the random initial weights still weigh in.
        tta_flip: test-time augmentation: average predictions of each image and its mirror.
        device: default ``$CNNLAB_DEVICE``, else CUDA if available, else CPU
            (:func:`cnnlab.device.default_device`).
        amp: mixed precision. None: the device's measured best (see :mod:`cnnlab.device`;
            ``$CNNLAB_AMP=0|1`` overrides it); False: fp32; True: autocast even where
            it is not the default (bf16 on a CPU).
        channels_last: override the measured-best memory format for the device.
        compile: wrap the model in ``torch.compile`` (GPU; no gain measured on CPU).
        checkpoint: write a resumable checkpoint here after every epoch (atomically).
        resume: continue from this checkpoint (model, optimiser, schedule, RNG, history).
        seed, deterministic: call :func:`cnnlab.seed_everything` first. This seeds what
            happens *during* training (shuffling, augmentation, dropout); the initial
            weights were drawn when the model was built: seed those with
            ``models.create(name, seed=...)``.
        progress: show a progress bar (``CNNLAB_PROGRESS=text|off`` to change its form).
        on_epoch_end: called with each epoch's :class:`EpochStats` (after the checkpoint).

    Returns:
        a :class:`History` with one :class:`EpochStats` per epoch.

    Raises:
        NonFiniteLossError: at the first step whose loss is NaN or infinite.
        CheckpointError: ``resume`` is corrupt or belongs to another model.

    Under ``torchrun`` the model is wrapped in DistributedDataParallel, each process
    trains on its shard of every epoch, metrics are summed over processes, and only
    rank 0 prints and writes the checkpoint.

    The epoch loop below is the whole algorithm; each extra (mixed precision, the
    schedule, EMA, the NaN check, multi-process sums, checkpoints) is a helper of
    :class:`_Run`, set up by :func:`_start`.
    """
    _check_fit(**locals())  # every argument, before anything is trained or written
    if seed is not None:
        seed_everything(seed, deterministic)
    epochs = dry_run.epochs(epochs)  # 1 in a dry run (whose passes stop after 2 batches)
    run = _start(model, data, epochs, lr=lr, optimizer=optimizer, weight_decay=weight_decay,
                 momentum=momentum, schedule=schedule, warmup_epochs=warmup_epochs, ema=ema,
                 device=device, amp=amp, channels_last=channels_last, compile=compile,
                 resume=resume, deterministic=deterministic, progress=progress)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    try:
        for epoch in range(run.start_epoch, epochs):
            started = time.perf_counter()
            model.train()
            metric = _Metrics(run.device)  # loss sum, correct, examples: kept on the device
            for step, (x, y) in enumerate(run.train_batches.iterate(epoch)):
                x = run.to_memory_format(x)
                with run.autocast():
                    loss, y_hat = _loss(run.net(x), y, loss_fn)
                run.optimizer.zero_grad(set_to_none=True)
                run.backward_and_step(loss)  # + gradient scaling, schedule step, EMA update
                metric.add(loss.detach(), y_hat, y)
                run.check_finite(loss.detach(), epoch, step)
                run.bar.update()
            train_seconds = time.perf_counter() - started
            train_loss, train_acc, examples = metric.totals()  # summed over processes
            test_acc = evaluate(run.scored_model(), run.test_batches, run.device, tta_flip,
                                run.channels_last, run.amp_dtype is not None)
            stats = EpochStats(
                epoch=epoch + 1, train_loss=train_loss, train_acc=train_acc, test_acc=test_acc,
                examples_per_s=examples / train_seconds,
                seconds=time.perf_counter() - started,
                lr=run.optimizer.param_groups[0]["lr"], device=run.device_name())
            run.history.epochs.append(stats)
            run.save_and_print(stats, checkpoint, progress)
            if on_epoch_end is not None:
                on_epoch_end(stats)
    finally:
        run.bar.close()
    run.finish()
    return run.history


def _check_fit(model, data, epochs, *, lr, optimizer, weight_decay, momentum, schedule,
               warmup_epochs, label_smoothing, ema, tta_flip, device, amp, channels_last, compile,
               checkpoint, resume, seed, deterministic, progress, on_epoch_end) -> None:
    """Refuse a bad argument of :func:`fit` with a message that says what to pass instead.
    ``optimizer`` and ``schedule`` are checked where they are used (before any step)."""
    checks.instance("fit", "model", model, nn.Module, "a torch.nn.Module",
                    "models.create('lenet_bn')")
    checks.instance("fit", "data", data, ImageData, "a cnnlab.data.ImageData", _DATA_EXAMPLE)
    checks.positive_int("fit", "epochs", epochs, 3)
    _check_optimizer_settings("fit", lr, weight_decay, momentum)
    checks.non_negative_float("fit", "warmup_epochs", warmup_epochs, 1)
    checks.fraction("fit", "label_smoothing", label_smoothing, 0.1)
    checks.fraction("fit", "ema", ema, 0.999, zero=False, none="no weight averaging")
    checks.device("fit", "device", device, none="$CNNLAB_DEVICE, else CUDA when present")
    checks.boolean("fit", "amp", amp, none="the device's best choice")
    checks.boolean("fit", "channels_last", channels_last, none="the device's best choice")
    checks.flags("fit", tta_flip=tta_flip, compile=compile, deterministic=deterministic,
                 progress=progress)
    checks.path("fit", "checkpoint", checkpoint, "'runs/checkpoint.pt'", write=True,
                none="no checkpoint")
    checks.path("fit", "resume", resume, "'runs/checkpoint.pt'", none="a fresh start")
    checks.non_negative_int("fit", "seed", seed, 0, none="no seeding")
    checks.function("fit", "on_epoch_end", on_epoch_end, "print", none="nothing")


# --------------------------------------------------------------------------- the loop's helpers

class _Metrics:
    """Training loss and accuracy, summed on the device and read once per epoch."""

    def __init__(self, device: torch.device) -> None:
        self.loss_sum = torch.zeros((), device=device)
        self.correct = torch.zeros((), device=device, dtype=torch.long)
        self.seen = 0

    def add(self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        self.loss_sum += loss.float() * len(y)
        self.correct += (logits.argmax(1) == y).sum()
        self.seen += len(y)

    def totals(self) -> tuple[float, float, float]:
        """Mean loss, accuracy and example count over all processes (one synchronisation)."""
        totals = torch.stack([self.loss_sum, self.correct.float(),
                              torch.tensor(float(self.seen), device=self.loss_sum.device)])
        distributed.all_reduce_sum(totals)
        loss_sum, correct, seen = totals.tolist()
        return loss_sum / seen, correct / seen, seen


@dataclass
class _Run:
    """Everything ``fit`` sets up once: where and how it trains, and the extras' state."""

    model: nn.Module
    net: nn.Module                    # what the steps call: the model, maybe DDP/compiled
    device: torch.device
    ctx: distributed.DistContext
    amp_dtype: torch.dtype | None
    channels_last: bool
    scaler: torch.amp.GradScaler
    optimizer: torch.optim.Optimizer
    scheduler: object
    averaged: AveragedModel | None
    train_batches: Batches
    test_batches: Batches
    plan: tuple[int, int]             # (epochs, steps per epoch): what the schedule spans
    history: History
    start_epoch: int
    bar: "_Progress"
    first_bad: torch.Tensor = None    # first step with a non-finite loss, -1 if none

    def to_memory_format(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def autocast(self):
        """Mixed precision where :mod:`cnnlab.device` chose it; a no-op in fp32."""
        return torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32,
                              enabled=self.amp_dtype is not None)

    def backward_and_step(self, loss: torch.Tensor) -> None:
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)  # a plain step() unless fp16 (then skips inf/NaN steps)
        self.scaler.update()
        if self.scheduler is not None:
            self.scheduler.step()
        if self.averaged is not None:
            self.averaged.update_parameters(self.model)

    def check_finite(self, loss: torch.Tensor, epoch: int, step: int) -> None:
        """Remember the first bad step on the device; look at it only now and then."""
        if step == 0:
            self.first_bad = torch.full((), -1, device=self.device, dtype=torch.long)
        bad = ~torch.isfinite(loss)
        self.first_bad = torch.where(bad & (self.first_bad < 0), step, self.first_bad)
        check_every = 1 if self.device.type == "cpu" else 50  # a GPU read stalls the queue
        steps_per_epoch = min(self.plan[1], dry_run.STEPS) if dry_run.enabled() else self.plan[1]
        if (step + 1) % check_every == 0 or step + 1 == steps_per_epoch:
            _raise_if_nonfinite(int(self.first_bad), epoch, steps_per_epoch, self.optimizer)

    def scored_model(self) -> nn.Module:
        """The model the test accuracy is for: the EMA average when there is one."""
        return self.averaged.module if self.averaged is not None else self.model

    def device_name(self) -> str:
        return _device_name(self.device, self.amp_dtype,
                            self.ctx.world_size if self.ctx.enabled else 1)

    def save_and_print(self, stats: EpochStats, checkpoint, progress: bool) -> None:
        """Rank 0 writes the checkpoint and prints the epoch's line."""
        if not self.ctx.is_main:
            return
        if checkpoint is not None:
            save_checkpoint(checkpoint, stats.epoch, self.model, self.optimizer, self.scheduler,
                            self.averaged, self.scaler, self.history.to_list(), self.plan)
        if progress:
            print(stats, flush=True)

    def finish(self) -> None:
        """Hand back the averaged weights when EMA ran: they are the better model."""
        if self.averaged is not None:
            unwrap(self.model).load_state_dict(unwrap(self.averaged.module).state_dict())


def _start(model: nn.Module, data: ImageData, epochs: int, *, lr, optimizer, weight_decay,
           momentum, schedule, warmup_epochs, ema, device, amp, channels_last, compile,
           resume, deterministic, progress) -> _Run:
    """Decide device and precision, put data and model there, build the extras, resume."""
    device = default_device(device)
    ctx = distributed.context(device)
    if ctx.enabled and device.type == "cuda":
        device = torch.device("cuda", ctx.local_rank)
        torch.cuda.set_device(device)
    best = settings_for(device)
    amp_dtype = amp_dtype_for(device, amp)
    # fp16's narrow range underflows small gradients: scale the loss (bf16 needs none).
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    channels_last = best.channels_last if channels_last is None else channels_last
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = best.cudnn_benchmark and not deterministic

    _require_test_images(len(data.test.labels))  # now, not after a whole epoch of training
    train_batches, test_batches = data.train.to(device), data.test.to(device)
    if ctx.enabled:
        train_batches = train_batches.shard(ctx.rank, ctx.world_size)
        test_batches = test_batches.shard(ctx.rank, ctx.world_size)
    if len(train_batches) == 0:
        raise ValueError("the training split yields no batches; lower batch_size")

    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    opt = make_optimizer(model.parameters(), optimizer, lr, weight_decay, momentum)
    plan = (epochs, len(train_batches))
    scheduler = _make_scheduler(opt, schedule, lr, epochs * plan[1], int(warmup_epochs * plan[1]))
    averaged = (AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(ema), use_buffers=True)
                if ema else None)
    history, start_epoch = History(label=model_name(model)), 0
    if resume is not None:
        start_epoch, rows = restore_checkpoint(resume, model, opt, scheduler, averaged, scaler,
                                               plan=plan)
        history = History.from_list(rows, label=history.label)

    net = nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None) if ctx.enabled else model
    if compile:
        net = torch.compile(net)
    steps = min(plan[1], dry_run.STEPS) if dry_run.enabled() else plan[1]
    bar = _Progress((epochs - start_epoch) * steps, progress and ctx.is_main,
                    desc=f"{model_name(model)} on {device.type}")
    if dry_run.enabled() and progress and ctx.is_main:
        print(dry_run.NOTICE + ".", flush=True)
    return _Run(model, net, device, ctx, amp_dtype, channels_last, scaler, opt, scheduler,
                averaged, train_batches, test_batches, plan, history, start_epoch, bar)


def _raise_if_nonfinite(first_bad: int, epoch: int, steps_per_epoch: int, opt) -> None:
    if first_bad < 0:
        return
    lr = opt.param_groups[0]["lr"]
    raise NonFiniteLossError(
        f"The training loss became NaN/Inf at epoch {epoch + 1}, step {first_bad + 1} "
        f"(step {epoch * steps_per_epoch + first_bad + 1} overall) with learning rate {lr:g}. "
        f"Training stopped. Try a learning rate 10× lower, a warm-up (schedule='cosine', "
        f"warmup_epochs=1), or check that the inputs are normalised and finite.")


def _device_name(device: torch.device, amp_dtype: torch.dtype | None, processes: int) -> str:
    """E.g. ``"cpu (2 threads, bf16 autocast)"`` or ``"NVIDIA H100 (bf16 autocast) ×2"``."""
    precision = precision_name(amp_dtype)
    threads = torch.get_num_threads()
    name = (f"{torch.cuda.get_device_name(device)} ({precision})" if device.type == "cuda"
            else f"{device.type} ({threads} thread{'s' if threads != 1 else ''}, {precision})")
    return name + (f" ×{processes}" if processes > 1 else "")
