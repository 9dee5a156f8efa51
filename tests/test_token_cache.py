"""The flat token cache and the LM windows streamed from it (issue 16: streaming with flat memory).

Real Parquet, real tokenizers; no TensorFlow except where a test trains (none here).
"""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datacraft.train import data as D
from datacraft.train import tokfile
from datacraft.train.config import build_train_config
from datacraft.train.identity import data_identity
from datacraft.train.loop import data_cache_key, prepare_data
from datacraft.train.tokfile import TokenFile
from datacraft.train.windows import lm_batches, window_order

WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "wizards", "judge"]
RAW = {"data": {"seq_len": 8, "val_fraction": 0.2}, "tokenizer": {"vocab_size": 120, "min_frequency": 1}}


def _docs(folder: Path, n: int, salt: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(salt))
    rows = [{"id": f"d{i}", "text": " ".join(rng.choice(WORDS, 20)) + salt} for i in range(n)]
    pq.write_table(pa.Table.from_pylist(rows), folder / "p.parquet")
    return folder


def _prepare(data: Path, out: Path, manifest: dict | None = None) -> tuple:
    cfg = build_train_config(RAW)
    files = D.parquet_files(data)
    out.mkdir(parents=True, exist_ok=True)
    return prepare_data(files, cfg, out, manifest, data_identity(files))


def test_token_file_holds_the_parquet_stream(tmp_path: Path) -> None:
    tok, _, info = _prepare(_docs(tmp_path / "data", 30), tmp_path / "m")
    cache = tmp_path / "m/cache"
    for split in ("train", "val"):
        want = [t for _, ids, _ in D.iter_cache(cache / f"{split}.parquet") for t in [*ids, tok.eos_id]]
        tf = TokenFile.open(cache, split)
        assert tf.dtype == np.dtype("<u2") and tf.tokens == len(want) == info["tokens_with_eos"][split]
        with tf.reader() as rd:
            assert rd.read(0, tf.tokens).tolist() == want
        # the flat windows are exactly the Parquet-packed windows
        flat = [np.concatenate([x, y[:, -1:]], 1) for x, y in lm_batches(tf, 8, 1, drop_remainder=False)]
        packed = D.lm_windows(cache / f"{split}.parquet", 8, tok.eos_id)
        assert [w.tolist() for w in np.concatenate(flat)] == [w.tolist() for w in packed]
    assert tokfile.token_dtype(70_000) == np.dtype("<u4")


def test_cache_reused_when_unchanged_rebuilt_when_data_or_tokenizer_change(tmp_path: Path) -> None:
    data = _docs(tmp_path / "data", 30)
    out = tmp_path / "m"
    _, labels, info = _prepare(data, out)
    train = out / "cache/train.tokens"
    stamp = train.stat().st_mtime_ns, train.stat().st_ino
    manifest = {"data": info, "labels": labels}
    _, _, again = _prepare(data, out, manifest)
    assert again == info and (train.stat().st_mtime_ns, train.stat().st_ino) == stamp  # reused, not rebuilt

    other = _docs(tmp_path / "data2", 30, salt=" zebra")  # other data: other key, rebuilt
    _, _, info2 = _prepare(other, out, manifest)
    assert info2["cache_key"] != info["cache_key"]
    assert tokfile.read_meta(out / "cache")["key"] == info2["cache_key"]
    assert (train.stat().st_mtime_ns, train.stat().st_ino) != stamp

    # a changed tokenizer file changes the key: the cache is not trusted
    cfg = build_train_config(RAW)
    files = D.parquet_files(other)
    key = data_cache_key(cfg, data_identity(files), out / "tokenizer.json", labels)
    assert tokfile.cache_valid(out / "cache", key)
    (out / "tokenizer.json").write_text((out / "tokenizer.json").read_text().replace('"[EOS]"', '"[EOS] "', 1))
    new_key = data_cache_key(cfg, data_identity(files), out / "tokenizer.json", labels)
    assert new_key != key and not tokfile.cache_valid(out / "cache", new_key)
    # a truncated token file is not trusted either
    (out / "cache/val.tokens").write_bytes((out / "cache/val.tokens").read_bytes()[:-2])
    assert not tokfile.cache_valid(out / "cache", key)


