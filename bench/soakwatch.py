"""What a soak watches in the service while it runs: memory, responsiveness, and how far behind Asterisk
the engine's event handling is.

A leak shows as resident memory that keeps climbing over a steady run; a blocked event loop as a slow
``/healthz``; an engine falling behind as a growing AMI event lag (``dialer_ami_event_lag_seconds``, from
``/metrics``). Samples are taken from outside, as an operator's monitoring would, every few seconds.
A killed and restarted service starts a new process: memory growth is judged per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any


def rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` in MiB, from /proc (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def lag_quantile(metrics_text: str, q: float) -> float | None:
    """The ``q`` quantile of the event-lag histogram, as its bucket's upper bound (seconds)."""
    buckets = [
        (float(le), float(n))
        for le, n in re.findall(r'dialer_ami_event_lag_seconds_bucket\{le="([^"]+)"\} (\S+)', metrics_text)
    ]
    if not buckets or buckets[-1][1] == 0:
        return None
    total = buckets[-1][1]
    for le, n in buckets:
        if n >= q * total:
            return le
    return None


@dataclass
class Watch:
    """Samples of one soak run."""

    port: int
    every: float = 5.0
    memory: dict[int, list[tuple[float, float]]] = field(default_factory=dict)  # pid -> (t, MiB)
    healthz_ms: list[float] = field(default_factory=list)
    in_flight: list[float] = field(default_factory=list)  # outbound calls not yet ended, per sample
    metrics_text: str = ""

    def _healthz(self) -> float | None:
        t = time.perf_counter()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as r:
                r.read()
        except Exception:
            return None
        return (time.perf_counter() - t) * 1000

    def _metrics(self) -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
                return str(r.read().decode())
        except Exception:
            return ""

    async def run(self, pid_of: Any, stop: asyncio.Event) -> None:
        """Sample until ``stop``; ``pid_of()`` gives the service's current pid (None while it is down)."""
        t0 = time.monotonic()
        while not stop.is_set():
            pid = pid_of()
            if pid is not None:
                mb = rss_mb(pid)
                if mb is not None:
                    self.memory.setdefault(pid, []).append((time.monotonic() - t0, mb))
                ms = await asyncio.to_thread(self._healthz)
                if ms is not None:
                    self.healthz_ms.append(ms)
                text = await asyncio.to_thread(self._metrics)
                if text:
                    self.metrics_text = text  # cumulative since the process started: the last one counts
                    found = re.search(r"^dialer_calls_in_flight (\S+)$", text, re.M)
                    if found:
                        self.in_flight.append(float(found.group(1)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every)

    def report(self) -> dict[str, Any]:
        longest = max(self.memory.values(), key=len, default=[])
        first = longest[: max(1, len(longest) // 10)]
        last = longest[-max(1, len(longest) // 10) :]
        ms = sorted(self.healthz_ms)

        def pct(xs: list[float], q: float) -> float | None:
            return round(xs[min(len(xs) - 1, int(q * len(xs)))], 1) if xs else None

        lag50, lag99 = lag_quantile(self.metrics_text, 0.5), lag_quantile(self.metrics_text, 0.99)
        return {
            "memory_mb": {
                "processes": len(self.memory),
                "minutes": round((longest[-1][0] - longest[0][0]) / 60, 1) if longest else 0,
                # of the longest-lived process: the first and last tenth of its samples, averaged
                "start": round(sum(m for _, m in first) / len(first), 1) if longest else None,
                "end": round(sum(m for _, m in last) / len(last), 1) if longest else None,
                "max": round(max(m for _, m in longest), 1) if longest else None,
            },
            "calls_in_flight": {
                "max": max(self.in_flight, default=0),
                "mean": round(sum(self.in_flight) / len(self.in_flight), 1) if self.in_flight else 0,
            },
            "healthz_ms": {"p50": pct(ms, 0.5), "p99": pct(ms, 0.99), "max": pct(ms, 1.0)},
            "event_lag_ms": {  # bucket upper bounds, from the last process's histogram
                "p50_under": lag50 * 1000 if lag50 is not None else None,
                "p99_under": lag99 * 1000 if lag99 is not None else None,
            },
        }
