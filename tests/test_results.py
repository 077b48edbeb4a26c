"""Run records for the comparison chapter, and d2l's published results per chapter."""

import json

from cnnlab import chapters, profiles, results
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


def test_shipped_records_match_their_chapters_profiles():
    assert results.stale_records() == []


def test_a_record_whose_profile_changed_is_stale():
    settings = profiles.get_profile("batchnorm", "reference").settings()
    fresh = {"chapter": "batchnorm", "profile": "reference", "seed": 0, "settings": settings}
    assert results.stale_records([fresh]) == []
    old = {**fresh, "settings": {**settings, "epochs": 99}}
    [problem] = results.stale_records([old])
    assert "epochs: 99 → 3" in problem and "cnnlab record batchnorm --profile reference" in problem
    gone = {**fresh, "chapter": "degradation"}
    [problem] = results.stale_records([gone])
    assert "no 'reference' profile" in problem


def test_an_experiment_recorded_at_scale_goes_stale_when_its_settings_change(monkeypatch):
    from cnnlab.chapters import nin
    monkeypatch.setitem(nin.AT_SCALE, "epochs", 9)
    [problem] = results.stale_records()
    assert "nin.json: the experiment's epochs changed" in problem and "epochs: 4 → 9" in problem
    assert "re-run `cnnlab record nin --experiment`" in problem


def test_every_chapter_states_d2ls_published_result():
    # (which chapters must have one: test_chapters.py; the deep dive's have none)
    stated = [c for c in chapters.names() if results.d2l_published(c) is not None]
    assert len(stated) == 7
    for chapter in stated:
        published = results.d2l_published(chapter)
        assert 0.7 < published["test_acc"] < 0.95, chapter
        assert published["source"].startswith("d2l 0.17.5")
