"""Train LeNet-BN on a fixed Fashion-MNIST subset with ``cnnlab.train.fit``; launched by
tests/test_distributed.py twice: under ``torchrun`` (2 CPU processes, gloo) and plainly.

Every process writes ``result_rank{RANK}.json``: its history (the all-reduced metrics must
agree across ranks) and one sum per parameter tensor (DistributedDataParallel keeps the
replicas identical). It passes ``fit`` its own checkpoint path ``checkpoint_rank{RANK}.pt``,
so the test can check that only rank 0 wrote one.
"""

import argparse
import json
import os
from pathlib import Path

import torch.distributed as dist

from cnnlab import data, models, train

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
parser.add_argument("--batch-size", type=int, required=True)
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--per-class", type=int, default=300)
parser.add_argument("--lr", type=float, default=3e-3)
args = parser.parse_args()

rank = int(os.environ.get("RANK", 0))
out = Path(args.out)
ds = data.fashion_mnist(batch_size=args.batch_size, train_per_class=args.per_class,
                        test_per_class=100, seed=0)
model = models.create("lenet_bn", num_classes=10, in_channels=1, seed=0)
history = train.fit(model, ds, epochs=args.epochs, lr=args.lr, device="cpu", seed=0,
                    checkpoint=out / f"checkpoint_rank{rank}.pt")
sums = [p.detach().double().sum().item() for p in model.parameters()]
(out / f"result_rank{rank}.json").write_text(json.dumps({"history": history.to_list(),
                                                         "param_sums": sums}))
if dist.is_initialized():
    dist.destroy_process_group()
