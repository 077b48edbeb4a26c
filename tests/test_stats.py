"""cnnlab.stats: the verdict words every experiment of the course prints."""

import math

import pytest

from cnnlab import stats


def test_estimate_is_the_mean_and_the_standard_error_of_the_mean():
    e = stats.Estimate.of([0.70, 0.74, 0.72, 0.76])
    assert e.mean == pytest.approx(0.73) and e.n == 4
    sd = math.sqrt(sum((v - 0.73) ** 2 for v in [0.70, 0.74, 0.72, 0.76]) / 3)
    assert e.stderr == pytest.approx(sd / 2)
    assert math.isnan(stats.Estimate.of([0.7]).stderr) and str(stats.Estimate.of([0.7])) == "0.700 (1 seed)"


def test_paired_difference_cancels_what_a_seed_does_to_both_arms():
    a, b = [0.60, 0.80, 0.70], [0.62, 0.82, 0.72]  # the seeds differ by 20 points, the arms by 2
    assert not stats.Estimate.of(b).mean - stats.Estimate.of(a).mean > 2 * stats.Estimate.of(b).stderr
    d = stats.paired_difference(a, b)
    assert d.mean == pytest.approx(0.02) and d.stderr == pytest.approx(0.0, abs=1e-12) and d.n == 3
    with pytest.raises(ValueError, match="one value per seed"):
        stats.paired_difference([0.1, 0.2], [0.3])


@pytest.mark.parametrize("b, expect, word", [
    ([0.84, 0.85, 0.86], "higher", "agrees"),
    ([0.84, 0.85, 0.86], "lower", "contradicts"),
    ([0.78, 0.77, 0.76], "higher", "contradicts"),
    ([0.81, 0.80, 0.83], "higher", "not resolved"),
    ([0.81, 0.80, 0.83], "same", "agrees"),
    ([0.84, 0.85, 0.86], "same", "contradicts"),
])
def test_verdict_words(b, expect, word):
    v = stats.verdict([0.80, 0.82, 0.81], b, expect=expect)
    assert v.word == word
    assert ("agrees with" in v.sentence()) == (word == "agrees")
    assert ("contradicts" in v.sentence()) == (word == "contradicts")


def test_one_seed_is_never_resolved_and_bad_input_is_refused():
    assert stats.verdict([0.5], [0.9], expect="higher").word == "not resolved"
    assert stats.verdict([0.5], [0.9], expect="same").word == "not resolved"
    with pytest.raises(ValueError, match="expect='more'"):
        stats.verdict([0.5, 0.6], [0.7, 0.8], expect="more")
    with pytest.raises(ValueError, match="between 0 and 1"):
        stats.binomial_stderr(1.5, 100)
    assert stats.binomial_stderr(0.5, 10_000) == pytest.approx(0.005)
