"""Every row of book/errors.md: the mistake, made through the public API, gives the
documented exception type and a message with the documented key words.

Fast on purpose: tiny stratified subsets (20 images per class), LeNet-BN, one or two
epochs. One test per row; the table names it.
"""

from __future__ import annotations

import os
import socket

import pytest
import torch

from cnnlab import data, models, profiles, train
from cnnlab.checkpoint import CheckpointError
from cnnlab.data import CorruptDataError, DataNotFoundError
from cnnlab.models import UnknownModelError
from cnnlab.train import NonFiniteLossError


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("CNNLAB_PROGRESS", "off")
    monkeypatch.delenv("CNNLAB_PROFILE", raising=False)
    monkeypatch.setenv("CNNLAB_DEVICE", "cpu")


@pytest.fixture(scope="module")
def tiny():
    return data.fashion_mnist(batch_size=50, train_per_class=20, test_per_class=5)


@pytest.fixture(scope="module")
def trained(tiny, tmp_path_factory):
    """A LeNet-BN trained one epoch: its fit checkpoint and its bare parameters."""
    folder = tmp_path_factory.mktemp("ckpt")
    net = models.create("lenet_bn")
    train.fit(net, tiny, epochs=1, seed=0, checkpoint=folder / "checkpoint.pt", progress=False)
    train.save_parameters(net, folder / "lenet_bn.pt")
    return folder


def _state(model: torch.nn.Module) -> dict:
    return {k: v.clone() for k, v in model.state_dict().items()}


def _unchanged(model: torch.nn.Module, before: dict) -> bool:
    return all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


# --------------------------------------------------------------------------- models

def test_wrong_number_of_channels():
    net = models.create("resnet18_fmnist")
    with pytest.raises(ValueError, match=r"built for 1-channel images but got 3 channels") as err:
        net(torch.randn(2, 3, 28, 28))
    assert "in_channels=3" in str(err.value)


def test_image_too_small():
    net = models.create("alexnet_fmnist")
    with pytest.raises(ValueError, match=r"needs images of at least 65x65 pixels") as err:
        net(torch.randn(2, 1, 28, 28))
    assert "got 28x28" in str(err.value) and "resize=65" in str(err.value)


def test_single_image_without_batch_dimension():
    with pytest.raises(ValueError, match=r"expects a batch of images shaped \(N, C, H, W\)") as err:
        models.create("lenet_bn")(torch.randn(1, 28, 28))
    assert "unsqueeze(0)" in str(err.value)


def test_unknown_model_name_suggests_close_names():
    with pytest.raises(UnknownModelError, match=r"Unknown model 'resnet19'\. Did you mean") as err:
        models.create("resnet19")
    assert "'resnet18'" in str(err.value) and "list_models()" in str(err.value)
    assert isinstance(err.value, KeyError) and isinstance(err.value, ValueError)
    with pytest.raises(UnknownModelError, match="'resnet18'"):  # wrong case
        models.get_spec("ResNet18")


# --------------------------------------------------------------------------- data

@pytest.fixture
def no_network(monkeypatch):
    """Fail loudly on any attempt to reach the network; record the attempts."""
    attempts: list[tuple] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError(101, "Network is unreachable (blocked by the test)")

    def refuse_dns(*args, **kwargs):
        attempts.append(args)
        raise socket.gaierror(-3, "Temporary failure in name resolution (blocked by the test)")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse_dns)
    return attempts


