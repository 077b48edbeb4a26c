"""DistributedDataParallel on CPU: two gloo processes under torchrun train like one process.

The distributed run uses a per-process batch of 32 against the single process's 64, so
both take the same optimiser steps on the same examples: ``Batches`` gives rank ``r``
the examples ``order[r::2]`` of one shared shuffle, so global step ``k`` of the two ranks
together covers exactly the single process's batch ``k``, and DDP averages the two
gradients into the gradient of that batch of 64. What may differ is BatchNorm (its batch
statistics are per process: 32 examples instead of 64) and the order of floating-point
sums, which compound over 230 steps. So the final accuracies differ only by training
noise; we allow 5 points. For scale: the single run's test accuracy moves by ~4 points
from one epoch to the next, and the binomial standard error on 1,000 test images is
1.3 points. The other checks are exact: the ranks agree on every metric (all-reduced)
and on every parameter (DDP keeps the replicas in step), and only rank 0 wrote a
checkpoint and printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cnnlab import models, train

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "support" / "ddp_worker.py"
EPOCHS = 5

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not torch.distributed.is_available()
                                 or not torch.distributed.is_gloo_available(),
                                 reason="needs torch.distributed with the gloo backend")]


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", CNNLAB_PROGRESS="off", CNNLAB_DEVICE="cpu",
               CNNLAB_OFFLINE="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)  # never inherit an outer torchrun's world
    return env


def _run(args: list[str], out: Path) -> subprocess.CompletedProcess:
    out.mkdir()
    proc = subprocess.run([sys.executable, *args, "--out", str(out)], env=_env(), cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def _result(out: Path, rank: int) -> dict:
    return json.loads((out / f"result_rank{rank}.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("ddp")
    single = _run([str(WORKER), "--batch-size", "64"], base / "single")
    ddp = _run(["-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone",
                str(WORKER), "--batch-size", "32"], base / "ddp")
    return base, single, ddp


def test_distributed_run_matches_single_process(runs):
    base, _, _ = runs
    single = _result(base / "single", 0)["history"]
    ddp = _result(base / "ddp", 0)["history"]
    assert len(single) == len(ddp) == EPOCHS
    acc_single, acc_ddp = single[-1]["test_acc"], ddp[-1]["test_acc"]
    assert acc_single >= 0.70 and acc_ddp >= 0.70, (acc_single, acc_ddp)  # chance is 0.10
    assert abs(acc_ddp - acc_single) <= 0.05, (acc_single, acc_ddp)
    # Same examples per step: the training losses follow the same curve.
    assert abs(ddp[-1]["train_loss"] - single[-1]["train_loss"]) <= 0.1
    assert "×2" in ddp[-1]["device"] and "×" not in single[-1]["device"]


def test_ranks_agree_on_metrics_and_parameters(runs):
    base, _, _ = runs
    rank0, rank1 = _result(base / "ddp", 0), _result(base / "ddp", 1)
    for a, b in zip(rank0["history"], rank1["history"], strict=True):
        for key in ("train_loss", "train_acc", "test_acc"):  # all-reduced: the same everywhere
            assert a[key] == pytest.approx(b[key], abs=1e-6), key
    assert rank0["param_sums"] == pytest.approx(rank1["param_sums"], rel=1e-6, abs=1e-6)


def test_only_rank_zero_writes_and_prints(runs):
    base, _, ddp = runs
    out = base / "ddp"
    assert (out / "checkpoint_rank0.pt").is_file()
    assert not (out / "checkpoint_rank1.pt").exists()
    assert sorted(p.name for p in out.glob("*.tmp")) == []
    printed = [line for line in ddp.stdout.splitlines() if line.startswith("epoch")]
    assert len(printed) == EPOCHS, ddp.stdout  # one line per epoch, not one per rank
    # The checkpoint rank 0 wrote is a normal one: it loads into a fresh model.
    model = train.load_parameters(models.create("lenet_bn", num_classes=10, in_channels=1),
                                  out / "checkpoint_rank0.pt")
    state = torch.load(out / "checkpoint_rank0.pt", weights_only=True)
    assert state["epoch"] == EPOCHS and len(state["history"]) == EPOCHS
    final = _result(out, 0)["param_sums"]
    assert [p.double().sum().item() for p in model.parameters()] == pytest.approx(final)


TINY = ["--train-per-class", "20", "--test-per-class", "10", "--batch-size", "25"]


def test_command_line_under_torchrun(tmp_path):
    """The book's command: ``torchrun ... -m cnnlab train`` (one line per epoch, rank 0 writes)."""
    proc = _run(["-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone",
                 "-m", "cnnlab", "train", "lenet_bn", "--epochs", "2", *TINY], tmp_path / "cli")
    assert proc.stdout.count("Final test accuracy") == 1, proc.stdout
    assert len([line for line in proc.stdout.splitlines() if line.startswith("epoch")]) == 2
    assert "×2" in proc.stdout
    assert {p.name for p in (tmp_path / "cli").iterdir()} == {"checkpoint.pt", "model.pt",
                                                             "history.json"}


def test_example_script_under_torchrun(tmp_path):
    """examples/train_ddp.py, the script book/distributed.md shows, runs as shown."""
    proc = _run(["-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone",
                 str(ROOT / "examples" / "train_ddp.py"), "--model", "lenet_bn", "--device",
                 "cpu", "--epochs", "1", "--scale-lr", *TINY], tmp_path / "example")
    assert "2 process(es), 25 images each per step: effective batch 50, lr 0.002" in proc.stdout
    assert proc.stdout.count("test accuracy") == 1
    assert (tmp_path / "example" / "model.pt").is_file()
