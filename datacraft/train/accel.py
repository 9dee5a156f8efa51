"""Where a run executes: the tf.distribute strategy (mixed precision: ``ModelSpec.precision``; XLA:
``compile_model``)."""

from __future__ import annotations

from typing import Any

from datacraft.errors import ConfigError
from datacraft.train.config import TrainConfig


def make_strategy(cfg: TrainConfig) -> Any:
    """The configured ``tf.distribute`` strategy (the default strategy for ``distribute: none``)."""
    import tensorflow as tf

    if cfg.distribute == "none":
        return tf.distribute.get_strategy()
    devices = cfg.devices
    if devices is None:
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
    known = {_canonical(d.name) for d in tf.config.list_logical_devices()}
    missing = [d for d in devices if _canonical(d) not in known]
    if missing:
        raise ConfigError(f"devices: {missing} not available (this machine has {sorted(known)})")
    if len(devices) > 1 and all("CPU" in _canonical(d) for d in devices):
        return tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
    return tf.distribute.MirroredStrategy(devices)


def _canonical(name: str) -> str:
    """``/cpu:1``, ``CPU:1``, ``/job:localhost/.../device:CPU:1`` → ``CPU:1``."""
    tail = name.rsplit("/", 1)[-1].replace("device:", "")
    kind, _, idx = tail.partition(":")
    return f"{kind.upper()}:{idx or 0}"


def split_cpu(n: int) -> None:
    """Split the physical CPU into ``n`` logical devices (call before TensorFlow initializes)."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)])
