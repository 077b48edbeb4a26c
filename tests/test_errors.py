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

from cnnlab import checkpoint, data, measure, models, plot, predictions, profiles, settings, train
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


# --------------------------------------------------------------------------- arguments checked at the door
# Each public function refuses a value out of range (ValueError) or of the wrong kind
# (TypeError) before it does anything, naming the call, the argument, the value and advice.

def _preds():
    from cnnlab.predictions import Predictions
    return Predictions(images=torch.zeros(4, 1, 8, 8, dtype=torch.uint8),
                       labels=torch.tensor([0, 1, 1, 0]), predicted=torch.tensor([0, 0, 1, 0]),
                       confidence=torch.tensor([0.9, 0.8, 0.7, 0.6]), classes=("a", "b"))


def _lenet():
    return models.create("lenet_bn")


# (call, error type, the message's words: the call with the value, the rule, the advice)
_DOOR = {
    # models
    "create": (lambda d: models.create("lenet", num_classes=0), ValueError,
               ["create(num_classes=0): num_classes must be a whole number ≥ 1", "num_classes=10"]),
    "create-kind": (lambda d: models.create(18), TypeError,
                    ["create(name=18): name must be a model name (str), not an int",
                     "name='resnet18'"]),
    "get_spec": (lambda d: models.get_spec(None), TypeError,
                 ["get_spec(name=None): name must be a model name (str)", "name='resnet18'"]),
    "list_models": (lambda d: models.list_models("resnets"), ValueError,
                    ["list_models(family='resnets'): family must be one of", "'resnet'",
                     "or None for every family"]),
    # data
    "fashion_mnist": (lambda d: data.fashion_mnist(batch_size=0), ValueError,
                      ["fashion_mnist(batch_size=0): batch_size must be a whole number ≥ 1",
                       "batch_size=256"]),
    "fashion_mnist-range": (lambda d: data.fashion_mnist(train_per_class=6001), ValueError,
                            ["fashion_mnist(train_per_class=6001)", "from 1 to 6000",
                             "or None for all 6,000 per class"]),
    "fashion_mnist-kind": (lambda d: data.fashion_mnist(resize="96"), TypeError,
                           ["fashion_mnist(resize='96'): resize must be a whole number ≥ 1, "
                            "not a str, e.g. resize=96"]),
    "load_fashion_mnist": (lambda d: data.load_fashion_mnist(download="no"), TypeError,
                           ["load_fashion_mnist(download='no'): download must be True or False",
                            "or None for yes, unless CNNLAB_OFFLINE=1"]),
    "stratified_indices": (lambda d: data.stratified_indices(d.train.labels, -3), ValueError,
                           ["stratified_indices(per_class=-3): per_class must be a whole number "
                            "≥ 0", "per_class=100"]),
    # train
    "fit": (lambda d: train.fit(_lenet(), d, epochs=0), ValueError,
            ["fit(epochs=0): epochs must be a whole number ≥ 1, e.g. epochs=3."]),
    "fit-lr": (lambda d: train.fit(_lenet(), d, 1, lr=-0.1), ValueError,
               ["fit(lr=-0.1): lr must be a finite number > 0, e.g. lr=0.001."]),
    "fit-ema": (lambda d: train.fit(_lenet(), d, 1, ema=1.5), ValueError,
                ["fit(ema=1.5): ema must be a number > 0 and < 1", "ema=0.999"]),
    "fit-data": (lambda d: train.fit(_lenet(), d.train, 1), TypeError,
                 ["fit(data=<Batches object>): data must be a cnnlab.data.ImageData, not a Batches",
                  "data=data.fashion_mnist()"]),
    "fit-device": (lambda d: train.fit(_lenet(), d, 1, device="gpu"), ValueError,
                   ["fit(device='gpu')", "torch knows no such device", "device='cpu'"]),
    "evaluate": (lambda d: train.evaluate(_lenet(), d, tta_flip="yes"), TypeError,
                 ["evaluate(tta_flip='yes'): tta_flip must be True or False, not a str"]),
    "predict": (lambda d: train.predict("lenet_bn", d), TypeError,
                ["predict(model='lenet_bn'): model must be a torch.nn.Module, not a str",
                 "model=models.create('lenet_bn')"]),
    "class_probabilities": (lambda d: train.class_probabilities(_lenet(), [1, 2]), TypeError,
                            ["class_probabilities(data=[1, 2]): data must be cnnlab.data."
                             "ImageData or Batches, not a list"]),
    "make_optimizer": (lambda d: train.make_optimizer(_lenet().parameters(), "sgd", 0.1,
                                                      momentum=1.5), ValueError,
                       ["make_optimizer(momentum=1.5): momentum must be a number ≥ 0 and < 1",
                        "momentum=0.9"]),
    # measure
    "summary": (lambda d: measure.summary("lenet_bn", (1, 28, 28)), ValueError,
                ["summary(input_size=(1, 28, 28)): input_size must be (N, C, H, W)",
                 "input_size=(1, 1, 28, 28)"]),
    "layer_shapes": (lambda d: measure.layer_shapes("lenet_bn", expand="features"), TypeError,
                     ["layer_shapes(expand='features'): expand must be a list of container names",
                      "expand=('features',)"]),
    "count_parameters": (lambda d: measure.count_parameters(None), TypeError,
                         ["count_parameters(model=None): model must be a torch.nn.Module or a "
                          "registry name", "model='resnet18_fmnist'"]),
    "flops": (lambda d: measure.flops("lenet_bn", (1, 1, 0, 28)), ValueError,
              ["flops(input_size=(1, 1, 0, 28))", "4 whole numbers ≥ 1"]),
    "benchmark": (lambda d: measure.benchmark("lenet_bn", steps=0), ValueError,
                  ["benchmark(steps=0): steps must be a whole number ≥ 1, e.g. steps=20."]),
    # predictions
    "collect": (lambda d: predictions.collect(_lenet(), d.test), TypeError,
                ["collect(data=<Batches object>): data must be a cnnlab.data.ImageData"]),
    "Predictions.mistakes": (lambda d: _preds().mistakes(0), ValueError,
                             ["Predictions.mistakes(k=0): k must be a whole number ≥ 1, e.g. k=8."]),
    "Predictions.sample": (lambda d: _preds().sample(2.5), TypeError,
                           ["Predictions.sample(k=2.5): k must be a whole number ≥ 1, not a float"]),
    "Predictions.most_confused": (lambda d: _preds().most_confused(-1), ValueError,
                                  ["Predictions.most_confused(k=-1)", "k=3"]),
    # plot
    "curves": (lambda d: plot.curves(train.History(), metric="accuracy"), ValueError,
               ["curves(metric='accuracy'): metric must be one of", "'test_acc'"]),
    "images": (lambda d: plot.images(torch.zeros(8, 8)), ValueError,
               ["images(x=<Tensor of shape (8, 8)>): x must be a tensor shaped (N, H, W) or "
                "(N, C, H, W)"]),
    "feature_maps": (lambda d: plot.feature_maps(torch.zeros(4, 8, 8), scale=0), ValueError,
                     ["feature_maps(scale=0): scale must be a finite number > 0, e.g. scale=1.3."]),
    "predictions": (lambda d: plot.predictions(_preds(), [0, 4]), ValueError,
                    ["predictions(indices=[0, 4]): indices must be a list of image indices from "
                     "0 to 3", "indices=preds.mistakes(8)"]),
    "confusion_matrix": (lambda d: plot.confusion_matrix(_preds(), normalize="rows"), TypeError,
                         ["confusion_matrix(normalize='rows'): normalize must be True or False"]),
    "save_figure": (lambda d: plot.save_figure(plt_figure(), "figure.jpeg2000"), ValueError,
                    ["save_figure(path='figure.jpeg2000'): path must be a file name ending in a "
                     "format matplotlib writes", ".png", "path='figure.png'"]),
    # checkpoint
    "save_parameters": (lambda d: train.save_parameters(_lenet(), os.getcwd()), ValueError,
                        ["save_parameters(path=", "this is a folder", "path='runs/model.pt'"]),
    "load_parameters": (lambda d: train.load_parameters("lenet_bn", "model.pt"), TypeError,
                        ["load_parameters(model='lenet_bn'): model must be a torch.nn.Module"]),
    "safe_load": (lambda d: checkpoint.safe_load(3), TypeError,
                  ["safe_load(path=3): path must be a file path (str or pathlib.Path), not an int"]),
    "atomic_save": (lambda d: checkpoint.atomic_save({}, os.getcwd()), ValueError,
                    ["atomic_save(path=", "this is a folder"]),
    "unwrap": (lambda d: checkpoint.unwrap({}), TypeError, ["unwrap(model={})"]),
    "model_name": (lambda d: checkpoint.model_name("x"), TypeError, ["model_name(model='x')"]),
    "check_state_dict": (lambda d: checkpoint.check_state_dict(_lenet(), {}, source=None),
                         TypeError, ["check_state_dict(source=None): source must be a str"]),
    "save_checkpoint": (lambda d: checkpoint.save_checkpoint("ck.pt", -1, _lenet(), None, None,
                                                             None, None, [], (1, 1)), ValueError,
                        ["save_checkpoint(epoch=-1): epoch must be a whole number ≥ 0"]),
    "restore_checkpoint": (lambda d: checkpoint.restore_checkpoint("ck.pt", _lenet(), None, None,
                                                                   None, None, plan=(0, 4)),
                           ValueError, ["restore_checkpoint(plan=(0, 4))",
                                        "(epochs, steps per epoch): 2 whole numbers ≥ 1"]),
    # profiles
    "get_profile": (lambda d: profiles.get_profile(None), TypeError,
                    ["get_profile(chapter=None): chapter must be a chapter or model name (str)",
                     "chapter='resnet'"]),
}


