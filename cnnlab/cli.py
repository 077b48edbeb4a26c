"""The command line: ``cnnlab list | summary | train | record | bench`` (also ``python -m cnnlab``).

A thin face over the package: every subcommand calls the same functions the
chapters call (:func:`cnnlab.models.create`, :mod:`cnnlab.profiles`,
:func:`cnnlab.data.fashion_mnist`, :func:`cnnlab.train.fit`, :mod:`cnnlab.measure`);
the chapters' profiles come from :mod:`cnnlab.chapters` through :mod:`cnnlab.profiles`.

Examples::

    cnnlab list
    cnnlab summary resnet18_fmnist --input 1x28x28
    cnnlab train resnet18_fmnist --profile quick --out runs/r18
    cnnlab train resnet18_fmnist --profile quick --out runs/r18 --resume   # after an interrupt
    cnnlab record resnet                     # the chapter's reference run, recorded
    cnnlab record resnet --profile full --seed 1   # on a GPU: d2l's recipe, seed 1
    cnnlab record nin --experiment           # the chapter's experiment at scale, recorded
    cnnlab bench resnet18 --input 3x224x224 --batch-size 32
    torchrun --nproc-per-node=gpu -m cnnlab train resnet18_fmnist --profile full

Bad input (an unknown model, missing data, a corrupt checkpoint, a NaN loss...)
ends with one line ``cnnlab: error: <what happened and what to do>`` on stderr
and exit status 2; an interrupt (Ctrl-C) exits with 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.distributed as dist

from cnnlab import (__version__, chapters, checks, data as cdata, measure, models, profiles,
                    record, settings, train)
from cnnlab.checkpoint import CheckpointError
from cnnlab.data import DataNotFoundError
from cnnlab.device import amp_dtype_for, default_device, settings_for
from cnnlab.train import NonFiniteLossError

__all__ = ["main", "build_parser"]

FASHION_MNIST_CLASSES = 10
FASHION_MNIST_CHANNELS = 1
FASHION_MNIST_SIDE = 28
DEFAULTS = dict(epochs=5, batch_size=256, lr=1e-3, optimizer="adam")  # models without a profile


class CLIError(Exception):
    """Bad command-line input found after parsing (reported like the package's errors)."""


# --------------------------------------------------------------------------- helpers

def _input_size(text: str) -> tuple[int, ...]:
    """``"1x224x224"`` -> ``(1, 224, 224)``; ``"224"`` -> ``(224,)`` (side only)."""
    try:
        dims = tuple(int(d) for d in text.lower().replace("×", "x").split("x"))
    except ValueError:
        dims = ()
    if len(dims) not in (1, 3) or min(dims, default=0) < 1:
        raise argparse.ArgumentTypeError(
            f"invalid input size {text!r}: write CxHxW (e.g. 1x28x28 or 3x224x224) or one side "
            f"length (e.g. 224)")
    return dims


def _number(convert: Callable[[str], float], ok: Callable[[float], bool], must: str):
    """An argparse ``type``: ``convert(text)`` when ``ok`` of it, else "expected ``must``"."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {must}, got {text!r}")
        return value
    parse.__name__ = must  # argparse names the type by it
    return parse


_positive_int = _number(int, lambda v: v >= 1, "a positive whole number")
_non_negative_int = _number(int, lambda v: v >= 0, "a whole number ≥ 0")
_positive_float = _number(float, lambda v: 0 < v < float("inf"), "a positive number")


def _device(text: str) -> str:
    """A device torch knows and this machine has (:func:`cnnlab.checks.device_problem`)."""
    problem = checks.device_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"invalid device {text!r} ({problem}): use cpu, cuda, "
                                         f"cuda:1... (a device this machine has)")
    return text


def _resolve_input(name: str, dims: tuple[int, ...] | None) -> tuple[int, int, int]:
    """``(C, H, W)`` for ``name``: the given size, or the model's own channels and side."""
    spec = models.get_spec(name)
    if dims is None:
        return (spec.in_channels, spec.input_size, spec.input_size)
    if len(dims) == 1:
        return (spec.in_channels, dims[0], dims[0])
    return dims  # type: ignore[return-value]


def _is_main_process() -> bool:
    """Rank 0 under ``torchrun`` (or a plain run): the one that prints and writes files."""
    return settings.rank() == 0


def _chapter_for(model: str) -> str | None:
    """The chapter whose profiles train ``model`` (see :mod:`cnnlab.chapters`), if any."""
    return chapters.chapter_of(model)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


# --------------------------------------------------------------------------- subcommands

def cmd_list(args: argparse.Namespace) -> int:
    names = models.list_models(args.family)  # an unknown family is refused with the families
    width = max(len(n) for n in names)
    print(f"{'model':<{width}}  {'family':<10} {'input':<11} description")
    for name in names:
        spec = models.get_spec(name)
        shape = f"{spec.in_channels}x{spec.input_size}x{spec.input_size}"
        print(f"{name:<{width}}  {spec.family:<10} {shape:<11} {spec.description}")
    print(f"\n{len(names)} models. Details: cnnlab summary MODEL; train one: cnnlab train MODEL.")
    return 0


def _build(args: argparse.Namespace):
    """The model and its (C, H, W) input, checked before torchinfo or a benchmark runs it."""
    channels, height, width = _resolve_input(args.model, args.input)
    model = models.create(args.model, num_classes=args.num_classes, in_channels=channels)
    # Fail with the model's own message (too small, ...) rather than torchinfo's wrapper.
    model.input_spec.check(torch.empty(1, channels, height, width, device="meta"))
    return model, (channels, height, width)


def cmd_summary(args: argparse.Namespace) -> int:
    model, size = _build(args)
    print(measure.summary(model, (1, *size)))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    model, size = _build(args)
    device = default_device(args.device)
    for mode in (["train", "inference"] if args.mode == "both" else [args.mode]):
        result = measure.benchmark(model, size, batch_size=args.batch_size, device=device,
                                   mode=mode, steps=args.steps,
                                   channels_last=settings_for(device).channels_last,
                                   amp_dtype=amp_dtype_for(device))
        print(dataclasses.replace(result, model=args.model))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    spec = models.get_spec(args.model)  # unknown names fail here, before any data is read
    if args.dry_run:
        os.environ["CNNLAB_DRY_RUN"] = "1"  # read by fit and the batches (cnnlab.dry_run)
    out = Path(args.out if args.out is not None else Path("runs") / args.model)
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out} is a file; name a folder for the run's files (e.g. "
                       f"--out runs/{args.model})")
    checkpoint = out / "checkpoint.pt"
    resume = None
    if args.resume is not None:
        resume = checkpoint if args.resume == "auto" else Path(args.resume)
        if not resume.is_file():
            raise CLIError(f"no checkpoint at {resume} to resume from; train without --resume "
                           f"first (checkpoints are written to <out>/checkpoint.pt)")
    chapter = _chapter_for(args.model)
    main_process = _is_main_process()
    say = print if main_process else (lambda *a, **k: None)
    data_overrides = {k: v for k, v in dict(
        batch_size=args.batch_size, train_per_class=args.train_per_class,
        test_per_class=args.test_per_class, augment=args.augment or None).items()
        if v is not None}
    fit_overrides = {k: v for k, v in dict(epochs=args.epochs, lr=args.lr,
                                           optimizer=args.optimizer).items() if v is not None}

    if chapter is not None:
        profile = profiles.get_profile(chapter, args.profile)
        overrides = {**data_overrides, **fit_overrides}
        profile = profile.replace(**overrides)  # the command line wins over the profile
        say(profile.describe() + (f" Changed on the command line: {', '.join(overrides)}."
                                  if overrides else ""))
        data = profile.data(seed=args.seed)
        fit_kwargs = profile.fit_kwargs()
    else:
        if args.profile is not None:
            profiles.choose_profile_name(args.profile)  # an unknown name fails here
            raise CLIError(
                f"{args.model} has no chapter profile (profiles exist for: "
                f"{', '.join(profiles.list_chapters())}); drop --profile and set "
                f"--epochs/--batch-size/--train-per-class yourself")
        # The model's own side only when 28×28 is too small for it (e.g. AlexNet, GoogLeNet).
        resize = spec.input_size if spec.min_size > FASHION_MNIST_SIDE else None
        data = cdata.fashion_mnist(**{"batch_size": DEFAULTS["batch_size"], **data_overrides},
                                   resize=resize, seed=args.seed)
        fit_kwargs = {"epochs": DEFAULTS["epochs"], "lr": DEFAULTS["lr"],
                      "optimizer": DEFAULTS["optimizer"], **fit_overrides}
        say(f"No chapter profile for {args.model}: epochs {fit_kwargs['epochs']}, "
            f"{fit_kwargs['optimizer']} lr {fit_kwargs['lr']:g} (override with --epochs, --lr, "
            f"--optimizer).")
    say(f"Data: {data.description}.")
    world_size = settings.world_size()
    if world_size > 1:
        say(f"DistributedDataParallel over {world_size} processes: each step sees "
            f"{world_size} × {data.train.batch_size} = {world_size * data.train.batch_size} "
            f"images (the learning rate is not rescaled).")

    model_kwargs = profile.model_kwargs if chapter is not None else {}
    model = models.create(args.model, num_classes=FASHION_MNIST_CLASSES,
                          in_channels=FASHION_MNIST_CHANNELS, seed=args.seed, **model_kwargs)
    n_params = sum(p.numel() for p in model.parameters())
    say(f"Model: {args.model}, {n_params:,} parameters.")
    if resume is not None:
        say(f"Resuming from {resume}.")

    try:
        history = train.fit(model, data, device=args.device, checkpoint=checkpoint,
                            resume=resume, seed=args.seed, progress=not args.quiet,
                            amp=False if args.fp32 else None, **fit_kwargs)
    except KeyboardInterrupt:
        if main_process:
            print(f"cnnlab: interrupted; every finished epoch is saved in {checkpoint}: continue "
                  f"with the same command and --resume." if checkpoint.is_file() else
                  "cnnlab: interrupted before the first epoch finished; nothing was saved.",
                  file=sys.stderr)
        return 130
    if main_process:
        train.save_parameters(model, out / "model.pt")
        (out / "history.json").write_text(json.dumps(history.to_list(), indent=1) + "\n")
    if len(history):
        say(f"Final test accuracy: {history[-1].test_acc:.4f} after epoch {history[-1].epoch}.")
    say(f"Wrote {out / 'model.pt'} (load with cnnlab.train.load_parameters), {checkpoint} "
        f"(resume with --resume) and {out / 'history.json'}.")
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    if args.dry_run:
        os.environ["CNNLAB_DRY_RUN"] = "1"
    if args.work is not None and Path(args.work).is_file():
        raise CLIError(f"--work {args.work} is a file; name a folder for the run's checkpoint")
    if args.experiment:
        rec = record.record_experiment(args.chapter, into=args.into,
                                       command=f"cnnlab record {args.chapter} --experiment")
        summary = ", ".join(f"{arm} {sum(v) / len(v):.4f}" for arm, v in rec["scores"].items())
        print(f"{rec['chapter']} experiment at scale over seeds {rec['seeds']}: mean score "
              f"{summary}; {rec['wall_seconds']:,.0f} s on {rec['device']}. Wrote {rec['path']}.")
        return 0
    rec = record.record(args.chapter, args.profile, args.seed, work=args.work, into=args.into,
                        device=args.device, progress=not args.quiet,
                        command=f"cnnlab record {args.chapter} --profile {args.profile} "
                                f"--seed {args.seed}")
    print(f"{rec['chapter']} ({rec['profile']}, seed {rec['seed']}): test accuracy "
          f"{rec['test_acc']:.4f} after {rec['epochs']} epochs, {rec['wall_seconds']:,.0f} s on "
          f"{rec['device']}. Wrote {rec['path']}.")
    return 0


