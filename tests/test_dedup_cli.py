"""``datacraft dedup``: options, config files and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from datacraft.cli import main


def _input(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir(parents=True)
    rows = [{"id": f"d{i}", "text": f"text number {i % 3} of the sample corpus"} for i in range(6)]
    (d / "a.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return d


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_dedup_runs_and_reports(tmp_path: Path) -> None:
    code, out = invoke("dedup", str(_input(tmp_path)), str(tmp_path / "out"), "--mode", "exact")
    assert code == 0, out
    assert "exact_dup" in out and "clusters    3 holding 6 documents; 3 removed" in out
    stats = json.loads((tmp_path / "out/stats.json").read_text())
    assert stats["totals"]["kept"] == 3 and stats["dedup"]["mode"] == "exact"
    code, out = invoke("dedup", str(_input(tmp_path / "x")), str(tmp_path / "out"), "--mode", "near", "-q")
    assert code == 2 and "--force" in out  # other settings in the same output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give at least one input"),
        (["only-one"], "give at least one input"),
        (["IN", "OUT", "--bands", "4"], "--bands and --rows together"),
        (["IN", "OUT", "--bands", "20", "--rows", "8"], "exceeds num_perm"),
        (["IN", "OUT", "--threshold", "1.5"], "--threshold"),
        (["IN", "OUT", "--preset", "fast"], "--preset"),
        (["IN", "OUT", "--keep", "signal"], "signal_column"),
        (["IN", "OUT", "--mode", "fuzzy"], "--mode"),
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    args = [str(_input(tmp_path)) if a == "IN" else str(tmp_path / "out") if a == "OUT" else a for a in args]
    code, out = invoke("dedup", *args)
    assert code == 2, out
    assert message in out
    assert "Traceback" not in out


def test_missing_input_exits_1(tmp_path: Path) -> None:
    code, out = invoke("dedup", str(tmp_path / "nope"), str(tmp_path / "out"))
    assert code == 1 and "input not found" in out


def test_config_file_and_overrides(tmp_path: Path) -> None:
    cfg = tmp_path / "d.yaml"
    cfg.write_text(
        f"input: {{paths: [{_input(tmp_path)}]}}\noutput: {{path: {tmp_path / 'out'}}}\n"
        "dedup: {preset: high-recall, mode: exact}\n"
    )
    code, out = invoke("dedup", "--config", str(cfg), "-q")
    assert code == 0, out
    stats = json.loads((tmp_path / "out/stats.json").read_text())
    assert stats["dedup"]["mode"] == "exact" and stats["totals"]["dropped"] == 3
    code, out = invoke("dedup", "--config", str(cfg), str(_input(tmp_path / "b")), str(tmp_path / "out2"), "-q")
    assert code == 0, out and (tmp_path / "out2/stats.json").is_file()
    cfg.write_text(f"input: {{paths: [x]}}\noutput: {{path: {tmp_path / 'o'}}}\ndedup: {{thresold: 0.5}}\n")
    code, out = invoke("dedup", "--config", str(cfg))
    assert code == 2 and "dedup.thresold: unknown key" in out
    cfg.write_text(f"input: {{paths: [x]}}\noutput: {{path: {tmp_path / 'o'}}}\ndedup: {{preset: nope}}\n")
    code, out = invoke("dedup", "--config", str(cfg))
    assert code == 2 and "unknown preset" in out


def test_bundled_dedup_pipeline_is_valid() -> None:
    from datacraft.dedup.config import build_dedup_config
    from datacraft.pipeline.config import load_yaml

    config = build_dedup_config(load_yaml(Path(__file__).resolve().parents[1] / "pipelines/dedup.yaml"))
    assert config.dedup.lsh() == (14, 8) and config.output.path == "out/demo-dedup"


def test_pipeline_dedup_section_runs_after_the_stages(tmp_path: Path) -> None:
    cfg = tmp_path / "p.yaml"
    cfg.write_text(
        f"input: {{paths: [{_input(tmp_path)}]}}\noutput: {{path: {tmp_path / 'cur'}}}\n"
        "stages: [normalize]\ndedup: {mode: exact, keep: longest}\n"
    )
    code, out = invoke("run", str(cfg), "-q")
    assert code == 0, out
    assert json.loads((tmp_path / "cur/stats.json").read_text())["totals"]["kept"] == 6
    stats = json.loads((tmp_path / "cur-dedup/stats.json").read_text())
    assert stats["totals"]["kept"] == 3 and stats["dedup"]["keep"] == "longest"
    code, out = invoke("run", str(cfg), "--dry-run")
    assert code == 0 and "then dedup" in out
    code, out = invoke("run", str(cfg), "--set", "dedup.thresold=0.5", "--dry-run")
    assert code == 2 and "dedup.thresold: unknown key" in out


def test_bundled_curate_dedup_pipeline_is_valid() -> None:
    from datacraft.dedup.config import dedup_from_pipeline
    from datacraft.pipeline.config import load_pipeline

    config = load_pipeline(Path(__file__).resolve().parents[1] / "pipelines/curate-dedup.yaml")
    assert dedup_from_pipeline(config).output.path == "out/curate-dedup"
