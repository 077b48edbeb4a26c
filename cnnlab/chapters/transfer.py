"""Pretrained ResNets and transfer learning: ImageNet's ResNet-50, then our own weights.

He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016,
arXiv:1512.03385: the networks and their ImageNet training. Yosinski, Clune, Bengio,
Lipson, "How transferable are features in deep neural networks?", NeurIPS 2014,
arXiv:1411.1792: features learned on one task help another, most when the tasks are
alike; a network initialised from them and fine-tuned generalises better than one
trained from scratch, even when the tasks differ.

The chapter does two things. It classifies a photo with torchvision's
ImageNet-pretrained ResNet-50 (as *CV study notes: ResNet* does with Keras), when
the weights are on disk or can be downloaded: :func:`load_pretrained` finds them or
says where to put them, and never hands back an untrained network in their place.
And it runs an experiment that needs no download: pretrain a CIFAR-style ResNet-20
on five Fashion-MNIST classes, then learn the other five from 10 labels each, three
ways, over three seeds, and let :mod:`cnnlab.stats` decide what the differences say.

==========================  ====================================================================
what                        how
==========================  ====================================================================
pretrained ResNet-50        :func:`load_pretrained`: the zoo's ``resnet50`` (torchvision's
                            names) with ``ResNet50_Weights.IMAGENET1K_V2`` from
                            ``$CNNLAB_WEIGHTS`` or torch's hub cache; :func:`top_k` on a photo
preprocessing               ``weights.transforms()``: resize to 232, centre crop 224, scale to
                            [0, 1], normalise; :func:`preprocessing_steps` shows each step
source task                 ResNet-20 (1 channel, 5 outputs) trained on T-shirt/top, Trouser,
                            Pullover, Sandal, Bag: ``SOURCE_CLASSES``, ``PROFILES``
target task                 Dress, Coat, Shirt, Sneaker, Ankle boot, each with a relative in the
                            source; 10 training images per class: ``TARGET_CLASSES``,
                            ``FEW_SHOT``, :func:`few_shot_data`
over seeds                  :func:`run_methods` (``SEEDS``), :func:`verdicts` (``CLAIMS``)
three ways to learn it      ``scratch`` (fresh ResNet-20), ``frozen`` (pretrained backbone frozen,
                            BatchNorm included; a new 64→5 head trains), ``finetune`` (new head,
                            every layer trains): :func:`transfer_variant`
helpers                     :func:`find_head`, :func:`replace_head`, :func:`freeze_backbone`
==========================  ====================================================================
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from cnnlab import dry_run, measure, models, plot, settings, stats, train
from cnnlab.checkpoint import CheckpointError, model_name
from cnnlab.models.pretrained import (find_weights, get_weights, load_pretrained, weights_filename,
                                      weights_locations, WeightsNotFoundError)
from cnnlab.recipe import choose_profile_name, Profile
from cnnlab.seeding import seed_everything

__all__ = ["PRETRAINED", "WeightsNotFoundError", "CheckpointError", "get_weights",
           "weights_filename", "weights_locations", "find_weights", "load_pretrained",
           "find_image", "read_image", "describe_preprocessing", "preprocessing_steps",
           "plot_preprocessing", "Prediction", "top_k", "SOURCE_CLASSES", "TARGET_CLASSES",
           "PROFILES", "FEW_SHOT", "PASSES", "SEEDS", "CLAIMS", "few_shot_profile", "few_shot_data",
           "METHODS", "LR_FACTOR", "method_fit_kwargs", "find_head", "replace_head",
           "freeze_backbone", "transfer_variant", "run_methods", "final_accuracies",
           "verdicts", "plot_transfer"]

# --------------------------------------------------------------------------- (a) ImageNet weights

#: The weights this chapter asks for: torchvision's second ResNet-50 recipe (80.858% top-1
#: on ImageNet-1k at 224 px, single crop; V1, the original recipe, gives 76.13%).
PRETRAINED = ("resnet50", "IMAGENET1K_V2")

#: The photo the chapter classifies (CC0, scikit-image's ``chelsea.png``).
PHOTO = "chelsea.png"


def find_image(name: str | os.PathLike = PHOTO) -> Path:
    """A photo to classify: ``name`` itself if it is a file, else ``$CNNLAB_IMAGES/name``,
    else ``shared/images/name`` beside the repository (where the course keeps its
    CC0 photo).

    Raises:
        FileNotFoundError: saying where it looked and where to put a photo.
    """
    here = Path(name).expanduser()
    places = [here] if here.is_absolute() else [here.absolute()]
    if settings.images_dir() is not None:
        places.append(settings.images_dir() / here.name)
    repository = Path(__file__).resolve().parents[2]
    places.append(repository.parent / "shared" / "images" / here.name)
    for place in places:
        if place.is_file():
            return place
    raise FileNotFoundError(
        f"No photo {name!s}: looked in {'; '.join(str(p.absolute()) for p in places)}. Put a "
        f"photo (JPEG or PNG) in a folder and set CNNLAB_IMAGES to that folder, or pass the "
        f"photo's path, e.g. find_image('/home/me/cat.jpg').")


def read_image(path: str | os.PathLike) -> torch.Tensor:
    """A photo as a uint8 RGB tensor ``(3, H, W)`` (an alpha channel is dropped)."""
    from PIL import Image
    from torchvision.transforms.functional import pil_to_tensor
    with Image.open(path) as photo:
        return pil_to_tensor(photo.convert("RGB"))


def describe_preprocessing(transform) -> str:
    """What ``weights.transforms()`` does, read from the transform object itself."""
    interpolation = getattr(transform.interpolation, "value", transform.interpolation)
    resize = transform.resize_size
    crop = transform.crop_size
    side = f"the shorter side to {resize[0]} px" if len(resize) == 1 else f"to {resize} px"
    mean = ", ".join(f"{m:.3f}" for m in transform.mean)
    std = ", ".join(f"{s:.3f}" for s in transform.std)
    return "\n".join([
        f"1. resize {side} ({interpolation}, antialias={transform.antialias})",
        f"2. centre crop {crop[0]}×{crop[-1]} px",
        "3. scale the 0–255 pixels to floats in [0, 1]",
        f"4. normalise each channel (R, G, B): subtract ({mean}), divide by ({std})",
    ])


def preprocessing_steps(image: torch.Tensor, transform) -> dict[str, torch.Tensor]:
    """``weights.transforms()`` step by step on a uint8 ``(3, H, W)`` image: the
    ``resized`` and ``cropped`` uint8 images and the network's ``input`` (1, 3, 224, 224),
    which equals ``transform(image).unsqueeze(0)``."""
    from torchvision.transforms import functional as TF
    resized = TF.resize(image, transform.resize_size, interpolation=transform.interpolation,
                        antialias=transform.antialias)
    cropped = TF.center_crop(resized, transform.crop_size)
    x = TF.normalize(cropped.float() / 255, mean=transform.mean, std=transform.std)
    return {"photo": image, "resized": resized, "cropped": cropped, "input": x.unsqueeze(0)}


def plot_preprocessing(image: torch.Tensor, transform, axes=None,
                       path: str | os.PathLike | None = None):
    """The photo, the resized photo with the crop window, and the normalised crop the
    network sees (its red channel, in standard deviations). ``axes`` draws into three
    existing panels, ``path`` saves the figure. Returns the figure."""
    from matplotlib.patches import Rectangle

    steps = preprocessing_steps(image, transform)
    fig, axes = plot.panels("plot_preprocessing", axes, 3, path, figsize=(12, 3.6),
                            gridspec_kw={"width_ratios": [1.5, 1.5, 1.2]})
    h, w = steps["resized"].shape[1:]
    ch, cw = steps["cropped"].shape[1:]
    for ax, key, title in ((axes[0], "photo", "photo"), (axes[1], "resized", "resized")):
        img = steps[key]
        ax.imshow(img.permute(1, 2, 0).numpy())
        ax.set_title(f"{title}: {img.shape[2]}×{img.shape[1]} px", fontsize=10)
    axes[1].add_patch(Rectangle(((w - cw) / 2 - 0.5, (h - ch) / 2 - 0.5), cw, ch, fill=False,
                                edgecolor="yellow", linewidth=2))
    red = steps["input"][0, 0]
    shown = axes[2].imshow(red.numpy(), cmap="RdBu_r", vmin=-2.5, vmax=2.5)
    axes[2].set_title(f"input: {cw}×{ch} crop, red channel normalised", fontsize=10)
    fig.colorbar(shown, ax=axes[2], fraction=0.046, label="standard deviations")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    plot.show(fig, path)
    return fig


class Prediction(NamedTuple):
    """One of the top-k classes: its ImageNet index, name and probability."""

    index: int
    category: str
    probability: float


@torch.no_grad()
def top_k(model: nn.Module, image: torch.Tensor, weights, k: int = 5) -> list[Prediction]:
    """The ``k`` most probable classes of ``image`` (uint8 ``(3, H, W)``), preprocessed
    with ``weights.transforms()`` and named with ``weights.meta["categories"]``."""
    x = weights.transforms()(image).unsqueeze(0)
    was_training = model.training
    probs = model.eval()(x).softmax(1)[0]
    model.train(was_training)
    p, idx = probs.topk(k)
    names = weights.meta["categories"]
    return [Prediction(int(i), names[int(i)], float(q)) for q, i in zip(p, idx)]


# --------------------------------------------------------------------------- (b) our own transfer

#: Fashion-MNIST labels of the source task (T-shirt/top, Trouser, Pullover, Sandal, Bag)
#: and of the target task (Dress, Coat, Shirt, Sneaker, Ankle boot). The split is chosen
#: so that every target class has a relative among the sources (Yosinski et al. 2014:
#: transfer helps when the tasks share structure): a dress, a coat and a shirt are
#: upper-body garments like the T-shirt and the pullover, with the same outlines,
#: sleeves and collars; a sneaker and an ankle boot are shoes like the sandal. The
#: target keeps the hard pairs (coat/shirt, sneaker/ankle boot), which few labels
#: cannot teach from scratch.
SOURCE_CLASSES = (0, 1, 2, 5, 8)
TARGET_CLASSES = (3, 4, 6, 7, 9)

# Pretraining ResNet-20 (the paper's CIFAR network, §4.2, with one input channel) on the
# source classes. full: all 30,000 training and 5,000 test images of those classes, with
# augmentation, 20 epochs of Adam with a one-cycle schedule (Smith & Topin 2017,
# arXiv:1708.07120). quick: the same recipe on 1,000 images per class, 2 epochs, no
# augmentation, tested on 100 per class (about half a minute on two quiet CPU cores):
# transfer needs a source network that has learned something (with 400 images it
# had not learned enough to help).
PROFILES = {
    "full": Profile(model="resnet20", epochs=20, batch_size=128, lr=2e-3, optimizer="adam",
                    schedule="onecycle", augment=True,
                    source="this chapter: Adam 2e-3, one-cycle, batch 128, 20 epochs"),
    "quick": Profile(model="resnet20", epochs=2, batch_size=128, lr=2e-3, optimizer="adam",
                     schedule="onecycle", train_per_class=1000, test_per_class=100,
                     source="this chapter, shortened: 1,000 images per class, 2 epochs"),
}

# Learning the target classes from 3 labelled images each (15 in all), the same way for
# all three methods: Adam, batch 15, constant learning rate (10× higher for a lone head:
# LR_FACTOR). Few labels are where transfer pays (Yosinski et al. 2014): with 10 per
# class a network trained from scratch on this easy target already matched the
# transferred ones. An epoch is PASSES passes over the 15 images (10 steps), so the
# test set is scored after every 10 steps, not after every one. full: scored on all
# 5,000 target test images; quick: 300 test images per class. Both: 2 epochs, 20 steps.
PASSES = 10
FEW_SHOT = {
    "full": Profile(model="resnet20", epochs=2, batch_size=15, lr=1e-3, optimizer="adam",
                    train_per_class=3,
                    source="this chapter: 3 labels per class, Adam 1e-3, 20 steps"),
    "quick": Profile(model="resnet20", epochs=2, batch_size=15, lr=1e-3, optimizer="adam",
                     train_per_class=3, test_per_class=300,
                     source="this chapter: 3 labels per class, 20 steps, "
                            "300 test images per class"),
}

#: Each method learns the target once per seed: the seed picks the 3 labelled images
#: per class, the test subset, the new weights (the head; all of them from scratch) and
#: the batch order. All three methods share a seed's images, so they are compared seed
#: by seed. The pretrained network is one run (seed 0), shared by every seed. Five
#: seeds, not three: with 3 labels per class a network trained from scratch swings by
#: twenty points between draws, and the paired differences need the extra seeds.
SEEDS = (0, 1, 2, 3, 4)

#: The comparisons the chapter decides, (a, b, what the source expects of b against a):
#: Yosinski et al. 2014 found transferred features, fine-tuned, generalise better than
#: training from scratch, and transfer helps most with few target labels. Whether
#: fine-tuning beats a frozen backbone depends on how much target data there is to
#: adapt with; with 3 labels per class the source makes no claim (exercise 2 varies it).
CLAIMS = (("scratch", "finetune", "higher"), ("scratch", "frozen", "higher"))

#: The three ways to learn the target task, as :func:`transfer_variant` names them.
METHODS = {
    "scratch": "from scratch (random init)",
    "frozen": "frozen backbone, new head",
    "finetune": "fine-tuned, new head",
}


#: Learning rate of each method, as a multiple of the few-shot profile's: a new linear head
#: alone (on fixed features) takes larger steps than a whole network should.
LR_FACTOR = {"scratch": 1.0, "frozen": 10.0, "finetune": 1.0}


def method_fit_kwargs(profile: Profile, method: str) -> dict:
    """:func:`cnnlab.train.fit`'s arguments for ``method`` under the few-shot ``profile``:
    the profile's, with the learning rate scaled by :data:`LR_FACTOR`."""
    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}: choose one of {', '.join(METHODS)}.")
    return profile.fit_kwargs(lr=profile.lr * LR_FACTOR[method])