def test_killed_cache_build_is_never_reused(tmp_path: Path) -> None:
    data = _docs(tmp_path / "data", 30)
    out = tmp_path / "m"
    _, labels, info = _prepare(data, out)
    cache = out / "cache"
    key = info["cache_key"]
    assert tokfile.cache_valid(cache, key)
    # a rebuild that dies half-way (second file unreadable after the first was encoded)
    (data / "q.parquet").write_bytes(b"PAR1 not really parquet PAR1")
    cfg = build_train_config(RAW)
    tok = __import__("datacraft.train.tokenizer", fromlist=["TextTokenizer"]).TextTokenizer.load(out / "tokenizer.json")
    with pytest.raises(Exception):  # noqa: B017 - whatever pyarrow raises for the broken file
        D.encode_to_cache([str(data / "p.parquet"), str(data / "q.parquet")], cfg, tok, None, cache, key=key)
    assert not tokfile.cache_valid(cache, key), "meta.json is removed before a rebuild starts"
    assert not [p.name for p in cache.iterdir() if p.name.endswith(".tmp")], "no temporary files left"
    # the next prepare rebuilds (the broken file removed) and the cache is valid again
    (data / "q.parquet").unlink()
    _, _, again = _prepare(data, out, {"data": info, "labels": labels})
    assert again["cache_key"] == key and tokfile.cache_valid(cache, key)


def test_window_order_is_seeded_complete_and_resumable(tmp_path: Path) -> None:
    n = 1000
    a = np.concatenate(list(window_order(n, 5, 2, 64)))
    assert sorted(a.tolist()) == list(range(n))  # every window once per epoch
    assert np.array_equal(a, np.concatenate(list(window_order(n, 5, 2, 64))))  # same seed, same order
    assert not np.array_equal(a, np.concatenate(list(window_order(n, 5, 3, 64))))  # epochs differ
    assert not np.array_equal(a, np.concatenate(list(window_order(n, 6, 2, 64))))  # seeds differ
    assert np.array_equal(np.concatenate(list(window_order(n, 5, None, 64))), np.arange(n))
    # batches from `start` on equal the tail of the whole epoch (how a resumed run skips)
    rng = np.random.default_rng(1)
    np.asarray(rng.integers(3, 500, 8 * 1000 + 1), dtype="<u2").tofile(tmp_path / "t.tokens")
    tf = TokenFile(tmp_path / "t.tokens", "<u2")
    whole = list(lm_batches(tf, 8, 7, seed=5, epoch=2, buffer=64))
    assert len(whole) == 1000 // 7
    for start in (1, 9, 10, 57, len(whole) - 1):
        tail = list(lm_batches(tf, 8, 7, seed=5, epoch=2, buffer=64, start=start))
        assert len(tail) == len(whole) - start
        pairs = zip(tail, whole[start:], strict=True)
        assert all(np.array_equal(p[0], q[0]) and np.array_equal(p[1], q[1]) for p, q in pairs)


def test_streaming_memory_is_bounded_by_the_buffer(tmp_path: Path) -> None:
    """An epoch over a 4 M-token file (8 MB on disk, 16 MB as int32) allocates about one buffer."""
    L, buffer = 64, 1024
    rng = np.random.default_rng(0)
    path = tmp_path / "big.tokens"
    with open(path, "wb") as fh:
        for _ in range(4):
            np.asarray(rng.integers(3, 2000, 1 << 20), dtype="<u2").tofile(fh)
    tf = TokenFile(path, "<u2")
    tracemalloc.start()
    try:
        n = sum(len(x) for x, _ in lm_batches(tf, L, 32, seed=0, epoch=0, buffer=buffer))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert n == (tf.tokens - 1) // L // 32 * 32
    assert peak < 4 * buffer * (L + 1) * 4 + (1 << 20), f"peak {peak} bytes"
    assert os.path.getsize(path) == 8 << 20
