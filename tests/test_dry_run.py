"""The dry run (CNNLAB_DRY_RUN=1, cnnlab train --dry-run): 2 steps of 1 epoch per fit,
2 test batches per score, the first item of each experiment loop, and it says so."""

import json
import subprocess
import sys

import pytest
import torch

from cnnlab import data, dry_run, models, profiles, results, train


@pytest.fixture(scope="module")
def small():
    # 10 training batches and 4 test batches of 20: a dry run must use 2 of each.
    return data.fashion_mnist(batch_size=20, train_per_class=20, test_per_class=8)


class Counting(torch.nn.Module):
    """A model that counts the images it saw in training and in evaluation."""

    def __init__(self):
        super().__init__()
        self.net = models.create("lenet_bn")
        self.seen = {"train": 0, "eval": 0}

    def forward(self, x):
        self.seen["train" if self.training else "eval"] += len(x)
        return self.net(x)


def test_fit_trains_two_steps_of_one_epoch_and_scores_two_test_batches(small, monkeypatch, capsys):
    monkeypatch.setenv("CNNLAB_DRY_RUN", "1")
    net = Counting()
    history = train.fit(net, small, epochs=5, device="cpu")
    assert len(history) == 1
    assert net.seen == {"train": 2 * 20, "eval": 2 * 20}
    assert history[-1].test_acc * 40 == round(history[-1].test_acc * 40)  # a score of 40 images
    assert dry_run.NOTICE in capsys.readouterr().out


def test_without_the_switch_nothing_is_cut(small, monkeypatch):
    monkeypatch.setenv("CNNLAB_DRY_RUN", "0")
    net = Counting()
    assert len(train.fit(net, small, epochs=2, device="cpu", progress=False)) == 2
    assert net.seen == {"train": 2 * 200, "eval": 2 * 80}
    assert dry_run.items([1, 2, 3]) == [1, 2, 3]


def test_experiment_loops_run_their_first_item_and_profiles_say_so(monkeypatch, tmp_path, small):
    monkeypatch.setenv("CNNLAB_DRY_RUN", "yes")
    assert dry_run.items(range(3)) == [0] and dry_run.items([]) == []
    profile = profiles.get_profile("alexnet", "full")
    assert profile.describe().endswith(dry_run.NOTICE + ".")
    assert (profile.resize, profile.batch_size) == (224, 128)  # real sizes: nothing shrunk
    history = train.fit(models.create("lenet_bn"), small, epochs=1, device="cpu", progress=False)
    record = results.record_run(profile, history, tmp_path / "runs.json")
    assert record["dry_run"] is True


def test_a_bad_value_says_what_to_write(monkeypatch):
    monkeypatch.setenv("CNNLAB_DRY_RUN", "maybe")
    with pytest.raises(ValueError, match=r"CNNLAB_DRY_RUN='maybe': use 1 \(a dry run.*or 0"):
        dry_run.enabled()


def test_cli_dry_run_flag(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "cnnlab", "train", "lenet_bn", "--epochs", "3",
                           "--train-per-class", "20", "--test-per-class", "10", "--batch-size", "20",
                           "--out", str(out), "--dry-run"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "DRY RUN" in proc.stdout
    assert len(json.loads((out / "history.json").read_text())) == 1
