"""``model_quality``: score documents with a classifier trained by ``datacraft train`` (task classify).

The score is the probability of ``positive_label``; documents below ``threshold`` are dropped with
reason ``low_model_quality``. One batched prediction per stage batch, on CPU. TensorFlow is imported
in :meth:`ModelQuality.setup` (once per worker), so pipelines without this stage never load it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from datacraft.document import Document
from datacraft.errors import ConfigError
from datacraft.stages.base import Filter, FilterParams, FilterResult
from datacraft.stages.registry import register

SIGNAL = "model_quality_score"
REASON = "low_model_quality"


class ModelQualityParams(FilterParams):
    model: str = Field(..., min_length=1, description="model directory of `datacraft train` with task classify")
    threshold: float = Field(0.5, ge=0, le=1, description="drop documents whose score is below this")
    positive_label: str = Field("1", min_length=1, description="the class whose probability is the score")
    batch_size: int = Field(64, ge=1, description="documents per model call")


def _cpu_only() -> None:
    """Keep TensorFlow off accelerators in curation workers (before it is first imported)."""
    import os

    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")


@register("model_quality")
class ModelQuality(Filter):
    """Drop documents a trained quality classifier scores below a threshold."""

    Params = ModelQualityParams

    def __init__(self, params: Any = None, label: str | None = None) -> None:
        super().__init__(params, label)
        self._loaded: Any = None
        self._pos = 0

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        return {SIGNAL: "float64"}

    def __getstate__(self) -> dict[str, Any]:
        # ship configuration only: each worker loads the model in its own setup()
        state = self.__dict__.copy()
        state.update(_loaded=None, _ready=False)
        return state

    def setup(self) -> None:
        p: ModelQualityParams = self.params  # type: ignore[assignment]
        _cpu_only()
        from datacraft.train import quiet_tensorflow

        quiet_tensorflow()
        from datacraft.train.modeldir import load_model_dir, manifest_config, read_manifest

        where = f"stage {self.label}: model {p.model}"
        try:
            manifest = read_manifest(p.model)
            cfg = manifest_config(manifest, p.model)
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from None
        if cfg.task != "classify":
            raise ConfigError(f"{where}: is a {cfg.task} model; model_quality needs a classifier (task classify)")
        labels = [str(x) for x in manifest.get("labels") or []]
        if p.positive_label not in labels:
            raise ConfigError(f"{where}: positive_label {p.positive_label!r} is not one of its labels {labels}")
        try:
            self._loaded = load_model_dir(p.model)
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from None
        self._pos = labels.index(p.positive_label)

    def scores(self, texts: list[str]) -> np.ndarray:
        """Probability of the positive label for each text (empty text: 0)."""
        import keras

        from datacraft.train import data as D

        p: ModelQualityParams = self.params  # type: ignore[assignment]
        loaded = self._loaded
        out = np.zeros(len(texts), dtype=np.float64)
        seqs = loaded.tokenizer.encode_batch(texts) if texts else []
        for s in range(0, len(seqs), p.batch_size):
            part = seqs[s : s + p.batch_size]
            x = D.pad_batch([q if q else [0] for q in part], loaded.length)
            probs = keras.ops.convert_to_numpy(keras.ops.softmax(loaded.model.predict_on_batch(x), axis=-1))
            out[s : s + len(part)] = probs[:, self._pos]
        for i, q in enumerate(seqs):
            if not q:
                out[i] = 0.0
        return out

    def check(self, doc: Document) -> FilterResult:
        return self.check_batch([doc])[0]

    def check_batch(self, docs: list[Document]) -> list[FilterResult]:
        self.ensure_setup()
        p: ModelQualityParams = self.params  # type: ignore[assignment]
        scores = self.scores([d.text for d in docs])
        return [
            FilterResult(bool(s >= p.threshold), None if s >= p.threshold else REASON, {SIGNAL: round(float(s), 6)})
            for s in scores
        ]
