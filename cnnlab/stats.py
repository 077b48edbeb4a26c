"""Reading a difference between two training arms over several seeds.

Every experiment of the course that rests on a difference ("the GAP head matches the
fully connected head", "weight decay helps") runs each arm over the same seeds and
lets this module decide. The rules, from the course's notes on experiments:

- the standard error of a mean of ``k`` seeds is ``s / √k`` (``s`` the sample standard
  deviation); of one accuracy ``p`` on ``n`` test images, √(p(1 − p)/n);
- arms that share seeds are compared by their *paired* differences (seed by seed),
  which cancels what the seed does to both arms alike;
- a difference is *resolved* when it lies more than ``z`` (default 2) standard errors
  from zero; a resolved difference in the direction the source claims agrees with it,
  one in the other direction contradicts it.

>>> a = [0.80, 0.82, 0.81]; b = [0.84, 0.85, 0.86]
>>> d = paired_difference(a, b)
>>> round(d.mean, 3), round(d.stderr, 4), d.resolved()
(0.04, 0.0058, True)
>>> verdict(a, b, expect="higher").word
'agrees'
>>> verdict(a, b, expect="lower").word
'contradicts'
>>> print(Estimate.of([0.80, 0.82, 0.81]))
0.810 ± 0.006 (3 seeds)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

__all__ = ["Estimate", "Verdict", "binomial_stderr", "paired_difference", "verdict"]

Expectation = Literal["higher", "lower", "same"]


def binomial_stderr(p: float, n: int) -> float:
    """Standard error of an accuracy ``p`` measured on ``n`` independent test images,
    √(p(1 − p)/n): the test set's sampling noise alone, not training's.

    >>> round(binomial_stderr(0.75, 500), 4)
    0.0194
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p={p!r}: an accuracy is a fraction between 0 and 1.")
    if n < 1:
        raise ValueError(f"n={n!r}: the number of test images must be at least 1.")
    return math.sqrt(p * (1.0 - p) / n)


@dataclass(frozen=True)
class Estimate:
    """A mean over seeds and its standard error."""

    mean: float
    stderr: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> "Estimate":
        """Mean ± standard error of ``values`` (one per seed; at least 2 for an error)."""
        values = [float(v) for v in values]
        if not values:
            raise ValueError("no values: run the arm over at least one seed.")
        k = len(values)
        mean = sum(values) / k
        if k < 2:
            return cls(mean, math.nan, 1)
        var = sum((v - mean) ** 2 for v in values) / (k - 1)
        return cls(mean, math.sqrt(var / k), k)

    def resolved(self, z: float = 2.0) -> bool:
        """Whether the mean lies more than ``z`` standard errors from zero."""
        return not math.isnan(self.stderr) and abs(self.mean) > z * self.stderr

    def __str__(self) -> str:
        seeds = f"{self.n} seed{'s' if self.n != 1 else ''}"
        if math.isnan(self.stderr):
            return f"{self.mean:.3f} ({seeds})"
        return f"{self.mean:.3f} ± {self.stderr:.3f} ({seeds})"


def paired_difference(a: Sequence[float], b: Sequence[float]) -> Estimate:
    """``b − a`` seed by seed (the arms ran on the same seeds, in the same order)."""
    if len(a) != len(b):
        raise ValueError(f"paired arms need one value per seed each; got {len(a)} and {len(b)}.")
    return Estimate.of([y - x for x, y in zip(a, b)])


@dataclass(frozen=True)
class Verdict:
    """What a paired comparison says about a claim (``b`` against ``a``)."""

    difference: Estimate
    expect: Expectation
    word: str   # "agrees", "contradicts", "not resolved"
    z: float

    def sentence(self, a: str = "a", b: str = "b", unit: float = 100.0,
                 unit_name: str = "points") -> str:
        """One sentence for the page, e.g. ``"b − a = +4.0 ± 0.6 points over 3 seeds:
        resolved, so it agrees with the source (b higher)."``"""
        d = self.difference
        spread = (f" ± {d.stderr * unit:.1f}" if d.n > 1 else "")
        head = (f"{b} − {a} = {d.mean * unit:+.1f}{spread} {unit_name} over {d.n} seed"
                f"{'s' if d.n != 1 else ''}")
        claim = {"higher": f"{b} higher", "lower": f"{b} lower", "same": "no difference"}[self.expect]
        within = f"within {self.z:g} standard errors of zero"
        if d.n < 2:
            return f"{head}: one seed has no standard error, so it is not resolved (source: {claim})."
        if self.word == "not resolved":
            return f"{head}: {within}, not resolved (source: {claim})."
        if self.expect == "same":
            side = within if self.word == "agrees" else f"more than {self.z:g} standard errors from zero"
        else:
            side = "resolved"
        relation = "agrees with" if self.word == "agrees" else "contradicts"
        return f"{head}: {side}, so it {relation} the source ({claim})."


def verdict(a: Sequence[float], b: Sequence[float], expect: Expectation,
            z: float = 2.0) -> Verdict:
    """Decide whether ``b`` against ``a`` (paired by seed) agrees with a source that
    expects ``b`` ``"higher"``, ``"lower"`` or the ``"same"``.

    A difference within ``z`` standard errors, or measured on one seed (a dry run's), is
    ``"not resolved"`` — except that for ``expect="same"`` a difference within ``z``
    standard errors is what the source claims, so it ``"agrees"``, and a resolved one
    ``"contradicts"``.

    >>> verdict([0.80], [0.90], expect="higher").sentence()
    'b − a = +10.0 points over 1 seed: one seed has no standard error, so it is not resolved (source: b higher).'

    """
    if expect not in ("higher", "lower", "same"):
        raise ValueError(f"expect={expect!r}: use 'higher', 'lower' or 'same'.")
    d = paired_difference(a, b)
    resolved = d.resolved(z)  # never with one seed: there is no standard error to judge by
    if expect == "same" and d.n < 2:
        word = "not resolved"
    elif expect == "same":
        word = "contradicts" if resolved else "agrees"
    elif not resolved:
        word = "not resolved"
    else:
        word = "agrees" if (d.mean > 0) == (expect == "higher") else "contradicts"
    return Verdict(d, expect, word, z)
