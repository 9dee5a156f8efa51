"""The dedup phases end to end: exact and near duplicates across shards, representatives,
determinism across worker counts and reruns, resume after a kill, ledger and quarantine."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datacraft.dedup.config import build_dedup_config
from datacraft.dedup.layout import WorkLayout
from datacraft.dedup.runner import run_dedup
from datacraft.errors import ConfigError, OutputConflictError
from datacraft.pipeline.config import build_config
from datacraft.pipeline.runner import run_pipeline

REPO = Path(__file__).resolve().parents[1]
VOCAB = [f"w{i}" for i in range(5000)]


def words(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(VOCAB) for _ in range(n)]


def edit(rng: random.Random, toks: list[str], rate: float) -> list[str]:
    out = list(toks)
    for _ in range(max(1, int(rate * len(toks)))):
        i = rng.randrange(len(out))
        op = rng.choice("sdi")
        if op == "s":
            out[i] = rng.choice(VOCAB)
        elif op == "d":
            del out[i]
        else:
            out.insert(i, rng.choice(VOCAB))
    return out


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def corpus(tmp: Path, shards: int = 3, per_shard: int = 40, seed: int = 0) -> tuple[Path, dict[str, str]]:
    """Unique docs plus near-dup families spread over shards; returns (input dir, id -> family)."""
    rng = random.Random(seed)
    rows: list[list[dict[str, Any]]] = [[] for _ in range(shards)]
    family: dict[str, str] = {}
    for f in range(6):
        base = words(rng, 120)
        for k in range(3):
            doc_id = f"fam{f}-{k}"
            toks = base if k == 0 else edit(rng, base, 0.02)
            rows[(f + k) % shards].append({"id": doc_id, "text": " ".join(toks), "q": float(k)})
            family[doc_id] = f"fam{f}"
    for s in range(shards):
        while len(rows[s]) < per_shard:
            rows[s].append({"id": f"u{s}-{len(rows[s])}", "text": " ".join(words(rng, 100)), "q": 0.0})
        rng.shuffle(rows[s])
        write_jsonl(tmp / "in" / f"s{s}.jsonl", rows[s])
    return tmp / "in", family


def config(inp: Path | list[str], out: Path, **dedup: Any) -> Any:
    paths = [str(inp)] if isinstance(inp, Path) else inp
    workers = dedup.pop("workers", 1)
    return build_dedup_config(
        {"input": {"paths": paths}, "output": {"path": str(out)}, "dedup": dedup, "workers": workers}
    )


def table(out: Path, sub: str) -> list[dict[str, Any]]:
    files = sorted((out / sub).glob("*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files], promote_options="default").to_pylist() if files else []


def test_exact_duplicates_across_shards(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in/a.jsonl", [{"id": "b1", "text": "Hello   World, again"}, {"id": "b2", "text": "unique"}])
    write_jsonl(tmp_path / "in/b.jsonl", [{"id": "a1", "text": "hello world, AGAIN"}, {"id": "c1", "text": "other"}])
    result = run_dedup(config(tmp_path / "in", tmp_path / "out", mode="exact"))
    kept = {r["id"]: r for r in table(tmp_path / "out", "data")}
    rejected = table(tmp_path / "out", "rejected")
    assert sorted(kept) == ["a1", "b2", "c1"]  # the first id of the group is kept
    assert kept["a1"]["dup_count"] == 2 and kept["a1"]["dup_cluster"] == 0
    assert kept["b2"]["dup_count"] == 1 and kept["b2"]["dup_cluster"] == -1
    assert [(r["id"], r["reason"], r["duplicate_of"], r["stage"]) for r in rejected] == [
        ("b1", "exact_dup", "a1", "dedup")
    ]
    assert result.merged["dropped"] == {"dedup": {"exact_dup": 1}}
    assert result.merged["ledger_balanced"]
    assert json.loads((tmp_path / "out/stats.json").read_text())["dedup"]["clusters"] == 1


def test_near_duplicate_clusters_span_shards(tmp_path: Path) -> None:
    inp, family = corpus(tmp_path)
    run_dedup(config(inp, tmp_path / "out"))
    kept = {r["id"]: r for r in table(tmp_path / "out", "data")}
    rejected = table(tmp_path / "out", "rejected")
    assert sorted(r["id"] for r in rejected) == sorted(i for i in family if not i.endswith("-0"))
    for r in rejected:
        assert r["reason"] == "near_dup"
        assert r["duplicate_of"] == r["id"].split("-")[0] + "-0"
        assert kept[r["duplicate_of"]]["dup_count"] == 3
    clusters = {kept[f"fam{f}-0"]["dup_cluster"] for f in range(6)}
    assert clusters == set(range(6))
    assert all(r["dup_cluster"] == -1 for i, r in kept.items() if i.startswith("u"))


def test_representative_longest_and_signal(tmp_path: Path) -> None:
    inp, _ = corpus(tmp_path)
    run_dedup(config(inp, tmp_path / "by_signal", keep="signal", signal_column="q"))
    kept = {r["id"] for r in table(tmp_path / "by_signal", "data")}
    assert {f"fam{f}-2" for f in range(6)} <= kept  # q = 2.0 is the highest signal
    run_dedup(config(inp, tmp_path / "longest", keep="longest"))
    texts = {
        r["id"]: len(r["text"]) for r in table(tmp_path / "longest", "data") + table(tmp_path / "longest", "rejected")
    }
    for r in table(tmp_path / "longest", "rejected"):
        assert texts[r["duplicate_of"]] >= texts[r["id"]]


def test_modes_and_verification(tmp_path: Path) -> None:
    inp, family = corpus(tmp_path)
    exact_only = run_dedup(config(inp, tmp_path / "exact", mode="exact"))
    assert exact_only.merged["totals"]["dropped"] == 0
    verified = run_dedup(config(inp, tmp_path / "verified", mode="near", verify="signature", verify_threshold=0.6))
    assert sorted(r["id"] for r in table(tmp_path / "verified", "rejected")) == sorted(
        i for i in family if not i.endswith("-0")
    )
    pairs = verified.merged["dedup"]["pairs"]
    assert all(v["pairs"] <= v["candidates"] for v in pairs.values())
    strict = run_dedup(config(inp, tmp_path / "strict", mode="near", verify="signature", verify_threshold=0.99))
    assert strict.merged["totals"]["dropped"] == 0  # 2% edits never reach an estimated 0.99


def test_char_shingles_and_derived_bands(tmp_path: Path) -> None:
    inp, family = corpus(tmp_path)
    result = run_dedup(config(inp, tmp_path / "out", shingle="char", ngram=7, threshold=0.7, bands=None, rows=None))
    assert result.merged["dedup"]["bands"] * result.merged["dedup"]["rows"] <= 112
    assert len(table(tmp_path / "out", "rejected")) == sum(1 for i in family if not i.endswith("-0"))


def _files(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for sub in ("data", "rejected", "quarantine")
        for p in sorted((out / sub).glob("*"))
    }


def test_deterministic_across_workers_and_reruns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATACRAFT_MIN_BYTES_PER_WORKER", "0")  # a pool even for this small input
    inp, _ = corpus(tmp_path, shards=3, per_shard=20)
    run_dedup(config(inp, tmp_path / "w1", verify="signature"))
    run_dedup(config(inp, tmp_path / "w2", verify="signature", workers=2))
    run_dedup(config(inp, tmp_path / "w3", verify="signature", workers=3))
    first = _files(tmp_path / "w1")
    assert first and first == _files(tmp_path / "w2") == _files(tmp_path / "w3")
    rerun = run_dedup(config(inp, tmp_path / "w1", verify="signature"), force=True)
    assert rerun.ran["filter"] == 3 and _files(tmp_path / "w1") == first
    again = run_dedup(config(inp, tmp_path / "w1", verify="signature"))
    assert again.ran == {"signatures": 0, "groups": 0, "clusters": 0, "filter": 0}
    assert _files(tmp_path / "w1") == first


def test_resume_after_partial_state(tmp_path: Path) -> None:
    inp, _ = corpus(tmp_path)
    out = tmp_path / "out"
    run_dedup(config(inp, out))
    reference = _files(out)
    work = WorkLayout(out)
    # As if killed inside phase 2: one band's marker and file missing, a temporary file left behind.
    work.marker("band-003").unlink()
    work.pairs("band-003").unlink()
    (work.root / "pairs" / ".band-003.npy.tmp-999").write_bytes(b"partial")
    (out / "_done" / "part-00001.json").unlink()
    result = run_dedup(config(inp, out))
    assert result.ran["signatures"] == 0 and result.ran["groups"] == 1
    assert result.ran["clusters"] == 1 and result.ran["filter"] == 3
    assert _files(out) == reference


@pytest.mark.parametrize("after", ["sig-00000", "clusters"])
def test_resume_after_sigkill(tmp_path: Path, after: str) -> None:
    """SIGKILL inside phase 1 (after its first shard) or between phases 3 and 4, then rerun."""
    inp, _ = corpus(tmp_path, shards=4, per_shard=200)
    cmd = [sys.executable, "-m", "datacraft", "dedup", str(inp), str(tmp_path / "out"), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run_dedup(config(inp, tmp_path / "ref"))
    proc = subprocess.Popen(cmd, env=env)
    marker = tmp_path / "out" / "_dedup" / "_done" / f"{after}.json"
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and not (tmp_path / "out" / "stats.json").exists()
    done = subprocess.run(cmd, env=env)
    assert done.returncode == 0
    assert _files(tmp_path / "out") == _files(tmp_path / "ref")
    assert json.loads((tmp_path / "out/stats.json").read_text())["ledger_balanced"]


def test_bad_records_are_quarantined_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "in/a.jsonl"
    write_jsonl(path, [{"id": "a", "text": "same text here"}, {"id": "b", "text": "same text here"}])
    with open(path, "ab") as fh:
        fh.write(b'{"id": "bad", "text": 5}\nnot json\n')
        fh.write(orjson.dumps({"id": "c", "text": "same text here"}) + b"\n")
    result = run_dedup(config(tmp_path / "in", tmp_path / "out"))
    t = result.merged["totals"]
    assert (t["docs_in"], t["kept"], t["dropped"], t["quarantined"]) == (5, 1, 2, 2)
    assert {r["id"]: r["duplicate_of"] for r in table(tmp_path / "out", "rejected")} == {"b": "a", "c": "a"}
    assert len((tmp_path / "out/quarantine/part-00000-0000.jsonl").read_text().splitlines()) == 2


def test_datacraft_output_dir_as_input(tmp_path: Path) -> None:
    inp, family = corpus(tmp_path)
    pipeline = build_config(
        {"input": {"paths": [str(inp)]}, "output": {"path": str(tmp_path / "curated")}, "stages": ["normalize"]}
    )
    run_pipeline(pipeline)
    result = run_dedup(config(tmp_path / "curated", tmp_path / "dedup"))
    assert result.merged["totals"]["docs_in"] == 120
    assert len(table(tmp_path / "dedup", "rejected")) == sum(1 for i in family if not i.endswith("-0"))


def test_changed_settings_need_force_and_input_inside_output_is_refused(tmp_path: Path) -> None:
    inp, _ = corpus(tmp_path)
    run_dedup(config(inp, tmp_path / "out"))
    with pytest.raises(OutputConflictError, match="--force"):
        run_dedup(config(inp, tmp_path / "out", threshold=0.6))
    run_dedup(config(inp, tmp_path / "out", threshold=0.6), force=True)
    with pytest.raises(ConfigError, match="inside the output"):
        run_dedup(config(inp, tmp_path))


def test_bundled_editions_no_cross_cluster_merge(sample_dir: Path, tmp_path: Path) -> None:
    result = run_dedup(config(sample_dir / "gutenberg-editions.jsonl.gz", tmp_path / "out"))
    kept = table(tmp_path / "out", "data")
    by_cluster: dict[int, set[str]] = {}
    for r in kept:
        if r["dup_cluster"] >= 0:
            by_cluster.setdefault(r["dup_cluster"], set()).add(r["cluster"])
    rejected = table(tmp_path / "out", "rejected")
    truth = {r["id"]: r["cluster"] for r in kept}
    for r in rejected:
        assert json.loads(r["meta"])["cluster"] == truth[r["duplicate_of"]]
    assert result.merged["totals"]["dropped"] > 200  # 408 chapters, 136 clusters: at most 272 to remove


def test_star_edges_link_each_bucket_to_its_smallest_key() -> None:
    import numpy as np

    from datacraft.dedup.phases import star_edges

    keys = np.array([9, 3, 7, 1, 5], np.uint64)
    hashes = np.array([[2], [1], [2], [1], [4]], np.uint64)
    edges, starts, skeys = star_edges(keys, hashes)
    assert sorted(map(tuple, edges.tolist())) == [(1, 3), (7, 9)]
    assert skeys.tolist() == [1, 3, 7, 9, 5] and starts.tolist() == [0, 2, 4]


def test_verification_retries_other_bucket_members(tmp_path: Path) -> None:
    import numpy as np

    from datacraft.dedup.phases import SignatureStore, _verify, save_npy, signature_similarity, star_edges

    work = WorkLayout(tmp_path)
    sigs = np.zeros((4, 16), np.uint32)
    sigs[1] = np.arange(16)
    sigs[2] = np.arange(16)
    sigs[2, :3] = 99  # 13/16 equal to doc 1, nothing in common with doc 0
    sigs[3] = np.arange(100, 116)
    save_npy(work.shard_file(0, "sig.npy"), sigs)
    keys = np.arange(4, dtype=np.uint64)
    edges, starts, skeys = star_edges(keys, np.array([[5], [5], [5], [5]], np.uint64))
    kept = _verify(edges, starts, skeys, signature_similarity(SignatureStore(work)), 0.75)
    assert kept.tolist() == [[1, 2]]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_connected_components_equal_scipy(seed: int) -> None:
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as scipy_components

    from datacraft.dedup.phases import connected_components

    rng = np.random.default_rng(seed)
    n = 3000
    a, b = rng.integers(0, n, 2500), rng.integers(0, n, 2500)
    chain = np.arange(1000, 1400)  # a long path, in reverse order: many hook rounds for a naive union-find
    a, b = np.concatenate([a, chain[::-1][1:]]), np.concatenate([b, chain[::-1][:-1]])
    ncomp, labels = connected_components(n, a, b)
    ref_n, ref = scipy_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)), directed=False)
    assert ncomp == ref_n
    pairs = set(zip(labels.tolist(), ref.tolist(), strict=True))
    assert len(pairs) == ncomp  # the same partition: labels map one to one
    assert connected_components(4, np.zeros(0, np.int64), np.zeros(0, np.int64))[0] == 4


def test_one_pool_for_every_phase_and_no_heavy_imports_in_its_workers(tmp_path: Path) -> None:
    from datacraft.executors import LocalExecutor
    from tests.worker_probe import heavy_modules

    inp, _ = corpus(tmp_path, shards=4, per_shard=30)
    ex = LocalExecutor(2)
    try:
        run_dedup(config(inp, tmp_path / "pool"), executor=ex)
        pool = ex._pool
        assert pool is not None  # kept after the four phases: one pool served them all
        workers = {p.pid for p in pool._processes.values()}
        report = [r for _, r in ex.run(heavy_modules, list(range(6)))]
        assert ex._pool is pool and {pid for pid, _ in report} <= workers and len(workers) <= 2
    finally:
        ex.close()
    assert ex._pool is None
    assert [mods for _, mods in report] == [[]] * 6  # no pandas, scipy, datasketch, tensorflow … in a worker
    run_dedup(config(inp, tmp_path / "one"))
    assert _files(tmp_path / "pool") == _files(tmp_path / "one")


@pytest.mark.parametrize("keep", ["first", "longest", "signal"])
def test_representative_order_equals_arrow_sort(keep: str) -> None:
    import numpy as np
    import pyarrow.compute as pc

    from datacraft.dedup.phases import representative_order

    rng = np.random.default_rng(len(keep))
    for _ in range(10):
        n = 400
        labels = rng.integers(0, 30, n)
        ids = np.array([f"d{x}é" if x % 3 else f"D{x}" for x in rng.integers(0, 200, n)], object)
        length = rng.integers(0, 5, n).astype(np.int64)
        signal = rng.choice([-np.inf, 0.5, 1.0, -0.0, 0.0, 2.0], n)
        keys = rng.permutation(n).astype(np.uint64) * np.uint64(7)
        table = pa.table(
            {"comp": labels, "length": length, "signal": signal, "id": pa.array(ids.tolist()), "key": keys}
        )
        primary = {"first": [], "longest": [("length", "descending")], "signal": [("signal", "descending")]}[keep]
        sort_keys = [("comp", "ascending"), *primary, ("id", "ascending"), ("key", "ascending")]
        ref = pc.sort_indices(table, sort_keys=sort_keys).to_numpy()
        assert representative_order(labels, ids, length, signal, keys, keep).tolist() == ref.tolist()


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_to_the_driver_of_an_inline_pool_stops_the_run(tmp_path: Path, sig: signal.Signals, code: int) -> None:
    """The driver runs tasks itself next to its pool (``inline``): a signal still exits 130/143, leaves no
    process behind, and the rerun gives the same files."""
    import psutil

    inp, _ = corpus(tmp_path, shards=6, per_shard=1500)
    run_dedup(config(inp, tmp_path / "ref"))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "datacraft", "dedup", str(inp), str(out), "--workers", "2", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "DATACRAFT_MIN_BYTES_PER_WORKER": "0"}
    proc = subprocess.Popen(
        cmd, env=env, stderr=subprocess.PIPE, text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    )
    marker = out / "_dedup" / "_done" / "sig-00000.json"
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert proc.poll() is None and children, "the run finished before it could be signalled"
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive and not (out / "stats.json").exists()
    assert subprocess.run(cmd, env=env).returncode == 0
    assert _files(out) == _files(tmp_path / "ref")


def test_the_callers_arrow_pool_is_back_after_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datacraft.dedup.filter as filter_mod

    try:
        mine = pa.mimalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("pyarrow built without mimalloc")
    seen = []
    real = filter_mod.task_resources

    def recording(t_cpu: float) -> dict[str, float]:
        seen.append(pa.default_memory_pool().backend_name)
        return real(t_cpu)

    monkeypatch.setattr(filter_mod, "task_resources", recording)
    write_jsonl(tmp_path / "in/a.jsonl", [{"id": "a", "text": "same text"}, {"id": "b", "text": "same text"}])
    before = pa.default_memory_pool()
    pa.set_memory_pool(mine)
    try:
        run_dedup(config(tmp_path / "in", tmp_path / "out", mode="exact"))
        assert seen == ["system"]  # the tasks ran on the C heap
        assert pa.default_memory_pool().backend_name == "mimalloc"  # the caller's pool afterwards
    finally:
        pa.set_memory_pool(before)


def test_prefer_system_allocator_only_before_pyarrow_and_never_over_the_users_choice() -> None:
    from datacraft.dedup.memory import ARROW_POOL_ENV, prefer_system_allocator

    code = (
        "import os; from datacraft.dedup.memory import prefer_system_allocator; prefer_system_allocator(); "
        "import pyarrow as pa; print(pa.default_memory_pool().backend_name)"
    )
    env = {k: v for k, v in os.environ.items() if k != ARROW_POOL_ENV}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split()[0] == "system"
    had = os.environ.get(ARROW_POOL_ENV)
    prefer_system_allocator()  # pyarrow is loaded here: nothing changes
    assert os.environ.get(ARROW_POOL_ENV) == had
