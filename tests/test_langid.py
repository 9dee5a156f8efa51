"""Language identification: engines, the langid stage, determinism and output partitioning."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langdetect.detector_factory import DetectorFactory

from datacraft.document import Document
from datacraft.errors import ConfigError
from datacraft.langid import UND, language_codes, make_engine
from datacraft.langid.engines import DEFAULT_SAMPLE_CHARS
from datacraft.langid.fast import FastEngine
from datacraft.langid.profiles import profile_texts
from datacraft.langid.text import sample_windows
from datacraft.pipeline.config import build_config, validate_stage_params
from datacraft.pipeline.layout import OutputLayout
from datacraft.pipeline.ledger import ShardStats
from datacraft.pipeline.runner import run_pipeline
from datacraft.pipeline.task import ShardContext
from datacraft.stages.langid import LangId, LangIdParams

FIXTURES = Path(__file__).parent / "data" / "langid" / "udhr_scripts.jsonl"
SCRIPTS = [json.loads(line) for line in FIXTURES.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def fast() -> FastEngine:
    return FastEngine()


@pytest.fixture(scope="module")
def reference():
    return make_engine("langdetect")


@pytest.fixture(scope="module")
def factory() -> DetectorFactory:
    f = DetectorFactory()
    f.load_json_profile(list(profile_texts()))
    return f


def stage(**params) -> LangId:
    return LangId(LangIdParams(**params))


def run_stage(s: LangId, texts: list[str]) -> tuple[list[Document], ShardStats]:
    stats = ShardStats(shard=0, input="test")
    docs = [Document(str(i), t, {}) for i, t in enumerate(texts)]
    kept = s.process_batch(docs, ShardContext(stats, None))
    return kept, stats


# --- engines -------------------------------------------------------------------------------------


def test_profiles_are_the_55_langdetect_languages() -> None:
    codes = language_codes()
    assert len(codes) == 55 and list(codes) == sorted(codes)
    assert {"en", "zh-cn", "zh-tw", "hi", "ar", "ru"} <= set(codes)


@pytest.mark.parametrize("row", SCRIPTS, ids=[f"{r['script']}-{r['lang']}" for r in SCRIPTS])
def test_fast_engine_labels_every_script(fast: FastEngine, row: dict) -> None:
    det = fast.detect([row["text"]])[0]
    assert det.lang == row["lang"]
    assert det.score > 0.9


def test_reference_engine_labels_every_script(reference) -> None:
    got = [d.lang for d in reference.detect([r["text"] for r in SCRIPTS])]
    assert got == [r["lang"] for r in SCRIPTS]


def test_engines_agree_and_the_batch_does_not_change_a_result(fast: FastEngine, reference) -> None:
    texts = [r["text"] for r in SCRIPTS]
    together = fast.detect(texts)
    alone = [fast.detect([t])[0] for t in texts]
    reversed_batch = fast.detect(texts[::-1])[::-1]
    for a, b, c in zip(together, alone, reversed_batch, strict=True):
        assert (a.lang, a.score) == (b.lang, b.score) == (c.lang, c.score)
        assert (a.probs == b.probs).all()
    assert [d.lang for d in together] == [d.lang for d in reference.detect(texts)]


def test_reference_engine_is_seeded(reference) -> None:
    text = "Nihče ne sme biti samovoljno zaprt, pridržan ali izgnan."  # sl/hr: langdetect's draws vary
    first = reference.detect([text])[0]
    again = make_engine("langdetect").detect([text])[0]
    assert (first.lang, first.score) == (again.lang, again.score)
    other_seed = [make_engine("langdetect", seed=s).detect([text])[0].score for s in range(1, 6)]
    assert len({first.score, *other_seed}) > 1  # the seed really is what makes it reproducible


def test_probabilities_are_a_distribution(fast: FastEngine) -> None:
    det = fast.detect(["Der schnelle braune Fuchs springt über den faulen Hund."])[0]
    assert det.probs is not None and abs(det.probs.sum() - 1.0) < 1e-9
    top = det.topk(fast.langs, 3)
    assert top[0]["lang"] == det.lang == "de"
    assert top[0]["prob"] >= top[1]["prob"] >= top[2]["prob"]


def test_close_languages_get_an_honest_score(fast: FastEngine) -> None:
    # Slovene vs Croatian on one short sentence: langdetect itself is split, so must the score be.
    det = fast.detect(["Nihče ne sme biti samovoljno zaprt, pridržan ali izgnan."])[0]
    assert det.lang in ("sl", "hr") and 0.5 <= det.score < 0.9


def test_no_features_is_undetermined(fast: FastEngine, reference) -> None:
    texts = ["", "12345 678", "!!! ??? ...", "😀😀😀", "   \n\t  "]
    assert [d.lang for d in fast.detect(texts)] == [UND] * len(texts)
    assert [d.lang for d in reference.detect(texts)] == [UND] * len(texts)


_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ  0123456789.,;:!?'\"-@/#&"
    "éèàçüößñłąęžšćčřůőæøåÉÖÜŁ"  # Latin-1 and Latin Extended-A
    "șțȘȚ"  # Romanian comma-below (normalized to cedilla)
    "\u00a0\u00ab\u00bb\u00b0\u2019\u2013\u201c"  # excluded Latin-1 and General Punctuation
    "ЖжщЩёЁїЇ"
    "ابتثیيکك"
    "אבג"
    "αβγΩ"
    "नमस्ते"
    "ไทย"
    "aeiouyâêôăơưAEIOUY\u0300\u0301\u0303\u0309\u0323ạếỹ"  # Vietnamese, combining marks
    "人民自由國語的中文日本ひらがなカタカナㄅㄆ한국어"  # CJK, kana, bopomofo, Hangul
    "\U00010400\U00010428😀"  # astral: Deseret capital/small letters, emoji
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(alphabet=_ALPHABET, max_size=80)
    | st.builds(lambda a, b: f"{a} http://example.com/x?y=1 {b} me@example.org", st.text(_ALPHABET), st.text(_ALPHABET))
)
def test_fast_engine_extracts_exactly_langdetects_ngrams(fast: FastEngine, factory: DetectorFactory, text: str) -> None:
    detector = factory.create()
    detector.append(text)
    detector.cleaning_text()
    whole = FastEngine(sample_chars=0)  # shares the fixture's tables; never samples, whatever the text's length
    assert Counter(whole.ngrams(text)) == Counter(detector._extract_ngrams())


def test_truncation_limits_the_scored_text(fast: FastEngine) -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 3 + "Der schnelle braune Fuchs springt. " * 20
    short = FastEngine(max_chars=120)
    assert short.detect([text])[0].lang == "en"
    assert fast.detect([text])[0].lang == "de"
    assert len(short.ngrams(text)) < len(fast.ngrams(text))


def test_long_text_is_sampled_in_windows_from_start_to_end() -> None:
    words = [f"w{i:04d}" for i in range(600)]  # 3,000 characters, every word unique
    text = " ".join(words)
    assert sample_windows(text, 0) == text and sample_windows(text[:500], 600) == text[:500]
    sampled = sample_windows(text, 600, window=200)
    assert sampled == sample_windows(text, 600, window=200)  # deterministic
    pieces = sampled.split(" ")
    assert len(sampled) <= 600 + 2 and pieces[0] == "w0000" and "w0599" in pieces
    assert any(w in pieces for w in words[280:320])  # the middle too
    windows = [sampled[i : i + 200] for i in range(0, len(sampled), 201)]  # joined by one space
    assert len(windows) == 3 and all(w.split(" ")[0] in words for w in windows)  # each starts at a word


def test_sampling_keeps_the_language_and_bounds_the_ngrams(fast: FastEngine) -> None:
    text = " ".join([r["text"] for r in SCRIPTS if r["lang"] == "de"] * 16)
    whole = FastEngine(sample_chars=0)
    assert len(text) > 2_000
    assert fast.detect([text])[0].lang == whole.detect([text])[0].lang == "de"
    assert len(fast.ngrams(text)) < 3 * (fast.sample_chars + 10) < len(whole.ngrams(text))


def test_latin_rule_is_decided_on_the_whole_text_when_sampling(fast: FastEngine) -> None:
    zh = "人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心，并应以兄弟关系的精神相对待。" * 8
    en = "All human beings are born free and equal in dignity and rights. " * 30
    text = zh[:300] + en + zh[:300]  # the windows see mostly Chinese, the whole text is mostly English
    assert len(text) > 2 * fast.sample_chars
    assert any(ch.isascii() and ch.isalpha() for g in fast.ngrams(text) for ch in g)  # Latin kept, as langdetect


def test_latin_extended_additional_counts_as_non_latin_as_in_langdetect(
    fast: FastEngine, factory: DetectorFactory
) -> None:
    text = "ạếỹạếỹạếỹạếỹ ab cd"  # langdetect's exemption of U+1Exx never applies (block number vs name)
    detector = factory.create()
    detector.append(text)
    detector.cleaning_text()
    assert Counter(fast.ngrams(text)) == Counter(detector._extract_ngrams())
    assert "a" not in fast.ngrams(text)


def test_reference_engine_n_trial(reference) -> None:
    text = "Nihče ne sme biti samovoljno zaprt, pridržan ali izgnan."
    many = make_engine("langdetect", n_trial=21)
    assert many.detect([text])[0].lang in ("sl", "hr")
    assert many.detect([text])[0].score != reference.detect([text])[0].score
    with pytest.raises(ValueError, match="n_trial"):
        make_engine("langdetect", n_trial=0)


# --- stage ---------------------------------------------------------------------------------------

EN = "All human beings are born free and equal in dignity and rights."
DE = "Alle Menschen sind frei und gleich an Würde und Rechten geboren."
SHORT = "Hi there"  # 7 letters
NUMBERS = "1234 5678 90 -- 3.14159 // 2024-01-01"


def test_stage_writes_lang_and_score_and_counts_languages() -> None:
    kept, stats = run_stage(stage(), [EN, DE, SHORT, NUMBERS])
    assert [(d.meta["lang"], d.meta["lang_score"] > 0.9) for d in kept] == [("en", True), ("de", True)]
    assert stats.dropped == {"langid": {"lang_und": 2}}
    assert stats.counters["langid"] == {"lang=de": 1, "lang=en": 1, "lang=und": 2}


def test_min_letters_decides_und() -> None:
    kept, _ = run_stage(stage(min_letters=5, und="keep"), [SHORT, NUMBERS, "Straße"])
    assert [d.meta["lang"] for d in kept][1] == UND  # no letters at all
    assert kept[0].meta["lang"] != UND and kept[2].meta["lang"] != UND
    kept, _ = run_stage(stage(min_letters=20, und="keep"), [SHORT, EN])
    assert [d.meta["lang"] for d in kept] == [UND, "en"]
    assert kept[0].meta["lang_score"] == 0.0


def test_allowed_and_min_score_filter_with_reasons() -> None:
    sl = "Nihče ne sme biti samovoljno zaprt, pridržan ali izgnan."
    kept, stats = run_stage(stage(allowed=["en", "sl", "hr"], min_score=0.9), [EN, DE, sl, NUMBERS])
    assert [d.text for d in kept] == [EN]
    assert stats.dropped["langid"] == {"lang_not_allowed": 1, "lang_low_score": 1, "lang_und": 1}


def test_annotate_mode_keeps_everything_with_the_reason() -> None:
    kept, stats = run_stage(stage(mode="annotate", allowed=["de"], topk=2, column="pred"), [EN, DE, NUMBERS])
    assert len(kept) == 3 and not stats.dropped
    assert [d.meta["pred"] for d in kept] == ["en", "de", UND]
    assert [d.meta["langid_drop_reason"] for d in kept] == ["lang_not_allowed", None, "lang_und"]
    assert kept[1].meta["pred_topk"][0]["lang"] == "de" and len(kept[1].meta["pred_topk"]) == 2
    assert kept[2].meta["pred_topk"] == []


def test_reference_engine_through_the_stage() -> None:
    kept, _ = run_stage(stage(engine="langdetect", topk=1), [EN, DE])
    assert [d.meta["lang"] for d in kept] == ["en", "de"]
    assert kept[0].meta["lang_topk"][0]["lang"] == "en"
    s = stage(engine="langdetect", n_trial=3, seed=5)
    s.ensure_setup()
    assert (s._engine.n_trial, s._engine.seed) == (3, 5)


def test_sample_chars_reaches_the_fast_engine() -> None:
    s = stage(sample_chars=0)
    s.ensure_setup()
    assert s._engine.sample_chars == 0
    assert stage()._engine is None and LangIdParams().sample_chars == DEFAULT_SAMPLE_CHARS


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"allowed": ["zh"]}, "did you mean"),
        ({"allowed": ["en", "und"]}, "und: keep"),
        ({"allowed": []}, "keeps nothing"),
        ({"min_score": 1.5}, "min_score"),
        ({"engine": "cld3"}, "engine"),
        ({"n_trial": 0}, "n_trial"),
        ({"sample_chars": -1}, "sample_chars"),
    ],
)
def test_bad_parameters_are_config_errors(params: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_stage_params("langid", params, "stages[0].langid")


# --- pipeline: determinism across workers, partitioning ------------------------------------------


def _write_shards(root: Path, n: int = 3) -> Path:
    src = Path(__file__).resolve().parents[1] / "data" / "sample" / "udhr-55.jsonl.gz"
    with gzip.open(src, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh][::4]
    rows += [{"id": "digits", "text": NUMBERS}, {"id": "short", "text": SHORT}]
    inp = root / "in"
    inp.mkdir(parents=True)
    for k in range(n):
        with open(inp / f"shard-{k}.jsonl", "w", encoding="utf-8") as fh:
            for row in rows[k::n]:
                fh.write(json.dumps({"id": row["id"], "text": row["text"], "label": row.get("lang")}) + "\n")
    return inp


def _config(inp: Path, out: Path, workers: int, **output):
    return build_config(
        {
            "input": {"paths": [str(inp)]},
            "output": {"path": str(out), **output},
            "workers": workers,
            "batch_size": 16,
            "stages": [{"langid": {"allowed": [c for c in language_codes() if c != "ko"], "topk": 2}}],
        }
    )


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for sub in ("data", "rejected")
        for p in sorted((root / sub).rglob("*"))
        if p.is_file()
    }


def test_same_bytes_for_one_and_two_workers(tmp_path: Path) -> None:
    inp = _write_shards(tmp_path)
    outs = []
    for name, workers in (("a", 1), ("b", 2)):
        result = run_pipeline(_config(inp, tmp_path / name, workers))
        assert result.merged["ledger_balanced"]
        outs.append(_files(tmp_path / name))
    assert outs[0] == outs[1]
    assert len(outs[0]) >= 6  # data and rejected of three shards
    merged = json.loads((tmp_path / "a" / "stats.json").read_text())
    assert merged["dropped"]["langid"]["lang_und"] == 2


def test_partition_by_lang_writes_hive_folders(tmp_path: Path) -> None:
    inp = _write_shards(tmp_path)
    out = tmp_path / "out"
    run_pipeline(_config(inp, out, 1, partition_by="lang"))
    folders = sorted(p.name for p in (out / "data").iterdir())
    assert "lang=en" in folders and "lang=zh-cn" in folders and "lang=ko" not in folders
    files = sorted((out / "data" / "lang=en").iterdir())
    assert [f.name for f in files] == ["part-00000-0000.parquet", "part-00001-0000.parquet", "part-00002-0000.parquet"]
    # Hive folders, and the column inside the files too, typed as pyarrow's hive discovery types it
    assert pq.read_schema(files[0]).field("lang").type == pa.dictionary(pa.int32(), pa.string())
    assert set(pq.read_table(files[0]).column("lang").to_pylist()) == {"en"}
    table = pq.read_table(out / "data")  # read back as one dataset: folder names and files agree
    langs = table.column("lang").to_pylist()
    assert len(langs) == table.num_rows and set(langs) == {f.split("=")[1] for f in folders}
    labels = table.column("label").to_pylist()
    assert sum(a == b for a, b in zip(langs, labels, strict=True)) > 0.9 * len(langs)  # lang matches the label
    # A rerun of one shard first clears its files in every partition (clear_shard searches recursively).
    layout = OutputLayout(out)
    mine = layout.shard_files(1)
    assert any("lang=en" in str(p) for p in mine) and all(p.name.startswith("part-00001") for p in mine)
    layout.marker(1).unlink()
    again = run_pipeline(_config(inp, out, 1, partition_by="lang"))
    assert again.ran == 1
    assert pq.read_table(out / "data").num_rows == table.num_rows


def test_partition_value_is_escaped_and_nulls_have_a_folder(tmp_path: Path) -> None:
    import pyarrow as pa

    from datacraft.io.schema import build_schema
    from datacraft.io.writers import HIVE_NULL, PartitionedWriter, make_writer

    def make(where: Path):
        return make_writer(
            "jsonl",
            where,
            "part-00000",
            schema=build_schema([pa.field("src", pa.string())], extra=False),
            rows_per_file=10,
            bytes_per_file=10**6,
            row_group_rows=10,
            compression="none",
        )

    w = PartitionedWriter(tmp_path, "part-00000", "src", make)
    w.write([{"id": "1", "src": "a/b"}, {"id": "2", "src": None}, {"id": "3"}, {"id": "4", "src": "a/b"}])
    paths = w.commit()
    assert sorted(Path(p).parent.name for p in paths) == [f"src={HIVE_NULL}", "src=a%2Fb"]
    lines = (tmp_path / "src=a%2Fb" / "part-00000-0000.jsonl").read_text().splitlines()
    assert [json.loads(x) for x in lines] == [
        {"id": "1", "text": None, "src": "a/b"},
        {"id": "4", "text": None, "src": "a/b"},
    ]


@pytest.mark.parametrize("column", ["id", "text", "a/b", "x=y", ".hidden"])
def test_partition_by_rejects_unusable_columns(tmp_path: Path, column: str) -> None:
    with pytest.raises(ConfigError, match="partition_by"):
        _config(tmp_path, tmp_path / "out", 1, partition_by=column)
