"""The run-level dataset contract: no overlap, fingerprints of contents, placement, lock, errors, budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from datacraft.cli import main
from datacraft.cli.errors import DatacraftGroup
from datacraft.io.lock import lock_path, output_lock
from tests.helpers import make_corpus, write_jsonl

REPO = Path(__file__).resolve().parents[1]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write_pipeline(path: Path, inp: Path, out: Path, stages: list | None = None, **extra: object) -> Path:
    raw: dict = {
        "name": "contract",
        "input": {"paths": [str(inp)]},
        "output": {"path": str(out)},
        "stages": stages if stages is not None else [{"normalize": {}}, {"length": {"min_words": 10}}],
    }
    raw.update(extra)
    path.write_text(yaml.safe_dump(raw))
    return path


# 1. inputs and outputs never overlap ------------------------------------------------------------------


def test_apply_output_inside_input_is_refused(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=1, docs=10)
    result = invoke("apply", "length", "-i", str(tmp_path / "in"), "-o", str(tmp_path / "in" / "out"))
    assert result.exit_code == 2, result.output
    assert "inside the input" in result.stderr
    assert not (tmp_path / "in" / "out").exists()


def test_run_refuses_output_in_input_and_input_in_output(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=1, docs=10)
    p = write_pipeline(tmp_path / "p.yaml", tmp_path / "in", tmp_path / "in" / "sub" / "out")
    assert invoke("run", str(p)).exit_code == 2
    make_corpus(tmp_path / "o2" / "in", shards=1, docs=10)
    p = write_pipeline(tmp_path / "q.yaml", tmp_path / "o2" / "in", tmp_path / "o2")
    result = invoke("run", str(p))
    assert result.exit_code == 2 and "inside the output" in result.stderr


def test_dedup_and_mix_refuse_overlap(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=1, docs=10)
    result = invoke("dedup", str(tmp_path / "in"), str(tmp_path / "in" / "dd"))
    assert result.exit_code == 2 and "inside the input" in result.stderr
    result = invoke("mix", "-s", f"a={tmp_path / 'in'}:1", "-o", str(tmp_path / "in" / "mix"))
    assert result.exit_code == 2 and "inside the input" in result.stderr
    assert not (tmp_path / "in" / "mix").exists()


def test_dedup_of_an_all_dropped_run_reads_no_rejected_documents(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=2, docs=20)
    out = tmp_path / "out"
    p = write_pipeline(
        tmp_path / "p.yaml",
        tmp_path / "in",
        out,
        stages=[{"length": {"min_words": 100000}}],
        dedup={"mode": "exact"},
    )
    result = invoke("run", str(p))
    assert result.exit_code == 0, result.output
    stats = json.loads((tmp_path / "out-dedup" / "stats.json").read_text())
    assert stats["totals"]["docs_in"] == 0 and stats["totals"]["quarantined"] == 0
    assert not [f for f in (tmp_path / "out-dedup" / "data").rglob("*") if f.is_file()]
    assert invoke("verify", str(tmp_path / "out-dedup")).exit_code == 0


# 2. fingerprints of contents ---------------------------------------------------------------------------


def test_changed_block_list_is_refused_then_forced(tmp_path: Path) -> None:
    inp = tmp_path / "in"
    write_jsonl(inp / "a.jsonl", [{"id": str(i), "text": f"hello world number {i} banana"} for i in range(20)])
    words = tmp_path / "words.txt"
    words.write_text("cherry\n")
    p = write_pipeline(tmp_path / "p.yaml", inp, tmp_path / "out", stages=[{"blocklist": {"word_lists": [str(words)]}}])
    assert invoke("run", str(p), "--quiet").exit_code == 0
    assert pq.read_table(tmp_path / "out" / "data").num_rows == 20
    words.write_text("banana\n")
    result = invoke("run", str(p), "--quiet")
    assert result.exit_code == 2 and str(words) in result.stderr, result.stderr
    assert invoke("run", str(p), "--quiet", "--force").exit_code == 0
    assert pq.read_table(tmp_path / "out" / "data").num_rows == 0


def test_same_config_different_input_is_refused(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=2, docs=10)
    p = write_pipeline(tmp_path / "p.yaml", tmp_path / "in", tmp_path / "out")
    assert invoke("run", str(p), "--quiet").exit_code == 0
    make_corpus(tmp_path / "other", shards=1, docs=10)
    result = invoke("run", str(p), "--quiet", "-i", str(tmp_path / "other"))
    assert result.exit_code == 2 and "input files" in result.stderr
    assert invoke("run", str(p), "--quiet", "-i", str(tmp_path / "other"), "--force").exit_code == 0


def test_new_datacraft_version_does_not_trust_old_markers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datacraft.pipeline import fingerprint

    make_corpus(tmp_path / "in", shards=2, docs=10)
    p = write_pipeline(tmp_path / "p.yaml", tmp_path / "in", tmp_path / "out")
    assert invoke("run", str(p), "--quiet").exit_code == 0
    monkeypatch.setattr(fingerprint, "__version__", "99.0")
    result = invoke("run", str(p), "--quiet")
    assert result.exit_code == 2 and "datacraft version" in result.stderr
    forced = invoke("run", str(p), "--force")
    assert forced.exit_code == 0 and "2 run, 0 already complete" in forced.stderr


# 3. output placement -----------------------------------------------------------------------------------


def test_output_option_moves_the_dedup_output(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=2, docs=20)
    p = write_pipeline(
        tmp_path / "p.yaml",
        tmp_path / "in",
        tmp_path / "out",
        dedup={"mode": "exact", "output": str(tmp_path / "fixed-dedup")},
    )
    result = invoke("run", str(p), "--quiet", "-o", str(tmp_path / "x"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "x-dedup" / "stats.json").is_file() and not (tmp_path / "fixed-dedup").exists()


def test_dedup_refuses_to_replace_another_runs_output(tmp_path: Path) -> None:
    make_corpus(tmp_path / "a", shards=1, docs=10)
    make_corpus(tmp_path / "b", shards=2, docs=10)
    assert invoke("dedup", str(tmp_path / "a"), str(tmp_path / "dd"), "--quiet").exit_code == 0
    result = invoke("dedup", str(tmp_path / "b"), str(tmp_path / "dd"), "--quiet")
    assert result.exit_code == 2 and "--force" in result.stderr
    assert invoke("dedup", str(tmp_path / "b"), str(tmp_path / "dd"), "--quiet", "--force").exit_code == 0


# 4. the output lock ------------------------------------------------------------------------------------


def test_second_writer_gets_exit_2_naming_the_holder(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=1, docs=10)
    p = write_pipeline(tmp_path / "p.yaml", tmp_path / "in", tmp_path / "out")
    with output_lock(tmp_path / "out", command="datacraft run other.yaml"):
        result = invoke("run", str(p), "--force")
        assert result.exit_code == 2
        assert f"pid {os.getpid()}" in result.stderr and "datacraft run other.yaml" in result.stderr
        assert invoke("apply", "length", "-i", str(tmp_path / "in"), "-o", str(tmp_path / "out")).exit_code == 2
        assert invoke("dedup", str(tmp_path / "in"), str(tmp_path / "out")).exit_code == 2
        assert invoke("mix", "-s", f"a={tmp_path / 'in'}:1", "-o", str(tmp_path / "out")).exit_code == 2
    assert invoke("run", str(p), "--quiet").exit_code == 0
    assert not lock_path(tmp_path / "out").exists()


def test_lock_of_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = f"from datacraft.io.lock import output_lock\nwith output_lock({str(out)!r}):\n"
    code += "    print('held', flush=True)\n    import time; time.sleep(60)\n"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    with pytest.raises(Exception, match=f"pid {proc.pid}"), output_lock(out):
        pass
    proc.kill()
    proc.wait()
    assert json.loads(lock_path(out).read_text())["pid"] == proc.pid  # the dead holder's file is still there
    with output_lock(out):
        assert json.loads(lock_path(out).read_text())["pid"] == os.getpid()


# 6. errors, not tracebacks -----------------------------------------------------------------------------


def test_output_naming_a_file_and_config_type_errors_exit_2(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=1, docs=10)
    (tmp_path / "afile").write_text("x")
    result = invoke("apply", "length", "-i", str(tmp_path / "in"), "-o", str(tmp_path / "afile"))
    assert result.exit_code == 2 and "existing file" in result.stderr
    result = invoke("apply", "length", "-i", str(tmp_path / "in"), "-o", str(tmp_path / "afile" / "sub"))
    assert result.exit_code == 2 and "is a file" in result.stderr
    p = write_pipeline(tmp_path / "p.yaml", tmp_path / "in", tmp_path / "out", dedup={"preset": [1]})
    result = invoke("run", str(p))
    assert result.exit_code == 2 and "dedup.preset" in result.stderr
    p = write_pipeline(tmp_path / "q.yaml", tmp_path / "in", tmp_path / "out", stages=[{"length": {"label": [1]}}])
    result = invoke("run", str(p))
    assert result.exit_code == 2 and "stages[0].length.label" in result.stderr


def test_no_space_left_is_one_line_exit_1() -> None:
    @click.group(cls=DatacraftGroup)
    def cli() -> None:
        pass

    @cli.command()
    def fill() -> None:
        with open("/dev/full", "wb") as fh:
            fh.write(b"x" * 10)
            fh.flush()

    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    result = CliRunner().invoke(cli, ["fill"], catch_exceptions=False)
    assert result.exit_code == 1 and "no space left on device" in result.output
    assert "Traceback" not in result.output


# 7. quarantine budget ----------------------------------------------------------------------------------


def test_all_quarantined_run_fails_and_says_why(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=2, docs=10)
    result = invoke("apply", "length", "-i", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--text-field", "x")
    assert result.exit_code == 1, result.output
    assert "20 of 20" in result.stderr and "missing text field 'x'" in result.stderr
    assert "line 1" in result.stderr  # an example position
    assert "quarantined by error kind" in result.stderr  # the summary lists reasons too


def test_quarantine_under_budget_is_listed_in_the_summary(tmp_path: Path) -> None:
    rows = [{"id": str(i), "text": f"word {i} " * 12} for i in range(30)]
    write_jsonl(tmp_path / "in" / "a.jsonl", [], raw_lines=[json.dumps(r).encode() for r in rows] + [b"{oops"])
    args = ["apply", "length", "-i", str(tmp_path / "in"), "-o", str(tmp_path / "out")]
    assert invoke(*args).exit_code == 1  # 1 of 31 > 1%
    result = invoke(*args, "--set", "max_quarantine_fraction=0.05")
    assert result.exit_code == 0, result.output
    assert "quarantined by error kind" in result.stderr and "a.jsonl, line 31" in result.stderr


# 8. bookkeeping without tree walks per task ------------------------------------------------------------


def _count_walks(monkeypatch: pytest.MonkeyPatch, out: Path) -> list[str]:
    calls: list[str] = []
    real_scandir, real_rglob, real_walk = os.scandir, Path.rglob, os.walk

    def scandir(path: object = ".") -> object:
        if str(out) in str(path):
            calls.append(str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    def rglob(self: Path, pattern: str) -> object:
        if str(out) in str(self):
            calls.append(str(self))
        return real_rglob(self, pattern)

    def walk(top: object, *a: object, **k: object) -> object:
        if str(out) in str(top):
            calls.append(str(top))
        return real_walk(top, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(Path, "rglob", rglob)
    monkeypatch.setattr(os, "walk", walk)
    return calls


@pytest.mark.parametrize("shards", [2, 8])
def test_output_tree_is_walked_a_fixed_number_of_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shards: int):
    from datacraft.pipeline.config import build_config
    from datacraft.pipeline.runner import run_pipeline

    make_corpus(tmp_path / "in", shards=shards, docs=10)
    out = tmp_path / "out"
    config = build_config(
        {"input": {"paths": [str(tmp_path / "in")]}, "output": {"path": str(out)}, "stages": ["normalize"]}
    )
    run_pipeline(config)
    for m in (out / "_done").iterdir():  # force every shard to be redone: a resume after a crash
        m.unlink()
    calls = _count_walks(monkeypatch, out)
    run_pipeline(config)
    folders_per_walk = 5 + 1  # the dataset folders (and nothing per shard)
    assert len(calls) <= 2 * folders_per_walk, calls


# 9. verify -----------------------------------------------------------------------------------------------


def test_verify_accepts_a_run_and_finds_tampering(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=3, docs=30)
    out = tmp_path / "out"
    p = write_pipeline(tmp_path / "p.yaml", tmp_path / "in", out, dedup={"mode": "both"})
    assert invoke("run", str(p), "--quiet").exit_code == 0
    ok = invoke("verify", str(out))
    assert ok.exit_code == 0 and "ok" in ok.stdout, ok.output
    assert invoke("verify", str(tmp_path / "out-dedup")).exit_code == 0
    data = sorted((out / "data").glob("*.parquet"))
    raw = bytearray(data[0].read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data[0].write_bytes(bytes(raw))
    (out / "data" / "extra.parquet").write_bytes(b"x")
    (out / "_done" / "part-00002.json").unlink()
    bad = invoke("verify", str(out))
    assert bad.exit_code == 1
    assert "checksum differs" in bad.stderr and "extra.parquet: foreign file" in bad.stderr
    assert "shard 2" in bad.stderr and "no completion marker" in bad.stderr


def test_verify_finds_schema_and_ledger_problems(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=2, docs=30)
    out = tmp_path / "out"
    p = write_pipeline(tmp_path / "p.yaml", tmp_path / "in", out)
    assert invoke("run", str(p), "--quiet").exit_code == 0
    f = sorted((out / "data").glob("*.parquet"))[1]
    table = pq.read_table(f).drop_columns(["src"])
    pq.write_table(table, f)
    marker_path = out / "_done" / "part-00001.json"
    marker = json.loads(marker_path.read_text())
    from datacraft.io.files import file_checksum

    rel = str(f.relative_to(out))
    marker["outputs"][rel] = f.stat().st_size
    marker["checksums"][rel] = file_checksum(f)
    marker_path.write_text(json.dumps(marker))
    stats_path = out / "stats" / "part-00000.json"
    stats = json.loads(stats_path.read_text())
    stats["kept"] += 1
    stats_path.write_text(json.dumps(stats))
    bad = invoke("verify", str(out))
    assert bad.exit_code == 1
    assert "more than one schema" in bad.stderr and "ledger does not balance" in bad.stderr, bad.stderr


def test_verify_of_a_folder_that_is_no_output(tmp_path: Path) -> None:
    assert invoke("verify", str(tmp_path)).exit_code == 1


@pytest.mark.parametrize(
    ("err", "code", "words"),
    [
        (PermissionError(13, "Permission denied", "/data/x"), 1, "permission denied: /data/x"),
        (IsADirectoryError(21, "Is a directory", "/out/d"), 2, "/out/d is a directory"),
        (NotADirectoryError(20, "Not a directory", "/out/f/x"), 2, "a part of this path is a file"),
        (OSError(28, "No space left on device", "/out/.part"), 1, "no space left on device writing /out/.part"),
    ],
)
def test_os_errors_map_to_one_line_and_an_exit_code(err: OSError, code: int, words: str) -> None:
    from datacraft.cli.errors import os_error_message

    message, exit_code = os_error_message(err)
    assert exit_code == code and words in message and "\n" not in message
