"""Argument checks at the door of every public function, with messages that say what to do.

Each check takes the function's name, the argument's name, the value and (most) an
example of a good value; it returns the value (whole numbers as ``int``, shapes as
tuples, paths as :class:`~pathlib.Path`) or raises :class:`ValueError` for a value out
of range and :class:`TypeError` for a value of the wrong kind. The message names the
call, the argument, the value and a value that works:

>>> positive_int("fit", "epochs", 0, 3)
Traceback (most recent call last):
ValueError: fit(epochs=0): epochs must be a whole number ≥ 1, e.g. epochs=3.
>>> fraction("fit", "ema", "0.9", 0.999, none="no averaging")
Traceback (most recent call last):
TypeError: fit(ema='0.9'): ema must be a number ≥ 0 and < 1, not a str, e.g. ema=0.999, or None for no averaging.
>>> shape("flops", "input_size", (1, 28, 28), (1, 1, 28, 28))
Traceback (most recent call last):
ValueError: flops(input_size=(1, 28, 28)): input_size must be (N, C, H, W): 4 whole numbers ≥ 1, e.g. input_size=(1, 1, 28, 28).

An example given as a ``str`` is shown as written (``"'train'"`` or
``"models.create('lenet_bn')"``); any other example is shown as its ``repr``.
``none``, where given, says what ``None`` means, and ``None`` is then accepted.

Environment variables are refused the way :mod:`cnnlab.settings` always did
(``CNNLAB_AMP='fast': use 1 (...) or 0 (...).``): see :func:`env_error`.

Every check runs once per call, never per training step.
"""

from __future__ import annotations

import math
import numbers
import operator
import os
from pathlib import Path
from typing import Any, Callable, Iterable, NoReturn

import numpy as np

__all__ = ["refuse", "integer", "positive_int", "non_negative_int", "number", "positive_float",
           "non_negative_float", "fraction", "boolean", "flags", "one_of", "instance",
           "function", "shape", "tensor", "path", "device", "device_problem", "env_error",
           "options"]


# --------------------------------------------------------------------------- messages

def _show(value: Any) -> str:
    """A short ``repr``: tensors by shape, anything long by its type."""
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype"):
        if tuple(shape) == ():  # a NumPy or 0-d torch scalar
            return repr(value.item())
        return f"<{type(value).__name__} of shape {tuple(shape)}>"
    if isinstance(value, (str, os.PathLike)):  # a path is shown whole: it says where
        return repr(os.fspath(value))
    text = repr(value)
    return text if len(text) <= 80 and "\n" not in text else f"<{type(value).__name__} object>"


def _kind(value: Any) -> str:
    name = type(value).__name__
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _fail(error: type[Exception], func: str, name: str, value: Any, must: str,
          example: Any = None, none: str | None = None) -> NoReturn:
    text = f"{func}({name}={_show(value)}): {name} must be {must}"
    if error is TypeError:
        text += f", not {_kind(value)}"
    if example is not None:
        text += f", e.g. {name}={example if isinstance(example, str) else repr(example)}"
    if none:
        text += f", or None for {none}"
    raise error(text + ".")


def refuse(func: str, name: str, value: Any, must: str, example: Any = None, *,
           none: str | None = None, error: type[Exception] = ValueError) -> NoReturn:
    """Raise ``error`` in the words of every other check, for a condition of the caller's own
    (a list longer than another, an index out of range)."""
    _fail(error, func, name, value, must, example, none)


# --------------------------------------------------------------------------- numbers

def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)  # int, NumPy and 0-d torch integers
    except TypeError:
        return None


def integer(func: str, name: str, value: Any, example: Any, *, minimum: int | None = None,
            maximum: int | None = None, none: str | None = None) -> int | None:
    """``value`` as an ``int`` in ``[minimum, maximum]`` (either end may be open)."""
    if value is None and none:
        return None
    if minimum is not None and maximum is not None:
        must = f"a whole number from {minimum} to {maximum}"
    elif minimum is not None:
        must = f"a whole number ≥ {minimum}"
    elif maximum is not None:
        must = f"a whole number ≤ {maximum}"
    else:
        must = "a whole number"
    as_int = _as_int(value)
    if as_int is None:
        _fail(TypeError, func, name, value, must, example, none)
    if (minimum is not None and as_int < minimum) or (maximum is not None and as_int > maximum):
        _fail(ValueError, func, name, value, must, example, none)
    return as_int


