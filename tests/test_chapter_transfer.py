"""The transfer chapter: finding and loading pretrained weights, the photo and its
preprocessing, and the helpers that freeze a backbone and replace a head."""

import socket
import urllib.error

import pytest
import torch
from torch import nn
from torchvision.ops import FrozenBatchNorm2d

from cnnlab import data, models, profiles, train
from cnnlab.chapters import transfer as tl

WEIGHTS = tl.get_weights("resnet50", "IMAGENET1K_V2")
FILENAME = "resnet50-11ad3fa6.pth"


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub cache in tmp_path; no network, no $CNNLAB_WEIGHTS."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("CNNLAB_WEIGHTS", raising=False)
    monkeypatch.setenv("CNNLAB_OFFLINE", "1")

    def no_network(*args, **kwargs):
        raise AssertionError("a network connection was attempted")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.fixture(scope="module")
def torchvision_resnet50():
    """torchvision's own ResNet-50, freshly initialised (no download), and its state dict."""
    from torchvision.models import resnet50
    torch.manual_seed(0)
    net = resnet50(weights=None).eval()
    return net, net.state_dict()


# --------------------------------------------------------------------------- where weights are

def test_weights_entry_file_name_and_categories():
    assert tl.weights_filename(WEIGHTS) == FILENAME
    assert WEIGHTS.url.endswith(FILENAME)
    assert tl.get_weights("resnet50", WEIGHTS) is WEIGHTS
    categories = WEIGHTS.meta["categories"]
    assert len(categories) == 1000 and categories[281] == "tabby"
    assert WEIGHTS.meta["num_params"] == 25_557_032
    with pytest.raises(ValueError, match="IMAGENET1K_V1, IMAGENET1K_V2"):
        tl.get_weights("resnet50", "IMAGENET1K_V3")


def test_locations_environment_first_then_hub_cache(hub, tmp_path, monkeypatch):
    assert tl.weights_locations(WEIGHTS) == [hub / FILENAME]
    monkeypatch.setenv("CNNLAB_WEIGHTS", str(tmp_path / "mine"))
    assert tl.weights_locations(WEIGHTS) == [tmp_path / "mine" / FILENAME, hub / FILENAME]
    monkeypatch.setenv("CNNLAB_WEIGHTS", str(tmp_path / "renamed.pth"))
    assert tl.weights_locations(WEIGHTS)[0] == tmp_path / "renamed.pth"
    assert tl.find_weights() is None


