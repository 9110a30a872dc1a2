"""Select a pacer by name, as configured for a campaign (``dial_mode``)."""

from __future__ import annotations

from typing import Any

from dialer.pacing.guard import CapGuard
from dialer.pacing.predictive import PredictivePacer
from dialer.pacing.simple import ProgressivePacer, RatioPacer
from dialer.pacing.types import Pacer

PACER_MODES = ("progressive", "ratio", "predictive")


def make_pacer(mode: str, **params: Any) -> Pacer:
    """Build the pacer for ``mode``; ``params`` go to its constructor (e.g. ``ratio=2.5``)."""
    if mode == "progressive":
        if params:
            raise TypeError(f"progressive pacer takes no parameters, got {sorted(params)}")
        return ProgressivePacer()
    if mode == "ratio":
        return RatioPacer(**params)
    if mode == "predictive":
        return PredictivePacer(**params)
    raise ValueError(f"unknown pacing mode {mode!r}; expected one of {', '.join(PACER_MODES)}")


def make_campaign_pacer(mode: str, params: dict[str, Any], abandon_cap: float) -> Pacer:
    """The pacer a live campaign runs: its mode's pacer held to the campaign's abandon cap in every mode
    (:class:`CapGuard`), the predictive pacer also aiming under that cap itself."""
    kw = dict(params)
    if mode == "predictive":
        kw["abandon_cap"] = abandon_cap
    return CapGuard(make_pacer(mode, **kw), abandon_cap)