def test_data_missing_offline_never_touches_the_network(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("CNNLAB_OFFLINE", "1")
    with pytest.raises(DataNotFoundError, match="Fashion-MNIST not found") as err:
        data.fashion_mnist(root=tmp_path)
    message = str(err.value)
    assert str(tmp_path / "FashionMNIST" / "raw") in message
    assert "train-images-idx3-ubyte.gz" in message and "CNNLAB_DATA" in message
    monkeypatch.delenv("CNNLAB_OFFLINE")
    with pytest.raises(DataNotFoundError, match="Downloading is off"):
        data.load_fashion_mnist(root=tmp_path, download=False)
    assert isinstance(err.value, FileNotFoundError)
    assert no_network == []  # not a single connection or DNS lookup was tried


def test_relative_data_folder_is_named_by_its_absolute_path(tmp_path, monkeypatch, no_network):
    # In Jupyter a relative CNNLAB_DATA is read from the notebook's folder: say where that is.
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    monkeypatch.setenv("CNNLAB_DATA", "../shared/data")
    monkeypatch.setenv("CNNLAB_OFFLINE", "1")
    with pytest.raises(DataNotFoundError) as err:
        data.fashion_mnist()
    assert f"Looked in {tmp_path / 'notebooks' / '..' / 'shared' / 'data' / 'FashionMNIST' / 'raw'}, " \
        in str(err.value)


def test_data_missing_and_download_fails(tmp_path, monkeypatch, no_network):
    monkeypatch.delenv("CNNLAB_OFFLINE", raising=False)
    pytest.importorskip("torchvision")
    with pytest.raises(DataNotFoundError, match="the download failed") as err:
        data.fashion_mnist(root=tmp_path, download=True)
    assert "If you are offline, copy" in str(err.value)
    assert no_network  # it did try (and the test refused)


def test_corrupt_data_file(tmp_path):
    source = data.load_fashion_mnist(download=False).root
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in data.FILES:
        (raw / f"{name}.gz").symlink_to(source / f"{name}.gz")
    damaged = raw / "t10k-labels-idx1-ubyte.gz"
    content = damaged.read_bytes()
    damaged.unlink()
    damaged.write_bytes(content[: len(content) // 2])  # a truncated download
    with pytest.raises(CorruptDataError, match="is not the official Fashion-MNIST file") as err:
        data.fashion_mnist(root=tmp_path)
    assert "truncated or corrupt download" in str(err.value) and f"Delete {damaged}" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_empty_test_split_is_refused_before_training():
    empty_test = data.fashion_mnist(batch_size=10, train_per_class=5, test_per_class=0)
    net = models.create("lenet_bn")
    counter = _CountCalls(net)
    with pytest.raises(ValueError, match=r"no test images to score .*test_per_class >= 1"):
        train.fit(net, empty_test, epochs=1, progress=False)
    assert counter.calls == 0  # refused before the first training step
    with pytest.raises(ValueError, match="no test images to score"):
        train.evaluate(net, empty_test)


def test_batch_size_larger_than_the_data_set():
    with pytest.raises(ValueError, match=r"batch size 256 is larger than the 100 examples") as err:
        data.fashion_mnist(batch_size=256, train_per_class=10)
    assert "at most 100" in str(err.value)


# --------------------------------------------------------------------------- profiles

def test_unknown_profile_name(monkeypatch):
    with pytest.raises(ValueError, match=r"Unknown profile 'fast': choose one of full, quick"):
        profiles.get_profile("resnet18_fmnist", "fast")
    monkeypatch.setenv("CNNLAB_PROFILE", "gpu")
    with pytest.raises(ValueError, match=r"Unknown profile 'gpu'.*CNNLAB_PROFILE"):
        profiles.get_profile("resnet18_fmnist")


def test_bad_mixed_precision_setting(monkeypatch, tiny):
    monkeypatch.setenv("CNNLAB_AMP", "fast")
    with pytest.raises(ValueError, match=r"CNNLAB_AMP='fast': use 1 \(mixed precision .*\) "
                                         r"or 0 \(fp32 everywhere\)"):
        train.fit(models.create("lenet_bn"), tiny, epochs=1, progress=False)


def test_unknown_chapter():
    with pytest.raises(ValueError, match=r"Unknown chapter 'resnet19'; known: .*resnet18_fmnist"):
        profiles.get_profile("resnet19", "quick")


# --------------------------------------------------------------------------- training

class _CountCalls:
    def __init__(self, model: torch.nn.Module):
        self.calls = 0
        model.register_forward_pre_hook(self)

    def __call__(self, module, args):
        self.calls += 1 if module.training else 0


def test_nonfinite_loss_stops_at_the_first_bad_step(tiny, tmp_path):
    # A NaN in the third training batch (no shuffle): step 3 of epoch 1 is the first bad one.
    images = tiny.train.images.float().clone()
    images[2 * 50 + 7] = float("nan")
    train_batches = data.Batches(images, tiny.train.labels, 50, drop_last=True)
    bad = data.ImageData(train_batches, tiny.test, tiny.classes, "with one NaN image")
    net = models.create("lenet_bn")
    counter = _CountCalls(net)
    with pytest.raises(NonFiniteLossError) as err:
        train.fit(net, bad, epochs=3, lr=1e-3, checkpoint=tmp_path / "ck.pt", progress=False)
    message = str(err.value)
    assert "NaN/Inf at epoch 1, step 3" in message and "learning rate 0.001" in message
    assert "Training stopped" in message and "learning rate 10× lower" in message
    assert counter.calls == 3  # it did not run on
    assert not (tmp_path / "ck.pt").exists()  # no epoch finished, so nothing was saved
    assert isinstance(err.value, FloatingPointError)


def test_nonfinite_loss_from_a_learning_rate_far_too_high(tiny):
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, step 2 .*learning rate 1e\+37"):
        train.fit(models.create("lenet_bn"), tiny, epochs=2, lr=1e37, optimizer="sgd",
                  seed=0, progress=False)


def test_unknown_optimizer_or_schedule(tiny):
    with pytest.raises(ValueError, match=r"Unknown optimizer 'adagrad': use 'adam', 'adamw', 'sgd'"):
        train.fit(models.create("lenet_bn"), tiny, epochs=1, optimizer="adagrad", progress=False)
    with pytest.raises(ValueError, match=r"Unknown schedule 'linear': use None, 'onecycle'"):
        train.fit(models.create("lenet_bn"), tiny, epochs=1, schedule="linear", progress=False)


# --------------------------------------------------------------------------- checkpoints

def test_truncated_checkpoint(trained, tiny, tmp_path):
    content = (trained / "checkpoint.pt").read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(content[: len(content) // 2])  # a save or a download cut short
    net = models.create("lenet_bn")
    before = _state(net)
    with pytest.raises(CheckpointError, match="could not be read as a PyTorch file") as err:
        train.load_parameters(net, truncated)
    assert "truncated, corrupt" in str(err.value) and str(truncated) in str(err.value)
    with pytest.raises(CheckpointError, match="could not be read"):
        train.fit(net, tiny, epochs=2, resume=truncated, progress=False)
    assert _unchanged(net, before)


def test_checkpoint_of_another_architecture(trained, tiny):
    net = models.create("lenet")  # parameters saved from lenet_bn
    before = _state(net)
    with pytest.raises(CheckpointError, match="does not fit") as err:
        train.load_parameters(net, trained / "lenet_bn.pt")
    message = str(err.value)
    assert "missing keys" in message and "another architecture" in message
    assert "left unchanged" in message and _unchanged(net, before)
    with pytest.raises(CheckpointError, match="does not fit"):
        train.fit(net, tiny, epochs=2, resume=trained / "checkpoint.pt", progress=False)
    # Same architecture, other number of classes: the shapes are named.
    with pytest.raises(CheckpointError, match=r"shape mismatches: .*file \(10, 84\) vs model \(5, 84\)"):
        train.load_parameters(models.create("lenet_bn", num_classes=5), trained / "lenet_bn.pt")


def test_checkpoint_with_code_in_it_is_refused(tmp_path):
    # A pickle can run any code when loaded; weights_only loading refuses it.
    path = tmp_path / "from_the_internet.pt"
    torch.save({"model": os.system}, path)
    with pytest.raises(CheckpointError, match="could not be read as a PyTorch file") as err:
        train.load_parameters(models.create("lenet_bn"), path)
    assert "refers to code, which weights_only loading refuses" in str(err.value)
    assert "posix.system" in str(err.value)  # names what the file tried to run


def test_bare_parameters_given_to_resume(trained, tiny):
    with pytest.raises(CheckpointError, match="is not a checkpoint written by cnnlab.train.fit"):
        train.fit(models.create("lenet_bn"), tiny, epochs=2, resume=trained / "lenet_bn.pt",
                  progress=False)


def test_resume_with_other_settings(trained, tiny):
    with pytest.raises(CheckpointError, match="other ema/schedule settings"):
        train.fit(models.create("lenet_bn"), tiny, epochs=2, schedule="cosine",
                  resume=trained / "checkpoint.pt", progress=False)


def test_resume_asking_for_more_epochs_than_the_schedule_spans(tiny, tmp_path):
    ckpt = tmp_path / "checkpoint.pt"
    train.fit(models.create("lenet_bn"), tiny, epochs=2, schedule="onecycle", seed=0,
              checkpoint=ckpt, progress=False)
    with pytest.raises(CheckpointError, match=r"schedule spans 2 epochs of 4 steps; this call "
                                              r"asks for 5 epochs of 4 steps.*epochs=2"):
        train.fit(models.create("lenet_bn"), tiny, epochs=5, schedule="onecycle",
                  resume=ckpt, progress=False)


def test_missing_checkpoint(tmp_path, tiny):
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        train.load_parameters(models.create("lenet_bn"), tmp_path / "nope.pt")
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        train.fit(models.create("lenet_bn"), tiny, epochs=1, resume=tmp_path / "nope.pt",
                  progress=False)
