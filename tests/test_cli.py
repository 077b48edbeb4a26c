"""The command line: ``python -m cnnlab`` in a subprocess for the main paths, ``main()``
in-process for the cheap ones (help texts and bad input)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cnnlab import cli, models, train

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = dict(os.environ, OMP_NUM_THREADS="1", CNNLAB_PROGRESS="off", CNNLAB_DEVICE="cpu")
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH")]))
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "cnnlab", *args], env=environ, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cnnlab: error: "), stderr
    return lines[0]


# --------------------------------------------------------------------------- subprocess

def test_list():
    proc = run("list")
    assert proc.returncode == 0, proc.stderr
    assert "resnet18_fmnist" in proc.stdout and "lenet_bn" in proc.stdout
    assert f"{len(models.list_models())} models" in proc.stdout


def test_unknown_model_exits_2_with_suggestions():
    proc = run("summary", "resnet19")
    assert proc.returncode == 2
    line = one_line_error(proc.stderr)
    assert "Unknown model 'resnet19'" in line and "'resnet18'" in line


def test_summary_counts_parameters():
    proc = run("summary", "resnet18_fmnist", "--input", "1x28x28")
    assert proc.returncode == 0, proc.stderr
    assert "Total params: 11,178,378" in proc.stdout


def test_train_writes_files_then_resumes(tmp_path):
    out = tmp_path / "run"
    args = ["train", "lenet_bn", "--train-per-class", "20", "--test-per-class", "10",
            "--batch-size", "50", "--out", str(out)]
    first = run(*args, "--epochs", "1")
    assert first.returncode == 0, first.stderr
    assert {p.name for p in out.iterdir()} == {"checkpoint.pt", "model.pt", "history.json"}
    assert "Final test accuracy" in first.stdout and "200 training images" in first.stdout
    first_history = json.loads((out / "history.json").read_text())
    assert len(first_history) == 1

    second = run(*args, "--epochs", "2", "--resume")
    assert second.returncode == 0, second.stderr
    assert "Resuming from" in second.stdout and "epoch   1 " not in second.stdout
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]
    assert history[0] == first_history[0]  # epoch 1 was restored, not trained again
    assert torch.load(out / "checkpoint.pt", weights_only=True)["epoch"] == 2
    train.load_parameters(models.create("lenet_bn", num_classes=10, in_channels=1),
                          out / "model.pt")  # the saved parameters load into a fresh model


# --------------------------------------------------------------------------- in-process

@pytest.mark.parametrize("command", [[], ["list"], ["summary"], ["train"], ["bench"]])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([*command, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: cnnlab")
    if command == ["train"]:
        assert "--resume" in text and "--train-per-class" in text and "torchrun" in text


@pytest.mark.parametrize("argv, words", [
    (["summary", "lenet_bn", "--input", "1x2"], "invalid input size '1x2'"),
    (["train", "lenet_bn", "--epochs", "0"], "expected a positive whole number"),
    (["train", "lenet_bn", "--lr", "nan"], "expected a positive number"),
    (["fly"], "invalid choice: 'fly'"),
    (["train", "lenet_bn", "--seed", "-1"], "argument --seed: expected a whole number ≥ 0, got '-1'"),
    (["bench", "lenet_bn", "--device", "gpu"],
     "argument --device: invalid device 'gpu' (torch knows no such device): use cpu, cuda"),
])
def test_bad_arguments_exit_2(argv, words, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert words in capsys.readouterr().err


@pytest.mark.parametrize("argv, words", [
    (["train", "resnet18_fmnist", "--profile", "fast"], "Unknown profile 'fast'"),
    (["train", "resnet34", "--profile", "quick"], "resnet34 has no chapter profile"),
    (["summary", "alexnet_fmnist", "--input", "1x28x28"], "at least 65x65 pixels"),
    (["train", "lenet_bn", "--train-per-class", "10"], "batch size 256 is larger than the 100"),
    (["train", "lenet_bn", "--train-per-class", "10", "--batch-size", "50", "--lr", "1e37",
      "--optimizer", "sgd", "--quiet"], "The training loss became NaN/Inf at epoch 1"),
])
def test_package_errors_exit_2_with_one_line(argv, words, capsys, tmp_path):
    assert cli.main([*argv, "--out", str(tmp_path)] if argv[0] == "train" else argv) == 2
    assert words in one_line_error(capsys.readouterr().err)


def test_unknown_family_and_an_out_that_is_a_file_exit_2(capsys, tmp_path):
    assert cli.main(["list", "--family", "resnets"]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert "list_models(family='resnets'): family must be one of" in line and "'resnet'" in line
    a_file = tmp_path / "run"
    a_file.write_text("notes")
    assert cli.main(["train", "lenet_bn", "--out", str(a_file)]) == 2
    assert f"--out {a_file} is a file; name a folder" in one_line_error(capsys.readouterr().err)
    assert a_file.read_text() == "notes"


def test_missing_data_offline(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path))
    monkeypatch.setenv("CNNLAB_OFFLINE", "1")
    assert cli.main(["train", "lenet_bn", "--out", str(tmp_path / "run")]) == 2
    assert "Fashion-MNIST not found" in one_line_error(capsys.readouterr().err)


def test_resume_without_checkpoint(capsys, tmp_path):
    assert cli.main(["train", "lenet_bn", "--train-per-class", "10", "--batch-size", "50",
                     "--out", str(tmp_path), "--resume"]) == 2
    assert "no checkpoint at" in one_line_error(capsys.readouterr().err)


def test_bench(capsys):
    assert cli.main(["bench", "lenet_bn", "--batch-size", "8", "--steps", "1",
                     "--mode", "both", "--device", "cpu"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and all("img/s" in line and line.startswith("lenet_bn") for line in out)


def test_interrupt_exits_130_and_points_to_resume(capsys, tmp_path, monkeypatch):
    def interrupted_fit(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "fit", interrupted_fit)
    argv = ["train", "lenet_bn", "--train-per-class", "10", "--batch-size", "50",
            "--out", str(tmp_path)]
    assert cli.main(argv) == 130
    assert "interrupted before the first epoch finished" in capsys.readouterr().err
    (tmp_path / "checkpoint.pt").write_bytes(b"")  # as if an epoch had finished
    assert cli.main(argv) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "--resume" in err and str(tmp_path / "checkpoint.pt") in err


def test_output_cut_short_by_the_reader_is_not_an_error():
    # `cnnlab list | head -1`: the reader goes away. Close the pipe's read end before the
    # command writes anything, so its first write fails (deterministically, unlike head).
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "cnnlab", "list"], stdout=write_end,
                              stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(write_end)
    stderr = proc.stderr.decode()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
