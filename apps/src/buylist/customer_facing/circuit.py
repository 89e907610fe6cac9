"""A circuit breaker: after a failure, fail fast; after a cooldown, let one trial request through."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitBreaker:
    """Closed while calls succeed; open for `cooldown_s` after a failure; then half-open with one trial."""

    def __init__(self, cooldown_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failed = False
        self._open_until = 0.0
        self._trial_in_flight = False

    def allow(self) -> bool:
        """Return whether a call may go ahead now; at most one call at a time while recovering."""
        with self._lock:
            if not self._failed:
                return True
            if self._clock() < self._open_until or self._trial_in_flight:
                return False
            self._trial_in_flight = True
            return True

    def succeeded(self) -> None:
        """Record a successful call: close the circuit."""
        with self._lock:
            self._failed = False
            self._trial_in_flight = False

    def failed(self) -> None:
        """Record a failed call: open the circuit for the cooldown."""
        with self._lock:
            self._failed = True
            self._trial_in_flight = False
            self._open_until = self._clock() + self._cooldown_s

    @property
    def cooling_down(self) -> bool:
        """Return whether a failure is so recent that even a trial must wait."""
        with self._lock:
            return self._failed and self._clock() < self._open_until

    @property
    def is_open(self) -> bool:
        """Return whether calls are currently being refused."""
        with self._lock:
            return self._failed and (self._clock() < self._open_until or self._trial_in_flight)
