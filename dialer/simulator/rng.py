"""Counter-based random streams for common random numbers across pacing policies.

Every random quantity is a pure function of ``(seed, stream, day, index, draw)``: the fate of the
``index``-th number dialled on ``day`` (or of an agent's ``index``-th call) does not depend on how
many random numbers other events consumed before it.  Two policies therefore meet the same
customers in the same order and the same agents take the same time over their n-th call, so the
difference between their metrics is the policies' doing, not sampling noise.

The mixing function is SplitMix64 (a bijective 64-bit finaliser with good avalanche), in pure
integer arithmetic: cheaper than seeding a ``random.Random`` per call.
"""

from __future__ import annotations

import math

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_TO_UNIT = 1.0 / (1 << 53)

STREAM_CUSTOMER = 1
STREAM_AGENT_CALL = 2
STREAM_SCHEDULE = 3


def _mix(z: int) -> int:
    z = (z + _GOLDEN) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def day_key(seed: int, stream: int, day: int) -> int:
    """Key of a family of streams (all customers of a day, all agent calls of a day, ...)."""
    return _mix(_mix(_mix(seed & _MASK) ^ stream) ^ day)


def item_key(family: int, index: int) -> int:
    """Key of one stream of a family: one customer, one agent's n-th call, one agent's schedule."""
    return _mix(family ^ index)


def stream_key(seed: int, stream: int, day: int, index: int) -> int:
    """Key of one stream (one customer, one agent call, one agent's schedule)."""
    return item_key(day_key(seed, stream, day), index)


_DRAWS = tuple(d * _GOLDEN & _MASK for d in range(16))


def uniform(key: int, draw: int) -> float:
    """The ``draw``-th (< 16) uniform of stream ``key``, in the open interval (0, 1)."""
    z = ((key ^ _DRAWS[draw]) + _GOLDEN) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return (((z ^ (z >> 31)) >> 11) + 0.5) * _TO_UNIT


def normal(key: int, draw: int) -> float:
    """A standard normal from draws ``draw`` and ``draw + 1`` (Box-Muller)."""
    u1 = uniform(key, draw)
    u2 = uniform(key, draw + 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def lognormal(key: int, draw: int, mean: float, cv: float) -> float:
    """Lognormal with the given mean and coefficient of variation (uses two draws)."""
    if cv <= 0.0:
        return mean
    sigma2 = math.log1p(cv * cv)
    return math.exp(math.log(mean) - sigma2 / 2.0 + math.sqrt(sigma2) * normal(key, draw))
