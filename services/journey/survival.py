"""Length of stay as survival, and the count of people present on a day (pure; the standard
library only). The census forecast (`forecast.py`) is built from these two pieces.

- `KaplanMeier`: the product-limit estimator of the survival function S(t) = P(stay > t) from
  completed stays (events) and stays still going on (right-censored at their current length):
  Kaplan, E. L. and Meier, P. (1958), "Nonparametric estimation from incomplete observations",
  Journal of the American Statistical Association 53(282):457-481. At a tied time, stays that
  end are counted before stays censored there (the usual convention, ibid.).
- `CountLaw`: a sum of independent Bernoulli counts (who is still here: a Poisson-binomial)
  and a Poisson-like count (arrivals still here), known by its first three cumulants, with its
  distribution function from the refined normal approximation (a one-term Edgeworth, i.e.
  skewness, correction): Volkova, A. Yu. (1996), "A refinement of the central limit theorem for
  sums of independent random indicators", Theory Probab. Appl. 40(4):791-794; compared with the
  exact distribution in Hong, Y. (2013), "On computing the distribution function for the
  Poisson binomial distribution", Computational Statistics & Data Analysis 59:41-51.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class KaplanMeier:
    """S(t) as a step function: `survival[i]` holds from `times[i]` (inclusive) on; S = 1
    before the first ending."""

    times: tuple[float, ...]
    survival: tuple[float, ...]
    stays: int
    ended: int

    @classmethod
    def fit(cls, stays: Iterable[tuple[float, bool]]) -> KaplanMeier:
        """`stays`: (length in days, ended) — ended False for a stay still going on."""
        ordered = sorted(stays, key=lambda stay: (stay[0], not stay[1]))
        at_risk, s, i = len(ordered), 1.0, 0
        times: list[float] = []
        survival: list[float] = []
        while i < len(ordered):
            t, ended, censored = ordered[i][0], 0, 0
            while i < len(ordered) and ordered[i][0] == t:
                ended, censored, i = ended + ordered[i][1], censored + (not ordered[i][1]), i + 1
            if ended:
                s *= 1.0 - ended / at_risk
                times.append(t)
                survival.append(s)
            at_risk -= ended + censored
        return cls(times=tuple(times), survival=tuple(survival), stays=len(ordered),
                   ended=sum(1 for _, ended in ordered if ended))

    def __call__(self, t: float) -> float:
        i = bisect_right(self.times, t)
        return 1.0 if i == 0 else self.survival[i - 1]

    def still_here(self, t: float, days: float) -> float:
        """P(a stay lasts `days` more | it has lasted `t`) = S(t + days) / S(t). Past the last
        ending (S(t) = 0) nothing in the data says: then an exponential tail with the mean stay."""
        s = self(t)
        if s > 0.0:
            return self(t + days) / s
        return math.exp(-days / max(self.mean(), 1.0))

    def mean(self) -> float:
        """The restricted mean stay: the area under S up to the last ending."""
        area, previous_t, previous_s = 0.0, 0.0, 1.0
        for t, s in zip(self.times, self.survival, strict=True):
            area += (t - previous_t) * previous_s
            previous_t, previous_s = t, s
        return area

    def median(self) -> float | None:
        return next((t for t, s in zip(self.times, self.survival, strict=True) if s <= 0.5),
                    None)


@dataclass(frozen=True)
class CountLaw:
    """A count known by its mean, variance and third central moment."""

    mean: float
    variance: float
    third: float

    @classmethod
    def of(cls, *, present: Iterable[float], arriving: float, rate_spread: float) -> CountLaw:
        """`present`: each person's probability of being here (Bernoulli); `arriving`: the mean
        of a Poisson count whose rate is itself uncertain with relative variance `rate_spread`
        (a gamma-mixed Poisson, i.e. negative binomial, with shape 1 / rate_spread)."""
        mean = variance = third = 0.0
        for p in present:
            mean, variance = mean + p, variance + p * (1.0 - p)
            third += p * (1.0 - p) * (1.0 - 2.0 * p)
        mu, k = arriving, rate_spread
        return cls(mean=mean + mu, variance=variance + mu + k * mu * mu,
                   third=third + mu + 3.0 * k * mu * mu + 2.0 * k * k * mu ** 3)

    def cdf(self, k: int) -> float:
        """P(count <= k), with a continuity correction."""
        if self.variance <= 1e-12:
            return 1.0 if k + 0.5 >= self.mean else 0.0
        sigma = math.sqrt(self.variance)
        x = (k + 0.5 - self.mean) / sigma
        skew = self.third / sigma ** 3
        phi = math.exp(-x * x / 2.0) / math.sqrt(2.0 * math.pi)
        big_phi = 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))
        return min(1.0, max(0.0, big_phi + skew * (1.0 - x * x) * phi / 6.0))

    @cached_property
    def _table(self) -> tuple[int, list[float]]:
        """P(count <= k) for k from `first` on, made monotone (the approximation may dip); below
        `first` (six standard deviations under the mean) it is taken as 0."""
        sigma = math.sqrt(max(self.variance, 0.0))
        first = max(0, math.floor(self.mean - 6.0 * sigma - 1.0))
        last = math.ceil(self.mean + 12.0 * sigma + 10.0)
        table, best = [], 0.0
        for k in range(first, last + 1):
            best = max(best, self.cdf(k))
            table.append(best)
        table[-1] = 1.0
        return first, table

    def interval(self, coverage: float) -> tuple[int, int]:
        """[low, high] with P(count < low) and P(count > high) each as near (1 - coverage) / 2
        as the count's steps allow: the central interval of a discrete count, whose
        probability is as near `coverage` as it can be rather than always above it."""
        first, table = self._table
        tail = (1.0 - coverage) / 2.0
        below = [0.0, *table[:-1]]  # P(count < first + i)
        # Where steps tie (the same probability), the narrower interval.
        low = min(range(len(table)), key=lambda i: (abs(below[i] - tail), -i))
        high = min(range(low, len(table)), key=lambda i: (abs(1.0 - table[i] - tail), i))
        return first + low, first + high

    def capped_mean(self, cap: int) -> float:
        """E[min(count, cap)] = sum over k < cap of P(count > k)."""
        first, table = self._table
        return min(first, cap) + sum(1.0 - p for p in table[:max(cap - first, 0)])
