"""Start-up stays cheap: commands import only what they use (lazy stages, no pandas, no TensorFlow)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from importlib.metadata import distributions, entry_points
from pathlib import Path
from typing import Any

import click
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datacraft.cli import COMMANDS, SHORT_HELP, SUMMARIES, command_summary, main
from datacraft.entrypoints import PYDANTIC_DISABLE, declared_groups, may_declare
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
#: modules a command must not import unless it uses them (besides HEAVY): the dedup package (a run without a
#: dedup: section), the quality rules and the text segmentation (a run naming only `length`), tqdm (no bar is
#: drawn without a terminal), ctypes (only worker processes call prctl).
NOT_FOR_A_RUN = (
    "datacraft.dedup",
    "datacraft.text",
    "datacraft.stages.quality.gopher",
    "datacraft.stages.quality.c4",
    "datacraft.stages.quality.fineweb",
    "datacraft.stages.quality.blocklist",
    "tqdm",
)
#: Commands whose --help loads none of NOT_FOR_HELP either (their machinery is imported when they run).
LIGHT_HELP = ("stages", "inspect", "explain", "dedup")
NOT_FOR_HELP = ("pyarrow", "numpy", "pydantic", "yaml", "tqdm", "ctypes", "importlib.metadata", *HEAVY)
PROBE = """
import json, os, runpy, sys
out, sys.argv = sys.argv[1], ["datacraft", *sys.argv[2:]]
try:
    runpy.run_module("datacraft", run_name="__main__")
except SystemExit as e:
    code = e.code
else:
    code = 0
json.dump(
    {"code": code, "modules": sorted(sys.modules), "pydantic_plugins": os.environ.get("PYDANTIC_DISABLE_PLUGINS")},
    open(out, "w"),
)
"""


def probe(tmp_path: Path, *args: str) -> dict[str, Any]:
    """Run a datacraft command in a fresh interpreter (it must exit 0): the modules it imported and its environment."""
    out = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if k != PYDANTIC_DISABLE}
    subprocess.run([sys.executable, "-c", PROBE, str(out), *args], check=True, cwd=ROOT, capture_output=True, env=env)
    found = json.loads(out.read_text())
    assert found["code"] in (0, None), found["code"]
    return found


def imported_by(tmp_path: Path, *args: str) -> set[str]:
    """Top-level packages a datacraft command imports in a fresh interpreter (it must exit 0)."""
    return {m.split(".")[0] for m in probe(tmp_path, *args)["modules"]}


def loaded(modules: list[str], names: tuple[str, ...]) -> set[str]:
    """The ``names`` (packages or modules) that ``modules`` holds, themselves or below them."""
    return {n for n in names for m in modules if m == n or m.startswith(n + ".")}


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
    for help_args in (["--help"], ["run", "--help"], ["apply", "--help"], *([c, "--help"] for c in LIGHT_HELP)):
        assert not loaded(probe(tmp_path, *help_args)["modules"], NOT_FOR_HELP), help_args
    run = probe(tmp_path, "run", str(pipe), "-q")
    assert not loaded(run["modules"], (*HEAVY, *NOT_FOR_A_RUN))
    # pydantic's plugin scan is skipped exactly when no installed distribution declares a pydantic plugin
    has_plugins = any(True for _ in entry_points(group="pydantic"))
    assert run["pydantic_plugins"] == (None if has_plugins else "__all__")
    langid = probe(tmp_path, "apply", "langid", "-i", str(src), "-o", str(tmp_path / "out2"), "-q")["modules"]
    assert not loaded(langid, (*HEAVY, *NOT_FOR_A_RUN)) - {"scipy"}  # the langid engine uses scipy.sparse


def test_declared_groups_cover_every_group_importlib_metadata_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups = declared_groups()
    assert groups is not None and {ep.group for d in distributions() for ep in d.entry_points} <= groups
    assert not may_declare("datacraft.no-such-group")
    site = tmp_path / "site"
    (site / "Some_Plugin-1.0.dist-info").mkdir(parents=True)
    (site / "Some_Plugin-1.0.dist-info" / "entry_points.txt").write_text("[ datacraft.no-such-group ]\nx = y\n")
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    assert may_declare("datacraft.no-such-group")  # a changed sys.path is scanned again
    zipped = tmp_path / "lib.zip"
    zipped.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip archive: only importlib.metadata looks inside
    monkeypatch.setattr(sys, "path", [*sys.path, str(zipped)])
    assert declared_groups() is None and may_declare("datacraft.other-group")


def test_an_installed_pydantic_plugin_still_runs(tmp_path: Path) -> None:
    site = tmp_path / "site"
    dist = site / "marker_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: marker-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[pydantic]\nmarker = marker_plugin:plugin\n")
    marker = tmp_path / "validators.txt"
    (site / "marker_plugin.py").write_text(
        "class Plugin:\n"
        "    def new_schema_validator(self, schema, schema_type, *args):\n"
        f"        open({str(marker)!r}, 'a').write(schema_type.__name__ + '\\n')\n"
        "        return None, None, None\n"
        "plugin = Plugin()\n"
    )
    code = (
        "import os\n"
        "from datacraft.entrypoints import skip_pydantic_plugin_scan\n"
        "skip_pydantic_plugin_scan()\n"
        f"assert {PYDANTIC_DISABLE!r} not in os.environ\n"
        "from datacraft.pipeline.config import InputConfig\n"
    )
    env = {k: v for k, v in os.environ.items() if k != PYDANTIC_DISABLE} | {"PYTHONPATH": str(site)}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env, capture_output=True)
    assert "InputConfig" in marker.read_text().split()


def test_a_bar_is_drawn_only_where_bars_are_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    import datacraft.progress as progress

    quiet = progress.RunProgress(2, enabled=True)
    quiet.update_docs(3)
    quiet.close()
    assert isinstance(quiet.bar, progress._NoBar) and quiet.docs == 3
    monkeypatch.setattr(progress, "bars_enabled", lambda: True)
    shown = progress.RunProgress(2, enabled=True)
    shown.update_docs(5)
    shown.shard_done()
    assert type(shown.bar).__name__ == "tqdm" and shown.bar.n == 5
    shown.close()


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


def test_inspect_shows_the_explainers_default_diff_lines() -> None:
    from datacraft.cli.inspect import DEFAULT_DIFF_LINES
    from datacraft.report.explain import MAX_DIFF_LINES

    assert DEFAULT_DIFF_LINES == MAX_DIFF_LINES
