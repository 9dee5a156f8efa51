"""Inputs read over HTTP(S) through fsspec, from a real HTTP server on 127.0.0.1; URLs are read-only."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from datacraft.cli import main
from tests.helpers import make_corpus, tree_digest

pytest.importorskip("aiohttp", reason="http(s):// inputs need aiohttp (the cloud extra)")


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    make_corpus(root, shards=2, docs=60)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()


def test_pipeline_reads_http_inputs_like_local_files(http_root: tuple[str, Path], tmp_path: Path) -> None:
    url, root = http_root
    runner = CliRunner()
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(
        "input: {paths: [x]}\noutput: {path: x}\nstages:\n  - normalize: {}\n  - length: {min_words: 10}\n"
    )
    files = sorted(p.name for p in root.iterdir())
    local = runner.invoke(
        main,
        ["run", str(pipeline), *[a for f in files for a in ("-i", str(root / f))], "-o", str(tmp_path / "a"), "-q"],
    )
    assert local.exit_code == 0, local.output
    remote = runner.invoke(
        main, ["run", str(pipeline), *[a for f in files for a in ("-i", f"{url}/{f}")], "-o", str(tmp_path / "b"), "-q"]
    )
    assert remote.exit_code == 0, remote.output
    assert tree_digest(tmp_path / "b") == tree_digest(tmp_path / "a") != {}


def test_http_output_is_refused_with_exit_2(http_root: tuple[str, Path], tmp_path: Path) -> None:
    url, root = http_root
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"input: {{paths: ['{root}']}}\noutput: {{path: '{url}/out'}}\nstages: []\n")
    res = CliRunner().invoke(main, ["run", str(pipeline), "-q"])
    assert res.exit_code == 2 and "read-only" in res.output, res.output
    assert not (tmp_path / "http:").exists()
