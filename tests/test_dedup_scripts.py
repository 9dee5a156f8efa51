"""Script-aware dedup shingles and exact Jaccard verification of candidate pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datacraft.dedup.layout import WorkLayout
from datacraft.dedup.runner import run_dedup
from datacraft.dedup.shingles import token_hashes, tokens
from datacraft.dedup.verify import unique_sets
from tests.test_dedup import config, corpus, table


def test_marks_stay_in_tokens_and_spaceless_scripts_are_characters() -> None:
    assert tokens("मानव अधिकारों की") == ["मानव", "अधिकारों", "की"]
    assert tokens("Quyền con người") == ["quyền", "con", "người"]
    assert tokens("中文abc 日本語です ภาษา") == ["中", "文", "abc", "日", "本", "語", "で", "す", "ภ", "า", "ษ", "า"]
    _, counts = token_hashes(["मानव अधिकारों की", "中文abc"])
    assert counts.tolist() == [3, 3]


def test_unique_sets_per_document() -> None:
    values, sizes = unique_sets(np.array([5, 3, 5, 7, 7], np.uint32), np.array([3, 0, 2]))
    assert sizes.tolist() == [2, 0, 1] and values.tolist() == [3, 5, 7]


def test_exact_verification_matches_truth_and_rejects_loose_pairs(tmp_path: Path) -> None:
    inp, family = corpus(tmp_path)
    run_dedup(config(inp, tmp_path / "exact", verify="exact", verify_threshold=0.5))
    removed = {r["id"] for r in table(tmp_path / "exact", "rejected")}
    assert all(d in family and not d.endswith("-0") for d in removed)
    assert len(removed) == 12  # 6 families × 2 edited copies
    assert (WorkLayout(tmp_path / "exact").shard_file(0, "shingles.npy")).exists()
    strict = run_dedup(config(inp, tmp_path / "strict", verify="exact", verify_threshold=0.999))
    assert strict.merged["dropped"] == {}  # edited copies have Jaccard < 1: nothing passes


def test_cli_verify_option(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from datacraft.cli import main

    inp, _ = corpus(tmp_path)
    runner = CliRunner()
    for flag, want in ((["--verify", "exact"], "exact"), (["--verify"], "signature"), (["--no-verify"], "none")):
        out = tmp_path / f"out-{want}"
        res = runner.invoke(main, ["dedup", str(inp), str(out), "--mode", "near", *flag])
        assert res.exit_code == 0, res.output
        assert json.loads((out / "stats.json").read_text())["dedup"]["verify"] == want
    res = runner.invoke(main, ["dedup", str(inp), str(tmp_path / "bad"), "--verify", "fuzzy"])
    assert res.exit_code == 2
