"""Fashion-MNIST, held as tensors and cut into batches on the training device.

Xiao, Rasul, Vollgraf, "Fashion-MNIST: a Novel Image Dataset for Benchmarking
Machine Learning Algorithms", 2017, arXiv:1708.07747. 70,000 grey 28×28 images of
clothing in 10 balanced classes (60,000 training, 10,000 test).

One obvious way in::

    >>> from cnnlab import data
    >>> ds = data.fashion_mnist(batch_size=256, train_per_class=600)  # doctest: +SKIP
    >>> x, y = next(iter(ds.train))                                  # doctest: +SKIP

Where the files are looked for, in order: an explicit ``root``; else the
environment variable ``CNNLAB_DATA``; else the per-user cache
(``$XDG_CACHE_HOME/cnnlab`` or ``~/.cache/cnnlab``). Inside it, torchvision's layout
``FashionMNIST/raw/*-ubyte.gz``. The files are checked against Zalando's md5s.
Only when they are missing and a download is allowed does torchvision fetch them.

Why tensors and not a DataLoader: the whole split is 47 MB of uint8, so it lives on
the device; shuffling is one ``torch.randperm`` and resizing, normalising and
augmenting happen on a whole batch at once. No worker processes, no PIL.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Sequence

import torch
from torch.nn import functional as F

from cnnlab import checks, dry_run, settings

__all__ = [
    "CLASSES", "FILES", "DataNotFoundError", "CorruptDataError", "FashionMNIST", "Batches",
    "ImageData", "load_fashion_mnist", "fashion_mnist", "stratified_indices", "data_dirs",
]

#: The ten Fashion-MNIST classes, in label order.
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

#: Official files: name -> (md5 of the .gz, number of items). Same md5s as torchvision.
FILES = {
    "train-images-idx3-ubyte": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", 60_000),
    "train-labels-idx1-ubyte": ("25c81989df183df01b3e8a0aad5dffbe", 60_000),
    "t10k-images-idx3-ubyte": ("bef4ecab320f06d8554ea6380940ec79", 10_000),
    "t10k-labels-idx1-ubyte": ("bb300cfdad3c16e7a12a480ee83cd310", 10_000),
}

#: Mean and standard deviation of the training pixels (scaled to [0, 1]).
MEAN, STD = 0.2860, 0.3530

_IDX_MAGIC = {2049: 1, 2051: 3}  # labels are 1-d, images 3-d


class DataNotFoundError(FileNotFoundError):
    """The data set is not on disk and could not (or may not) be downloaded."""


class CorruptDataError(ValueError):
    """A data file exists but is damaged, truncated or not the official file."""


# --------------------------------------------------------------------------- finding files

def _cache_dir() -> Path:
    return settings.cache_home() / "cnnlab"


def data_dirs(root: str | os.PathLike | None = None) -> tuple[Path, str]:
    """The data root to use and why: explicit ``root``, ``$CNNLAB_DATA``, or the cache."""
    if root is not None:
        return Path(root).expanduser(), "the root you passed"
    if settings.data_root() is not None:
        return settings.data_root(), "$CNNLAB_DATA"
    return _cache_dir(), "the per-user cache (set CNNLAB_DATA or pass root= to change it)"


def _raw_candidates(root: Path) -> list[Path]:
    # torchvision's layout first; a folder holding the files directly also works.
    return [root / "FashionMNIST" / "raw", root]


def _find_raw_dir(root: Path) -> Path | None:
    for folder in _raw_candidates(root):
        if all(_file_for(folder, name) is not None for name in FILES):
            return folder
    return None


def _file_for(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def _download_allowed(download: bool | None) -> bool:
    if download is not None:
        return download
    return not settings.offline()


# --------------------------------------------------------------------------- reading files

def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_idx(path: Path, name: str) -> torch.Tensor:
    """Read one idx file (gzip or not), checking the md5 of a .gz and the header."""
    expected_md5, expected_count = FILES[name]
    fix = (f"Delete {path} and run again to download it, or copy the official file "
           f"(md5 {expected_md5}) there.")
    if path.suffix == ".gz":
        actual = _md5(path)
        if actual != expected_md5:
            raise CorruptDataError(
                f"{path} is not the official Fashion-MNIST file: md5 {actual}, expected "
                f"{expected_md5} (truncated or corrupt download?). {fix}")
        try:
            with gzip.open(path, "rb") as f:
                raw = f.read()
        except (OSError, EOFError) as err:
            raise CorruptDataError(f"{path} cannot be decompressed ({err}). {fix}") from err
    else:
        raw = path.read_bytes()
    if len(raw) < 8:
        raise CorruptDataError(f"{path} is only {len(raw)} bytes long: no idx header. {fix}")
    magic = int.from_bytes(raw[:4], "big")
    ndim = _IDX_MAGIC.get(magic)
    if ndim is None:
        raise CorruptDataError(f"{path} does not start with an idx header (magic {magic}). {fix}")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected_bytes = offset + int(torch.tensor(dims).prod())
    if dims[0] != expected_count or len(raw) != expected_bytes:
        raise CorruptDataError(
            f"{path} holds {len(raw)} bytes for {dims} items; expected {expected_count} items "
            f"and {expected_bytes} bytes (truncated?). {fix}")
    return torch.frombuffer(bytearray(raw[offset:]), dtype=torch.uint8).reshape(dims)


@dataclass(frozen=True)
class FashionMNIST:
    """The whole data set as uint8 tensors (images ``(N, 28, 28)``, labels ``(N,)`` int64)."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple[str, ...]
    root: Path

    def __repr__(self) -> str:
        return (f"FashionMNIST({len(self.train_labels):,} training and {len(self.test_labels):,} "
                f"test images from {self.root})")


