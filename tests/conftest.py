"""Shared fixtures: paths to bundled sample data and to the optional ../shared/data corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def sample_dir() -> Path:
    """The bundled sample corpus (always present in a clone)."""
    return SAMPLE


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests using it skip cleanly where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA
