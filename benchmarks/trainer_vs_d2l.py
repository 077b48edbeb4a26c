"""Training throughput: d2l's Trainer fed like d2l's FashionMNIST vs cnnlab.train.fit.

Both sides train the same model from the same initial weights, for the same number of
SGD steps over the same training images, in one process:

- d2l: the §8.6 ``ResNet18`` (a ``d2l.Classifier``, Xavier ``init_cnn`` through
  ``apply_init`` on the first batch as the chapter does), ``d2l.Trainer(max_epochs=1,
  num_gpus=1)``, data from ``d2l.FashionMNIST(batch_size, resize=(r, r))`` restricted to
  the first N = steps × batch training images: per-image PIL ``Resize`` + ``ToTensor`` in
  a DataLoader with d2l's default 4 workers. Its ProgressBoard plots as in a notebook
  (Agg backend, figures rendered to SVG in memory). Validation is off (an empty
  validation set), which only helps d2l.
- cnnlab: ``cnnlab.models.create("resnet18_fmnist")`` (same layers, same parameter count,
  11,178,378) loaded with d2l's initial weights, ``cnnlab.train.fit(epochs=1,
  optimizer="sgd", momentum=0, lr)`` on the same N images as device tensors resized per
  batch, with the trainer's device defaults (channels_last; bf16 autocast on CUDA and on
  CPUs with native bf16 (AVX512-BF16/AMX), fp32 on other CPUs; ``--fp32`` forces fp32) and
  its per-epoch test pass on one batch of test images (counted against cnnlab).

Timing: wall clock around each ``fit`` call (DataLoader worker start-up, first steps,
plotting, everything a learner waits for). Before either, one untimed forward/backward
pass of a scratch model in each memory format warms the process up for both. With
``--repeats k`` each trainer runs k times from the same initial weights, alternating
which goes first, and each one's fastest run counts (shared machines are noisy).

    .venv/bin/python benchmarks/trainer_vs_d2l.py                 # 30 steps, batch 128, 96 px
    .venv/bin/python benchmarks/trainer_vs_d2l.py --record        # ... and append to results.json
    .venv/bin/python benchmarks/trainer_vs_d2l.py --steps 5 --resize 28   # a quick check

The last line printed is the headline:
``trainer_vs_d2l: cnnlab X ex/s vs d2l Y ex/s = Z.ZZx (...)``.
"""

from __future__ import annotations

import argparse
import os
import time

import _common  # noqa: F401  (puts the repository on sys.path)
from _common import device_description, load_average, record, sync, warm_up

