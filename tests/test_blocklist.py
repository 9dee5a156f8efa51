"""blocklist: list files, whole-word and phrase matching, domains with subdomains, thresholds, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from datacraft.document import Document
from datacraft.errors import ConfigError
from datacraft.pipeline.config import build_config
from datacraft.stages.quality.blocklist import Blocklist, BlocklistParams, domain_of, read_list

REPO = Path(__file__).resolve().parents[1]
WORDS = REPO / "pipelines" / "lists" / "example-words.txt"
DOMAINS = REPO / "pipelines" / "lists" / "example-domains.txt"


def stage(**params: object) -> Blocklist:
    return Blocklist(BlocklistParams(word_lists=[str(WORDS)], url_lists=[str(DOMAINS)], **params))


def verdict(b: Blocklist, text: str, url: str | None = None) -> tuple[bool, str | None]:
    r = b.check(Document("d", text, {"url": url} if url else {}))
    return r.keep, r.reason


def test_example_lists_parse_with_comments() -> None:
    assert read_list(WORDS) == ["casino bonus", "viagra", "payday loan"]
    assert [domain_of(e) for e in read_list(DOMAINS)] == ["spam.example", "ads.example.net", "link-farm.example.org"]


def test_whole_words_case_insensitive_and_phrases() -> None:
    b = stage()
    assert verdict(b, "Buy VIAGRA now.") == (False, "blocked_words")
    assert verdict(b, "viagras and aviagra are not the word") == (True, None)
    assert verdict(b, "Get a Payday   loan today") == (False, "blocked_words")
    assert verdict(b, "payday is friday; loan sharks") == (True, None)
    assert verdict(b, "the casino gave a bonus") == (True, None)


def test_hit_threshold() -> None:
    b = stage(max_word_hits=2)
    assert verdict(b, "viagra viagra") == (True, None)
    assert verdict(b, "viagra viagra payday loan") == (False, "blocked_words")
    r = stage(mode="annotate").check(Document("d", "viagra, Viagra and a casino bonus", {}))
    assert r.keep is False and r.signals == {"blocklist_domain_hit": False, "blocklist_word_hits": 3}


def test_domains_match_subdomains_not_lookalikes() -> None:
    b = stage()
    text = "A perfectly fine text."
    assert verdict(b, text, "https://spam.example/page") == (False, "blocked_domain")
    assert verdict(b, text, "http://www.Spam.Example:8080/x?y=1") == (False, "blocked_domain")
    assert verdict(b, text, "https://a.b.spam.example/") == (False, "blocked_domain")
    assert verdict(b, text, "https://notspam.example/") == (True, None)
    assert verdict(b, text, "https://example.net/") == (True, None)  # only ads.example.net is listed
    assert verdict(b, text, "https://link-farm.example.org/other") == (False, "blocked_domain")
    assert verdict(b, text) == (True, None)  # no URL in meta


def test_missing_list_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    raw = {
        "input": {"paths": ["x"]},
        "output": {"path": "y"},
        "stages": [{"blocklist": {"word_lists": [str(tmp_path / "nope.txt")]}}],
    }
    with pytest.raises(ConfigError, match=r"stages\[0\]\.blocklist\.word_lists.*nope\.txt does not exist"):
        build_config(raw)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe bad")
    with pytest.raises(ConfigError, match=r"bad\.txt is not UTF-8"):
        read_list(bad)