def plt_figure():
    import matplotlib.pyplot as plt
    return plt.figure()


@pytest.mark.parametrize("case", list(_DOOR))
def test_public_functions_check_their_arguments_at_the_door(case, tiny, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # anything a call wrongly wrote would land here
    call, error, words = _DOOR[case]
    with pytest.raises(error) as err:
        call(tiny)
    for word in words:
        assert word in str(err.value), (word, str(err.value))
    assert list(tmp_path.iterdir()) == []  # a refused call writes nothing
    import matplotlib.pyplot as plt
    plt.close("all")


class _Spy:
    """Counts the training steps a refused fit must not take."""

    def __init__(self, model):
        self.steps = 0
        model.register_forward_pre_hook(lambda m, a: setattr(self, "steps", self.steps + m.training))


@pytest.mark.parametrize("bad", [dict(epochs=0), dict(ema=1.5), dict(label_smoothing=1.0),
                                 dict(on_epoch_end="print"), dict(seed=-1), dict(amp="off")])
def test_refused_fit_leaves_an_existing_checkpoint_byte_identical(bad, trained, tiny, tmp_path):
    # ema=1.5 or on_epoch_end="print" used to fail only after the first epoch had overwritten it.
    ckpt = tmp_path / "checkpoint.pt"
    ckpt.write_bytes((trained / "checkpoint.pt").read_bytes())
    before, stamp = ckpt.read_bytes(), ckpt.stat().st_mtime_ns
    net = models.create("lenet_bn")
    spy = _Spy(net)
    kwargs = {**dict(epochs=1, progress=False, checkpoint=ckpt), **bad}
    with pytest.raises((ValueError, TypeError)) as err:
        train.fit(net, tiny, **kwargs)
    name = next(iter(bad))
    assert f"fit({name}={bad[name]!r}): {name} must be" in str(err.value)
    assert ckpt.read_bytes() == before and ckpt.stat().st_mtime_ns == stamp
    assert spy.steps == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]  # no temporary file


