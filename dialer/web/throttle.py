"""Failed-login throttling, per user name and per source address (in memory, per process).

Counting failures rather than attempts lets a user who types the password right log in at once, while a
guesser gets a 429 with ``Retry-After`` after a few tries and costs no scrypt run while throttled. Keys are
bounded in number so a flood of made-up names can not grow memory without limit.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque

MAX_KEYS = 20_000


class _Window:
    """Failure times per key over a sliding window."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return None
        return hits

    def retry_after(self, key: str, now: float) -> float:
        hits = self._recent(key, now)
        if hits is None or len(hits) < self.limit:
            return 0.0
        return hits[-self.limit] + self.window - now

    def add(self, key: str, now: float) -> None:
        hits = self._recent(key, now)
        if hits is None:
            hits = self._hits[key] = deque(maxlen=self.limit)
            while len(self._hits) > MAX_KEYS:
                self._hits.popitem(last=False)
        self._hits.move_to_end(key)
        hits.append(now)

    def clear(self, key: str) -> None:
        self._hits.pop(key, None)


class LoginThrottle:
    def __init__(self, per_user: int, per_address: int, window: float) -> None:
        self.users = _Window(per_user, window)
        self.addresses = _Window(per_address, window)

    def retry_after(self, username: str, address: str, now: float | None = None) -> float:
        """Seconds until this login may be tried again; 0 when it may be tried now."""
        now = time.monotonic() if now is None else now
        return max(self.users.retry_after(username.lower(), now), self.addresses.retry_after(address, now))

    def failed(self, username: str, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.users.add(username.lower(), now)
        self.addresses.add(address, now)

    def succeeded(self, username: str) -> None:
        self.users.clear(username.lower())
