"""cnnlab.chapters: one module per chapter, found and registered automatically; the
ResNet chapter's building blocks.

The chapters' networks are checked against d2l itself in test_models_classic.py and the
ResNet chapter's against the article "残差网络(ResNet)" in test_errata.py.
"""

import inspect
import sys
from pathlib import Path

import pytest
import torch

from cnnlab import chapters, models, profiles
from cnnlab.chapters import resnet
from cnnlab.models import registry

PACKAGE = Path(chapters.__file__).parent


# --------------------------------------------------------------------------- the registry

# The chapters of the part "Modern convolutional networks": each builds and registers its
# own network and sets it beside d2l's printed result. The ResNet deep dive's chapters
# (the other modules) mostly study the zoo's networks.
MODERN_CNNS = list(chapters.MODERN_CNNS)
DEEP_DIVE = ["degradation", "efficiency", "family", "recipes", "shortcuts", "transfer", "variants"]
COMPARISON = ["comparison"]  # the modern-CNN part's last chapter: it ranks the seven


def test_every_chapter_keeps_the_contract_written_in_the_package():
    # The contract: cnnlab/chapters/__init__.py's docstring.
    for chapter in chapters.names():
        mod = chapters.module(chapter)
        exported = set(mod.__all__)
        assert not [n for n in exported if not hasattr(mod, n)], chapter
        for name in ("PROFILES", "D2L_PUBLISHED", "BENCHMARK_INPUTS"):
            assert not hasattr(mod, name) or name in exported, f"{chapter}: {name} not in __all__"
        for model in chapters.models_of(chapter):  # each network's builder is public
            assert models.get_spec(model).builder.__name__ in exported, (chapter, model)
        if chapter in chapters.MODERN_CNNS:
            assert {"test_acc", "lr", "batch_size", "epochs", "resize", "source"} <= set(
                mod.D2L_PUBLISHED), chapter
            assert {"full", "quick", "reference"} <= set(mod.PROFILES), chapter
            assert mod.BENCHMARK_INPUTS and all(
                m in models.list_models() for m, _, _ in mod.BENCHMARK_INPUTS), chapter
        else:
            assert not hasattr(mod, "D2L_PUBLISHED") and chapters.d2l_published(chapter) is None
        for name in exported:  # one way to draw: into ax/axes given, saved to path
            if name.endswith("_table") and not name.startswith("plot_"):  # tables: Table
                returns = inspect.signature(getattr(mod, name)).return_annotation
                assert returns == "Table", f"{chapter}.{name} returns {returns}"
            if name.startswith("plot_"):
                params = inspect.signature(getattr(mod, name)).parameters
                assert "path" in params and ({"ax", "axes"} & set(params)), f"{chapter}.{name}"
        trains_nothing = "trains nothing" in " ".join(inspect.getdoc(mod).split())
        assert hasattr(mod, "PROFILES") != trains_nothing, (
            f"{chapter}: a chapter has PROFILES or its docstring says it trains nothing")
        if hasattr(mod, "AT_SCALE"):  # an experiment at scale (its record: test_record.py)
            assert {"AT_SCALE", "EXPERIMENT", "SEEDS", "experiment_at_scale"} <= exported, chapter
            assert set(mod.AT_SCALE) <= set(mod.EXPERIMENT), chapter


