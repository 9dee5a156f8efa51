"""Every pipeline shipped in pipelines/ validates: known stages, known parameters, valid values."""

from __future__ import annotations

from pathlib import Path

import pytest

from datacraft.pipeline.config import load_pipeline

PIPELINES = sorted((Path(__file__).resolve().parents[1] / "pipelines").glob("*.yaml"))


def test_there_are_pipelines() -> None:
    assert PIPELINES, "pipelines/*.yaml is empty"


@pytest.mark.parametrize("path", PIPELINES, ids=[p.name for p in PIPELINES])
def test_pipeline_validates(path: Path) -> None:
    config = load_pipeline(path)
    assert config.stages or config.dedup, f"{path.name} has neither stages nor a dedup section"
    assert config.output.path and config.input.paths
    labels = [s.label for s in config.stages]
    assert len(labels) == len(set(labels))
