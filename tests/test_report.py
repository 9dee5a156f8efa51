"""The HTML run report: built from a real tiny run, sections present, images valid, deterministic, bounded."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from report_fixtures import make_run, pipeline_raw

from datacraft.cli import main
from datacraft.errors import InputError
from datacraft.pipeline.config import build_config
from datacraft.pipeline.runner import run_pipeline
from datacraft.report.build import _sample_note, build_report, gather
from datacraft.report.sample import kept_columns, kept_extract, parquet_files, sample_parquet, word_counts

PIL = pytest.importorskip("PIL.Image")
SECTIONS = ("summary", "funnel", "drops", "lengths", "signals", "languages", "duplicates", "timing", "shards")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def report_html(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = build_report(run_dir, tmp_path_factory.mktemp("html") / "report.html")
    return path, path.read_text(encoding="utf-8")


def _images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_report_has_every_section_and_real_content(report_html: tuple[Path, str]) -> None:
    _, html = report_html
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in html
    assert "too_few_words" in html and "--reason too_few_words" in html
    assert "size_drop_reason" in html  # annotate-mode would-be drops
    assert "too_many_words" in html
    assert "length_words" in html  # a signal histogram
    assert "<td>fr</td>" in html and "<td>de</td>" in html  # languages table
    assert "clusters (est.)" in html  # duplicate clusters from dup_count
    assert "quarantined" in html and "Ledger balanced" in html
    assert "words kept (estimate)" in html
    assert "<script" not in html and "http://" not in html and "https://" not in html  # self-contained


def test_report_images_are_valid_pngs(report_html: tuple[Path, str]) -> None:
    images = _images(report_html[1])
    assert len(images) >= 9
    for data in images:
        with PIL.open(io.BytesIO(data)) as im:
            assert im.format == "PNG" and im.width > 200 and im.height > 100
            assert im.convert("L").getextrema()[0] < 200  # something is drawn, not a blank canvas


def test_report_cli_is_deterministic_and_atomic(run_dir: Path, tmp_path: Path, report_html: tuple[Path, str]) -> None:
    dest = tmp_path / "again.html"
    result = CliRunner().invoke(main, ["report", str(run_dir), "--out", str(dest), "-q"])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert dest.read_bytes() == report_html[0].read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["again.html"]  # no temporary file left behind


def test_report_default_destination(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy"
    shutil.copytree(run_dir, out)
    (out / "stats.json").unlink()  # an unfinished run: the per-shard stats are merged
    result = CliRunner().invoke(main, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert "report written to" in result.output
    html = (out / "report.html").read_text()
    assert "did not finish" in html and "too_few_words" in html


def test_report_of_a_non_run_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 1
    assert "stats.json" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["report", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "not a directory" in result.output


def test_sample_is_bounded_and_seeded(run_dir: Path) -> None:
    files = parquet_files(run_dir / "data")
    full = sample_parquet(files, max_rows=10_000, seed=0, columns_for=kept_columns, extract=kept_extract)
    assert full.complete and full.rows_total == 36 and full.weight == 1.0
    assert set(full.columns) >= {"_chars", "_words", "lang", "dup_count", "length_words"}
    assert "text" not in full.columns and "id" not in full.columns
    part = sample_parquet(files, max_rows=6, seed=3, columns_for=kept_columns, extract=kept_extract)
    again = sample_parquet(files, max_rows=6, seed=3, columns_for=kept_columns, extract=kept_extract)
    assert part.rows_sampled == 6 and part.rows_total == 36 and part.weight == 6.0
    assert list(part.columns["_chars"]) == list(again.columns["_chars"])


@pytest.mark.parametrize(
    "text", ["", "  ", "one", " a  b ", "tab\tsep\nline", "nbsp\u00a0word", "x\u3000y z", "\n\nend\n"]
)
def test_word_counts_match_str_split(text: str) -> None:
    assert word_counts(pa.array([text]))[0] == len(text.split())


def test_small_sample_is_scaled_and_said(run_dir: Path) -> None:
    inputs = gather(run_dir, sample_rows=5, seed=1)
    assert inputs.kept.rows_sampled == 5 and inputs.rejected.rows_sampled == 5
    assert inputs.rejected.rows_total == 12
    assert _sample_note(inputs.kept, "kept").startswith("a seeded sample of 5 of 36 kept rows")


def test_report_of_an_empty_run(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "empty.jsonl").write_text("")
    raw = pipeline_raw(src, tmp_path / "out")
    run_pipeline(build_config(raw, "test"))
    html = build_report(tmp_path / "out").read_text()
    assert "No stage dropped any document." in html and "No Parquet output to measure" in html
    assert "No `lang` column" in html and "dedup did not run" in html


def test_corrupt_parquet_is_named(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "corrupt"
    shutil.copytree(run_dir, out)
    bad = parquet_files(out / "data")[0]
    bad.write_bytes(b"not parquet")
    with pytest.raises(InputError, match=bad.name):
        build_report(out)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


CHECK_SCRIPT = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message)));
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.setAttribute('data-images', ok + '/' + imgs.length);
  document.body.setAttribute('data-errors', String(window.__errors.length));
});
</script></body>"""


def chromium_args(browser: str, user_dir: Path) -> list[str]:
    """Headless Chromium flags that keep it off the network."""
    return [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={user_dir}",
    ]


def test_report_renders_in_headless_chromium(report_html: tuple[Path, str], tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium installed (apt-get install chromium)")
    page = tmp_path / "checked.html"
    page.write_text(report_html[1].replace("</body>", CHECK_SCRIPT), encoding="utf-8")
    args = chromium_args(browser, tmp_path / "profile")
    dom = subprocess.run(
        [*args, "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    n = len(_images(report_html[1]))
    assert f'data-images="{n}/{n}"' in dom.stdout  # every embedded PNG decoded in the browser
    assert 'data-errors="0"' in dom.stdout
    assert "Uncaught" not in dom.stderr
    for anchor in SECTIONS:
        assert f'id="{anchor}"' in dom.stdout
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*args, "--window-size=1200,2400", "--hide-scrollbars", f"--screenshot={shot}", report_html[0].as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    with PIL.open(shot) as im:
        assert im.size == (1200, 2400)
        lo, hi = im.convert("L").getextrema()
        assert lo < 100 and hi > 200  # text and plots on a white page
