"""The command line: exit codes (0 ok, 1 runtime, 2 usage/config) and messages, via CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from datacraft.cli import main
from tests.helpers import make_corpus, write_jsonl


def pipeline(tmp_path: Path, name: str = "p", **extra: object) -> Path:
    raw = {
        "input": {"paths": [str(tmp_path / "in")]},
        "output": {"path": str(tmp_path / "out")},
        "stages": [{"normalize": {}}, {"length": {"min_words": 10}}],
    }
    raw.update(extra)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_run_ok_prints_summary_and_rerun_skips(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=2, docs=20)
    result = invoke("run", str(pipeline(tmp_path)))
    assert result.exit_code == 0
    assert "ledger      balanced" in result.stderr and "2 run, 0 already complete" in result.stderr
    assert "too_few_words" in result.stderr
    again = invoke("run", str(pipeline(tmp_path)))
    assert "0 run, 2 already complete" in again.stderr
    quiet = invoke("run", str(pipeline(tmp_path)), "--quiet")  # -q: the one-line summary only
    assert quiet.exit_code == 0 and len(quiet.stderr.splitlines()) == 1 and "kept 34" in quiet.stderr
    silent = invoke("run", str(pipeline(tmp_path)), "-qq")
    assert silent.exit_code == 0 and silent.stderr == ""


def test_run_overrides_and_dry_run(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=2, docs=5)
    result = invoke("run", str(pipeline(tmp_path)), "--dry-run", "--set", "length.min_words=3", "-w", "2")
    assert result.exit_code == 0
    assert "2 shards; 2 to run" in result.stdout and "length(min_words=3)" in result.stdout
    assert "workers 2" in result.stdout and not (tmp_path / "out").exists()
    other = tmp_path / "other"
    result = invoke("run", str(pipeline(tmp_path)), "-i", str(tmp_path / "in" / "shard-00.jsonl.gz"), "-o", str(other))
    assert result.exit_code == 0 and len(list((other / "_done").iterdir())) == 1


def test_config_errors_exit_2_with_the_key(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=1, docs=5)
    cases = [
        (pipeline(tmp_path, "a", stages=[{"nope": {}}]), "unknown stage 'nope'"),
        (pipeline(tmp_path, "b", stages=[{"length": {"min_wrds": 1}}]), "stages[0].length.min_wrds: unknown key"),
        (pipeline(tmp_path, "c", stages=[{"length": {"min_words": "x"}}]), "stages[0].length.min_words"),
    ]
    for path, message in cases:
        result = invoke("run", str(path))
        assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr
    result = invoke("run", str(pipeline(tmp_path)), "--set", "lenght.min_words=1")
    assert result.exit_code == 2 and "no stage 'lenght'" in result.stderr
    result = invoke("run", str(tmp_path / "missing.yaml"))
    assert result.exit_code == 2
    result = invoke("run", str(pipeline(tmp_path)), "--workers", "0")
    assert result.exit_code == 2


def test_runtime_errors_exit_1(tmp_path: Path) -> None:
    result = invoke("run", str(pipeline(tmp_path)))
    assert result.exit_code == 1 and "input not found" in result.stderr
    write_jsonl(tmp_path / "in" / "a.jsonl", [], raw_lines=[b'{"text": "fine words here"}', b"{oops"])
    result = invoke("run", str(pipeline(tmp_path)), "--on-error", "fail")
    assert result.exit_code == 1 and "a.jsonl, line 2: invalid JSON" in result.stderr
    result = invoke("run", str(pipeline(tmp_path)), "--set", "max_quarantine_fraction=0.5")
    assert result.exit_code == 0 and "quarantined 1" in result.stderr


def test_output_conflict_exit_2(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=1, docs=5)
    assert invoke("run", str(pipeline(tmp_path))).exit_code == 0
    result = invoke("run", str(pipeline(tmp_path)), "--set", "length.min_words=2")
    assert result.exit_code == 2 and "--force" in result.stderr
    assert invoke("run", str(pipeline(tmp_path)), "--set", "length.min_words=2", "--force").exit_code == 0


def test_apply_as_unix_filter(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "a", "text": "one  two   three\r\nfour"}),
        json.dumps({"id": "b", "text": "short"}),
        "{bad json",
    ]
    args = ("apply", "normalize,length", "-i", "-", "-o", "-", "--set", "length.min_words=3")
    result = invoke(*args, "--set", "max_quarantine_fraction=0.5", input="\n".join(lines) + "\n")
    assert result.exit_code == 0
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert out == [{"id": "a", "text": "one two three\nfour"}]
    assert "quarantined:" in result.stderr and "too_few_words" in result.stderr
    over = invoke(*args, input="\n".join(lines) + "\n")  # 1 of 3 records bad: over the default budget of 1%
    assert over.exit_code == 1 and "max_quarantine_fraction=0.01" in over.stderr
    assert [json.loads(x) for x in over.stdout.splitlines()] == out  # the good ones were still streamed
    fail = invoke("apply", "normalize", "-i", "-", "-o", "-", "--on-error", "fail", input="{bad\n")
    assert fail.exit_code == 1 and "stdin, line 1: invalid JSON" in fail.stderr
    assert invoke("apply", "normalize,bogus", "-i", "-", "-o", "-", input="").exit_code == 2


def test_apply_on_files_writes_an_output_dir(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=2, docs=10)
    result = invoke(
        "apply",
        "length",
        "-i",
        str(tmp_path / "in"),
        "-o",
        str(tmp_path / "o"),
        "--format",
        "jsonl",
        "--set",
        "length.min_words=5",
        "-q",
    )
    assert result.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "o" / "data").iterdir()) == [
        "part-00000-0000.jsonl",
        "part-00001-0000.jsonl",
    ]


def test_stages_lists_parameters(tmp_path: Path) -> None:
    result = invoke("stages")
    assert result.exit_code == 0 and "length" in result.stdout and "min_words" in result.stdout
    data = json.loads(invoke("stages", "--json").stdout)
    length = next(d for d in data if d["name"] == "length")
    assert {
        "name": "min_words",
        "type": "int | None",
        "default": None,
        "required": False,
        "description": "fewest whitespace-separated words",
    } in length["params"]
    assert invoke("stages", "nope").exit_code == 2


def test_version_and_help() -> None:
    assert invoke("--version").exit_code == 0
    result = invoke("--help")
    assert result.exit_code == 0 and "run" in result.stdout and "apply" in result.stdout
