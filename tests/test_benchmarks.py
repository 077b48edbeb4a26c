"""The benchmark scripts still run and print their headline (speed itself is not tested).

Each runs at its smallest setting, without ``--record``: ``results.json`` is untouched.
"""

import importlib
import re
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.setenv("CNNLAB_PROGRESS", "off")
    results = BENCHMARKS / "results.json"
    before = results.read_bytes()

    def load(name):
        sys.modules.pop(name, None)
        return importlib.import_module(name)
    yield load
    assert results.read_bytes() == before  # nothing recorded


def _last_line(capsys) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_trainer_vs_d2l_runs_both_trainers_on_the_same_images(bench, capsys):
    pytest.importorskip("d2l")
    result = bench("trainer_vs_d2l").main(["--steps", "2", "--batch-size", "16",
                                            "--resize", "28", "--device", "cpu"])
    assert result["images"] == 32 and result["parameters"] == 11_178_378
    assert result["d2l_seconds"] > 0 and result["cnnlab_seconds"] > 0 and result["ratio"] > 0
    assert result["cnnlab_precision"] in ("fp32", "bf16 autocast")
    assert re.fullmatch(r"trainer_vs_d2l: cnnlab [\d.]+ ex/s vs d2l [\d.]+ ex/s = [\d.]+x \(.*"
                        r"d2l fp32, cnnlab (fp32|bf16 autocast)\)", _last_line(capsys))


def test_trainer_vs_d2l_fp32_flag_trains_cnnlab_in_fp32(bench, capsys):
    pytest.importorskip("d2l")
    result = bench("trainer_vs_d2l").main(["--steps", "1", "--batch-size", "16",
                                            "--resize", "28", "--device", "cpu", "--fp32"])
    assert result["cnnlab_precision"] == "fp32"
    assert _last_line(capsys).endswith("d2l fp32, cnnlab fp32)")


def test_precision_compares_the_same_step_in_both_precisions(bench, capsys):
    result = bench("precision").main(["--models", "lenet_bn", "--seconds", "0.05",
                                      "--repeats", "1", "--device", "cpu"])
    (row,) = result["networks"]
    assert row["model"] == "lenet_bn" and row["fp32_images_per_s"] > 0
    assert row["ratio"] == pytest.approx(row["low_images_per_s"] / row["fp32_images_per_s"],
                                         rel=1e-2)
    assert re.fullmatch(r"precision: bf16 autocast vs fp32 training step, geometric mean "
                        r"[\d.]+x over 1 network \(.*; cpu\)", _last_line(capsys))


def test_precision_refuses_a_model_it_does_not_know(bench):
    with pytest.raises(SystemExit):
        bench("precision").main(["--models", "resnet19"])


def test_merge_appends_only_the_records_it_does_not_have(bench, tmp_path):
    common = bench("_common")
    ours, theirs = tmp_path / "ours.json", tmp_path / "theirs.json"
    a, b, c = ({"name": n, "figure": f, "device": "d", "date": "t", "commit": "x"}
               for n, f in [("trainer_vs_d2l", 2.2), ("precision", 1.4), ("trainer_vs_d2l", 9.9)])
    common._write_results([a, b], ours)
    common._write_results([a, b, c], theirs)  # a results.json brought back from a GPU machine
    assert common.merge(theirs, ours) == [c]
    assert common.load_results(ours) == [a, b, c]
    assert common.merge(theirs, ours) == []  # merging twice adds nothing
    assert common.load_results(ours) == [a, b, c]
