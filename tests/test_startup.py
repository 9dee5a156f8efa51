"""Start-up stays cheap: commands import only what they use (lazy stages, no pandas, no TensorFlow)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import click
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datacraft.cli import COMMANDS, SHORT_HELP, SUMMARIES, command_summary, main
from datacraft.io.arrays import to_arrow
from datacraft.stages import BUILTIN
from datacraft.stages.registry import all_stages

ROOT = Path(__file__).resolve().parents[1]
HEAVY = (
    "pandas",
    "tensorflow",
    "keras",
    "trafilatura",
    "datasketch",
    "ftfy",
    "phonenumbers",
    "scipy",
    "sklearn",
    "warcio",
)
PROBE = """
import json, runpy, sys
out, sys.argv = sys.argv[1], ["datacraft", *sys.argv[2:]]
try:
    runpy.run_module("datacraft", run_name="__main__")
except SystemExit as e:
    code = e.code
else:
    code = 0
json.dump({"code": code, "modules": sorted(sys.modules)}, open(out, "w"))
"""


def imported_by(tmp_path: Path, *args: str) -> set[str]:
    """Top-level packages a datacraft command imports in a fresh interpreter (it must exit 0)."""
    out = tmp_path / "modules.json"
    subprocess.run([sys.executable, "-c", PROBE, str(out), *args], check=True, cwd=ROOT, capture_output=True)
    found = json.loads(out.read_text())
    assert found["code"] in (0, None), found["code"]
    return {m.split(".")[0] for m in found["modules"]}


def test_every_builtin_stage_is_in_the_lazy_table() -> None:
    registered = set()
    for path in (ROOT / "datacraft" / "stages").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            call = isinstance(node, ast.Call) and getattr(node.func, "id", None) == "register"
            if call and node.args and isinstance(node.args[0], ast.Constant):  # type: ignore[attr-defined]
                registered.add(node.args[0].value)
    assert registered == set(BUILTIN)
    stages = all_stages()
    for name, module in BUILTIN.items():
        assert stages[name].__module__ == module


def test_help_lists_commands_from_summaries_exactly_as_the_commands_would() -> None:
    assert set(SUMMARIES) == set(COMMANDS)
    ctx = click.Context(main)
    for name in COMMANDS:
        real = main.get_command(ctx, name)
        assert real is not None
        assert (name in SHORT_HELP) == bool(real.short_help)
        for limit in (20, 40, 61, 81, 120):
            assert command_summary(name).get_short_help_str(limit) == real.get_short_help_str(limit)


def test_help_run_and_apply_import_nothing_heavy(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "Hello world, a short English text."}\n', encoding="utf-8")
    pipe = tmp_path / "tiny.yaml"
    out = tmp_path / "out"
    pipe.write_text(f"name: tiny\ninput: {{paths: [{src}]}}\noutput: {{path: {out}}}\nstages:\n  - length: {{}}\n")
    assert not imported_by(tmp_path, "--help") & {"pyarrow", "numpy", "pydantic", *HEAVY}
    assert not imported_by(tmp_path, "run", str(pipe), "-q") & set(HEAVY)
    langid = imported_by(tmp_path, "apply", "langid", "-i", str(src), "-o", str(tmp_path / "out2"), "-q")
    assert not langid & (set(HEAVY) - {"scipy"})  # the langid engine uses scipy.sparse


@pytest.mark.parametrize(
    ("values", "t"),
    [
        (["a", "ü€😀", "", None, "x" * 100], pa.string()),
        ([None, None], pa.string()),
        (["é" * 700_000, "x", None], pa.string()),
        ([], pa.string()),
        ([1.5, None, float("nan"), -0.0, float("inf")], pa.float64()),
        ([1, None, -(1 << 63), (1 << 63) - 1], pa.int64()),
        ([True, None, False, True] * 5, pa.bool_()),
        (["\ud800"], pa.string()),  # a lone surrogate: pyarrow's own path (and its error)
        ([[1, 2], None], pa.list_(pa.int64())),
    ],
)
def test_to_arrow_equals_pa_array_and_writes_the_same_parquet(values: list, t: pa.DataType, tmp_path: Path) -> None:
    try:
        expected = pa.array(values, type=t)
    except (pa.ArrowException, UnicodeEncodeError) as e:
        with pytest.raises(type(e)):
            to_arrow(values, t)
        return
    got = to_arrow(values, t)
    assert got.type == expected.type and got.null_count == expected.null_count
    assert got.to_pylist() == expected.to_pylist() or str(got) == str(expected)  # nan != nan
    for name, arr in (("a", got), ("b", expected)):
        pq.write_table(pa.table({"c": arr}), tmp_path / f"{name}.parquet", compression="zstd")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_non_ascii_text_past_the_budget_goes_to_pyarrow(monkeypatch: pytest.MonkeyPatch) -> None:
    import datacraft.io.arrays as arrays

    values = ["é" * 10, None, "ok"]
    monkeypatch.setattr(arrays, "_non_ascii_done", arrays.NON_ASCII_BUDGET + 1)
    assert arrays.to_arrow(values, pa.string()).equals(pa.array(values, type=pa.string()))
