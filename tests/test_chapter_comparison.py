"""The comparison chapter's table building: costs, recorded accuracies, ImageNet metadata."""

import pytest

from cnnlab import chapters, models
from cnnlab.chapters import comparison


def _run(chapter, model, acc, profile="quick", date="2026-01-01T00:00:00+00:00"):
    return {"chapter": chapter, "model": model, "profile": profile, "epochs": 3,
            "resize": 28, "train_images": 6000, "test_images": 2000, "test_acc": acc,
            "train_seconds": 1.0, "device": "cpu (2 threads, fp32)", "date": date}


def test_networks_are_the_course_in_book_order():
    nets = comparison.networks()
    assert [n.chapter for n in nets] == ["alexnet", "vgg", "nin", "googlenet", "batchnorm",
                                         "resnet", "densenet"]  # not the deep dive's chapters
    known = set(models.list_models())
    for n in nets:
        assert n.chapter in chapters.names() and n.model in known


def test_input_side_is_accepted_by_every_model():
    for n in comparison.networks():
        side = comparison.input_side(n)
        assert side >= models.get_spec(n.model).min_size
        quick = chapters.profiles_of(n.chapter).get("quick")
        if quick is not None and quick.model == n.model:
            assert side == (quick.resize or 28)


def test_measure_costs_one_network():
    net = next(n for n in comparison.networks() if n.model == "lenet_bn")
    [c] = comparison.measure_costs([net], batch_size=2, steps=1, device="cpu")
    assert c.params == sum(p.numel() for p in models.create("lenet_bn").parameters())
    assert c.side == 28 and c.gflops > 0 and c.inference_img_s > 0 and c.train_ms > 0
    assert c.train_peak_mib is not None and c.train_peak_mib > 0
    table = comparison.cost_table([c])
    assert "LeNet" in table._repr_markdown_() and f"{c.params:,}" in str(table)


def test_missing_runs_say_not_run_instead_of_failing():
    nets = comparison.networks()
    accs = comparison.accuracies(nets, runs=[_run("resnet", "resnet18_fmnist", 0.82)], full_runs=[])
    assert accs["resnet"]["quick"]["test_acc"] == 0.82
    assert accs["alexnet"] == {"quick": None, "full": None}
    text = str(comparison.accuracy_table(nets, accs))
    assert comparison.NOT_RUN in text and "0.820" in text
    assert "none recorded" in text


def test_accuracies_ignore_records_of_another_model_and_pick_the_latest_full_run():
    net = next(n for n in comparison.networks() if n.chapter == "resnet")
    full = [_run("resnet", "resnet18_fmnist", 0.90, "full", "2026-01-01T00:00:00+00:00"),
            _run("resnet", "resnet18_fmnist", 0.91, "full", "2026-02-01T00:00:00+00:00"),
            _run("resnet", "resnet34", 0.99, "full", "2026-03-01T00:00:00+00:00")]
    accs = comparison.accuracies([net], runs=[_run("resnet", "resnet34", 0.5)], full_runs=full)
    assert accs["resnet"]["quick"] is None
    assert accs["resnet"]["full"]["test_acc"] == 0.91


def test_accuracy_table_cites_d2l_from_the_chapter_module():
    net = next(n for n in comparison.networks() if n.chapter == "resnet")
    d2l = chapters.module("resnet").D2L_PUBLISHED["test_acc"]
    assert f"{d2l:.3f}" in str(comparison.accuracy_table([net], {}))


def test_imagenet_reference_reads_torchvision_metadata():
    import torchvision

    ref = comparison.imagenet_reference("ResNet18_Weights.IMAGENET1K_V1")
    meta = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta
    assert ref["acc1"] == meta["_metrics"]["ImageNet-1K"]["acc@1"]
    assert ref["params"] == meta["num_params"] and ref["gmacs"] == meta["_ops"]
    for n in comparison.networks():
        if n.imagenet:
            comparison.imagenet_reference(n.imagenet)
    with pytest.raises(ValueError, match="Enum"):
        comparison.imagenet_reference("NoSuch_Weights.X")
    assert "none in torchvision" in str(comparison.imagenet_table(
        [n for n in comparison.networks() if n.imagenet is None][:1]))