def test_absent_weights_raise_and_say_what_to_do(hub, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("downloading was attempted although CNNLAB_OFFLINE=1")
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    with pytest.raises(tl.WeightsNotFoundError) as err:
        tl.load_pretrained("resnet50", "IMAGENET1K_V2")
    message = str(err.value)
    for words in (FILENAME, str(hub), "CNNLAB_OFFLINE=1", WEIGHTS.url, "CNNLAB_WEIGHTS",
                  "ResNet50_Weights.IMAGENET1K_V2"):
        assert words in message
    assert isinstance(err.value, FileNotFoundError)


def test_a_failed_download_is_caught_and_explained(hub, monkeypatch):
    def fail(url, dst, hash_prefix=None, progress=True):
        raise urllib.error.URLError("no route to host")
    monkeypatch.setattr(torch.hub, "download_url_to_file", fail)
    monkeypatch.setenv("CNNLAB_OFFLINE", "0")
    with pytest.raises(tl.WeightsNotFoundError, match="download from .*failed.*no route to host"):
        tl.load_pretrained()
    assert not (hub / FILENAME).exists()


def test_a_download_lands_in_the_hub_cache_and_loads(hub, monkeypatch, torchvision_resnet50):
    _, state = torchvision_resnet50
    calls = []

    def fake_download(url, dst, hash_prefix=None, progress=True):
        calls.append((url, dst, hash_prefix))
        torch.save(state, dst)
    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    net = tl.load_pretrained(download=True)
    assert calls == [(WEIGHTS.url, str(hub / FILENAME), "11ad3fa6")]  # hash checked by torch
    assert torch.equal(net.fc.weight, state["fc.weight"])
    assert tl.find_weights() == hub / FILENAME


# --------------------------------------------------------------------------- loading them

def test_weights_in_the_hub_cache_load_into_the_zoo_model(hub, torchvision_resnet50):
    reference, state = torchvision_resnet50
    hub.mkdir(parents=True)
    torch.save(state, hub / FILENAME)
    net = tl.load_pretrained("resnet50", "IMAGENET1K_V2")
    assert not net.training
    assert net.fc.out_features == 1000
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(net(x), reference(x), atol=1e-5)  # the same network, exactly


def test_cnnlab_weights_wins_over_the_hub_cache(hub, tmp_path, monkeypatch, torchvision_resnet50):
    _, state = torchvision_resnet50
    hub.mkdir(parents=True)
    (hub / FILENAME).write_bytes(b"not this one")
    mine = tmp_path / "weights"
    mine.mkdir()
    torch.save(state, mine / FILENAME)
    monkeypatch.setenv("CNNLAB_WEIGHTS", str(mine))
    assert tl.find_weights() == mine / FILENAME
    assert torch.equal(tl.load_pretrained().conv1.weight, state["conv1.weight"])


def test_corrupt_or_foreign_weights_are_refused(hub):
    hub.mkdir(parents=True)
    (hub / FILENAME).write_bytes(b"\x00truncated download" * 100)
    with pytest.raises(tl.CheckpointError, match=f"{FILENAME}.*could not be read.*Delete"):
        tl.load_pretrained()
    torch.save(models.create("resnet18").state_dict(), hub / FILENAME)  # another network
    with pytest.raises(tl.CheckpointError, match="does not fit resnet50.*shape mismatches"):
        tl.load_pretrained()


# --------------------------------------------------------------------------- the photo

def test_find_image_looks_in_cnnlab_images_then_beside_the_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CNNLAB_IMAGES", str(tmp_path / "photos"))
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.png").write_bytes(b"png")
    assert tl.find_image("cat.png") == tmp_path / "photos" / "cat.png"
    with pytest.raises(FileNotFoundError, match="CNNLAB_IMAGES"):
        tl.find_image("no-such-photo.jpg")
    monkeypatch.delenv("CNNLAB_IMAGES")
    shared = tl.Path(tl.__file__).resolve().parents[3] / "shared" / "images" / "chelsea.png"
    if not shared.is_file():
        pytest.skip("no shared/images beside this checkout")
    assert tl.find_image() == shared
    image = tl.read_image(tl.find_image())
    assert image.dtype == torch.uint8 and image.shape == (3, 300, 451)


def test_preprocessing_steps_are_the_transform():
    torch.manual_seed(0)
    image = torch.randint(0, 256, (3, 300, 451), dtype=torch.uint8)
    transform = WEIGHTS.transforms()
    steps = tl.preprocessing_steps(image, transform)
    assert steps["resized"].shape == (3, 232, 348)  # the shorter side to 232
    assert steps["cropped"].shape == (3, 224, 224)
    assert torch.allclose(steps["input"], transform(image).unsqueeze(0), atol=1e-6)
    text = tl.describe_preprocessing(transform)
    for words in ("shorter side to 232 px", "bilinear", "224×224", "0.485, 0.456, 0.406",
                  "0.229, 0.224, 0.225"):
        assert words in text
    v1 = tl.get_weights("resnet50", "IMAGENET1K_V1").transforms()
    assert "shorter side to 256 px" in tl.describe_preprocessing(v1)


def test_top_k_names_and_orders_the_classes():
    class Fixed(nn.Module):  # always the same logits: tabby highest, then tiger cat
        def forward(self, x):
            logits = torch.zeros(len(x), 1000)
            logits[:, 281], logits[:, 282], logits[:, 0] = 5.0, 4.0, 3.0
            return logits
    image = torch.zeros(3, 40, 60, dtype=torch.uint8)
    top = tl.top_k(Fixed(), image, WEIGHTS, k=3)
    assert [p.category for p in top] == ["tabby", "tiger cat", "tench"]
    assert [p.index for p in top] == [281, 282, 0]
    expected = torch.tensor([5.0, 4.0, 3.0] + [0.0] * 997).softmax(0)[:3]
    assert torch.allclose(torch.tensor([p.probability for p in top]), expected)


# --------------------------------------------------------------------------- heads and freezing

def test_find_and_replace_the_head():
    net = models.create("resnet20", num_classes=5, in_channels=1, seed=0)
    assert tl.find_head(net) == "fc"
    tl.replace_head(net, 3)
    assert (net.fc.in_features, net.fc.out_features) == (64, 3)
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 3)
    fmnist = models.create("resnet18_fmnist").eval()  # its classifier sits in a Sequential
    assert tl.find_head(fmnist) == "fc.1"
    tl.replace_head(fmnist, 7)
    assert fmnist(torch.zeros(1, 1, 28, 28)).shape == (1, 7)
    with pytest.raises(ValueError, match="not an nn.Linear"):
        tl.replace_head(net, 3, head="layer1")
    with pytest.raises(ValueError, match="no nn.Linear"):
        tl.find_head(nn.Conv2d(1, 1, 1))