import _d2l_setup


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30, help="SGD steps for each trainer")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--resize", type=int, default=96, help="side in pixels (28 = no resize)")
    parser.add_argument("--lr", type=float, default=0.01, help="SGD learning rate (d2l §8.6)")
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    parser.add_argument("--repeats", type=int, default=1,
                        help="run each trainer this many times, alternating who goes first, "
                             "and report each one's fastest run (for a noisy machine)")
    parser.add_argument("--fp32", action="store_true",
                        help="train cnnlab in fp32 too (default: the trainer's device default, "
                             "mixed precision where the hardware has it; d2l is always fp32)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--record", action="store_true", help="append the result to results.json")
    parser.add_argument("--note", default="", help="free text stored with --record")
    args = parser.parse_args(argv)

    import torch
    d2l = _d2l_setup.import_d2l()
    from cnnlab import models, train
    from cnnlab.data import Batches, ImageData, load_fashion_mnist
    from cnnlab.device import amp_dtype_for, default_device, precision_name

    device = default_device(args.device)
    n = args.steps * args.batch_size
    full = load_fashion_mnist(download=False)
    if n > len(full.train_labels):
        parser.error(f"--steps × --batch-size = {n} is more than the 60,000 training images")
    print(f"trainer_vs_d2l: {args.steps} steps × batch {args.batch_size} = {n:,} images, "
          f"{args.resize} px, SGD lr {args.lr}, on {device_description(device)}; "
          f"load average {load_average()}", flush=True)
    print(f"  {_d2l_setup.describe_workaround()}", flush=True)

    torch.manual_seed(args.seed)
    d2l_data = _d2l_setup.d2l_fashion_mnist(args.batch_size, args.resize,
                                            train_indices=range(n), val_indices=[])

    def fresh_d2l_model():
        model = _d2l_setup.make_resnet18(lr=args.lr)
        _d2l_setup.init_like_d2l(model, d2l_data)  # materialises the lazy layers (untimed)
        return model

    initial = {k: v.clone() for k, v in fresh_d2l_model().state_dict().items()}
    ours = models.create("resnet18_fmnist")
    n_params = _d2l_setup.copy_weights(fresh_d2l_model(), ours)
    print(f"  model: d2l ResNet18 and cnnlab resnet18_fmnist, {n_params:,} parameters each, "
          f"same initial weights", flush=True)
    warm_up(device, args.resize, args.batch_size)

    resize = None if args.resize == 28 else args.resize
    data = ImageData(
        train=Batches(full.train_images[:n], full.train_labels[:n], args.batch_size,
                      shuffle=True, resize=resize, drop_last=True, seed=args.seed),
        test=Batches(full.test_images[:args.batch_size], full.test_labels[:args.batch_size],
                     args.batch_size, resize=resize),
        classes=full.classes, description=f"first {n:,} training images")
    os.environ.setdefault("CNNLAB_PROGRESS", "text")

    def run_d2l():
        model = fresh_d2l_model()
        model.load_state_dict(initial)
        trainer = d2l.Trainer(max_epochs=1, num_gpus=1 if device.type == "cuda" else 0)
        started = time.perf_counter()
        trainer.fit(model, d2l_data)  # as the chapter runs it
        sync(device)
        seconds = time.perf_counter() - started
        losses = [p.y for p in model.board.data.get("train_loss", [])]
        loss = float(sum(losses) / max(1, len(losses)))
        print(f"  d2l.Trainer:      {seconds:7.1f} s  {n / seconds:8.1f} ex/s"
              f"  (mean plotted train loss {loss:.3f})", flush=True)
        return {"seconds": seconds, "loss": loss}

    def run_cnnlab():
        model = models.create("resnet18_fmnist")
        _d2l_setup.copy_weights(ours, model)
        started = time.perf_counter()
        history = train.fit(model, data, epochs=1, lr=args.lr, optimizer="sgd", momentum=0.0,
                            device=device, amp=False if args.fp32 else None)
        sync(device)
        seconds = time.perf_counter() - started
        print(f"  cnnlab.train.fit: {seconds:7.1f} s  {n / seconds:8.1f} ex/s"
              f"  (mean train loss {history[0].train_loss:.3f}; "
              f"{history[0].examples_per_s:.1f} ex/s inside the loop)", flush=True)
        return {"seconds": seconds, "loss": history[0].train_loss,
                "in_loop": history[0].examples_per_s}

    runs = {"d2l": [], "cnnlab": []}
    for r in range(args.repeats):  # alternate who goes first
        order = ("d2l", "cnnlab") if r % 2 == 0 else ("cnnlab", "d2l")
        for who in order:
            runs[who].append(run_d2l() if who == "d2l" else run_cnnlab())
    best_d2l = min(runs["d2l"], key=lambda x: x["seconds"])
    best_ours = min(runs["cnnlab"], key=lambda x: x["seconds"])
    d2l_seconds, ours_seconds = best_d2l["seconds"], best_ours["seconds"]
    d2l_rate, ours_rate = n / d2l_seconds, n / ours_seconds
    ratio = ours_rate / d2l_rate
    precision = precision_name(None if args.fp32 else amp_dtype_for(device))
    setting = (f"batch {args.batch_size}, {args.resize} px, {args.steps} steps, "
               f"{f'best of {args.repeats}, ' if args.repeats > 1 else ''}"
               f"SGD lr {args.lr}, {device.type}; d2l fp32, cnnlab {precision}")
    details = {
        "steps": args.steps, "batch_size": args.batch_size, "resize": args.resize,
        "lr": args.lr, "images": n, "parameters": n_params,
        "d2l_seconds": round(d2l_seconds, 2), "d2l_examples_per_s": round(d2l_rate, 1),
        "cnnlab_seconds": round(ours_seconds, 2), "cnnlab_examples_per_s": round(ours_rate, 1),
        "cnnlab_in_loop_examples_per_s": round(best_ours["in_loop"], 1),
        "d2l_mean_train_loss": round(best_d2l["loss"], 4),
        "cnnlab_mean_train_loss": round(best_ours["loss"], 4),
        "repeats": args.repeats, "d2l_precision": "fp32", "cnnlab_precision": precision,
        "d2l_seconds_all": [round(x["seconds"], 2) for x in runs["d2l"]],
        "cnnlab_seconds_all": [round(x["seconds"], 2) for x in runs["cnnlab"]],
        "d2l_num_workers": d2l_data.num_workers,
        "d2l_setup": _d2l_setup.describe_workaround(),
        "load_average": load_average(),
        "note": args.note,
    }
    result = {"ratio": ratio, **details}
    if args.record:
        record("trainer_vs_d2l", round(ratio, 2), "x (cnnlab ex/s / d2l ex/s)",
               device_description(device), details)
    print(f"trainer_vs_d2l: cnnlab {ours_rate:.1f} ex/s vs d2l {d2l_rate:.1f} ex/s = "
          f"{ratio:.2f}x ({setting})", flush=True)
    return result


if __name__ == "__main__":
    main()
