"""Load profiles as stage tables, with the thresholds that decide each run's exit code.

Standard library only: the locustfile imports this module flat (`import profiles`), as locust and the chart's
ConfigMap see the two files side by side.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    """Run `users` users until `until_s` seconds after the start, spawning or stopping `spawn_rate` a second."""

    until_s: float
    users: int
    spawn_rate: float


@dataclass(frozen=True)
class Thresholds:
    """The limits a run must stay within to exit 0."""

    max_failure_ratio: float
    max_p95_ms: float


@dataclass(frozen=True)
class Profile:
    """A named stage table and its thresholds."""

    name: str
    purpose: str
    stages: tuple[Stage, ...]
    thresholds: Thresholds

    @property
    def duration_s(self) -> float:
        """Return when the last stage ends."""
        return self.stages[-1].until_s

    def stage_at(self, run_time_s: float) -> Stage | None:
        """Return the stage running at `run_time_s`, or None once the table is over."""
        for stage in self.stages:
            if run_time_s < stage.until_s:
                return stage
        return None


# 9 users split 3:5:1 by the user classes' weights, so even the smallest run has every persona.
PERSONA_SET = 9

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="smoke",
            purpose="every persona for 15 s: the pipeline answers correctly under a little concurrency",
            stages=(Stage(15, PERSONA_SET, PERSONA_SET),),
            thresholds=Thresholds(max_failure_ratio=0.0, max_p95_ms=500),
        ),
        Profile(
            name="step",
            purpose="five 30 s steps of 9 more users, then back to 9: where latency starts to bend",
            stages=(
                Stage(30, 1 * PERSONA_SET, 3),
                Stage(60, 2 * PERSONA_SET, 3),
                Stage(90, 3 * PERSONA_SET, 3),
                Stage(120, 4 * PERSONA_SET, 3),
                Stage(150, 5 * PERSONA_SET, 3),
                Stage(180, 1 * PERSONA_SET, 9),
            ),
            thresholds=Thresholds(max_failure_ratio=0.01, max_p95_ms=1000),
        ),
        Profile(
            name="spike",
            purpose="9 users, a sudden 8x spike for 60 s, then 9 again: recovery and the autoscalers' reaction",
            stages=(
                Stage(30, PERSONA_SET, 3),
                Stage(90, 8 * PERSONA_SET, 8 * PERSONA_SET),
                Stage(150, PERSONA_SET, 8 * PERSONA_SET),
            ),
            thresholds=Thresholds(max_failure_ratio=0.05, max_p95_ms=2500),
        ),
        Profile(
            name="soak",
            purpose="18 users for 15 minutes: no drift in latency, errors or consumer lag",
            stages=(Stage(900, 2 * PERSONA_SET, 3),),
            thresholds=Thresholds(max_failure_ratio=0.005, max_p95_ms=800),
        ),
    )
}
