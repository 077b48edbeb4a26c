"""Run records: this build's runs and the records shipped with the package."""

import json

from cnnlab import profiles, results
from cnnlab.train import EpochStats, History


def _history(acc):
    return History([EpochStats(epoch=e, train_loss=0.5, train_acc=0.8, test_acc=acc,
                               examples_per_s=100.0, seconds=10.0, lr=1e-3,
                               device="cpu (2 threads, fp32)") for e in (1, 2)])


def test_a_run_is_recorded_and_replaces_the_same_chapters_earlier_one(tmp_path):
    path = tmp_path / "runs.json"
    profile = profiles.get_profile("resnet", "quick")
    results.record_run(profile, _history(0.7), path)
    record = results.record_run(profile, _history(0.8), path)
    assert results.runs(path) == [record]
    assert record["chapter"] == "resnet" and record["profile"] == "quick"
    assert record["test_acc"] == 0.8 and record["train_seconds"] == 20.0
    assert record["train_images"] == profile.train_per_class * 10
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary file left"
    json.loads(path.read_text())


def test_runs_of_a_missing_file_are_none(tmp_path):
    assert results.runs(tmp_path / "absent.json") == []


def test_every_shipped_record_says_what_ran_where_and_how():
    for run in results.recorded_runs(None):
        assert {"chapter", "profile", "seed", "settings", "history", "test_acc", "device",
                "cpu", "cpu_kind", "torch", "commit", "date", "command", "segments"} <= set(run)
        assert "dry_run" not in run, run["path"]
        assert len(run["history"]) == run["epochs"] == run["settings"]["epochs"], run["path"]
        assert run["test_acc"] == round(run["history"][-1]["test_acc"], 4)


