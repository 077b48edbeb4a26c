"""The trainer on real Fashion-MNIST: it learns, it resumes exactly, it stops on NaN."""

import math

import pytest
import torch
from torch import nn

from cnnlab import data, models, seed_everything, train
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
        assert 0 <= row.train_acc <= 1 and row.examples_per_s > 0 and row.seconds > 0
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


def test_loading_another_architecture_names_keys_and_leaves_model_unchanged(tmp_path):
    path = train.save_parameters(models.create("lenet_bn"), tmp_path / "lenet.params")
    other = models.create("resnet18_fmnist")
    before = {k: v.clone() for k, v in other.state_dict().items()}
    with pytest.raises(CheckpointError, match="missing keys: .*unexpected keys"):
        train.load_parameters(other, path)
    assert all(torch.equal(before[k], v) for k, v in other.state_dict().items())
    wrong_classes = models.create("lenet_bn", num_classes=5)
    with pytest.raises(CheckpointError, match=r"shape mismatches: .*\(10, 84\)"):
        train.load_parameters(wrong_classes, path)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_parameter_file_names_the_file(tmp_path, damage):
    path = train.save_parameters(models.create("lenet_bn"), tmp_path / "lenet.params")
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 3] if damage == "truncate" else b"<html>404</html>")
    with pytest.raises(CheckpointError, match="lenet.params"):
        train.load_parameters(models.create("lenet_bn"), path)


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


class _Interrupt(Exception):
    pass


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
            raise _Interrupt  # like a learner's KeyboardInterrupt after epoch 2
    with pytest.raises(_Interrupt):
        train.fit(first, tiny, checkpoint=ckpt, on_epoch_end=stop_after_two, **kwargs)

    torch.manual_seed(12345)  # the resumed run must not depend on the RNG it starts with
    resumed_net = _DropoutNet()
    resumed = train.fit(resumed_net, tiny, resume=ckpt, checkpoint=ckpt, **kwargs)
    assert _without_times(resumed) == _without_times(reference)
    for (k, a), b in zip(straight.state_dict().items(), resumed_net.state_dict().values()):
        assert torch.equal(a, b), k


def test_resume_from_another_architecture_is_refused(tiny, tmp_path):
    ckpt = tmp_path / "run.pt"
    train.fit(models.create("lenet_bn"), tiny, epochs=1, checkpoint=ckpt, device="cpu",
              progress=False)
    with pytest.raises(CheckpointError, match="missing keys"):
        train.fit(models.create("resnet18_fmnist"), tiny, epochs=2, resume=ckpt, device="cpu",
                  progress=False)


def test_same_seed_same_history(tiny):
    runs = []
    for _ in range(2):
        seed_everything(7, deterministic=True)
        runs.append(train.fit(models.create("lenet_bn"), tiny, epochs=2, device="cpu",
                              progress=False))
    assert _without_times(runs[0]) == _without_times(runs[1])
    torch.use_deterministic_algorithms(False)


class _NaNAfter(nn.Module):
    """Returns NaN logits from the given forward call on."""

    def __init__(self, bad_call: int):
        super().__init__()
        self.linear = nn.Linear(28 * 28, 10)
        self.calls, self.bad_call = 0, bad_call

    def forward(self, x):
        self.calls += 1
        out = self.linear(x.flatten(1))
        return out * float("nan") if self.calls >= self.bad_call else out


def test_training_stops_at_the_first_nonfinite_loss(tiny):
    net = _NaNAfter(bad_call=3)
    with pytest.raises(train.NonFiniteLossError,
                       match=r"epoch 1, step 3 .*learning rate 0\.001.*10× lower") as err:
        train.fit(net, tiny, epochs=3, device="cpu", progress=False)
    assert net.calls == 3  # stopped right there, did not run on
    assert "NaN" in str(err.value)


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
    assert 0 <= history[-1].test_acc <= 1


def test_recipe_options_run_and_flip_tta_changes_scoring(subset):
    seed_everything(0)
    net = models.create("lenet_bn")
    history = train.fit(net, subset, epochs=2, lr=2e-3, schedule="cosine", warmup_epochs=0.5,
                        label_smoothing=0.1, ema=0.9, tta_flip=True, device="cpu",
                        progress=False)
    assert history[-1].test_acc > 0.6
    assert history[-1].lr < 2e-3  # the cosine schedule decayed the rate
    assert train.evaluate(net, subset, tta_flip=True) == pytest.approx(history[-1].test_acc)


def test_unknown_optimizer_and_schedule_are_clear_errors(tiny):
    with pytest.raises(ValueError, match="Unknown optimizer 'adamm'"):
        train.fit(models.create("lenet_bn"), tiny, epochs=1, optimizer="adamm", progress=False)
    with pytest.raises(ValueError, match="Unknown schedule 'linear'"):
        train.fit(models.create("lenet_bn"), tiny, epochs=1, schedule="linear", progress=False)


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
    for native, precision in [(True, "bf16 autocast"), (False, "fp32")]:
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
        seed_everything(2)
        net = models.create("lenet_bn")
        history = train.fit(net, tiny, epochs=1, device="cpu", progress=False)
        assert history[-1].device.endswith(f", {precision})")
        # predict's default is fit's default, so the score is reproduced exactly.
        assert train.evaluate(net, tiny) == history[-1].test_acc
    monkeypatch.setenv("CNNLAB_AMP", "0")
    assert train.fit(models.create("lenet_bn"), tiny, epochs=1, device="cpu",
                     progress=False)[-1].device.endswith(", fp32)")


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
