"""Train a cnnlab model on Fashion-MNIST with one process or many (DistributedDataParallel).

The same script, unchanged, runs on a laptop, on every GPU of one machine, or on
several machines; ``torchrun`` starts the processes and ``cnnlab.train.fit`` does the rest
(process group, DDP wrapper, data shards, all-reduced metrics, rank-0-only output)::

    python examples/train_ddp.py --model resnet18_fmnist --epochs 2            # one process
    torchrun --nproc-per-node=gpu examples/train_ddp.py --model resnet18_fmnist  # all GPUs
    torchrun --nproc-per-node=2 examples/train_ddp.py --device cpu --train-per-class 300

``--batch-size`` is per process: with N processes each step sees N × batch-size images.
``--scale-lr`` multiplies the learning rate by N (the linear scaling rule of Goyal et
al. 2017, arXiv:1706.02677); without it, pass the learning rate meant for N × batch-size.
See book/distributed.md.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch.distributed as dist
from torch import nn

from cnnlab import data, models, train
from cnnlab.device import default_device


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="resnet18_fmnist", help="a name from `cnnlab list`")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256, help="per process")
    parser.add_argument("--lr", type=float, default=1e-3, help="for the whole (effective) batch")
    parser.add_argument("--scale-lr", action="store_true", help="multiply --lr by the world size")
    parser.add_argument("--train-per-class", type=int, help="a stratified subset, for short runs")
    parser.add_argument("--test-per-class", type=int, help="test on a subset (default: all)")
    parser.add_argument("--sync-bn", action="store_true",
                        help="BatchNorm statistics over all GPUs (SyncBatchNorm; CUDA only)")
    parser.add_argument("--device", help="cpu or cuda (default: CUDA when present)")
    parser.add_argument("--out", default="runs/ddp", help="checkpoint and parameters go here")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    args = parser.parse_args()

    world_size = int(os.environ.get("WORLD_SIZE", 1))  # set by torchrun; 1 under plain python
    rank = int(os.environ.get("RANK", 0))
    out = Path(args.out)

    spec = models.get_spec(args.model)
    ds = data.fashion_mnist(batch_size=args.batch_size, train_per_class=args.train_per_class,
                            test_per_class=args.test_per_class,
                            resize=spec.input_size if spec.min_size > 28 else None)
    # seed=0: every process builds the same model (DDP also copies rank 0's).
    model = models.create(args.model, num_classes=10, in_channels=1, seed=0)
    device = default_device(args.device)
    if args.sync_bn and world_size > 1 and device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    lr = args.lr * world_size if args.scale_lr else args.lr
    if rank == 0:
        print(f"{world_size} process(es), {args.batch_size} images each per step: effective "
              f"batch {world_size * args.batch_size}, lr {lr:g}. {ds.description}.", flush=True)

    history = train.fit(model, ds, epochs=args.epochs, lr=lr, device=device,
                        checkpoint=out / "checkpoint.pt",
                        resume=out / "checkpoint.pt" if args.resume else None)
    if rank == 0:  # every process holds the same weights; one copy is enough
        train.save_parameters(model, out / "model.pt")
        print(f"test accuracy {history[-1].test_acc:.4f}; parameters in {out / 'model.pt'}")
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