@functools.lru_cache(maxsize=4)
def _load_cached(raw_dir: Path) -> FashionMNIST:
    read = {name: _read_idx(_file_for(raw_dir, name), name) for name in FILES}
    return FashionMNIST(
        train_images=read["train-images-idx3-ubyte"],
        train_labels=read["train-labels-idx1-ubyte"].long(),
        test_images=read["t10k-images-idx3-ubyte"],
        test_labels=read["t10k-labels-idx1-ubyte"].long(),
        classes=tuple(CLASSES), root=raw_dir)


def load_fashion_mnist(root: str | os.PathLike | None = None,
                       download: bool | None = None) -> FashionMNIST:
    """Load Fashion-MNIST from disk, downloading through torchvision only if allowed.

    Args:
        root: the data directory (holding ``FashionMNIST/raw/``). Default: ``$CNNLAB_DATA``,
            else the per-user cache.
        download: allow a download when the files are missing. Default: yes, unless
            ``CNNLAB_OFFLINE=1``.

    Raises:
        DataNotFoundError: the files are missing and cannot be downloaded; the message
            names the folders searched, the files and how to fix it.
        CorruptDataError: a file is present but is not the official one (md5 or size).
    """
    _check_source("load_fashion_mnist", root, download)
    base, why = data_dirs(root)
    raw_dir = _find_raw_dir(base)
    if raw_dir is None and _download_allowed(download):
        raw_dir = _download(base)
    if raw_dir is None:
        # Absolute paths: a relative CNNLAB_DATA is read from the current folder, which in
        # Jupyter is the notebook's folder, not the one the server was started in.
        searched = ", ".join(str(p.absolute()) for p in _raw_candidates(base))
        names = ", ".join(f"{n}.gz" for n in FILES)
        raise DataNotFoundError(
            f"Fashion-MNIST not found. Looked in {searched} (from {why}) for {names}. "
            f"Downloading is off (download=False or CNNLAB_OFFLINE=1). To fix: point "
            f"CNNLAB_DATA (or root=) at a folder containing FashionMNIST/raw/ with those files, "
            f"or allow the download when online.")
    return _load_cached(raw_dir.resolve())


def _check_source(func: str, root, download) -> None:
    checks.path(func, "root", root, "'~/data'", none="$CNNLAB_DATA, else the per-user cache")
    checks.boolean(func, "download", download, none="yes, unless CNNLAB_OFFLINE=1")


