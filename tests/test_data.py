import shutil
import socket

import pytest
import torch

from cnnlab import data


@pytest.fixture(scope="module")
def full():
    return data.load_fashion_mnist()


def test_official_counts_and_types(full):
    assert full.train_images.shape == (60_000, 28, 28)
    assert full.test_images.shape == (10_000, 28, 28)
    assert full.train_images.dtype == torch.uint8
    assert full.train_labels.dtype == torch.int64
    assert full.train_labels.bincount().tolist() == [6_000] * 10
    assert full.test_labels.bincount().tolist() == [1_000] * 10
    assert len(full.classes) == 10 and full.classes[9] == "Ankle boot"
    # Real pixels, not zeros: the first training image is an ankle boot (label 9).
    assert full.train_labels[0] == 9 and full.train_images[0].float().mean() > 20


def test_stratified_subset_is_balanced_and_seeded(full):
    a = data.stratified_indices(full.train_labels, 50, seed=1)
    b = data.stratified_indices(full.train_labels, 50, seed=1)
    c = data.stratified_indices(full.train_labels, 50, seed=2)
    assert len(a) == 500 and torch.equal(a, b) and not torch.equal(a, c)
    assert full.train_labels[a].bincount().tolist() == [50] * 10
    assert len(a.unique()) == 500
    with pytest.raises(ValueError, match="only 1000"):
        data.stratified_indices(full.test_labels, 1001)


def test_fashion_mnist_batches_shapes_and_normalisation():
    ds = data.fashion_mnist(batch_size=100, train_per_class=30, test_per_class=10, resize=64)
    assert len(ds.train) == 3 and len(ds.test) == 1
    x, y = next(iter(ds.train))
    assert x.shape == (100, 1, 64, 64) and x.dtype == torch.float32 and y.shape == (100,)
    assert ds.train.image_shape == (1, 64, 64)
    assert abs(x.mean().item()) < 0.3 and 0.7 < x.std().item() < 1.3  # standardised
    assert "300 training images (30 per class)" in ds.description


def test_shuffle_differs_per_epoch_and_repeats_per_seed():
    ds = data.fashion_mnist(batch_size=50, train_per_class=10, test_per_class=10)
    labels = lambda epoch: torch.cat([y for _, y in ds.train.iterate(epoch)])  # noqa: E731
    assert torch.equal(labels(0), labels(0))
    assert not torch.equal(labels(0), labels(1))
    # The test split keeps data order.
    assert torch.equal(torch.cat([y for _, y in ds.test.iterate(5)]), ds.test.labels)


def test_random_crop_is_a_translation_of_the_padded_image():
    images = torch.arange(8 * 8, dtype=torch.uint8).reshape(1, 8, 8).repeat(16, 1, 1)
    b = data.Batches(images, torch.zeros(16, dtype=torch.long), 16, crop_padding=2,
                     normalize=False)
    x, _ = next(iter(b))
    padded = torch.nn.functional.pad(images.float().unsqueeze(1) / 255, (2,) * 4, mode="reflect")
    windows = {(dy, dx): padded[0, 0, dy:dy + 8, dx:dx + 8] for dy in range(5) for dx in range(5)}
    offsets = [next(k for k, w in windows.items() if torch.equal(w, img[0])) for img in x]
    assert len(set(offsets)) > 1  # different images moved differently


def test_flip_mirrors_some_images_and_keeps_the_rest():
    images = torch.arange(4 * 4, dtype=torch.uint8).reshape(1, 4, 4).repeat(64, 1, 1)
    b = data.Batches(images, torch.zeros(64, dtype=torch.long), 64, flip=True, normalize=False)
    x, _ = next(iter(b))
    original = images[0].float() / 255
    flipped = [bool(torch.equal(img[0], original.flip(1))) for img in x]
    assert all(f or torch.equal(img[0], original) for f, img in zip(flipped, x))
    assert 10 < sum(flipped) < 54


