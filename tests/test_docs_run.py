"""Docs that run: every ```bash runnable block of README.md and docs/*.md, in order, on a clean copy."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MARKER = "bash runnable"
BLOCK = re.compile(r"^```" + re.escape(MARKER) + r"[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def runnable_blocks(path: Path) -> list[str]:
    """The shell blocks of a Markdown file marked ```bash runnable, in order."""
    return [m.group(1) for m in BLOCK.finditer(path.read_text(encoding="utf-8"))]


def doc_files(root: Path) -> list[Path]:
    """README.md first, then docs/*.md by name."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def clean_copy(dest: Path) -> Path:
    """The checkout's tracked and untracked-but-not-ignored files (mtimes kept, so make sees nothing stale)."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        src = REPO / name.decode()
        if src.is_file():
            (dest / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name.decode())
    return dest


def test_marker_finds_blocks() -> None:
    text = "x\n```bash runnable\necho one\n```\n```bash\nnot me\n```\n```bash runnable\necho two\n```\n"
    p = Path(__file__).parent / "_docs_marker_probe.md"
    try:
        p.write_text(text)
        assert runnable_blocks(p) == ["echo one\n", "echo two\n"]
    finally:
        p.unlink()
    assert runnable_blocks(REPO / "README.md"), "README.md has no runnable blocks"


@pytest.mark.slow
def test_runnable_docs_pass_in_order(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout")
    copy = clean_copy(tmp_path / "checkout")
    venv_bin = Path(sys.executable).parent
    site = tmp_path / "site"  # plugin packages the docs install go here, not into the test venv
    env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "VENV": str(venv_bin.parent),  # make targets use the test venv instead of creating .venv
        "PIP_TARGET": str(site),
        "PYTHONPATH": str(site),
        "DATACRAFT_PROGRESS_INTERVAL": "60",
    }
    ran = 0
    for doc in doc_files(copy):
        for i, block in enumerate(runnable_blocks(doc), 1):
            r = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", block], cwd=copy, env=env, capture_output=True, text=True
            )
            where = f"{doc.relative_to(copy)} runnable block {i}"
            assert r.returncode == 0, f"{where} failed ({r.returncode}):\n{block}\n--- stderr:\n{r.stderr[-4000:]}"
            ran += 1
    assert ran >= 5
