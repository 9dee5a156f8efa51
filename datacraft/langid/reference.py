"""The reference engine: the langdetect library itself, seeded so that results are reproducible."""

from __future__ import annotations

import functools

import numpy as np
from langdetect.detector_factory import DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

from datacraft.langid.engines import UNDETERMINED, Detection
from datacraft.langid.profiles import language_codes, profile_texts
from datacraft.langid.script import refine_cjk


@functools.cache
def _factory() -> DetectorFactory:
    """langdetect's profiles, parsed once per process (sorted: listing order never matters)."""
    factory = DetectorFactory()
    factory.load_json_profile(list(profile_texts()))
    return factory


class LangdetectEngine:
    """langdetect's random-sampling detector with a fixed seed: each text is detected with the
    generator reset to ``seed``, so a result depends only on the text, never on order or batch.

    ``n_trial`` is the number of random sampling trials averaged per text (langdetect's default, 7);
    more trials make the answer on ambiguous texts depend less on the seed, at proportional cost.
    ``script`` refines CJK results by script evidence (off by default: the library as it is)."""

    def __init__(
        self, *, max_chars: int = 10_000, alpha: float = 0.5, seed: int = 0, n_trial: int = 7, script: bool = False
    ) -> None:
        if n_trial < 1:
            raise ValueError(f"n_trial must be at least 1, got {n_trial}")
        self.max_chars = max_chars
        self.alpha = alpha
        self.seed = seed
        self.n_trial = n_trial
        self.script = script
        self._factory = _factory()
        self.langs: tuple[str, ...] = tuple(self._factory.get_lang_list())
        if self.langs != language_codes():
            raise RuntimeError("langdetect loaded its profiles in an unexpected order")

    def detect_one(self, text: str) -> Detection:
        """Detect one text (``und`` when langdetect finds no feature in it)."""
        detector = self._factory.create(alpha=self.alpha)
        detector.seed = self.seed  # read by Detector._detect_block, which reseeds before every text
        detector.n_trial = self.n_trial  # read by Detector._detect_block
        detector.set_max_text_length(self.max_chars)
        detector.append(text)
        try:
            detector.get_probabilities()
        except LangDetectException:
            return UNDETERMINED
        probs = np.asarray(detector.langprob, dtype=np.float64)
        best = int(np.argmax(probs))
        return Detection(self.langs[best], float(probs[best]), probs)

    def detect(self, texts: list[str]) -> list[Detection]:
        dets = [self.detect_one(t) for t in texts]
        return refine_cjk(texts, dets, self.langs, self.max_chars) if self.script else dets
