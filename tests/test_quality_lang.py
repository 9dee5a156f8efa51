"""Language-aware quality rules: built-in per-language parameters, `per_lang` overrides, skipped rules."""

from __future__ import annotations

import pytest

from datacraft.document import Document
from datacraft.errors import ConfigError
from datacraft.pipeline.config import build_config
from datacraft.stages.quality.c4 import C4
from datacraft.stages.quality.fineweb import FineWebParams, FineWebQuality
from datacraft.stages.quality.gopher import (
    GopherQuality,
    GopherQualityParams,
    GopherRepetition,
    GopherRepetitionParams,
)
from datacraft.stages.quality.languages import STOP_WORDS, base_lang
from tests.stage_context import Ctx

DE = (
    "Die Würde des Menschen ist unantastbar. Sie zu achten und zu schützen ist Verpflichtung aller staatlichen "
    "Gewalt. Das Deutsche Volk bekennt sich darum zu unverletzlichen und unveräußerlichen Menschenrechten als "
    "Grundlage jeder menschlichen Gemeinschaft, des Friedens und der Gerechtigkeit in der Welt. Die nachfolgenden "
    "Grundrechte binden Gesetzgebung, vollziehende Gewalt und Rechtsprechung als unmittelbar geltendes Recht. "
    "Jeder hat das Recht auf die freie Entfaltung seiner Persönlichkeit, soweit er nicht die Rechte anderer verletzt."
)
ZH = (
    "人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心，并应以兄弟关系的精神相对待。"
    "人人有资格享有本宣言所载的一切权利和自由，不分种族、肤色、性别、语言、宗教、政治或其他见解、"
    "国籍或社会出身、财产、出生或其他身分等任何区别。并且不得因一人所属的国家或领土的政治的、"
    "行政的或者国际的地位之不同而有所区别，无论该领土是独立领土、托管领土、非自治领土或者处于其他任何主权受限制的情况之下。"
    "人人有权享有生命、自由和人身安全。任何人不得使为奴隶或奴役；一切形式的奴隶制度和奴隶买卖，均应予以禁止。"
)


def test_base_lang() -> None:
    assert base_lang("zh-cn") == "zh" and base_lang("pt_BR") == "pt"
    assert base_lang("en") is None and base_lang(None) is None and base_lang("und") is None


def test_stop_words_per_language() -> None:
    g = GopherQuality()
    assert not g.check(Document("de", DE)).keep  # English stop words: German text fails
    r = g.check(Document("de", DE, {"lang": "de"}))
    assert r.keep, r.reason
    assert all(w == w.lower() for ws in STOP_WORDS.values() for w in ws)


def test_unlisted_language_skips_stop_words_and_counts_it() -> None:
    text = " ".join(["mkubwa sana hapa"] * 30)  # 90 words, no listed stop word for 'xx'
    g = GopherQuality(GopherQualityParams(min_stop_words=3))
    r = g.check(Document("x", text, {"lang": "xx"}))
    assert r.skipped == ("too_few_stop_words:xx",)
    ctx = Ctx()
    g.process_batch([Document("x", text, {"lang": "xx"})], ctx)
    assert ctx.counts[("gopher_quality", "skipped_too_few_stop_words:xx")] == 1


def test_chinese_is_judged_on_segmented_words() -> None:
    doc = Document("zh", ZH * 2, {"lang": "zh-cn"})
    assert GopherQuality().check(doc).keep
    assert GopherRepetition().check(Document("zh", ZH, {"lang": "zh-cn"})).keep
    looped = Document("zh", ZH[:60] + "点击这里下载免费软件" * 40, {"lang": "zh-cn"})
    assert not GopherRepetition().check(looped).keep


def test_thai_repetition_limits_are_those_of_segmented_languages() -> None:
    # UDHR article 7 in Thai: "การเลือกปฏิบัติ" (discrimination) three times, 0.21 of the characters
    art7 = (
        "ทุกคนเสมอกันตามกฏหมายและมีสิทธิที่จะได้รับความคุ้มครองของกฏหมายเท่าทียมกัน โดยปราศจากการเลือกปฏิบัติใด ๆ "
        "ทุกคนมีสิทธิที่จะได้รับความคุ้มครองเท่าเทียมกันจากการเลือกปฏิบัติใด ๆ อันเป็นการล่วงละเมิดปฏิญญา "
        "และจากการยุยงให้เกิดการเลือกปฏิบัติดังกล่าว"
    )
    gated = GopherRepetition(GopherRepetitionParams(ngram_min_words=100))  # as in pipelines/multilingual.yaml
    assert gated.check(Document("th", art7, {"lang": "th"})).keep
    looped = Document("th", art7[:60] + " ดาวน์โหลดฟรีที่นี่" * 40, {"lang": "th"})
    assert not GopherRepetition().check(looped).keep


def test_per_lang_overrides_and_explicit_values() -> None:
    g = GopherQuality(GopherQualityParams(per_lang={"de": {"min_words": 500}}))
    assert g.check(Document("de", DE, {"lang": "de"})).reason == "too_few_words"
    assert g.check(Document("de", DE, {"lang": "de-AT"})).reason == "too_few_words"  # base language
    # the built-in table wins over the top-level value for what it sets, per_lang over both
    f = FineWebQuality(FineWebParams(min_line_punct_ratio=0.5, per_lang={"fr": {"min_line_punct_ratio": 0.0}}))
    text = (
        "".join(f"une longue ligne numéro {i} de texte qui ne finit pas\n" for i in range(3))
        + "Une phrase qui finit.\n"
    )
    assert f.check(Document("e", text)).reason == "line_punct_ratio"
    assert f.check(Document("f", text, {"lang": "fr"})).keep
    th = f.check(Document("t", text, {"lang": "th"}))
    assert th.keep and th.skipped == ("line_punct_ratio:th",)
    assert GopherQuality(GopherQualityParams(lang_defaults=False)).check(Document("de", DE, {"lang": "de"})).reason


def test_c4_uses_unicode_terminals_outside_english() -> None:
    lines = "\n".join(["这是第一句话，内容很完整。", "我们在这里写第二句话。", "还有第三句话在这里。"] * 4)
    out = C4().evaluate(lines, "zh-cn")
    assert out.reason is None and out.signals["c4_lines_kept"] == 12
    assert C4().evaluate(lines).signals["c4_lines_kept"] == 0  # English rules: no line ends in . ? ! " '


def test_bad_per_lang_is_a_config_error() -> None:
    raw = {
        "input": {"paths": ["x"]},
        "output": {"path": "o"},
        "stages": [{"gopher_quality": {"per_lang": {"de": {"min_wordz": 3}}}}],
    }
    with pytest.raises(ConfigError, match="min_wordz"):
        build_config(raw)


def test_short_texts_need_a_real_loop_for_the_top_ngram_rules() -> None:
    article = (
        "Everyone has the right to education. Education shall be free, at least in the elementary stages. "
        "Parents have a prior right to choose the kind of education that shall be given to their children. "
        "Everyone has the right to rest and leisure."
    )
    plain = GopherRepetition().check(Document("a", article))
    assert plain.reason == "top_4_gram"  # Gopher: any length
    gated = GopherRepetition(GopherRepetitionParams(ngram_min_words=100))
    r = gated.check(Document("a", article))
    assert r.keep and r.skipped == ("top_4_gram_short",)
    looped = article + " buy cheap pills now" * 5
    assert not gated.check(Document("b", looped)).keep  # a phrase repeated 5 times is a loop
