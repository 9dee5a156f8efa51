"""Mid-epoch checkpoints: every N train steps and on SIGTERM, with everything a resume needs.

A step checkpoint is ``checkpoints/step-EEEE-SSSSSSSS.keras`` (weights + optimizer state, whose step
counter positions the LR schedule) and ``state.json`` pointing at it with the data position (epoch,
steps done in it: the seeded batch stream of an epoch is replayed and that many batches skipped) and
the RNG state (every Keras ``SeedGenerator`` state: dropout masks continue where they were).
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import keras
import numpy as np

from datacraft.errors import DatacraftError


class TrainingInterrupted(DatacraftError):
    """SIGTERM (or SIGINT) stopped training after a checkpoint was written (exit 143/130)."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


def seed_states(model: keras.Model) -> list[list[int]]:
    """The state of every SeedGenerator of the model's layers (dropout, attention dropout)."""
    return [np.asarray(keras.ops.convert_to_numpy(g.state)).tolist() for g in _generators(model)]


def restore_seed_states(model: keras.Model, states: list[list[int]]) -> None:
    gens = _generators(model)
    if len(gens) != len(states):
        return
    for g, s in zip(gens, states, strict=True):
        g.state.assign(np.asarray(s, dtype=keras.ops.convert_to_numpy(g.state).dtype))


def _generators(model: keras.Model) -> list[Any]:
    out = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        out.extend(getattr(layer, "_seed_generators", []) or [])
    return out


class SignalFlag:
    """Records SIGTERM/SIGINT instead of dying, so the step callback can checkpoint and stop."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:  # a second signal: give up at once
            raise KeyboardInterrupt
        self.signum = signum


@contextlib.contextmanager
def catch_stop_signals() -> Iterator[SignalFlag]:
    """Install :class:`SignalFlag` for SIGTERM and SIGINT (main thread only), restoring the old handlers."""
    flag = SignalFlag()
    old: dict[int, Any] = {}
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            old[sig] = signal.signal(sig, flag)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        yield flag
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


class StepCheckpoint(keras.callbacks.Callback):
    """Every ``every`` steps, and at the first batch end after a stop signal: checkpoint + state."""

    def __init__(
        self,
        save: Callable[[keras.Model, int, int], None],
        steps_per_epoch: int,
        every: int | None,
        flag: SignalFlag,
        first_epoch_offset: int = 0,
    ) -> None:
        super().__init__()
        self.save, self.steps, self.every, self.flag = save, steps_per_epoch, every, flag
        self.offset, self.epoch = first_epoch_offset, 0
        self._first = True

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if not self._first:
            self.offset = 0
        self._first = False
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        done = self.offset + batch + 1
        if self.flag.signum is not None:
            if done < self.steps:
                self.save(self.model, self.epoch, done)
            self.model.stop_training = True
            return
        if self.every and done % self.every == 0 and done < self.steps:
            self.save(self.model, self.epoch, done)


def interrupted(flag: SignalFlag, out: Path) -> TrainingInterrupted:
    name = signal.Signals(flag.signum).name if flag.signum else "signal"
    sys.stderr.write(f"{name}: checkpoint written; rerun the same command to resume {out}\n")
    return TrainingInterrupted(f"interrupted by {name}; checkpoint written, rerun to resume", flag.signum or 15)


class ResumablePlateau(keras.callbacks.ReduceLROnPlateau):
    """ReduceLROnPlateau whose counters (best, wait, cooldown) survive a resume: :meth:`state` goes into
    every checkpoint's state.json and ``saved`` restores it. Keras resets them in ``on_train_begin``;
    here only the first ``fit`` of a run does (a resumed run calls ``fit`` twice: the rest of the
    interrupted epoch, then the following epochs). The learning rate itself is an optimizer variable,
    saved in the checkpoint."""

    def __init__(self, *args: Any, saved: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._saved, self._started = saved, False

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self._started:
            return
        self._started = True
        super().on_train_begin(logs)
        if self._saved:
            best = self._saved.get("best")
            self.best = None if best is None else float(best)
            self.wait = int(self._saved.get("wait", 0))
            self.cooldown_counter = int(self._saved.get("cooldown_counter", 0))

    def state(self) -> dict[str, Any]:
        best = None if self.best is None else float(self.best)
        return {"best": best, "wait": int(self.wait), "cooldown_counter": int(self.cooldown_counter)}
