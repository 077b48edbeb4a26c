"""The trainer on real Fashion-MNIST: it learns, it resumes exactly, it stops on NaN."""

import math

import pytest
import torch
from torch import nn

from cnnlab import data, device, models, seed_everything, train
from cnnlab.checkpoint import CheckpointError

TIME_FIELDS = {"examples_per_s", "seconds"}


def _without_times(history):
    return [{k: v for k, v in row.items() if k not in TIME_FIELDS} for row in history.to_list()]


@pytest.fixture(scope="module")
def subset():
    # 660 training images per class (6,600 in all) and the first 200 test images per class.
    return data.fashion_mnist(batch_size=128, train_per_class=660, test_per_class=200)


@pytest.fixture(scope="module")
def tiny():
    return data.fashion_mnist(batch_size=32, train_per_class=16, test_per_class=8)


@pytest.mark.slow  # make test runs it; make unit leaves it out
# Both precisions on every machine: the default picks one by the CPU (cnnlab.device).
@pytest.mark.parametrize("amp, precision", [(False, "fp32"), (True, "bf16 autocast")])
def test_small_cnn_learns_on_real_data(subset, amp, precision):
    seed_everything(0)
    net = models.create("lenet_bn")
    history = train.fit(net, subset, epochs=5, lr=0.1, optimizer="sgd", schedule="onecycle",
                        device="cpu", amp=amp, progress=False)
    assert len(history) == 5
    first, last = history[0], history[-1]
    assert last.test_acc >= 0.80, history  # chance is 0.10
    assert last.train_loss < first.train_loss
    for row in history:
        assert row.examples_per_s > 0 and row.seconds > 0
        assert row.device.startswith("cpu") and math.isfinite(row.train_loss)
        assert row.device.endswith(f"threads, {precision})"), row.device
    assert history.column("epoch") == [1, 2, 3, 4, 5]
    # evaluate() in the same precision agrees with the history's last test accuracy.
    assert train.evaluate(net, subset, amp=amp) == pytest.approx(last.test_acc)


def test_save_load_gives_identical_predictions(tiny, tmp_path):
    seed_everything(1)
    net = models.create("lenet_bn")
    train.fit(net, tiny, epochs=1, device="cpu", progress=False)
    path = train.save_parameters(net, tmp_path / "lenet.params")
    clone = train.load_parameters(models.create("lenet_bn"), path)
    preds, _ = train.predict(net, tiny)
    preds_clone, _ = train.predict(clone, tiny)
    assert torch.equal(preds, preds_clone)
    x = next(iter(tiny.test))[0]
    net.eval(); clone.eval()
    assert torch.equal(net(x), clone(x))