def test_shards_partition_the_data():
    ds = data.fashion_mnist(batch_size=10, train_per_class=10, test_per_class=3)
    seen = [torch.cat([y for _, y in ds.test.shard(r, 2).iterate(0)]) for r in range(2)]
    assert sum(len(s) for s in seen) == 30  # every test image once, none twice
    train = [ds.train.shard(r, 2) for r in range(2)]
    assert len(train[0]) == len(train[1]) == 5  # equal steps on every rank (DDP)


def _copy_raw(raw_dir, tmp_path):
    target = tmp_path / "FashionMNIST" / "raw"
    shutil.copytree(raw_dir, target)
    return target


def test_truncated_unpacked_file_is_named(raw_dir, tmp_path):
    import gzip
    target = tmp_path  # a folder holding the files directly is accepted too
    for name in data.FILES:  # unpacked files, as torchvision leaves them
        (target / name).write_bytes(gzip.decompress((raw_dir / f"{name}.gz").read_bytes()))
    (target / "t10k-images-idx3-ubyte").write_bytes(
        (target / "t10k-images-idx3-ubyte").read_bytes()[:-784])
    with pytest.raises(data.CorruptDataError, match="t10k-images-idx3-ubyte.*truncated"):
        data.load_fashion_mnist(tmp_path, download=False)


def test_search_order_root_then_env_then_cache(tmp_path, monkeypatch, raw_dir):
    monkeypatch.setenv("CNNLAB_DATA", str(raw_dir.parent.parent))
    assert data.load_fashion_mnist().root == raw_dir.resolve()
    assert data.data_dirs(tmp_path)[0] == tmp_path
    monkeypatch.delenv("CNNLAB_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data.data_dirs()[0] == tmp_path / "cache" / "cnnlab"


def test_same_images_and_labels_as_torchvision(raw_dir, tmp_path, monkeypatch, full):
    """Our idx reader against torchvision's, on the same official files (no network)."""
    from torchvision.datasets import FashionMNIST

    def no_network(*args, **kwargs):
        raise AssertionError("a network connection was attempted")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    _copy_raw(raw_dir, tmp_path)  # torchvision unpacks next to the .gz files: needs a copy
    for train, images, labels in ((True, full.train_images, full.train_labels),
                                  (False, full.test_images, full.test_labels)):
        reference = FashionMNIST(str(tmp_path), train=train, download=True)
        assert torch.equal(reference.data, images)
        assert torch.equal(reference.targets, labels)
        assert tuple(reference.classes) == full.classes


def test_class_subset_is_relabelled_and_named(full):
    ds = data.fashion_mnist(batch_size=50, classes=[9, 5, 7], train_per_class=20, test_per_class=10)
    assert ds.classes == ("Ankle boot", "Sandal", "Sneaker")
    assert ds.train.labels.bincount().tolist() == [20] * 3
    assert ds.test.labels.bincount().tolist() == [10] * 3
    assert "3 classes (Ankle boot, Sandal, Sneaker)" in ds.description
    # Relabelled in the order given: label 0 is an ankle boot (original 9), 1 a sandal (5).
    for new, old in enumerate([9, 5, 7]):
        originals = full.test_images[full.test_labels == old]
        kept = ds.test.images[ds.test.labels == new, 0]
        assert all((originals == img).all((1, 2)).any() for img in kept)
    # Without a per-class limit every image of the kept classes stays.
    whole = data.fashion_mnist(classes=[0, 1])
    assert whole.train.labels.bincount().tolist() == [6_000, 6_000]
    assert whole.test.labels.bincount().tolist() == [1_000, 1_000]
    assert whole.classes == ("T-shirt/top", "Trouser")


@pytest.mark.parametrize("bad", [[], [1, 1], [10], [-1, 2]])
def test_bad_class_subsets_are_refused(bad):
    with pytest.raises(ValueError, match="distinct labels between 0 and 9"):
        data.fashion_mnist(classes=bad)