def few_shot_profile(name: str | None = None) -> Profile:
    """The few-label stage's :class:`~cnnlab.recipe.Profile` (``FEW_SHOT``), chosen
    like every profile (``name``, else ``$CNNLAB_PROFILE``, else by the hardware)."""
    name, reason = choose_profile_name(name)
    return FEW_SHOT[name].replace(chapter="transfer", name=name, reason=reason)


def few_shot_data(profile: Profile, seed: int = 0, classes=TARGET_CLASSES,
                  passes: int = PASSES):
    """The target task's data under the few-shot ``profile``: ``train_per_class`` images of
    each class of ``classes`` (picked by ``seed``), each seen ``passes`` times per epoch
    (the training images are repeated, not augmented), and the test subset of ``seed``."""
    import dataclasses
    data = profile.data(classes=classes, seed=seed)
    train = data.train
    repeated = dataclasses.replace(train, images=train.images.repeat(passes, 1, 1, 1),
                                   labels=train.labels.repeat(passes))
    return dataclasses.replace(
        data, train=repeated,
        description=f"{data.description}; each training image {passes}× per epoch")


def find_head(model: nn.Module) -> str:
    """The name of the classifier: the last ``nn.Linear`` of ``model`` (``"fc"`` in
    torchvision's ResNets, ``"fc.1"`` in ``resnet18_fmnist``)."""
    linear = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linear:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer to use as its head; "
                         f"pass head= the name of its classifier module.")
    return linear[-1]


