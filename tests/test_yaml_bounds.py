"""YAML bounds: an alias bomb or an oversized config is a config error (exit 2), normal anchors still work."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from datacraft.cli import main
from datacraft.errors import ConfigError
from datacraft.pipeline.config import load_pipeline, load_yaml, parse_value
from datacraft.pipeline.yamlsafe import MAX_BYTES


def _bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_by_load_yaml(tmp_path: Path) -> None:
    p = tmp_path / "bomb.yaml"
    p.write_text(_bomb())
    with pytest.raises(ConfigError, match="alias bomb"):
        load_yaml(p)


def test_alias_bomb_exits_2_from_the_cli(tmp_path: Path) -> None:
    p = tmp_path / "bomb.yaml"
    p.write_text("name: x\ninput: {paths: [in]}\noutput: {path: out}\n" + _bomb())
    result = CliRunner().invoke(main, ["run", str(p)])
    assert result.exit_code == 2, result.output
    assert "alias bomb" in result.output
    assert "Traceback" not in result.output


def test_alias_bomb_in_set_value_is_refused() -> None:
    with pytest.raises(ConfigError, match="alias"):
        parse_value(_bomb().replace("\n", ", ").join("{}"))


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "rec.yaml"
    p.write_text("a: &a [1, *a]\n")
    with pytest.raises(ConfigError, match="itself"):
        load_yaml(p)


def test_oversized_yaml_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "big.yaml"
    p.write_text("a: " + "x" * (MAX_BYTES + 10) + "\n")
    with pytest.raises(ConfigError, match="bytes a config may have"):
        load_yaml(p)


def test_normal_anchors_and_merge_keys_still_work(tmp_path: Path) -> None:
    p = tmp_path / "ok.yaml"
    p.write_text(
        "defaults: &d {min_words: 3}\n"
        "name: anchored\n"
        "input: {paths: [in]}\n"
        "output: &o {path: out}\n"
        "stages:\n"
        "  - length: {<<: *d, max_words: 100}\n"
    )
    raw = load_yaml(p)
    assert raw["stages"][0]["length"] == {"min_words": 3, "max_words": 100}
    q = tmp_path / "pipe.yaml"
    q.write_text(
        "name: anchored\ninput: {paths: [in]}\noutput: {path: out}\n"
        "stages:\n  - length: &len {min_words: 3}\n  - length: *len\n"
    )
    config = load_pipeline(q)
    assert [s.params for s in config.stages] == [{"min_words": 3}, {"min_words": 3}]


def test_alias_bomb_in_a_train_config_or_search_space_is_refused(tmp_path: Path) -> None:
    from datacraft.train.config import load_train_config
    from datacraft.train.tune import load_space

    p = tmp_path / "bomb.yaml"
    p.write_text(_bomb())
    with pytest.raises(ConfigError, match="alias bomb"):
        load_train_config(p)
    with pytest.raises(ConfigError, match="alias bomb"):
        load_space(p)