def positive_int(func: str, name: str, value: Any, example: Any, *, maximum: int | None = None,
                 none: str | None = None) -> int | None:
    """A whole number ≥ 1 (and ≤ ``maximum``)."""
    return integer(func, name, value, example, minimum=1, maximum=maximum, none=none)


def non_negative_int(func: str, name: str, value: Any, example: Any, *,
                     maximum: int | None = None, none: str | None = None) -> int | None:
    """A whole number ≥ 0 (and ≤ ``maximum``)."""
    return integer(func, name, value, example, minimum=0, maximum=maximum, none=none)


def number(func: str, name: str, value: Any, example: Any, *, above: float | None = None,
           minimum: float | None = None, below: float | None = None,
           maximum: float | None = None, none: str | None = None) -> float | None:
    """A finite real number; ``above``/``below`` are open bounds, ``minimum``/``maximum``
    closed ones."""
    if value is None and none:
        return None
    low = f"> {above:g}" if above is not None else f"≥ {minimum:g}" if minimum is not None else ""
    high = f"< {below:g}" if below is not None else f"≤ {maximum:g}" if maximum is not None else ""
    must = ("a number " + " and ".join(b for b in (low, high) if b) if low or high
            else "a finite number")
    if low and not high:
        must = "a finite number " + low
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        _fail(TypeError, func, name, value, must, example, none)
    v = float(value)
    if (not math.isfinite(v) or (above is not None and not v > above)
            or (minimum is not None and not v >= minimum) or (below is not None and not v < below)
            or (maximum is not None and not v <= maximum)):
        _fail(ValueError, func, name, value, must, example, none)
    return v


def positive_float(func: str, name: str, value: Any, example: Any, *,
                   none: str | None = None) -> float | None:
    """A finite number > 0 (a learning rate, a scale)."""
    return number(func, name, value, example, above=0, none=none)


def non_negative_float(func: str, name: str, value: Any, example: Any, *,
                       none: str | None = None) -> float | None:
    """A finite number ≥ 0 (a weight decay, epochs of warm-up)."""
    return number(func, name, value, example, minimum=0, none=none)


def fraction(func: str, name: str, value: Any, example: Any, *, zero: bool = True,
             one: bool = False, none: str | None = None) -> float | None:
    """A number between 0 and 1; ``zero``/``one`` say whether each end is allowed."""
    return number(func, name, value, example, minimum=0 if zero else None,
                  above=None if zero else 0, maximum=1 if one else None,
                  below=None if one else 1, none=none)


# --------------------------------------------------------------------------- kinds and choices

def boolean(func: str, name: str, value: Any, *, none: str | None = None) -> bool | None:
    """``True`` or ``False`` (NumPy's bools too); ``None`` only where ``none`` says what it means."""
    if value is None and none:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    _fail(TypeError, func, name, value, "True or False", None, none)


def flags(func: str, **values: Any) -> None:
    """Several plain ``True``/``False`` arguments in one line: ``flags("fit", progress=progress)``."""
    for name, value in values.items():
        boolean(func, name, value)


def one_of(func: str, name: str, value: Any, choices: Iterable[Any], *,
           none: str | None = None) -> Any:
    """One of ``choices`` (listed in the message)."""
    if value is None and none:
        return None
    choices = list(choices)
    try:
        if value in choices:
            return value
    except TypeError:  # unhashable or incomparable: not a choice either
        pass
    listed = [repr(c) for c in choices]
    text = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " or " + listed[-1]
    _fail(ValueError, func, name, value, f"one of {text}", None, none)


def instance(func: str, name: str, value: Any, kinds: type | tuple[type, ...], what: str,
             example: Any = None, *, none: str | None = None) -> Any:
    """An instance of ``kinds``, described to the reader as ``what``."""
    if value is None and none:
        return None
    if not isinstance(value, kinds):
        _fail(TypeError, func, name, value, what, example, none)
    return value


def function(func: str, name: str, value: Any, example: Any, *,
             none: str | None = None) -> Callable | None:
    """Something callable."""
    if value is None and none:
        return None
    if not callable(value):
        _fail(TypeError, func, name, value, "a function", example, none)
    return value