def test_every_module_is_a_chapter_and_registers_its_models():
    modules = sorted(p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_"))
    assert chapters.names() == modules == sorted(MODERN_CNNS + DEEP_DIVE + COMPARISON)
    for chapter in modules:
        if chapter in MODERN_CNNS:
            assert chapters.models_of(chapter), f"chapter {chapter} registers no model"
            published = chapters.d2l_published(chapter)  # d2l 0.17.5's printed run
            assert 0.7 < published["test_acc"] < 0.95, chapter
            assert published["source"].startswith("d2l 0.17.5"), chapter
        doc = inspect.getdoc(chapters.module(chapter))  # the paper and a table of stages
        assert ("arXiv" in doc or "1998" in doc) and "=====" in doc, chapter


def test_a_new_chapter_is_one_module(tmp_path, monkeypatch):
    package = tmp_path / "morechapters"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "_helpers.py").write_text("raise AssertionError('a helper is not a chapter')\n")
    (package / "toynet.py").write_text(
        "from torch import nn\n"
        "from cnnlab.models.registry import register\n"
        "from cnnlab.recipe import Profile\n"
        "PROFILES = {'full': Profile(model='toynet', epochs=9, batch_size=8, lr=0.1),\n"
        "            'quick': Profile(model='toynet', epochs=1, batch_size=8, lr=0.1,\n"
        "                             train_per_class=5)}\n"
        "@register('toynet', family='toy', num_classes=10, in_channels=1, input_size=28,\n"
        "          min_size=1, paper='none 2024', description='a toy')\n"
        "def toynet(num_classes=10, in_channels=1):\n"
        "    return nn.Sequential(nn.Flatten(), nn.LazyLinear(num_classes))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        found = chapters._discover([str(package)], "morechapters")
        monkeypatch.setitem(chapters._CHAPTERS, "toynet", found["toynet"])
        assert list(found) == ["toynet"]
        assert models.create("toynet")(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
        assert chapters.models_of("toynet") == ["toynet"]
        assert "toynet" in profiles.list_chapters()
        assert profiles.get_profile("toynet", "quick").epochs == 1
        assert profiles.get_profile("toynet", "full").chapter == "toynet"
    finally:
        registry._REGISTRY.pop("toynet", None)
        sys.modules.pop("morechapters.toynet", None)


def test_the_chapter_of_a_model_is_the_one_whose_profiles_train_it():
    assert set(MODERN_CNNS) <= set(profiles.list_chapters())
    assert chapters.chapter_of("resnet18_fmnist") == "resnet"
    assert chapters.chapter_of("resnet152") is None  # no chapter trains torchvision's ResNet-152


def test_benchmark_inputs_name_registered_models():
    rows = chapters.benchmark_inputs()
    assert {name for name, _, _ in rows} <= set(models.list_models())
    assert ("resnet18_fmnist", 28, 256) in rows  # the quick profile's input


# --------------------------------------------------------------------------- the ResNet chapter

@pytest.mark.parametrize("side", [1, 28, 96, 224])
def test_output_shape(side):
    assert models.create("resnet18_fmnist")(torch.randn(2, 1, side, side)).shape == (2, 10)


def test_residual_block_shapes_as_in_d2l():
    x = torch.randn(4, 3, 6, 6)
    assert resnet.Residual(3, 3)(x).shape == (4, 3, 6, 6)
    assert resnet.Residual(3, 6, use_1x1conv=True, stride=2)(x).shape == (4, 6, 3, 3)
    with pytest.raises(RuntimeError):  # a shape change without the projection cannot add
        resnet.Residual(3, 6)(x)


def test_first_stage_keeps_channels():
    with pytest.raises(ValueError, match="first stage keeps the channel count"):
        resnet.resnet_block(64, 128, 2, first_block=True)


def test_full_profiles_are_d2ls_printed_recipe():
    """The GPU profile of every chapter but ResNet's (the article's Adam recipe) is d2l's:
    plain SGD without momentum, its learning rate, batch, epochs and resolution."""
    for chapter in MODERN_CNNS:
        if chapter == "resnet":
            continue
        full, d2l = profiles.get_profile(chapter, "full"), chapters.d2l_published(chapter)
        assert (full.optimizer, full.fit_kwargs().get("momentum")) == ("sgd", 0.0), chapter
        assert (full.lr, full.batch_size, full.epochs, full.resize or 28) == (
            d2l["lr"], d2l["batch_size"], d2l["epochs"], d2l["resize"]), chapter
        assert full.train_per_class is None and full.test_per_class is None, chapter


# --------------------------------------------------------------------------- experiments over seeds

def test_train_over_seeds_pairs_arms_by_seed_and_scores_on_the_larger_split():
    from torch import nn

    from cnnlab.chapters._common import experiment_data, scores, train_over_seeds

    setup = dict(resize=None, train_per_class=3, test_per_class=1, score_per_class=4,
                 batch_size=10, epochs=1, lr=1e-3, optimizer="adam")
    data, score, fit = experiment_data(profiles.get_profile("resnet", "quick"), setup)
    assert len(score.labels) == 40 and len(data.test.labels) == 10
    assert fit == dict(epochs=1, lr=1e-3, optimizer="adam")

    def build(seed):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    runs = train_over_seeds({"a": build, "b": (build, dict(lr=1e-2))}, data, [0, 1],
                            score_data=score, **fit)
    assert [h.seed for h in runs["a"]] == [0, 1] and runs["b"][0].label == "b"
    accuracy = scores(runs)
    assert set(accuracy) == {"a", "b"} and all(0 <= v <= 1 for v in accuracy["a"])
    assert all(v * 40 == round(v * 40) for v in accuracy["b"])  # scored on the 40 images


def test_a_profile_builds_its_model_with_its_arguments():
    quick = profiles.get_profile("vgg", "quick")
    assert quick.model_kwargs and quick.model_description().startswith("vgg11_fmnist(")
    a, b = quick.create_model(seed=3), quick.create_model(seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert profiles.get_profile("resnet", "quick").model_description() == "resnet18_fmnist"
