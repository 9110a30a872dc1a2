"""The production engine in the loop: a simulated Asterisk and call centre around the real engine, in
virtual time (see :mod:`.world`)."""

from dialer.simulator.asterisk.world import EngineRun, run_engine

__all__ = ["EngineRun", "run_engine"]