def _reference(chapter, acc, seed=0, minutes=10.0):
    from cnnlab import profiles
    settings = profiles.get_profile(chapter, "reference").settings()
    return {"chapter": chapter, "profile": "reference", "seed": seed, "settings": settings,
            "test_acc": acc, "wall_seconds": minutes * 60, "device": "cpu (2 threads, fp32)"}


def test_rank_orders_by_mean_accuracy_and_names_the_unrecorded(tmp_path):
    nets = [n for n in comparison.networks() if n.chapter in ("batchnorm", "nin", "alexnet")]
    records = [_reference("batchnorm", 0.85), _reference("nin", 0.90, seed=0),
               _reference("nin", 0.88, seed=1)]
    ranked, missing = comparison.rank(nets, records)
    assert [r.network.chapter for r in ranked] == ["nin", "batchnorm"]
    assert [n.chapter for n in missing] == ["alexnet"]
    nin = ranked[0]
    assert nin.accuracy.n == 2 and abs(nin.accuracy.mean - 0.89) < 1e-9
    assert nin.side == 112 and nin.params == 510_310  # nin(ratio=2), as recorded
    assert nin.gflops > ranked[1].gflops
    text = str(comparison.ranking_table(ranked))
    assert "NiN (ratio=2)" in text and "112 px" in text and "0.890 ± 0.010" in text
    assert "0.51 M" in text
    assert "0.785" in text  # d2l's NiN, beside ours
    comparison.plot_costs([comparison.Cost(nets[0], 28, 100, 0.001, 1000.0, 5.0, 1.0, 16, "cpu",
                                     "fp32")], path=tmp_path / "costs.png")
    fig = comparison.plot_ranking(ranked, path=tmp_path / "ranking.png")
    assert (tmp_path / "ranking.png").stat().st_size > 0 and (tmp_path / "costs.png").is_file()
    assert "cpu (2 threads, fp32)" in fig.axes[1].get_title() and len(fig.axes) == 3
    import matplotlib.pyplot as plt
    given, axes = plt.subplots(1, 3)  # a page's own layout: the plot draws into it
    assert comparison.plot_ranking(ranked, axes=axes, path=tmp_path / "r2.png") is given
    assert "cpu (2 threads, fp32)" in axes[1].get_title()
    with pytest.raises(ValueError, match="axes must be 3 matplotlib Axes"):
        comparison.plot_ranking(ranked, axes=axes[:2])


def test_table_renders_as_html_with_code_spans():
    t = comparison.Table(["a", "b"], [["`x<y`", 1]])
    out = t._repr_html_()
    assert out.startswith("<table>") and "<th>a</th>" in out
    assert "<td><code>x&lt;y</code></td>" in out and "<td>1</td>" in out


def test_a_chapter_joins_the_comparison_when_it_sets_its_network_beside_d2ls(monkeypatch):
    import types

    from cnnlab.recipe import Profile
    study = types.ModuleType("study")  # a deep-dive chapter: profiles, no d2l figure
    study.PROFILES = {"quick": Profile(model="resnet20", epochs=1, batch_size=8, lr=0.1)}
    monkeypatch.setitem(chapters._CHAPTERS, "zz_study", study)
    assert "zz_study" not in [n.chapter for n in comparison.networks()]
    # a modern-CNN chapter (chapters.MODERN_CNNS) sets its network beside d2l's
    study.D2L_PUBLISHED = dict(test_acc=0.9, resize=28, lr=0.1, batch_size=8, epochs=1, source="x")
    monkeypatch.setattr(chapters, "MODERN_CNNS", chapters.MODERN_CNNS + ("zz_study",))
    assert comparison.networks()[-1] == comparison.Network("zz_study", "resnet20", "resnet20")


def test_imports_first_in_a_fresh_interpreter():
    # the comparison chapter reads the chapters' registry while that registry imports it:
    # importing it first, before anything else of the package, must work
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", "import cnnlab.chapters.comparison"], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
