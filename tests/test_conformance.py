"""Conformance: every pipelines/*.yaml, run on small inputs, writes datasets that pyarrow.dataset, pandas,
DuckDB (read_parquet without union_by_name), polars (scan_parquet on a glob) and Hugging Face datasets
load with the same row count and the same columns, partition columns included."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import IO, Any

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import yaml
import zstandard
from click.testing import CliRunner

from datacraft.cli import main
from tests.helpers import write_jsonl

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = sorted(p.name for p in (ROOT / "pipelines").glob("*.yaml"))
#: Records kept from each input file (whole books are few and long).
HEAD = {"gutenberg-books-raw.jsonl.gz": 2, "udhr-55.jsonl.gz": 110}
DEFAULT_HEAD = 40
#: Pipelines whose input is another pipeline's output (run that one first).
NEEDS = {"dedup.yaml": "demo.yaml", "quality-threshold.yaml": "quality-annotate.yaml"}
SKIP = {"model-quality.yaml": "needs a trained classifier (out/quality-model); covered by tests/test_train.py"}

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
duckdb = pytest.importorskip("duckdb")
datasets = pytest.importorskip("datasets")


def _open_text(path: Path) -> IO[str]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    if path.name.endswith(".zst"):
        return io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(path.open("rb")), encoding="utf-8")
    return path.open(encoding="utf-8")


def _read_records(path: Path, n: int) -> list[dict[str, Any]]:
    with _open_text(path) as fh:
        out = []
        for line in fh:
            out.append(json.loads(line))
            if len(out) >= n:
                break
    return out


def _small_copy(src: Path, dst_dir: Path) -> Path:
    """The first few records of a JSONL input (same name and compression); other files as they are.

    Written once: pipelines share inputs, and a rewritten input is a changed input for the next run.
    """
    if (dst_dir / src.name).exists():
        return dst_dir / src.name
    if ".jsonl" not in src.name:
        dst_dir.mkdir(parents=True, exist_ok=True)
        (dst_dir / src.name).write_bytes(src.read_bytes())
        return dst_dir / src.name
    return write_jsonl(dst_dir / src.name, _read_records(src, HEAD.get(src.name, DEFAULT_HEAD)))


def _small_inputs(paths: list[str], work: Path, outputs: dict[str, Path]) -> list[str]:
    out = []
    for p in paths:
        src = (ROOT / p).resolve()
        for original, done in outputs.items():
            if p == original or p.startswith(original + "/"):
                out.append(str(done) + p[len(original) :])
                break
        else:
            if not src.exists():
                pytest.skip(f"input {p} is not here (../shared/data is optional)")
            if src.is_dir():
                dst = work / "in" / src.name
                out.append(str(dst))
                for f in sorted(src.iterdir()):
                    if f.is_file() and (".jsonl" in f.name or ".warc" in f.name):
                        _small_copy(f, dst)
            else:
                out.append(str(_small_copy(src, work / "in" / f"{len(out)}")))
    return out


_RUNS: dict[tuple[Path, str], list[Path]] = {}


def _run(name: str, work: Path, outputs: dict[str, Path]) -> list[Path]:
    """Run pipeline ``name`` on small inputs under ``work`` (once); return the dataset folders it wrote."""
    if (work, name) in _RUNS:  # e.g. demo.yaml, already run as the input of dedup.yaml
        return _RUNS[(work, name)]
    if name in NEEDS:
        _run(NEEDS[name], work, outputs)
    raw = yaml.safe_load((ROOT / "pipelines" / name).read_text())
    stem = name.removesuffix(".yaml")
    raw["input"]["paths"] = _small_inputs(raw["input"]["paths"], work, outputs)
    original_out = raw["output"]["path"]
    raw["output"]["path"] = str(work / stem)
    raw["workers"] = 1
    written = [work / stem]
    is_dedup_config = "stages" not in raw and "dedup" in raw
    if isinstance(raw.get("dedup"), dict) and not is_dedup_config:
        raw["dedup"]["output"] = str(work / f"{stem}-dedup")
        written.append(work / f"{stem}-dedup")
    outputs[original_out] = work / stem
    cfg = work / f"{stem}.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    args = ["dedup", "--config", str(cfg)] if is_dedup_config else ["run", str(cfg)]
    result = CliRunner().invoke(main, [*args, "--quiet"])
    assert result.exit_code == 0, result.output
    _RUNS[(work, name)] = written
    return written


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    return tmp_path_factory.mktemp("conformance"), {}


def _load_all(folder: Path, cache: Path) -> dict[str, tuple[int, set[str]]]:
    """(rows, columns) of one dataset folder, by reader."""
    files = sorted(str(p) for p in folder.rglob("*.parquet") if not p.name.startswith("."))
    glob = str(folder / "**" / "*.parquet")
    found: dict[str, tuple[int, set[str]]] = {}
    t = ds.dataset(str(folder)).to_table()
    found["pyarrow.dataset"] = (t.num_rows, set(t.column_names))
    hive = ds.dataset(str(folder), partitioning=ds.HivePartitioning.discover(infer_dictionary=True)).to_table()
    found["pyarrow.dataset hive"] = (hive.num_rows, set(hive.column_names))
    t = pq.read_table(str(folder))
    found["pyarrow.parquet.read_table"] = (t.num_rows, set(t.column_names))
    df = pd.read_parquet(str(folder))
    found["pandas"] = (len(df), set(df.columns))
    rel = duckdb.sql(f"SELECT * FROM read_parquet('{glob}')")
    found["duckdb"] = (len(rel.fetchall()), set(rel.columns))
    lf = pl.scan_parquet(glob).collect()
    found["polars"] = (lf.height, set(lf.columns))
    hf = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(cache))
    found["datasets"] = (hf.num_rows, set(hf.column_names))
    return found


@pytest.mark.parametrize("name", PIPELINES)
def test_every_reader_loads_every_dataset_alike(
    name: str, workdir: tuple[Path, dict[str, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    if name in SKIP:
        pytest.skip(SKIP[name])
    monkeypatch.chdir(ROOT)  # pipelines name side files (block lists) relative to the project
    datasets.disable_progress_bars()
    work, outputs = workdir
    checked = 0
    for out in _run(name, work, outputs):
        stats = json.loads((out / "stats.json").read_text())["totals"]
        partition = (yaml.safe_load((ROOT / "pipelines" / name).read_text()).get("output") or {}).get("partition_by")
        for sub, expected in (("data", stats["kept"]), ("rejected", stats["dropped"])):
            folder = out / sub
            if not any(folder.rglob("*.parquet")):
                assert expected == 0 or sub == "rejected", f"{folder}: no files for {expected} rows"
                continue
            schema = pq.read_schema(next(folder.rglob("*.parquet")))
            found = _load_all(folder, work / "hf-cache")
            for reader, (rows, columns) in found.items():
                assert rows == expected, f"{name} {sub}: {reader} read {rows} rows, stats say {expected}"
                assert columns == set(schema.names), f"{name} {sub}: {reader} columns {columns ^ set(schema.names)}"
            if sub == "data" and partition:
                assert partition in schema.names
            checked += 1
        # The dataset card: load_dataset(OUT) reads data/ (default config) and rejected/, never stats files.
        if stats["kept"]:
            hf = datasets.load_dataset(str(out), split="train", cache_dir=str(work / "hf-cache"))
            assert hf.num_rows == stats["kept"], f"{name}: load_dataset({out}) read {hf.num_rows} rows"
        if stats["kept"] and any((out / "rejected").rglob("*.parquet")):  # datasets needs the default's files
            hf = datasets.load_dataset(str(out), "rejected", split="train", cache_dir=str(work / "hf-cache"))
            assert hf.num_rows == stats["dropped"], f"{name}: load_dataset({out}, 'rejected') read {hf.num_rows}"
        verified = CliRunner().invoke(main, ["verify", str(out)])
        assert verified.exit_code == 0, verified.output
    assert checked, f"{name}: no dataset to check"
