"""cnnlab.checks: every check accepts what it should, and refuses the rest with the error type
and a message that names the call, the argument, the value and a value that works."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnlab import checks


def _refused(error, call, *words):
    with pytest.raises(error) as err:
        call()
    message = str(err.value)
    for word in words:
        assert word in message, (word, message)
    return message


# --------------------------------------------------------------------------- accepted values

def test_accepted_values_come_back_normalised(tmp_path):
    assert checks.positive_int("f", "n", np.int64(3), 1) == 3
    assert type(checks.positive_int("f", "n", torch.tensor(3), 1)) is int
    assert checks.non_negative_int("f", "n", 0, 1) == 0
    assert checks.integer("f", "n", -5, 1) == -5
    assert checks.positive_int("f", "n", None, 1, none="all") is None
    assert checks.positive_float("f", "lr", 1, 0.1) == 1.0
    assert checks.non_negative_float("f", "wd", 0.0, 0.1) == 0.0
    assert checks.fraction("f", "m", np.float32(0.5), 0.9) == 0.5
    assert checks.fraction("f", "p", 1, 0.5, one=True) == 1.0
    assert checks.boolean("f", "b", np.bool_(True)) is True
    assert checks.boolean("f", "b", None, none="auto") is None
    checks.flags("f", a=True, b=False)
    assert checks.one_of("f", "mode", "train", ("train", "inference")) == "train"
    assert checks.shape("f", "s", [1, np.int64(3), 8, 8], (1, 1, 8, 8)) == (1, 3, 8, 8)
    assert checks.shape("f", "s", (3, 8, 8), (1, 8, 8), ("(C, H, W)", "(N, C, H, W)")) == (3, 8, 8)
    assert checks.path("f", "p", str(tmp_path / "new" / "x.pt"), "'x.pt'", write=True) \
        == tmp_path / "new" / "x.pt"
    assert checks.device("f", "d", "cpu") == torch.device("cpu")
    assert checks.function("f", "cb", print, "print") is print
    assert checks.tensor("f", "x", torch.zeros(2, 3), (2,), "shaped (N, D)", "x") is not None


# --------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("call, error, words", [
    (lambda: checks.positive_int("fit", "epochs", 0, 3), ValueError,
     ["fit(epochs=0): epochs must be a whole number ≥ 1, e.g. epochs=3."]),
    (lambda: checks.positive_int("fit", "epochs", 2.0, 3), TypeError,
     ["fit(epochs=2.0): epochs must be a whole number ≥ 1, not a float, e.g. epochs=3."]),
    (lambda: checks.positive_int("fit", "epochs", True, 3), TypeError,
     ["fit(epochs=True)", "not a bool"]),
    (lambda: checks.non_negative_int("g", "seed", -1, 0, none="no seeding"), ValueError,
     ["g(seed=-1): seed must be a whole number ≥ 0, e.g. seed=0, or None for no seeding."]),
    (lambda: checks.positive_int("g", "k", 7001, 100, maximum=6000), ValueError,
     ["g(k=7001): k must be a whole number from 1 to 6000, e.g. k=100."]),
    (lambda: checks.positive_float("fit", "lr", 0, 1e-3), ValueError,
     ["fit(lr=0): lr must be a finite number > 0, e.g. lr=0.001."]),
    (lambda: checks.positive_float("fit", "lr", float("inf"), 1e-3), ValueError,
     ["fit(lr=inf): lr must be a finite number > 0"]),
    (lambda: checks.positive_float("fit", "lr", "0.1", 1e-3), TypeError,
     ["fit(lr='0.1'): lr must be a finite number > 0, not a str, e.g. lr=0.001."]),
    (lambda: checks.non_negative_float("fit", "weight_decay", -1e-4, 5e-4), ValueError,
     ["fit(weight_decay=-0.0001): weight_decay must be a finite number ≥ 0, e.g. "
      "weight_decay=0.0005."]),
    (lambda: checks.fraction("fit", "momentum", 1.0, 0.9), ValueError,
     ["fit(momentum=1.0): momentum must be a number ≥ 0 and < 1, e.g. momentum=0.9."]),
    (lambda: checks.fraction("fit", "ema", 0, 0.999, zero=False, none="no averaging"), ValueError,
     ["fit(ema=0): ema must be a number > 0 and < 1, e.g. ema=0.999, or None for no averaging."]),
    (lambda: checks.boolean("fit", "amp", "yes", none="the device's choice"), TypeError,
     ["fit(amp='yes'): amp must be True or False, not a str, or None for the device's choice."]),
    (lambda: checks.flags("fit", progress=True, compile=1), TypeError,
     ["fit(compile=1): compile must be True or False, not an int."]),
    (lambda: checks.one_of("benchmark", "mode", "eval", ("inference", "train")), ValueError,
     ["benchmark(mode='eval'): mode must be one of 'inference' or 'train'."]),
    (lambda: checks.one_of("f", "m", ["x"], ("a",)), ValueError,
     ["f(m=['x']): m must be one of 'a'."]),
    (lambda: checks.instance("fit", "model", "lenet", torch.nn.Module, "a torch.nn.Module",
                             "models.create('lenet')"), TypeError,
     ["fit(model='lenet'): model must be a torch.nn.Module, not a str, "
      "e.g. model=models.create('lenet')."]),
    (lambda: checks.function("fit", "on_epoch_end", 3, "print"), TypeError,
     ["fit(on_epoch_end=3): on_epoch_end must be a function, not an int, e.g. on_epoch_end=print."]),
    (lambda: checks.shape("flops", "input_size", (1, 28, 28), (1, 1, 28, 28)), ValueError,
     ["flops(input_size=(1, 28, 28)): input_size must be (N, C, H, W): 4 whole numbers ≥ 1, "
      "e.g. input_size=(1, 1, 28, 28)."]),
    (lambda: checks.shape("flops", "input_size", (1, 0, 28, 28), (1, 1, 28, 28)), ValueError,
     ["flops(input_size=(1, 0, 28, 28))"]),
    (lambda: checks.shape("flops", "input_size", "1x28x28", (1, 1, 28, 28)), TypeError,
     ["flops(input_size='1x28x28')", "not a str"]),
    (lambda: checks.shape("b", "s", (1.5, 2, 2), (1, 2, 2), ("(C, H, W)", "(N, C, H, W)")),
     TypeError, ["(C, H, W): 3 whole numbers ≥ 1 or (N, C, H, W): 4 whole numbers ≥ 1"]),
    (lambda: checks.tensor("images", "x", torch.zeros(2, 2), (3, 4), "shaped (N, H, W)", "x"),
     ValueError, ["images(x=<Tensor of shape (2, 2)>): x must be a tensor shaped (N, H, W), e.g. x=x."]),
    (lambda: checks.tensor("images", "x", [[0]], (3, 4), "shaped (N, H, W)", "x"),
     TypeError, ["images(x=[[0]])", "not a list"]),
    (lambda: checks.path("save", "path", 3, "'m.pt'"), TypeError,
     ["save(path=3): path must be a file path (str or pathlib.Path), not an int, e.g. path='m.pt'."]),
    (lambda: checks.path("save", "path", "", "'m.pt'"), ValueError, ["save(path='')"]),
    (lambda: checks.device("fit", "device", "gpu"), ValueError,
     ["fit(device='gpu'): device must be a device such as 'cpu', 'cuda' or 'cuda:1'",
      "torch knows no such device", "e.g. device='cpu'"]),
    (lambda: checks.device("fit", "device", 0.5), TypeError, ["fit(device=0.5)", "not a float"]),
    (lambda: checks.refuse("images", "labels", ["a"], "one title for each of the 2 images",
                           none="no titles"), ValueError,
     ["images(labels=['a']): labels must be one title for each of the 2 images, "
      "or None for no titles."]),
])
def test_refusals_name_call_value_and_advice(call, error, words):
    _refused(error, call, *words)


def test_none_is_refused_unless_the_check_says_what_it_means():
    _refused(TypeError, lambda: checks.positive_int("fit", "epochs", None, 3),
             "fit(epochs=None): epochs must be a whole number ≥ 1, not a NoneType")
    _refused(TypeError, lambda: checks.boolean("fit", "progress", None), "fit(progress=None)")


def test_a_long_value_is_shown_by_its_type():
    message = _refused(TypeError, lambda: checks.positive_int("f", "n", list(range(100)), 1),
                       "f(n=<list object>)")
    assert len(message) < 120


def test_paths_to_write_are_refused_without_creating_anything(tmp_path):
    _refused(ValueError, lambda: checks.path("fit", "checkpoint", tmp_path, "'ck.pt'", write=True),
             f"fit(checkpoint={str(tmp_path)!r})", "this is a folder", "e.g. checkpoint='ck.pt'")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    _refused(ValueError, lambda: checks.path("fit", "checkpoint", a_file / "sub" / "ck.pt",
                                             "'ck.pt'", write=True), f"{a_file} is a file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_cuda_devices_the_machine_lacks(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    _refused(ValueError, lambda: checks.device("fit", "device", "cuda"),
             "fit(device='cuda')", "no CUDA GPU is visible here", "e.g. device='cpu'")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert checks.device_problem("cuda:1") is None
    assert "2 CUDA GPU(s)" in checks.device_problem(torch.device("cuda", 2))


def test_environment_errors_keep_the_settings_wording(monkeypatch):
    monkeypatch.setenv("CNNLAB_X", "fancy")
    err = checks.env_error("CNNLAB_X", checks.options({"a": "one", "b": "two", "c": "three"}))
    assert isinstance(err, ValueError)
    assert str(err) == "CNNLAB_X='fancy': use a (one), b (two) or c (three)."
    assert checks.options({"1": "on"}) == "1 (on)"
    assert os.environ["CNNLAB_X"] == "fancy" and Path(".").exists()
