import pytest

from cnnlab import models, profiles


def test_default_is_quick_without_cuda_and_full_with(monkeypatch):
    monkeypatch.delenv("CNNLAB_PROFILE", raising=False)
    assert profiles.choose_profile_name(cuda_available=False)[0] == "quick"
    assert profiles.choose_profile_name(cuda_available=True)[0] == "full"


def test_environment_variable_overrides(monkeypatch):
    monkeypatch.setenv("CNNLAB_PROFILE", "full")
    name, reason = profiles.choose_profile_name(cuda_available=False)
    assert name == "full" and "CNNLAB_PROFILE" in reason


@pytest.mark.parametrize("chapter", profiles.list_chapters())
def test_every_chapter_has_both_profiles_and_quick_is_smaller(chapter):
    full = profiles.get_profile(chapter, "full")
    quick = profiles.get_profile(chapter, "quick")
    assert full.model in models.list_models()
    assert quick.train_per_class is not None and quick.train_per_class < 6000
    assert quick.epochs * quick.train_per_class * 10 < full.epochs * 60_000
    assert "quick" in quick.describe() and full.source


def test_profiles_are_found_by_chapter_or_by_the_model_it_trains():
    by_chapter = profiles.get_profile("resnet", "quick")
    assert by_chapter == profiles.get_profile("resnet18_fmnist", "quick")
    assert by_chapter.chapter == "resnet" and by_chapter.name == "quick"
    with pytest.raises(ValueError, match="no 'reference' profile"):
        profiles.get_profile("degradation", "reference")


def test_profile_builds_its_data():
    quick = profiles.get_profile("resnet18_fmnist", "quick")
    ds = quick.data()
    assert len(ds.train.labels) == quick.train_per_class * 10
    assert len(ds.test.labels) == quick.test_per_class * 10
    assert quick.fit_kwargs()["epochs"] == quick.epochs
