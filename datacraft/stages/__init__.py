"""Built-in stages, imported lazily: a stage's module is imported when its name is first looked up.

:data:`BUILTIN` maps every built-in stage name to the module that registers it (``datacraft stages``
imports them all; a run imports only the stages it names, which keeps start-up cheap).
"""

BUILTIN: dict[str, str] = {
    "blocklist": "datacraft.stages.quality.blocklist",
    "c4": "datacraft.stages.quality.c4",
    "clean": "datacraft.stages.clean",
    "fineweb_quality": "datacraft.stages.quality.fineweb",
    "gopher_quality": "datacraft.stages.quality.gopher",
    "gopher_repetition": "datacraft.stages.quality.gopher",
    "html_to_text": "datacraft.stages.html",
    "langid": "datacraft.stages.langid",
    "length": "datacraft.stages.length",
    "model_quality": "datacraft.stages.model_quality",
    "normalize": "datacraft.stages.normalize",
    "pii": "datacraft.stages.pii",
    "reflow": "datacraft.stages.reflow",
    "split": "datacraft.stages.split",
    "threshold": "datacraft.stages.threshold",
}