# --------------------------------------------------------------------------- the parser

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnnlab",
        description="The cnnlab course's models, trainer and tools on the command line.",
        epilog="Run 'cnnlab COMMAND --help' for the options of one command. Data: Fashion-MNIST "
               "from $CNNLAB_DATA (or the per-user cache); CNNLAB_OFFLINE=1 forbids downloads.")
    parser.add_argument("--version", action="version", version=f"cnnlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("list", help="list the registered models",
                       description="List every registered model: name, family, default input "
                                   "(CxHxW) and a one-line description.")
    p.add_argument("--family", help="only this family (e.g. resnet, vgg)")
    p.set_defaults(func=cmd_list)

    def model_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("model", metavar="MODEL", help="a registered name (see 'cnnlab list')")
        p.add_argument("--input", type=_input_size, metavar="CxHxW",
                       help="input size, e.g. 1x28x28 or 3x224x224 (default: the model's own; "
                            "one number sets the side only)")
        p.add_argument("--num-classes", type=_positive_int, metavar="N",
                       help="output classes (default: the model's own)")

    p = sub.add_parser("summary", help="layer-by-layer table: output shapes and parameters",
                       description="Print a torchinfo summary of MODEL (output shape and "
                                   "parameters of every layer, totals, multiply-adds) for one "
                                   "input. The model is built with as many input channels as "
                                   "--input has.")
    model_args(p)
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("bench", help="measure training/inference throughput (images/s)",
                       description="Measure how many images per second MODEL trains on "
                                   "(forward, backward, step) or infers on, on random inputs, "
                                   "with the trainer's memory format for the device, and its "
                                   "peak memory (see cnnlab.measure.benchmark).")
    model_args(p)
    p.add_argument("--batch-size", type=_positive_int, default=64, metavar="B",
                   help="images per step (default 64)")
    p.add_argument("--device", type=_device,
                   help="cpu, cuda, cuda:1... (default: CUDA when present)")
    p.add_argument("--mode", choices=["train", "inference", "both"], default="train",
                   help="train: forward, backward and SGD step; inference: forward only "
                        "(default train)")
    p.add_argument("--steps", type=_positive_int, default=10, metavar="N",
                   help="timed steps after warm-up (default 10)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser(
        "train", help="train a model on Fashion-MNIST (resumable)",
        description="Train MODEL on Fashion-MNIST (1 channel, 10 classes). A model with a chapter "
                    "profile uses its 'full' (GPU) or 'quick' (CPU) settings; any option given "
                    "here overrides the profile. A checkpoint is written to OUT/checkpoint.pt "
                    "after every epoch, so an interrupted run continues with --resume; at the end "
                    "the parameters go to OUT/model.pt and the per-epoch record to "
                    "OUT/history.json. Under torchrun it trains with DistributedDataParallel "
                    "and only rank 0 prints and writes.",
        epilog="Example: cnnlab train resnet18_fmnist --profile quick --out runs/r18")
    p.add_argument("model", metavar="MODEL", help="a registered name (see 'cnnlab list')")
    p.add_argument("--profile", metavar="NAME",
                   help="full or quick (default: $CNNLAB_PROFILE, else full with CUDA, quick "
                        "without); only for models with a chapter profile")
    p.add_argument("--epochs", type=_positive_int, metavar="N",
                   help=f"total epochs (default: the profile's, else {DEFAULTS['epochs']}); with "
                        f"--resume, training continues up to N")
    p.add_argument("--lr", type=_positive_float, metavar="LR",
                   help=f"(peak) learning rate (default: the profile's, else {DEFAULTS['lr']:g})")
    p.add_argument("--batch-size", type=_positive_int, metavar="B",
                   help=f"examples per step and process (default: the profile's, else "
                        f"{DEFAULTS['batch_size']})")
    p.add_argument("--optimizer", choices=["adam", "adamw", "sgd"],
                   help="default: the profile's, else adam")
    p.add_argument("--train-per-class", type=_positive_int, metavar="N",
                   help="train on a stratified subset of N images per class (short runs)")
    p.add_argument("--test-per-class", type=_positive_int, metavar="N",
                   help="test on N images per class (default: the profile's, else all 1,000)")
    p.add_argument("--augment", action="store_true", help="random crops and flips")
    p.add_argument("--seed", type=_non_negative_int, default=0,
                   help="seed of init, subset and shuffle (0)")
    p.add_argument("--device", type=_device,
                   help="cpu, cuda, cuda:1... (default: CUDA when present)")
    p.add_argument("--fp32", action="store_true",
                   help="no mixed precision (default: bf16/fp16 autocast where the device "
                        "computes it natively, see cnnlab.device)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: runs/MODEL)")
    p.add_argument("--resume", nargs="?", const="auto", metavar="CHECKPOINT",
                   help="continue an interrupted run from OUT/checkpoint.pt (or CHECKPOINT); "
                        "pass the same options as the first run")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    p.add_argument("--dry-run", action="store_true",
                   help="check the whole path in seconds: 1 epoch of 2 steps, 2 test batches "
                        "(as CNNLAB_DRY_RUN=1; see cnnlab.dry_run)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "record", help="train a chapter's profile and record the result with its provenance",
        description="Train CHAPTER's profile (default: reference, all of Fashion-MNIST) with "
                    "one seed and write its record (history, accuracy, seconds, device, CPU, "
                    "precision, torch, commit, date) to cnnlab/recorded/PROFILE/"
                    "CHAPTER-seedSEED.json. A checkpoint is written to the work folder after "
                    "every epoch; run the same command again to continue an interrupted run.",
        epilog="Example: cnnlab record resnet; on a GPU: cnnlab record resnet --profile full "
               "--seed 1")
    p.add_argument("chapter", metavar="CHAPTER",
                   help="a chapter with profiles (e.g. alexnet, resnet; see cnnlab.profiles)")
    p.add_argument("--profile", default="reference", metavar="NAME",
                   help="reference (default), full or quick")
    p.add_argument("--seed", type=_non_negative_int, default=0,
                   help="seed of init, data order and subset (0)")
    p.add_argument("--device", type=_device,
                   help="cpu, cuda, cuda:1... (default: CUDA when present)")
    p.add_argument("--work", metavar="DIR",
                   help="folder for the checkpoint (default: runs/record/PROFILE/CHAPTER-seedSEED)")
    p.add_argument("--into", metavar="DIR",
                   help="folder for the record (default: the package's recorded/PROFILE/)")
    p.add_argument("--experiment", action="store_true",
                   help="run the chapter's experiment at scale instead (its AT_SCALE settings, "
                        "every arm over its seeds) and write cnnlab/recorded/experiments/"
                        "CHAPTER.json")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    p.add_argument("--dry-run", action="store_true",
                   help="check the whole path in seconds (as CNNLAB_DRY_RUN=1); the record "
                        "goes to the work folder, never among the shipped records")
    p.set_defaults(func=cmd_record)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CLIError, ValueError, FileNotFoundError, CheckpointError, NonFiniteLossError,
            DataNotFoundError, ImportError) as err:
        # UnknownModelError and CorruptDataError are ValueErrors; ImportError: a missing
        # optional dependency (torchinfo) is one line too.
        print(f"cnnlab: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cnnlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`cnnlab list | head`): stop quietly, as Unix tools do.
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        _close_process_group()


def _close_process_group() -> None:
    """Leave the torchrun process group cleanly (fit starts it; nothing else ends it)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