# --------------------------------------------------------------------------- shapes and tensors

def shape(func: str, name: str, value: Any, example: Any, forms: Iterable[str] = ("(N, C, H, W)",),
          *, none: str | None = None) -> tuple[int, ...] | None:
    """A tuple of whole numbers ≥ 1 in one of ``forms`` (e.g. ``"(C, H, W)"``), counted by
    their commas."""
    if value is None and none:
        return None
    forms = list(forms)
    sizes = [form.count(",") + 1 for form in forms]
    must = " or ".join(f"{form}: {n} whole numbers ≥ 1" for form, n in zip(forms, sizes))
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        _fail(TypeError, func, name, value, must, example, none)
    dims = [_as_int(d) for d in value]
    if any(d is None for d in dims):
        _fail(TypeError, func, name, value, must, example, none)
    if len(dims) not in sizes or min(dims) < 1:
        _fail(ValueError, func, name, value, must, example, none)
    return tuple(dims)


def tensor(func: str, name: str, value: Any, dims: Iterable[int], what: str, example: Any,
           *, none: str | None = None):
    """A ``torch.Tensor`` with one of ``dims`` dimensions (``what`` describes them)."""
    import torch
    if value is None and none:
        return None
    if not isinstance(value, torch.Tensor):
        _fail(TypeError, func, name, value, f"a tensor {what}", example, none)
    if value.dim() not in tuple(dims):
        _fail(ValueError, func, name, value, f"a tensor {what}", example, none)
    return value


# --------------------------------------------------------------------------- files and devices

def path(func: str, name: str, value: Any, example: Any, *, write: bool = False,
         none: str | None = None) -> Path | None:
    """A ``str`` or ``os.PathLike``. With ``write``, also a place a file can be written to:
    not a folder, and not below a file. Nothing is created."""
    if value is None and none:
        return None
    if not isinstance(value, (str, os.PathLike)) or (isinstance(value, str) and not value):
        _fail(TypeError if not isinstance(value, str) else ValueError, func, name, value,
              "a file path (str or pathlib.Path)", example, none)
    p = Path(value).expanduser()
    if write:
        if p.is_dir():
            _fail(ValueError, func, name, value, "a file, and this is a folder: name a file "
                  "inside it", example, none)
        parent = next((q for q in p.parents if q.exists()), None)
        if parent is not None and not parent.is_dir():
            _fail(ValueError, func, name, value, f"a path in a folder, and {parent} is a file",
                  example, none)
    return p


def device_problem(dev) -> str | None:
    """Why ``dev`` (a ``torch.device`` or its name) cannot be used here, or None."""
    import torch
    if isinstance(dev, str):
        try:
            dev = torch.device(dev)
        except (RuntimeError, ValueError):
            return "torch knows no such device"
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            return "no CUDA GPU is visible here: torch.cuda.is_available() is False"
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            return f"this machine has {torch.cuda.device_count()} CUDA GPU(s), numbered from 0"
    return None


def device(func: str, name: str, value: Any, *, none: str | None = None):
    """A ``torch.device`` or its name (``"cpu"``, ``"cuda:1"``) that exists on this machine."""
    import torch
    if value is None and none:
        return None
    must = "a device such as 'cpu', 'cuda' or 'cuda:1'"
    if not isinstance(value, (str, torch.device)):
        _fail(TypeError, func, name, value, must, "'cpu'", none)
    problem = device_problem(value)
    if problem:
        _fail(ValueError, func, name, value, f"{must} that this machine has ({problem})",
              "'cpu'", none)
    return torch.device(value)


# --------------------------------------------------------------------------- environment

def options(meanings: dict[str, str]) -> str:
    """``{"1": "on", "0": "the default"}`` -> ``"1 (on) or 0 (the default)"``."""
    parts = [f"{value} ({meaning})" for value, meaning in meanings.items()]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def env_error(variable: str, use: str) -> ValueError:
    """The error for a bad environment variable, in :mod:`cnnlab.settings`' words:
    ``CNNLAB_PROGRESS='fancy': use auto (...), text (...) or off (...).``"""
    return ValueError(f"{variable}={os.environ.get(variable, '')!r}: use {use}.")