def _set_submodule(model: nn.Module, name: str, new: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, new)


def replace_head(model: nn.Module, num_classes: int, head: str | None = None) -> nn.Module:
    """Put a fresh ``nn.Linear`` with ``num_classes`` outputs where the classifier was
    (same inputs, PyTorch's default initialisation: seed first). Returns ``model``.

    >>> from cnnlab import models
    >>> replace_head(models.create("resnet20", num_classes=5), 3).fc
    Linear(in_features=64, out_features=3, bias=True)
    """
    head = head or find_head(model)
    old = model.get_submodule(head)
    if not isinstance(old, nn.Linear):
        raise ValueError(f"{head!r} is a {type(old).__name__}, not an nn.Linear classifier.")
    new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    _set_submodule(model, head, new.to(old.weight.device))
    return model


def freeze_backbone(model: nn.Module, head: str | None = None) -> nn.Module:
    """Freeze everything but the classifier ``head`` (default :func:`find_head`); returns
    ``model``.

    Frozen means fixed: the parameters stop requiring gradients, and every
    ``BatchNorm2d`` outside the head becomes torchvision's ``FrozenBatchNorm2d`` with
    the same statistics, so ``model.train()`` (which :func:`cnnlab.train.fit` calls)
    cannot make it normalise with batch statistics or update its running averages.
    The head keeps training.
    """
    from torchvision.ops import FrozenBatchNorm2d
    head = head or find_head(model)
    in_head = lambda name: name == head or name.startswith(head + ".")  # noqa: E731
    for name, p in model.named_parameters():
        p.requires_grad_(in_head(name))
    for name, m in list(model.named_modules()):
        if isinstance(m, nn.BatchNorm2d) and not in_head(name):
            frozen = FrozenBatchNorm2d(m.num_features, eps=m.eps)
            with torch.no_grad():
                if m.affine:
                    frozen.weight.copy_(m.weight)
                    frozen.bias.copy_(m.bias)
                if m.track_running_stats:
                    frozen.running_mean.copy_(m.running_mean)
                    frozen.running_var.copy_(m.running_var)
            device = next(iter([*m.parameters(), *m.buffers()]), torch.empty(0)).device
            _set_submodule(model, name, frozen.to(device))
    return model