def test_fit_refuses_a_folder_as_its_checkpoint_before_training(tiny, tmp_path):
    net = models.create("lenet_bn")
    spy = _Spy(net)
    with pytest.raises(ValueError, match=r"fit\(checkpoint='.*'\): checkpoint must be a file, and "
                                         r"this is a folder: name a file inside it"):
        train.fit(net, tiny, epochs=1, checkpoint=tmp_path, progress=False)
    assert spy.steps == 0 and list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- environment variables

@pytest.mark.parametrize("variable, value, read, words", [
    ("CNNLAB_PROGRESS", "fancy", settings.progress,
     "use auto (a progress bar, widgets in Jupyter: the default), text (a plain-text bar on "
     "stderr) or off (none)."),
    ("RANK", "x", settings.rank, "use a whole number ≥ 0 (this process's rank; torchrun sets it), "
                                 "or unset it for a plain run."),
    ("WORLD_SIZE", "0", settings.world_size, "use a whole number ≥ 1 (the number of processes"),
    ("LOCAL_RANK", "-1", settings.local_rank, "use a whole number ≥ 0 (this process's rank on its "
                                              "machine"),
    ("CNNLAB_OFFLINE", "maybe", settings.offline, "use 1 (never download) or 0 (the default)."),
    ("CNNLAB_DEVICE", "gpu", settings.device, "use a device this machine has, such as cpu, cuda or "
                                              "cuda:1"),
    ("CNNLAB_DRY_RUN", "please", settings.dry_run, "use 1 (a dry run"),
    ("CNNLAB_AMP", "fast", settings.amp, "use 1 (mixed precision where the device supports it) "
                                         "or 0 (fp32 everywhere)."),
])
def test_bad_environment_variables_are_named_with_what_to_write(variable, value, read, words,
                                                                monkeypatch):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError) as err:
        read()
    assert str(err.value).startswith(f"{variable}={value!r}: ") and words in str(err.value)


def test_path_variables_of_the_wrong_kind(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_RUNS", str(tmp_path))
    with pytest.raises(ValueError, match=r"CNNLAB_RUNS='.*': use the JSON file to record runs in, "
                                         r"not a folder; e.g. CNNLAB_RUNS=.*cnnlab-runs.json"):
        settings.runs_file()
    a_file = tmp_path / "train-images-idx3-ubyte.gz"
    a_file.write_bytes(b"")
    monkeypatch.setenv("CNNLAB_DATA", str(a_file))
    with pytest.raises(ValueError, match=r"CNNLAB_DATA='.*gz': use a folder that holds "
                                         r"FashionMNIST/raw/"):
        data.fashion_mnist()
    monkeypatch.setenv("CNNLAB_OFFLINE", "yes")
    assert settings.offline()  # the spellings that worked before still work