def test_atomic_save_keeps_the_old_file_when_saving_fails(tmp_path):
    path = train.save_parameters(models.create("lenet_bn"), tmp_path / "lenet.params")
    before = path.read_bytes()

    class Unpicklable(nn.Module):
        def state_dict(self, *a, **k):
            return {"x": lambda: 0}  # torch.save cannot pickle a lambda
    with pytest.raises(Exception):
        train.save_parameters(Unpicklable(), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["lenet.params"]  # no temp file left


class _DropoutNet(nn.Module):
    """LeNet-BN plus dropout, so resuming must restore the RNG to match."""

    def __init__(self):
        super().__init__()
        self.body = models.create("lenet_bn")
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        return self.drop(self.body(x))


@pytest.mark.slow  # make test runs it; make unit leaves it out
def test_interrupted_then_resumed_run_equals_uninterrupted(tiny, tmp_path):
    kwargs = dict(epochs=4, lr=0.05, optimizer="sgd", schedule="onecycle", ema=0.9,
                  device="cpu", progress=False)
    seed_everything(3)
    straight = _DropoutNet()
    reference = train.fit(straight, tiny, **kwargs)

    seed_everything(3)
    first = _DropoutNet()
    ckpt = tmp_path / "run.pt"

    def stop_after_two(stats):
        if stats.epoch == 2:
            raise KeyboardInterrupt  # a learner's Ctrl-C / "interrupt the kernel"
    with pytest.raises(KeyboardInterrupt):
        train.fit(first, tiny, checkpoint=ckpt, on_epoch_end=stop_after_two, **kwargs)

    torch.manual_seed(12345)  # the resumed run must not depend on the RNG it starts with
    resumed_net = _DropoutNet()
    resumed = train.fit(resumed_net, tiny, resume=ckpt, checkpoint=ckpt, **kwargs)
    assert [e.epoch for e in resumed] == [1, 2, 3, 4]  # the first two come from the checkpoint
    assert _without_times(resumed) == _without_times(reference)
    for (k, a), b in zip(straight.state_dict().items(), resumed_net.state_dict().values()):
        assert torch.equal(a, b), k


def test_same_seed_same_history(tiny):
    # The one way: create(seed=) seeds the initial weights, fit(seed=) the training.
    runs = [train.fit(models.create("lenet_bn", seed=7), tiny, epochs=2, seed=7,
                      deterministic=True, device="cpu", progress=False) for _ in range(2)]
    assert _without_times(runs[0]) == _without_times(runs[1])
    torch.use_deterministic_algorithms(False)


def test_history_is_labelled_with_the_model_and_keeps_its_label_on_disk(tiny, tmp_path):
    history = train.fit(models.create("lenet_bn"), tiny, epochs=1, device="cpu", progress=False,
                        checkpoint=tmp_path / "ck.pt")
    assert history.label == "lenet_bn"
    resumed = train.fit(models.create("lenet_bn"), tiny, epochs=1, device="cpu", progress=False,
                        resume=tmp_path / "ck.pt")
    assert resumed.label == "lenet_bn" and len(resumed) == 1


def test_auxiliary_outputs_are_trained_and_main_logits_scored(tiny):
    class WithAux(nn.Module):
        def __init__(self):
            super().__init__()
            self.main, self.aux = nn.Linear(784, 10), nn.Linear(784, 10)

        def forward(self, x):
            x = x.flatten(1)
            return (self.main(x), self.aux(x)) if self.training else self.main(x)
    net = WithAux()
    history = train.fit(net, tiny, epochs=1, device="cpu", progress=False)
    assert net.aux.weight.grad is not None  # the auxiliary head got gradients
    assert history[-1].test_acc == train.evaluate(net, tiny)  # scored by the main logits


@pytest.mark.slow  # make test runs it; make unit leaves it out
def test_recipe_options_run_and_flip_tta_changes_scoring(subset):
    seed_everything(0)
    net = models.create("lenet_bn")
    history = train.fit(net, subset, epochs=2, lr=2e-3, schedule="cosine", warmup_epochs=0.5,
                        label_smoothing=0.1, ema=0.9, tta_flip=True, device="cpu",
                        progress=False)
    assert history[-1].test_acc > 0.6
    assert history[-1].lr < 2e-3  # the cosine schedule decayed the rate
    assert train.evaluate(net, subset, tta_flip=True) == pytest.approx(history[-1].test_acc)


def test_layout_asked_of_fit_is_kept_through_evaluation(tiny):
    net = models.create("lenet_bn")
    train.fit(net, tiny, epochs=1, channels_last=False, device="cpu", progress=False)
    def second_conv(model):  # 6 input channels: the two layouts differ (with 1 they coincide)
        return [m for m in model.modules() if isinstance(m, nn.Conv2d)][1].weight
    assert not second_conv(net).is_contiguous(memory_format=torch.channels_last)
    net2 = models.create("lenet_bn")
    train.fit(net2, tiny, epochs=1, device="cpu", progress=False)  # CPU default: channels_last
    assert second_conv(net2).is_contiguous(memory_format=torch.channels_last)


def test_default_precision_follows_the_device_and_evaluate_follows_fit(tiny, monkeypatch):
    monkeypatch.delenv("CNNLAB_AMP", raising=False)  # the device's own choice
    for native, precision in [(True, "bf16 autocast"), (False, "fp32")]:
        monkeypatch.setattr(device, "cpu_flags", lambda: frozenset({"avx512_bf16"} if native else ()))
        seed_everything(2)
        net = models.create("lenet_bn")
        history = train.fit(net, tiny, epochs=1, device="cpu", progress=False)
        assert history[-1].device.endswith(f", {precision})")
        # predict's default is fit's default, so the score is reproduced exactly.
        assert train.evaluate(net, tiny) == history[-1].test_acc
    monkeypatch.setenv("CNNLAB_AMP", "0")
    assert train.fit(models.create("lenet_bn"), tiny, epochs=1, device="cpu",
                     progress=False)[-1].device.endswith(", fp32)")


@pytest.mark.slow  # make test runs it; make unit leaves it out
def test_fp16_trains_with_a_gradient_scaler_that_is_checkpointed(subset, tmp_path, monkeypatch):
    # fp16 is the choice on GPUs without native bf16 (e.g. a T4); CPU autocast runs it too.
    monkeypatch.setattr(train, "amp_dtype_for", lambda device, amp=None: torch.float16)
    seed_everything(0)
    ckpt = tmp_path / "fp16.pt"
    history = train.fit(models.create("lenet_bn"), subset, epochs=2, lr=0.1, optimizer="sgd",
                        schedule="onecycle", device="cpu", checkpoint=ckpt, progress=False)
    assert history[-1].device.endswith(", fp16 autocast)")
    assert history[-1].test_acc > 0.6, history  # chance is 0.10
    scaler_state = torch.load(ckpt, weights_only=True)["grad_scaler"]
    assert scaler_state is not None and scaler_state["scale"] > 1  # the loss was scaled
    # Resuming restores the scaler too; a schedule for another length is refused.
    with pytest.raises(CheckpointError, match=r"spans 2 epochs of 51 steps; this call asks "
                                              r"for 3 epochs of 51 steps.*resume with epochs=2"):
        train.fit(models.create("lenet_bn"), subset, epochs=3, lr=0.1, optimizer="sgd",
                  schedule="onecycle", device="cpu", resume=ckpt, progress=False)
    resumed = train.fit(models.create("lenet_bn"), subset, epochs=2, lr=0.1, optimizer="sgd",
                        schedule="onecycle", device="cpu", resume=ckpt, progress=False)
    assert _without_times(resumed) == _without_times(history)  # nothing left to do