def test_frozen_backbone_stays_fixed_in_training_mode():
    torch.manual_seed(0)
    net = models.create("resnet20", num_classes=5, in_channels=1, seed=0)
    net.train()
    with torch.no_grad():  # give the BatchNorms statistics that are not the defaults
        net(torch.randn(32, 1, 28, 28) * 3 + 1)
    tl.freeze_backbone(net)
    trainable = [n for n, p in net.named_parameters() if p.requires_grad]
    assert trainable == ["fc.weight", "fc.bias"]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert sum(isinstance(m, FrozenBatchNorm2d) for m in net.modules()) == 19
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 5, (8,))
    net.train()
    train_out = net(x)
    with torch.no_grad():
        assert torch.allclose(train_out, net.eval()(x), atol=1e-5)  # no batch statistics
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    nn.functional.cross_entropy(net(x), y).backward()
    opt.step()
    after = net.state_dict()
    changed = sorted(k for k in after if not torch.equal(after[k], before[k]))
    assert changed == ["fc.bias", "fc.weight"]


def test_variants_build_from_the_pretrained_network_without_touching_it():
    pretrained = models.create("resnet20", num_classes=5, in_channels=1, seed=1)
    original = {k: v.clone() for k, v in pretrained.state_dict().items()}
    scratch = tl.transfer_variant("scratch", pretrained, 5, seed=0)
    frozen = tl.transfer_variant("frozen", pretrained, 5, seed=0)
    finetune = tl.transfer_variant("finetune", pretrained, 5, seed=0)
    assert not torch.equal(scratch.conv1.weight, pretrained.conv1.weight)
    assert torch.equal(finetune.conv1.weight, pretrained.conv1.weight)
    assert torch.equal(frozen.conv1.weight, pretrained.conv1.weight)
    assert not torch.equal(finetune.fc.weight, pretrained.fc.weight)  # a new head
    assert torch.equal(finetune.fc.weight, frozen.fc.weight)          # the same seed, same head
    assert all(p.requires_grad for p in finetune.parameters())
    assert all(p.requires_grad for p in scratch.parameters())
    assert sum(p.numel() for p in frozen.parameters() if p.requires_grad) == 64 * 5 + 5
    assert all(torch.equal(v, original[k]) for k, v in pretrained.state_dict().items())
    assert all(p.requires_grad for p in pretrained.parameters())
    assert scratch.input_spec.channels == 1
    with pytest.raises(ValueError, match="scratch, frozen, finetune"):
        tl.transfer_variant("linear-probe", pretrained, 5)


def test_fit_trains_only_the_head_of_a_frozen_variant():
    ds = data.fashion_mnist(batch_size=25, classes=tl.TARGET_CLASSES, train_per_class=10,
                            test_per_class=2)
    assert ds.classes == ("Dress", "Coat", "Shirt", "Sneaker", "Ankle boot")
    pretrained = models.create("resnet20", num_classes=5, in_channels=1, seed=0)
    net = tl.transfer_variant("frozen", pretrained, 5, seed=0)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    train.fit(net, ds, epochs=1, lr=1e-2, progress=False)
    after = net.state_dict()
    assert sorted(k for k in after if not torch.equal(after[k], before[k])) == ["fc.bias",
                                                                                "fc.weight"]


