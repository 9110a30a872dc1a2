"""Pure call pacing: how many outbound calls to place now.

No I/O, no asyncio, no wall clock: time is always passed in (float seconds), so the live engine and
the discrete-event simulator (:mod:`dialer.simulator`) run exactly the same code.

Engine contract
---------------
Every engine tick (twice a second) the engine builds a :class:`PacingView` and calls ``pacer.decide(view)``; it
then places ``decision.launch`` new calls.  It reports every event with ``pacer.observe(obs)``:

* :class:`CallEnded` ``(ring_seconds, outcome)`` when a call's ringing phase ends - ``"live"`` when a
  person answered (the call then goes to an agent), or ``machine``/``busy``/``noanswer``/``failed``/
  ``invalid``;
* :class:`AgentCallFinished` ``(talk_seconds, wrapup_seconds)`` when an agent finishes after-call work;
* :class:`Abandoned` ``()`` when a live-answered call is dropped for want of an agent.

View fields: ``agents`` lists logged-in agents (:class:`AgentView` with state ``ready``, ``ringing``
(being bridged), ``talking``, ``wrapup`` or ``paused`` and the time that state began); ``calls``
lists calls in flight not bridged to an agent (:class:`CallView`, ``answered`` once a person is
waiting); ``answered_today``/``abandoned_today`` are the day's live-answer and abandon counters;
``seconds_left_in_day`` is the time until dialling stops (None if unknown); ``max_lines`` bounds
calls in flight plus bridged calls.

Pacers (:func:`make_pacer`): ``progressive`` (one call per ready agent minus calls in flight),
``ratio`` (``ratio`` calls per ready agent minus calls in flight), ``predictive``
(:class:`PredictivePacer`: learned answer/ring/talk/wrap-up model, daily abandon budget under
``abandon_cap`` = 3%, progressive fallback when the cap is at risk).  Every pacer respects
``max_lines``, never returns a negative launch and launches nothing without active agents.
"""

from dialer.pacing.factory import PACER_MODES, make_campaign_pacer, make_pacer
from dialer.pacing.guard import CapGuard, affordable_abandons, guarded_launch
from dialer.pacing.model import ModelPriors, PacingModel
from dialer.pacing.predictive import PredictivePacer
from dialer.pacing.simple import ProgressivePacer, RatioPacer
from dialer.pacing.types import (
    Abandoned,
    AgentCallFinished,
    AgentState,
    AgentView,
    CallEnded,
    CallView,
    Observation,
    Outcome,
    Pacer,
    PacingDecision,
    PacingView,
)

__all__ = [
    "PACER_MODES",
    "Abandoned",
    "AgentCallFinished",
    "AgentState",
    "AgentView",
    "CallEnded",
    "CallView",
    "CapGuard",
    "ModelPriors",
    "Observation",
    "Outcome",
    "Pacer",
    "PacingDecision",
    "PacingModel",
    "PacingView",
    "PredictivePacer",
    "ProgressivePacer",
    "RatioPacer",
    "affordable_abandons",
    "guarded_launch",
    "make_campaign_pacer",
    "make_pacer",
]
