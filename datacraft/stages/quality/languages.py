"""Per-language parameters of the quality rules, and how a filter picks them for a document.

The published Gopher / C4 / FineWeb thresholds were tuned on English web text. FineWeb-2
showed that every language needs its own stop words and some thresholds of its own (its words
are segmented per language, its averages differ). Here each filter resolves its parameters per
document from the ``lang`` meta (set by ``langid``), in this order:

1. the stage's parameters as configured (defaults: English, the published values);
2. the built-in table below for the language, for the few parameters it sets (stop words, word
   length, repetition limits, punctuation rules; ``lang_defaults: false`` turns it off);
3. the stage's ``per_lang: {xx: {param: value}}`` for that language (``zh-cn`` or ``zh``).

Documents without ``lang`` (or ``en``, ``und``) use 1 only, which is exactly the English
behaviour. A rule that has no meaning for a language (stop words of a language with no list,
terminal punctuation in Thai) is *skipped* for it, and the skip is counted per rule and language
(``skipped_<rule>:<lang>`` in the stage's counters), not failed.
"""

from __future__ import annotations

from typing import Any

#: Frequent function words per language (lower case; Gopher asks for ≥ 2 distinct ones present).
#: Chosen as the most frequent short function words of ordinary prose, so any 50-word passage has several.
STOP_WORDS: dict[str, tuple[str, ...]] = {
    "af": ("die", "en", "van", "is", "in", "het", "te", "op", "nie", "wat", "vir", "met"),
    "ca": ("el", "la", "de", "i", "que", "a", "en", "per", "amb", "les", "els", "del", "un", "una", "es"),
    "cs": ("a", "se", "na", "je", "v", "že", "to", "s", "z", "do", "o", "k", "i", "jako", "ve", "pro"),
    "da": ("og", "i", "at", "det", "er", "en", "til", "af", "på", "den", "som", "med", "har", "for", "ikke"),
    "de": ("der", "die", "und", "in", "den", "von", "zu", "das", "mit", "sich", "des", "auf", "ist", "nicht", "ein"),
    "es": ("de", "la", "que", "el", "en", "y", "a", "los", "se", "del", "las", "un", "por", "con", "no", "una"),
    "et": ("ja", "on", "ei", "et", "see", "ka", "kui", "oma", "mis", "aga", "või", "selle", "igal", "kõik"),
    "fi": ("ja", "on", "ei", "että", "se", "oli", "hän", "kuin", "mutta", "tai", "myös", "ovat", "sen", "jos"),
    "fr": ("de", "la", "le", "et", "les", "des", "en", "un", "du", "une", "que", "est", "pour", "qui", "dans", "à"),
    "hr": ("i", "je", "u", "da", "se", "na", "za", "su", "od", "a", "s", "ne", "koji", "kao", "o"),
    "hu": ("a", "az", "és", "hogy", "nem", "is", "egy", "van", "meg", "de", "el", "ki", "mint", "csak"),
    "id": ("yang", "dan", "di", "itu", "dengan", "untuk", "tidak", "ini", "dari", "dalam", "akan", "pada", "atau"),
    "it": ("di", "e", "il", "la", "che", "a", "in", "per", "un", "del", "non", "è", "le", "una", "della", "si"),
    "lt": ("ir", "kad", "yra", "į", "su", "ar", "iš", "jo", "tai", "bet", "kaip", "o", "per", "turi"),
    "lv": ("un", "ir", "uz", "ar", "kas", "par", "no", "lai", "ka", "tas", "arī", "vai", "bet", "tiesības"),
    "nl": ("de", "en", "van", "het", "een", "in", "is", "dat", "op", "te", "zijn", "met", "voor", "niet", "die"),
    "no": ("og", "i", "det", "er", "en", "til", "på", "som", "at", "av", "med", "for", "har", "ikke", "den"),
    "pl": ("w", "i", "na", "się", "z", "do", "nie", "że", "to", "jest", "o", "a", "jak", "po", "od", "przez"),
    "pt": ("de", "a", "o", "que", "e", "do", "da", "em", "um", "para", "é", "com", "não", "uma", "os", "no"),
    "ro": ("și", "de", "la", "în", "a", "cu", "pe", "nu", "să", "din", "care", "o", "un", "este", "pentru"),
    "sk": ("a", "sa", "na", "je", "v", "že", "to", "s", "z", "do", "o", "k", "i", "ako", "vo", "pre"),
    "sl": ("in", "je", "v", "na", "da", "se", "za", "z", "so", "pa", "ki", "ne", "s", "ali", "do"),
    "sq": ("të", "e", "në", "dhe", "i", "me", "për", "një", "që", "nga", "është", "se", "ka"),
    "sv": ("och", "i", "att", "det", "som", "en", "på", "är", "av", "för", "med", "till", "den", "har", "inte"),
    "sw": ("na", "ya", "wa", "kwa", "za", "la", "katika", "ni", "kila", "mtu", "cha", "au", "hiyo"),
    "tl": ("ang", "ng", "sa", "na", "at", "mga", "ay", "ito", "para", "kanyang", "o", "may"),
    "tr": ("ve", "bir", "bu", "da", "de", "için", "ile", "olarak", "gibi", "daha", "çok", "her", "ne", "veya"),
    "vi": ("và", "của", "có", "là", "được", "các", "trong", "không", "cho", "người", "những", "với", "một"),
    "cy": ("y", "yn", "a", "i", "o", "ei", "ar", "yr", "ac", "mae", "bod", "gan", "am"),
    "so": ("iyo", "ee", "ka", "in", "u", "oo", "la", "ku", "waxaa", "ah", "ay", "ama"),
    "ru": ("и", "в", "не", "на", "что", "с", "по", "как", "это", "он", "к", "из", "у", "за", "для", "от"),
    "uk": ("і", "в", "на", "не", "що", "з", "до", "та", "й", "у", "як", "для", "за", "по", "від"),
    "bg": ("и", "на", "в", "да", "се", "за", "от", "с", "е", "не", "по", "че", "са", "като", "има"),
    "mk": ("и", "на", "во", "да", "се", "за", "од", "со", "е", "не", "по", "што", "ги", "како", "има"),
    "el": ("και", "το", "της", "η", "να", "του", "την", "σε", "με", "τα", "για", "που", "ο", "οι", "των"),
    "ar": ("في", "من", "على", "أن", "إلى", "و", "عن", "التي", "الذي", "هذا", "أو", "مع", "كل", "لا"),
    "fa": ("و", "در", "به", "از", "که", "این", "را", "با", "است", "برای", "یا", "هر", "آن", "شود"),
    "ur": ("کے", "میں", "کی", "اور", "ہے", "کا", "کو", "سے", "کہ", "پر", "یا", "ہر", "ہیں"),
    "he": ("של", "את", "על", "ה", "לא", "כי", "עם", "זה", "או", "כל", "הוא", "אשר", "יש"),
    "hi": ("के", "में", "की", "है", "और", "से", "का", "को", "एक", "हैं", "पर", "या", "भी"),
    "mr": ("आणि", "व", "या", "आहे", "हे", "की", "त्या", "कोणत्याही", "किंवा", "प्रत्येक", "असे", "करण्याचा"),
    "ne": ("र", "को", "मा", "छ", "हरू", "गर्न", "पनि", "वा", "कुनै", "प्रत्येक", "लाई", "हुने"),
    "bn": ("ও", "এবং", "এ", "করে", "না", "বা", "থেকে", "জন্য", "কোন", "প্রত্যেক", "হবে", "সে"),
    "zh": ("的", "是", "在", "和", "了", "有", "不", "人", "中", "与", "為", "为", "這", "这", "也", "或"),
    "ja": ("の", "に", "は", "を", "た", "が", "て", "と", "で", "し", "な", "も", "する", "れ", "ます"),
    "th": ("ที่", "และ", "ใน", "การ", "ของ", "เป็น", "มี", "ได้", "ไม่", "จะ", "ให้", "หรือ", "ว่า", "กับ"),
    "ko": ("및", "수", "있다", "그", "이", "있는", "또는", "모든", "할", "의", "대한", "한다", "등", "것"),
}

