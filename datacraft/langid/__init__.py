"""Language identification over langdetect's 55 language profiles.

Two engines share the profiles and the result type: :class:`FastEngine`, a deterministic
vectorized naive-Bayes scorer over all 1–3-gram features, and :class:`LangdetectEngine`, the
langdetect library itself (seeded), kept as the reference.
"""

from datacraft.langid.engines import Detection, Engine
from datacraft.langid.factory import make_engine
from datacraft.langid.profiles import UND, language_codes

__all__ = ["UND", "Detection", "Engine", "language_codes", "make_engine"]