def _download(base: Path) -> Path:
    from torchvision.datasets import FashionMNIST as TorchvisionFashionMNIST

    try:
        TorchvisionFashionMNIST(root=str(base), train=True, download=True)
    except Exception as err:  # urllib, socket and HTTP errors all land here
        names = ", ".join(f"{n}.gz" for n in FILES)
        raise DataNotFoundError(
            f"Fashion-MNIST is not in {(base / 'FashionMNIST' / 'raw').absolute()} and the "
            f"download failed ({type(err).__name__}: {err}). If you are offline, copy {names} into "
            f"that folder or point CNNLAB_DATA at a folder that has FashionMNIST/raw/.") from err
    return base / "FashionMNIST" / "raw"


# --------------------------------------------------------------------------- subsets and batches

def stratified_indices(labels: torch.Tensor, per_class: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``per_class`` examples of every class, drawn with ``seed``, in data order."""
    checks.tensor("stratified_indices", "labels", labels, (1,), "of class labels shaped (N,)",
                  "data.load_fashion_mnist().train_labels")
    checks.non_negative_int("stratified_indices", "per_class", per_class, 100)
    checks.non_negative_int("stratified_indices", "seed", seed, 0)
    g = torch.Generator().manual_seed(seed)
    chosen = []
    for c in labels.unique().tolist():
        members = (labels == c).nonzero().flatten()
        if per_class > len(members):
            raise ValueError(f"asked for {per_class} examples of class {c}, "
                             f"but the split has only {len(members)}")
        chosen.append(members[torch.randperm(len(members), generator=g)[:per_class]])
    return torch.cat(chosen).sort().values


def _random_crop(x: torch.Tensor, padding: int, g: torch.Generator) -> torch.Tensor:
    """Pad each image by ``padding`` (reflect) and crop it back at a random offset."""
    n, _, h, w = x.shape
    padded = F.pad(x, (padding,) * 4, mode="reflect")
    dy = torch.randint(0, 2 * padding + 1, (n, 1, 1), device=x.device, generator=g)
    dx = torch.randint(0, 2 * padding + 1, (n, 1, 1), device=x.device, generator=g)
    rows = dy + torch.arange(h, device=x.device).view(1, h, 1)
    cols = dx + torch.arange(w, device=x.device).view(1, 1, w)
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded[batch, :, rows, cols].permute(0, 3, 1, 2)  # gather gives (N, H, W, C)


@dataclass
class Batches:
    """Mini-batches cut from image and label tensors that live on one device.

    Iterating gives ``(x, y)``: ``x`` float32 ``(B, C, H, W)``, resized to ``resize``
    pixels, normalised, optionally augmented; ``y`` int64 ``(B,)``. The shuffle of
    epoch ``e`` depends only on ``(seed, e)``, so a resumed run sees the same batches.

    Attributes:
        images: uint8 ``(N, H, W)`` or ``(N, C, H, W)``.
        labels: int64 ``(N,)``.
        batch_size: examples per batch.
        shuffle: draw a new order every epoch (training) or keep data order (test).
        resize: side length to resize to on the fly (``F.interpolate``), or None.
        normalize: subtract :data:`MEAN` and divide by :data:`STD`.
        crop_padding: random crop after reflect-padding by this many pixels (0: off).
        flip: random horizontal flips.
        drop_last: skip the last incomplete batch (training: BatchNorm dislikes tiny ones).
        seed: base seed of the shuffle and the augmentation.
        rank, world_size: this process's shard under DistributedDataParallel.
    """

    images: torch.Tensor
    labels: torch.Tensor
    batch_size: int
    shuffle: bool = False
    resize: int | None = None
    normalize: bool = True
    crop_padding: int = 0
    flip: bool = False
    drop_last: bool = False
    seed: int = 0
    rank: int = 0
    world_size: int = 1
    epoch: int = 0

    def __post_init__(self) -> None:
        if self.images.dim() == 3:  # (N, H, W) -> (N, 1, H, W)
            self.images = self.images.unsqueeze(1)
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")
        if self.drop_last and self.batch_size * self.world_size > len(self.labels):
            raise ValueError(
                f"batch size {self.batch_size}"
                f"{f' × {self.world_size} processes' if self.world_size > 1 else ''} is larger "
                f"than the {len(self.labels):,} examples in this split; use a batch size of at "
                f"most {len(self.labels) // self.world_size} or more data (train_per_class=).")

    @property
    def device(self) -> torch.device:
        return self.images.device

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of the batches this yields."""
        c, h, w = self.images.shape[1:]
        return (c, self.resize, self.resize) if self.resize else (c, h, w)

    def _shard_size(self) -> int:
        n = len(self.labels)
        if self.drop_last:  # training: every rank gets the same number of examples (DDP steps)
            return n // self.world_size
        return len(range(self.rank, n, self.world_size))  # testing: every example, once

    def __len__(self) -> int:
        n = self._shard_size()
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def to(self, device: torch.device | str) -> "Batches":
        """The same batches with the tensors on ``device`` (one copy, done once)."""
        return replace(self, images=self.images.to(device), labels=self.labels.to(device))

    def shard(self, rank: int, world_size: int) -> "Batches":
        """This process's share of every epoch under DistributedDataParallel."""
        return replace(self, rank=rank, world_size=world_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        iterator = self.iterate(self.epoch)
        self.epoch += 1
        return iterator

    def iterate(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The batches of epoch ``epoch`` (a pure function of seed and epoch); the first
        :data:`cnnlab.dry_run.STEPS` of them in a dry run."""
        return dry_run.batches(self._epoch_batches(epoch))

    def _epoch_batches(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        g = torch.Generator(device=self.device).manual_seed(self.seed * 100_003 + epoch)
        n = len(self.labels)
        order = (torch.randperm(n, device=self.device, generator=g) if self.shuffle
                 else torch.arange(n, device=self.device))
        if self.world_size > 1:  # every rank draws the same order and takes its slice
            if self.drop_last:
                order = order[: self._shard_size() * self.world_size]
            order = order[self.rank::self.world_size]
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            idx = order[start:start + self.batch_size]
            yield self._prepare(self.images[idx], g), self.labels[idx]

    def _prepare(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        x = x.float().div_(255)
        if self.resize and x.shape[-1] != self.resize:
            x = F.interpolate(x, size=(self.resize, self.resize), mode="bilinear",
                              align_corners=False)
        if self.crop_padding:
            x = _random_crop(x, self.crop_padding, g)
        if self.flip:
            flipped = torch.rand(len(x), 1, 1, 1, device=x.device, generator=g) < 0.5
            x = torch.where(flipped, x.flip(3), x)
        if self.normalize:
            x = (x - MEAN) / STD
        return x


@dataclass
class ImageData:
    """A training and a test :class:`Batches`, the class names, and a one-line description."""

    train: Batches
    test: Batches
    classes: tuple[str, ...]
    description: str

    def __repr__(self) -> str:
        return f"ImageData({self.description})"


def fashion_mnist(batch_size: int = 256, *, resize: int | None = None,
                  train_per_class: int | None = None, test_per_class: int | None = None,
                  augment: bool = False, normalize: bool = True, seed: int = 0,
                  classes: Sequence[int] | None = None,
                  root: str | os.PathLike | None = None,
                  download: bool | None = None) -> ImageData:
    """Fashion-MNIST as training and test batches, the one entry point chapters use.

    Args:
        batch_size: examples per batch (test batches use the same size).
        resize: side length for models that need larger inputs (e.g. 96 or 224), done on
            each batch with bilinear ``F.interpolate``. None keeps 28×28.
        train_per_class: keep only this many training images of each class (a stratified,
            seeded subset for short CPU runs); None keeps all 6,000 per class.
        test_per_class: the same for the official test split (1,000 per class).
        augment: random crop (reflect padding of 1/8 of the side) and horizontal flip on
            training batches.
        normalize: standardise pixels with the training set's mean and std.
        seed: seed of the subset, the shuffle and the augmentation.
        classes: keep only these classes (original labels 0-9, e.g. ``[5, 6, 7, 8, 9]``),
            relabelled 0..k-1 in the order given; ``classes`` of the result names them in
            that order. None keeps all ten. ``train_per_class``/``test_per_class`` then
            count images of each kept class.
        root, download: see :func:`load_fashion_mnist`.

    Example:
        >>> ds = fashion_mnist(batch_size=128, resize=96, train_per_class=100)  # doctest: +SKIP
        >>> ds.train.image_shape                                               # doctest: +SKIP
        (1, 96, 96)
        >>> fashion_mnist(classes=[9, 5]).classes                             # doctest: +SKIP
        ('Ankle boot', 'Sandal')
    """
    func = "fashion_mnist"
    checks.positive_int(func, "batch_size", batch_size, 256)
    checks.positive_int(func, "resize", resize, 96, none="28×28")
    checks.positive_int(func, "train_per_class", train_per_class, 100, maximum=6000,
                        none="all 6,000 per class")
    checks.non_negative_int(func, "test_per_class", test_per_class, 100, maximum=1000,
                            none="all 1,000 per class")
    checks.flags(func, augment=augment, normalize=normalize)
    checks.non_negative_int(func, "seed", seed, 0)
    _check_source(func, root, download)
    full = load_fashion_mnist(root, download)
    kept = _check_classes(classes, len(full.classes))
    parts = []
    for images, labels, per_class in ((full.train_images, full.train_labels, train_per_class),
                                      (full.test_images, full.test_labels, test_per_class)):
        if kept is not None:
            images, labels = _keep_classes(images, labels, kept)
        if per_class is not None:
            idx = stratified_indices(labels, per_class, seed)
            images, labels = images[idx], labels[idx]
        parts.append((images, labels))
    (train_x, train_y), (test_x, test_y) = parts
    side = resize or 28
    train = Batches(train_x, train_y, batch_size, shuffle=True, resize=resize,
                    normalize=normalize, crop_padding=max(1, side // 8) if augment else 0,
                    flip=augment, drop_last=True, seed=seed)
    test = Batches(test_x, test_y, batch_size, resize=resize, normalize=normalize, seed=seed)
    names = full.classes if kept is None else tuple(full.classes[c] for c in kept)
    subset = "" if kept is None else f" of {len(kept)} classes ({', '.join(names)})"
    description = (f"Fashion-MNIST{subset}, {len(train_y):,} training images"
                   f"{f' ({train_per_class} per class)' if train_per_class else ''}, "
                   f"{len(test_y):,} test images"
                   f"{f' ({test_per_class} per class)' if test_per_class else ''}, "
                   f"{side}×{side} px, batch {batch_size}{', augmented' if augment else ''}")
    return ImageData(train, test, names, description)


def _check_classes(classes: Sequence[int] | None, n: int) -> list[int] | None:
    """``classes`` as a list of distinct labels in ``range(n)``, or None for all."""
    if classes is None:
        return None
    checks.instance("fashion_mnist", "classes", classes, (list, tuple, range, torch.Tensor),
                    "a list of labels", [5, 6, 7, 8, 9], none=f"all {n}")
    kept = [int(c) for c in classes]
    if not kept or len(set(kept)) != len(kept) or not all(0 <= c < n for c in kept):
        raise ValueError(f"classes={list(classes)!r}: give distinct labels between 0 and {n - 1} "
                         f"(e.g. classes=[5, 6, 7, 8, 9]; names in cnnlab.data.CLASSES), "
                         f"or None for all {n}.")
    return kept


def _keep_classes(images: torch.Tensor, labels: torch.Tensor,
                  kept: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """The images of the ``kept`` classes, in data order, relabelled 0..k-1 in ``kept``'s order."""
    new_label = torch.full((max(int(labels.max()), *kept) + 1,), -1, dtype=torch.long)
    new_label[torch.tensor(kept)] = torch.arange(len(kept))
    mask = new_label[labels] >= 0
    return images[mask], new_label[labels[mask]]