def test_profiles_of_both_stages():
    quick = profiles.get_profile("transfer", "quick")
    assert quick.model == "resnet20" and quick.train_per_class == 1000
    assert quick.epochs * quick.train_per_class * 5 <= 10_000   # ~30 s on two quiet cores
    assert profiles.get_profile("transfer", "full").train_per_class is None
    few = tl.few_shot_profile("quick")
    assert (few.name, few.chapter, few.train_per_class) == ("quick", "transfer", 3)
    assert few.train_per_class <= 5              # few labels: where transfer helps (Yosinski)
    assert few.batch_size == few.train_per_class * len(tl.TARGET_CLASSES)  # one pass a step
    assert few.test_per_class >= 300             # a paired difference needs a steady score
    # the new head alone trains at 10× the rate of the whole networks; the rest is shared
    frozen, finetune = (tl.method_fit_kwargs(few, m) for m in ("frozen", "finetune"))
    assert frozen["lr"] == 10 * finetune["lr"] == 10 * few.lr
    assert {k: v for k, v in frozen.items() if k != "lr"} == {
        k: v for k, v in finetune.items() if k != "lr"} == {
        k: v for k, v in few.fit_kwargs().items() if k != "lr"}
    assert tl.few_shot_profile("full").test_per_class is None
    assert set(tl.PROFILES) == set(tl.FEW_SHOT) == {"full", "quick"}
    assert set(tl.SOURCE_CLASSES).isdisjoint(tl.TARGET_CLASSES)


def test_every_target_class_has_a_relative_among_the_sources():
    names = data.fashion_mnist(batch_size=10, train_per_class=1, test_per_class=1).classes
    source = {names[c] for c in tl.SOURCE_CLASSES}
    target = {names[c] for c in tl.TARGET_CLASSES}
    assert source == {"T-shirt/top", "Trouser", "Pullover", "Sandal", "Bag"}
    assert target == {"Dress", "Coat", "Shirt", "Sneaker", "Ankle boot"}
    assert len(tl.SEEDS) >= 3


def test_few_shot_data_repeats_the_labelled_images_and_depends_on_the_seed():
    few = tl.few_shot_profile("quick").replace(test_per_class=2)
    d0, d1 = tl.few_shot_data(few, seed=0, passes=3), tl.few_shot_data(few, seed=1, passes=3)
    n = few.train_per_class * len(tl.TARGET_CLASSES)
    assert len(d0.train.labels) == 3 * n
    assert torch.equal(d0.train.images[:n], d0.train.images[n:2 * n])
    assert sorted(d0.train.labels[:n].tolist()) == sorted(list(range(5)) * few.train_per_class)
    assert not torch.equal(d0.train.images[:n], d1.train.images[:n])
    assert "3× per epoch" in d0.description and d0.classes == d1.classes


def test_verdicts_pair_the_methods_by_seed():
    from cnnlab import stats
    acc = {"scratch": [0.60, 0.64, 0.58], "frozen": [0.61, 0.63, 0.62],
           "finetune": [0.70, 0.73, 0.69]}
    found = tl.verdicts(acc)
    assert set(found) == {("scratch", "finetune"), ("scratch", "frozen")}  # the source's claims
    assert found["scratch", "finetune"] == stats.verdict(acc["scratch"], acc["finetune"], "higher")
    assert found["scratch", "finetune"].word == "agrees"
    assert found["scratch", "frozen"].word == "not resolved"
    sentence = found["scratch", "finetune"].sentence(a="from scratch", b="fine-tuned")
    assert sentence.startswith("fine-tuned − from scratch = +10.0 ± ") and "3 seeds" in sentence
    assert tl.verdicts({"scratch": [0.5, 0.6]}) == {}


def test_run_methods_trains_each_method_per_seed():
    pretrained = models.create("resnet20", num_classes=5, in_channels=1, seed=0)
    few = tl.few_shot_profile("quick").replace(epochs=1, train_per_class=2, test_per_class=1,
                                                batch_size=10)
    lines = []
    runs = tl.run_methods(pretrained, few, seeds=(0, 1), report=lines.append)
    assert set(runs) == set(tl.METHODS) and all(len(h) == 2 for h in runs.values())
    assert [h.seed for h in runs["frozen"]] == [0, 1]
    assert runs["frozen"][0].trainable == 64 * 5 + 5
    assert runs["scratch"][0].trainable == runs["finetune"][0].trainable
    assert len(lines) == 6
    acc = tl.final_accuracies(runs)
    assert all(len(v) == 2 and all(0 <= a <= 1 for a in v) for v in acc.values())
