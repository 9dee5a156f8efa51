"""User stages without forking: entry points of an installed package, and a pipeline's plugins: list."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import REPO, datacraft, write_pipeline
from helpers import make_corpus, read_parquet_rows

EXAMPLE = REPO / "docs" / "examples" / "datacraft-keywords"
PLUGIN = Path(__file__).parent / "plugins" / "timing_stages.py"


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The example plugin package of docs/plugins.md, pip-installed (no network) into a folder on PYTHONPATH."""
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build") / "pkg"
    subprocess.run(["cp", "-r", str(EXAMPLE), str(build)], check=True)  # keep build/ out of the checkout
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(build),
        ],
        check=True,
        capture_output=True,
    )
    return {"PYTHONPATH": os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


def test_installed_package_stages_are_listed_and_run_with_two_workers(
    installed_example: dict[str, str], tmp_path: Path
) -> None:
    r = datacraft("stages", "--json", env=installed_example)
    assert r.returncode == 0, r.stderr
    by_name = {d["name"]: d for d in json.loads(r.stdout)}
    assert by_name["keyword_filter"]["origin"].startswith("entry point 'keywords'")
    assert {p["name"] for p in by_name["keyword_filter"]["params"]} == {"mode", "words", "min_hits", "when"}
    assert "word_count" in by_name and by_name["clean"]["origin"] == "built-in"

    make_corpus(tmp_path / "in", shards=3, docs=30)
    out = tmp_path / "out"
    pipe = write_pipeline(
        tmp_path / "p.yaml", tmp_path / "in", out, "  - word_count\n  - keyword_filter: {words: [w5, w7], min_hits: 2}"
    )
    r = datacraft("run", str(pipe), "--workers", "2", env=installed_example)
    assert r.returncode == 0, r.stderr
    rows = read_parquet_rows(out / "data")
    stats = json.loads((out / "stats.json").read_text())
    assert rows and all(r["n_words"] == len(r["text"].split()) for r in rows)
    assert stats["dropped"]["keyword_filter"]["too_few_keywords"] == 90 - len(rows)
    assert any((out / "logs").glob("shard-*.log"))  # the stage's setup() logged in each worker


def test_plugin_params_are_validated_like_builtins(installed_example: dict[str, str], tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=1, docs=5)
    pipe = write_pipeline(tmp_path / "p.yaml", tmp_path / "in", tmp_path / "out", "  - keyword_filter: {min_hit: 2}")
    r = datacraft("run", str(pipe), env=installed_example)
    assert r.returncode == 2
    assert "keyword_filter.min_hit: unknown key (did you mean min_hits?)" in r.stderr
    assert "keyword_filter.words: Field required" in r.stderr


def test_plugins_file_beside_the_pipeline_runs_in_two_workers(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=3, docs=20)
    (tmp_path / "timing_stages.py").write_text(PLUGIN.read_text())
    out = tmp_path / "out"
    write_pipeline(
        tmp_path / "p.yaml", tmp_path / "in", out, "  - spin: {rounds: 3}", extra="plugins: [timing_stages.py]\n"
    )
    r = datacraft("run", "p.yaml", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(read_parquet_rows(out / "data")) == 60
    r = datacraft("stages", "spin", "--plugin", str(tmp_path / "timing_stages.py"))
    assert r.returncode == 0 and "(from plugin" in r.stdout and "rounds" in r.stdout


def test_broken_plugins_are_clear_errors_naming_them(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=1, docs=5)
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom at import')\n")
    for plugin, expected in (
        ("broken.py", "plugins: '" + str(tmp_path / "broken.py") + "' failed to import: RuntimeError: boom at import"),
        ("no_such_module_xyz", "plugins: cannot import 'no_such_module_xyz'"),
        ("missing.py", "no such file"),
    ):
        pipe = write_pipeline(
            tmp_path / "p.yaml", tmp_path / "in", tmp_path / "out", "  - clean", extra=f"plugins: [{plugin}]\n"
        )
        r = datacraft("run", str(pipe))
        assert r.returncode == 2, (plugin, r.stderr)
        assert expected in r.stderr and "Traceback" not in r.stderr


def test_broken_entry_point_names_its_package(tmp_path: Path) -> None:
    site = tmp_path / "site"
    dist = site / "broken_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[datacraft.stages]\nbad = broken_plugin_mod\n")
    (site / "broken_plugin_mod.py").write_text("import not_installed_anywhere\n")
    r = datacraft("stages", env={"PYTHONPATH": str(site)})
    assert r.returncode == 2
    assert "entry point 'bad' = broken_plugin_mod of package broken-plugin failed to import" in r.stderr


def test_stage_defined_in_the_running_script_is_refused_with_workers(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=2, docs=5)
    script = tmp_path / "script.py"
    script.write_text(
        "from datacraft.stages.base import Mapper\n"
        "from datacraft.stages.registry import register\n"
        "from datacraft.pipeline.config import build_config\n"
        "from datacraft.pipeline.runner import run_pipeline\n"
        "from datacraft.errors import ConfigError\n"
        "@register('upper')\n"
        "class Upper(Mapper):\n"
        "    def map(self, doc, ctx):\n"
        "        doc.text = doc.text.upper()\n"
        "        return doc\n"
        f"cfg = build_config({{'input': {{'paths': ['{tmp_path / 'in'}']}}, 'output': {{'path': '{tmp_path / 'o'}'}},"
        " 'stages': ['upper'], 'workers': 2})\n"
        "try:\n"
        "    run_pipeline(cfg)\n"
        "except ConfigError as e:\n"
        "    print('refused:', e)\n"
    )
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert "refused: stage 'upper' is defined in the script being run" in r.stdout, r.stderr
    assert "worker process died" not in r.stdout + r.stderr
