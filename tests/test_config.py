"""Pipeline config: validation errors name the key; overrides are typed."""

from __future__ import annotations

from pathlib import Path

import pytest

from datacraft.errors import ConfigError
from datacraft.pipeline.config import apply_overrides, build_config, load_pipeline


def base(**extra: object) -> dict:
    raw = {"input": {"paths": ["in"]}, "output": {"path": "out"}, "stages": [{"normalize": {}}, "length"]}
    raw.update(extra)
    return raw


def test_valid_config_with_defaults_and_labels() -> None:
    cfg = build_config(base(stages=[{"length": {"min_words": 5}}, {"length": {"max_words": 9}}]))
    assert [(s.name, s.label) for s in cfg.stages] == [("length", "length"), ("length", "length_2")]
    assert cfg.workers == 1 and cfg.output.format == "parquet" and cfg.on_error == "quarantine"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (base(stages=[{"lenght": {}}]), "unknown stage 'lenght' (did you mean length?)"),
        (base(stages=[{"length": {"min_wordz": 3}}]), "stages[0].length.min_wordz: unknown key"),
        (base(stages=[{"length": {"min_words": "many"}}]), "stages[0].length.min_words: Input should be a valid int"),
        (base(stages=[{"length": {"min_words": -1}}]), "stages[0].length.min_words: Input should be greater than"),
        (base(stages=[{"normalize": {"form": "NFX"}}]), "stages[0].normalize.form: Input should be 'NFC'"),
        (base(workers=0), "workers: Input should be greater than or equal to 1"),
        (base(output={"path": "o", "format": "csv"}), "output.format: Input should be 'parquet'"),
        (base(input={"paths": ["x"], "colour": 1}), "input.colour: unknown key"),
        ({"output": {"path": "o"}}, "input: Field required"),
        (base(stages={"length": {}}), "stages: expected a list"),
    ],
)
def test_bad_configs_name_the_key(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_config(raw, "p.yaml")
    assert message in str(err.value)
    assert err.value.exit_code == 2


def test_overrides_set_stage_params_and_config_keys() -> None:
    raw = apply_overrides(base(), ["length.min_words=50", "workers=3", "output.format=jsonl", "normalize.form=NFKC"])
    cfg = build_config(raw)
    assert cfg.stages[1].params == {"min_words": 50}
    assert cfg.stages[0].params == {"form": "NFKC"}
    assert cfg.workers == 3 and cfg.output.format == "jsonl"
    with pytest.raises(ConfigError, match="no stage 'pii' in this pipeline"):
        apply_overrides(base(), ["pii.types=[email]"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        apply_overrides(base(), ["length.min_words"])


def test_yaml_errors_and_safe_load(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_pipeline(bad)
    evil = tmp_path / "evil.yaml"
    evil.write_text("input: !!python/object/apply:os.system ['echo hi']\noutput: {path: o}\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_pipeline(evil)
    with pytest.raises(ConfigError, match="cannot read pipeline"):
        load_pipeline(tmp_path / "missing.yaml")


def test_fingerprint_ignores_workers_and_paths_but_not_params() -> None:
    a = build_config(base())
    assert a.fingerprint() == build_config(base(workers=4, output={"path": "elsewhere"})).fingerprint()
    assert a.fingerprint() != build_config(base(stages=[{"length": {"min_words": 2}}])).fingerprint()