def transfer_variant(method: str, pretrained: nn.Module, num_classes: int,
                     seed: int = 0) -> nn.Module:
    """A network for the target task, learned one of three ways (:data:`METHODS`):

    - ``"scratch"``: a freshly initialised network of ``pretrained``'s architecture;
    - ``"frozen"``: a copy of ``pretrained`` with a new head and a frozen backbone;
    - ``"finetune"``: a copy of ``pretrained`` with a new head, every layer trainable.

    ``pretrained`` must come from :func:`cnnlab.models.create` (its registry name says
    what to build from scratch); it is never modified. ``seed`` seeds the new weights.
    """
    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}: choose one of {', '.join(METHODS)}.")
    if method == "scratch":
        return models.create(model_name(pretrained), num_classes=num_classes,
                             in_channels=pretrained.input_spec.channels, seed=seed)
    net = copy.deepcopy(pretrained)
    seed_everything(seed)
    replace_head(net, num_classes)
    return freeze_backbone(net) if method == "frozen" else net


def run_methods(pretrained: nn.Module, profile: Profile, seeds=SEEDS, classes=TARGET_CLASSES,
                methods=tuple(METHODS), report=print) -> dict[str, list]:
    """Learn the target task with every method of ``methods`` once per seed of ``seeds``
    (:func:`few_shot_data`, :func:`transfer_variant`, :func:`method_fit_kwargs`):
    ``{method: [History per seed]}``; each history keeps ``trainable`` (the number of
    parameters that learned) and ``seed``. ``report`` gets one line per run."""
    runs: dict[str, list] = {m: [] for m in methods}
    for seed in dry_run.items(seeds):  # the first seed only in a dry run
        data = few_shot_data(profile, seed, classes)
        for method in methods:
            net = transfer_variant(method, pretrained, num_classes=len(classes), seed=seed)
            kwargs = method_fit_kwargs(profile, method)
            history = train.fit(net, data, seed=seed, progress=False, **kwargs)
            history.label = METHODS[method]
            history.trainable = measure.count_parameters(net, trainable_only=True)
            history.seed = seed
            history.test_images = len(data.test.labels)
            runs[method].append(history)
            if report is not None:
                report(f"seed {seed}  {METHODS[method]:<28} lr {kwargs['lr']:g}: test acc "
                       f"{history[-1].test_acc:.3f} ({history.total_seconds:.1f} s)")
    return runs


def final_accuracies(runs: dict[str, list]) -> dict[str, list[float]]:
    """The last epoch's test accuracy of every run, per method."""
    return {m: [h[-1].test_acc for h in hs] for m, hs in runs.items()}


def verdicts(accuracies: dict[str, list[float]], claims=CLAIMS) -> dict[tuple[str, str], Any]:
    """:func:`cnnlab.stats.verdict` of every claim ``(a, b, expect)`` whose two methods ran,
    paired by seed: ``{(a, b): Verdict}``.

    >>> v = verdicts({"scratch": [0.60, 0.62, 0.58], "finetune": [0.70, 0.71, 0.69]})
    >>> v["scratch", "finetune"].word
    'agrees'
    """
    return {(a, b): stats.verdict(accuracies[a], accuracies[b], expect=expect)
            for a, b, expect in claims if a in accuracies and b in accuracies}


def plot_transfer(histories: dict[str, Any], axes=None, path: str | os.PathLike | None = None):
    """Test accuracy and training loss per epoch of the three methods (``{method:
    History}``, or ``{method: [History per seed]}``: every seed is drawn, the first one
    labelled), side by side. ``axes`` draws into two existing panels, ``path`` saves the
    figure. Returns the figure."""

    fig, axes = plot.panels("plot_transfer", axes, 2, path, figsize=(11, 3.6))
    for i, (method, runs) in enumerate(histories.items()):
        runs = runs if isinstance(runs, (list, tuple)) else [runs]
        for k, history in enumerate(runs):
            label = METHODS.get(method, method) if k == 0 else None
            for ax, column in ((axes[0], "test_acc"), (axes[1], "train_loss")):
                ax.plot(history.column("epoch"), history.column(column), marker="o",
                        markersize=3, color=f"C{i}", alpha=0.8, label=label)
    axes[0].set_ylabel("test accuracy (target classes)")
    axes[1].set_ylabel("training loss")
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    fig.tight_layout()
    plot.show(fig, path)
    return fig