#: Languages whose words are cut by a dictionary segmenter (short words, no spaces).
SPACELESS = frozenset({"zh", "ja", "th"})
#: Scripts whose words carry many combining marks (longer words in characters).
LONG_WORDS = frozenset({"hi", "mr", "ne", "bn", "gu", "pa", "kn", "ml", "ta", "te", "fi", "hu", "et", "tr"})
#: Languages whose sentences do not end in a terminal punctuation mark (Thai separates them by spaces).
NO_TERMINALS = frozenset({"th"})
#: ``length``: characters per character of English for the same text (median UDHR article length
#: against English's: zh 0.26, ja 0.43, ko 0.49). ``min_chars``/``max_chars`` are scaled by it for
#: documents of these languages, so a length rule keeps the same share of every language.
CHAR_SCALE: dict[str, float] = {"zh": 0.26, "ja": 0.43, "ko": 0.49}


def base_lang(lang: object) -> str | None:
    """``zh-cn`` → ``zh``, ``pt_BR`` → ``pt``; None for missing, ``und`` and ``en`` (English: the defaults)."""
    if not isinstance(lang, str) or not lang:
        return None
    base = lang.lower().replace("_", "-").split("-")[0]
    return None if base in ("en", "und", "") else base


def builtin_overrides(stage: str, lang: str) -> tuple[dict[str, Any], dict[str, str]]:
    """(parameter overrides, skipped rule → the parameter that skips it) for ``stage`` and base language ``lang``."""
    over: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    if stage == "gopher_quality":
        words = STOP_WORDS.get(lang)
        if words:
            over["stop_words"] = list(words)
            over["stop_words_ignore_case"] = True
        else:
            over["min_stop_words"] = None
            skipped["too_few_stop_words"] = "min_stop_words"
        if lang in SPACELESS:
            # Segmented Chinese/Japanese words are 1–3 characters; Thai words a few letters plus marks.
            over["min_mean_word_length"] = 1
            over["max_mean_word_length"] = 6 if lang != "th" else 10
        elif lang == "ko":
            over["min_mean_word_length"] = 1.5  # Hangul syllable blocks: a word is 2–4 of them
        elif lang in LONG_WORDS:
            over["max_mean_word_length"] = 20
    elif stage == "gopher_repetition":
        if lang in SPACELESS:
            # Segmented CJK (and Thai) words are short and particles recur: n-grams of words cover
            # fewer characters, and recurring grammatical n-grams weigh more. Looser limits, as
            # FineWeb-2 found. (Thai had the English limits: UDHR article 7 failed top_3_gram.)
            over["max_top_ngram_char_frac"] = {2: 0.26, 3: 0.22, 4: 0.2}
            over["max_dup_ngram_char_frac"] = {5: 0.3, 6: 0.28, 7: 0.26, 8: 0.25, 9: 0.24, 10: 0.23}
    elif stage == "fineweb_quality":
        if lang in NO_TERMINALS:
            over["min_line_punct_ratio"] = 0.0
            skipped["line_punct_ratio"] = "min_line_punct_ratio"
        if lang in SPACELESS:
            over["max_list_ratio"] = 0.5  # fewer tokens per line of text
    elif stage == "c4" and lang in NO_TERMINALS:
        over["filter_no_terminal_punct"] = False
        skipped["no_terminal_punct"] = "filter_no_terminal_punct"
    return over, skipped
