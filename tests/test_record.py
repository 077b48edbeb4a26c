"""``cnnlab record``: a chapter's profile trained, recorded with provenance, resumable."""

import json

import pytest

from cnnlab import chapters, cli, profiles, record, results


@pytest.fixture
def dry(monkeypatch):
    monkeypatch.setenv("CNNLAB_DRY_RUN", "1")


def test_record_writes_the_run_with_its_provenance_and_resumes(dry, tmp_path):
    work, into = tmp_path / "work", tmp_path / "records"
    rec = record.record("batchnorm", "reference", seed=1, work=work, into=into, progress=False)
    path = into / "batchnorm-seed1.json"
    assert rec["path"] == str(path)
    stored = json.loads(path.read_text())
    assert stored["chapter"] == "batchnorm" and stored["profile"] == "reference"
    assert stored["seed"] == 1 and stored["dry_run"] is True
    assert stored["settings"]["model"] == "lenet_bn" and stored["settings"]["epochs"] == 3
    assert stored["parameters"] == 44_878  # d2l's BNLeNet
    assert stored["cpu"] and stored["cpu_kind"] and stored["torch"] and stored["date"]
    assert stored["device"].startswith("cpu")
    assert len(stored["history"]) == stored["epochs"] == 1  # dry: one epoch
    assert (work / "checkpoint.pt").is_file()
    # Run again: it continues from the checkpoint and lists both stretches.
    again = record.record("batchnorm", "reference", seed=1, work=work, into=into, progress=False)
    assert len(again["segments"]) == 2
    assert again["history"] == stored["history"]  # nothing left to train: the same epoch


def test_a_dry_run_never_writes_among_the_shipped_records(dry, tmp_path):
    rec = record.record("batchnorm", "reference", seed=7, work=tmp_path, progress=False)
    assert rec["path"] == str(tmp_path / "batchnorm-seed7.json")
    assert not record.record_path("batchnorm", "reference", 7).exists()
    assert all(r["seed"] != 7 for r in results.recorded_runs())


def test_the_record_command_reports_the_run(dry, tmp_path, capsys):
    status = cli.main(["record", "batchnorm", "--seed", "2", "--work", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert status == 0
    assert "batchnorm (reference, seed 2): test accuracy" in out
    stored = json.loads((tmp_path / "batchnorm-seed2.json").read_text())
    assert stored["command"] == "cnnlab record batchnorm --profile reference --seed 2"


def test_record_refuses_a_chapter_without_that_profile(tmp_path, capsys):
    assert cli.main(["record", "degradation", "--work", str(tmp_path)]) == 2
    assert "has no 'reference' profile" in capsys.readouterr().err
    with pytest.raises(ValueError, match="Unknown chapter 'lenet'"):
        record.record("lenet", work=tmp_path)


def test_a_profiles_settings_hold_what_decides_the_run():
    settings = profiles.get_profile("nin", "reference").settings()
    assert settings["model_kwargs"] == {"ratio": 2} and settings["resize"] == 112
    assert "source" not in settings and "chapter" not in settings


# --------------------------------------------------------------------------- experiments at scale

def test_an_experiment_at_scale_is_recorded_with_its_settings_and_provenance(dry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a dry run writes under ./runs/record/experiments/
    shipped = record.experiment_path("nin")
    before = shipped.read_bytes() if shipped.is_file() else None
    status = cli.main(["record", "nin", "--experiment"])
    assert status == 0
    stored = json.loads((tmp_path / "runs/record/experiments/nin.json").read_text())
    assert stored["settings"] == record.experiment_settings("nin")
    assert stored["settings"]["train_per_class"] == 1000 and stored["dry_run"] is True
    assert stored["seeds"] == [0]  # a dry run trains the first seed only
    assert set(stored["scores"]) == {"1×1 conv + GAP head", "fully connected head"}
    assert all(0.0 <= s <= 1.0 for scores in stored["scores"].values() for s in scores)
    assert stored["command"] == "cnnlab record nin --experiment"
    assert stored["cpu"] and stored["torch"] and stored["date"] and stored["device"].startswith("cpu")
    assert (shipped.read_bytes() if shipped.is_file() else None) == before  # never among the shipped


def test_an_experiment_at_scale_is_refused_for_a_chapter_without_one(tmp_path, capsys):
    assert cli.main(["record", "alexnet", "--experiment", "--into", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "has no experiment to record at scale" in err and "nin" in err
    assert not list(tmp_path.iterdir())


def test_shipped_experiments_match_their_chapters_and_decide_a_claim():
    having = [c for c in chapters.names() if hasattr(chapters.module(c), "AT_SCALE")]
    assert {"nin", "vgg", "recipes", "variants"} <= set(having)
    for chapter in having:
        rec = results.recorded_experiment(chapter)
        assert rec is not None, f"run `cnnlab record {chapter} --experiment`"
        assert rec["settings"] == record.experiment_settings(chapter)
        assert len(rec["seeds"]) >= 3 and "dry_run" not in rec
        assert all(len(v) == len(rec["seeds"]) for v in rec["scores"].values())
    assert results.recorded_experiment("alexnet") is None
    # an experiment record is not a run: the runs' readers never see it
    assert all("scores" not in r for r in results.recorded_runs(None))


def test_shipped_records_match_their_chapters_profiles():
    assert record.stale_records() == []


def test_a_record_whose_profile_changed_is_stale():
    settings = profiles.get_profile("batchnorm", "reference").settings()
    fresh = {"chapter": "batchnorm", "profile": "reference", "seed": 0, "settings": settings}
    assert record.stale_records([fresh]) == []
    old = {**fresh, "settings": {**settings, "epochs": 99}}
    [problem] = record.stale_records([old])
    assert "epochs: 99 → 3" in problem and "cnnlab record batchnorm --profile reference" in problem
    gone = {**fresh, "chapter": "degradation"}
    [problem] = record.stale_records([gone])
    assert "no 'reference' profile" in problem


def test_an_experiment_recorded_at_scale_goes_stale_when_its_settings_change(monkeypatch):
    from cnnlab.chapters import nin
    monkeypatch.setitem(nin.AT_SCALE, "epochs", 9)
    [problem] = record.stale_records()
    assert "nin.json: the experiment's epochs changed" in problem and "epochs: 4 → 9" in problem
    assert "re-run `cnnlab record nin --experiment`" in problem
