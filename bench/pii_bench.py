"""PII redaction: precision and recall per type on a labelled set generated with Faker, and speed.

The set is generated at run time with a fixed seed (Faker's providers ship with the package: nothing
is downloaded). For each locale, documents of two Faker sentences around one item:

- positives: e-mail, phone number, IPv4, IPv6, credit-card number, IBAN (cards and IBANs printed
  half contiguous, half in groups of four);
- negatives: dates, times, timestamps (``2024-04-25 09:24:44``), version numbers, prices, scores
  (``scores 10 20 30 40 50``) and ranges (``1990-2000``, ``pages 123-456``).

Generated positives are labelled only when well-formed: phone numbers that ``phonenumbers`` finds
valid for the locale's country (Faker fills formats with random digits: ``00008063608`` for de_DE,
``11-9431-8008`` for ja_JP), IBANs of their country's registered length (Faker's fallback provider
makes 21-character GB IBANs for locales without their own), card numbers with a payment-network
prefix; how many were left out is printed. Each document carries the locale's language (as ``langid`` would
give it) in ``meta["lang"]``; ``--no-lang`` scores without it. A predicted span is a true positive
when a gold item of the same type overlaps it; precision counts every predicted span, in any
document. Speed: documents per CPU-second of ``Pii.redact`` on this set and on the bundled English
fortunes; ``--compare-rev REV`` times the ``pii`` module of a git revision in the same run.

    python bench/pii_bench.py                       # 16 locales x 100 items per kind
    python bench/pii_bench.py --compare-rev efc84b3 # also the speed of an older pii stage
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType

import phonenumbers
from faker import Faker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datacraft.stages.pii import ALL_TYPES, IBAN_LENGTHS, Pii  # noqa: E402

LOCALES = {
    "en_US": "en", "en_GB": "en", "de_DE": "de", "fr_FR": "fr", "es_ES": "es", "it_IT": "it", "nl_NL": "nl",
    "pt_BR": "pt", "ru_RU": "ru", "pl_PL": "pl", "sv_SE": "sv", "tr_TR": "tr", "ja_JP": "ja", "ko_KR": "ko",
    "zh_CN": "zh-cn", "vi_VN": "vi",
}  # fmt: skip
NEGATIVES = ("date", "time", "timestamp", "version", "price", "score", "range")
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d", "%d-%m-%Y")


def grouped(s: str, sep: str) -> str:
    return sep.join(s[i : i + 4] for i in range(0, len(s), 4))


def item(fake: Faker, rng: random.Random, kind: str) -> str:
    """One generated item of ``kind`` (a PII type or a negative kind)."""
    if kind == "email":
        return fake.email()
    if kind == "phone":
        return fake.phone_number()
    if kind == "ipv4":
        return fake.ipv4()
    if kind == "ipv6":
        return fake.ipv6()
    if kind == "credit_card":
        n = fake.credit_card_number()
        return n if rng.random() < 0.5 else grouped(n, rng.choice(" -"))
    if kind == "iban":
        n = fake.iban()
        return n if rng.random() < 0.5 else grouped(n, " ")
    if kind == "date":
        return fake.date(rng.choice(DATE_FORMATS))
    if kind == "time":
        return fake.time(rng.choice(("%H:%M:%S", "%H:%M")))
    if kind == "timestamp":
        return fake.date_time().strftime(rng.choice(("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y %H:%M")))
    if kind == "version":
        parts = [str(rng.randint(0, 20)), str(rng.randint(0, 99)), str(rng.randint(0, 20000))]
        return rng.choice(("{}.{}.{}", "v{}.{}.{}", "{}.{}", "{}.{}.{}-rc1", "version {}.{}.{}.4")).format(*parts)
    if kind == "price":
        return (
            fake.pricetag()
            if rng.random() < 0.5
            else f"{rng.randint(1000, 9_999_999):,} {rng.choice(('USD', 'EUR', '€', 'zł'))}"
        )
    if kind == "score":
        return "scores " + " ".join(str(rng.randint(0, 100)) for _ in range(rng.randint(3, 6)))
    if kind == "range":
        a = rng.randint(1, 2000)
        return rng.choice(("{}-{}", "pages {}-{}", "{}–{}")).format(a, a + rng.randint(1, 500))
    raise ValueError(kind)


def phone_ok(phone: str, locale: str) -> bool:
    """Whether a Faker phone number is a valid number of its locale's country (extension dropped)."""
    region = locale.split("_")[1]
    base = phone.split("x")[0]
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(base, region))
    except phonenumbers.NumberParseException:
        return False


def well_formed(kind: str, value: str, locale: str) -> bool:
    """Whether a generated positive is real-looking enough to be labelled: phones valid for their
    country, IBANs of their country's registered length, card numbers with a payment-network prefix
    (2-6, JCB 1800, Maestro 0604; Faker's ru_RU provider also makes numbers starting with 8)."""
    if kind == "phone":
        return phone_ok(value, locale)
    if kind == "iban":
        s = value.replace(" ", "")
        return IBAN_LENGTHS.get(s[:2]) == len(s)
    if kind == "credit_card":
        return value[0] in "23456" or value.startswith(("1800", "0604"))  # JCB 1800, Maestro 0604
    return True


def generate(per_kind: int, seed: int) -> tuple[list[dict], Counter]:
    """Labelled documents: ``{"text", "lang", "kind", "start", "end", "locale"}``; and phones left out per locale."""
    rows, dropped = [], Counter()
    for k, (locale, lang) in enumerate(LOCALES.items()):
        fake = Faker(locale)
        fake.seed_instance(seed + k)
        rng = random.Random(seed * 1000 + k)
        for kind in (*ALL_TYPES, *NEGATIVES):
            made = 0
            while made < per_kind:
                value = item(fake, rng, kind)
                if not well_formed(kind, value, locale):
                    dropped[(kind, locale)] += 1
                    if dropped[(kind, locale)] > 20 * per_kind:
                        break  # this locale's provider makes none (Faker's fallback IBANs: 21-character GB)
                    continue
                before = fake.sentence(nb_words=6)
                after = fake.sentence(nb_words=6)
                text = f"{before} {value}. {after}" if rng.random() < 0.5 else f"{before} {value} {after}"
                start = len(before) + 1
                rows.append(
                    {
                        "text": text,
                        "lang": lang,
                        "locale": locale,
                        "kind": kind,
                        "start": start,
                        "end": start + len(value),
                    }
                )
                made += 1
    return rows, dropped


def score(rows: list[dict], pii: Pii, use_lang: bool) -> tuple[dict, Counter, list]:
    """Per type: tp/predicted/gold counts; false positives per negative kind; a few errors to look at."""
    stats = {t: Counter() for t in ALL_TYPES}
    negatives_hit: Counter = Counter()
    errors = []
    for r in rows:
        spans = pii.find(r["text"], r["lang"] if use_lang else None)
        gold = r["kind"]
        if gold in stats:
            stats[gold]["gold"] += 1
        hit = False
        for sp in spans:
            stats[sp.kind]["pred"] += 1
            overlaps = sp.start < r["end"] and r["start"] < sp.end
            if sp.kind == gold and overlaps:
                stats[sp.kind]["tp"] += 1
                hit = True
            elif len(errors) < 30:
                errors.append(("FP", sp.kind, r["locale"], r["text"][sp.start : sp.end], r["kind"]))
            if gold in NEGATIVES and overlaps:
                negatives_hit[gold] += 1
        if gold in stats and not hit and len(errors) < 30:
            errors.append(("FN", gold, r["locale"], r["text"][r["start"] : r["end"]], ""))
    return stats, negatives_hit, errors


def old_module(rev: str) -> ModuleType:
    """The ``pii`` module of a git revision, loaded without registering its stage."""
    import datacraft.stages.registry as registry

    source = subprocess.run(
        ["git", "show", f"{rev}:datacraft/stages/pii.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    module = ModuleType(f"pii_{rev}")
    sys.modules[module.__name__] = module  # pydantic resolves the annotations through it
    saved = registry.register
    registry.register = lambda name: lambda cls: cls  # type: ignore[assignment]
    try:
        exec(compile(source, f"pii@{rev}", "exec"), module.__dict__)
    finally:
        registry.register = saved
    return module


def changed(redact, rows: list[dict]) -> Counter:
    """Per kind, how many items a ``redact(text) -> (text, counts)`` function did not leave intact."""
    out: Counter = Counter()
    for r in rows:
        value = r["text"][r["start"] : r["end"]]
        if value not in redact(r["text"])[0]:
            out[r["kind"]] += 1
    return out


def docs_per_cpu_second(redact, texts: list[str], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for t in texts:
            redact(t)
        best = min(best, time.process_time() - t0)
    return len(texts) / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-kind", type=int, default=100, help="items per kind and locale")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-lang", action="store_true", help="score without the documents' language")
    ap.add_argument("--compare-rev", help="also time the pii module of this git revision (e.g. efc84b3)")
    ap.add_argument("--errors", action="store_true", help="print up to 30 errors")
    args = ap.parse_args()

    rows, dropped = generate(args.per_kind, args.seed)
    pii = Pii()
    stats, negatives_hit, errors = score(rows, pii, not args.no_lang)
    n_neg = Counter(r["kind"] for r in rows if r["kind"] in NEGATIVES)
    print(
        f"## PII: {len(rows):,} generated documents, {len(LOCALES)} locales, seed {args.seed}"
        f" ({'with' if not args.no_lang else 'without'} the documents' language)\n"
    )
    print("| type | items | predicted | precision | recall |")
    print("|---|---:|---:|---:|---:|")
    for t, c in stats.items():
        p = c["tp"] / c["pred"] if c["pred"] else 1.0
        r = c["tp"] / c["gold"] if c["gold"] else 1.0
        print(f"| {t} | {c['gold']} | {c['pred']} | {p:.4f} | {r:.4f} |")
    print("\n| negative kind | items | redacted as PII |")
    print("|---|---:|---:|")
    for kind in NEGATIVES:
        print(f"| {kind} | {n_neg[kind]} | {negatives_hit[kind]} |")
    left = ", ".join(f"{k} {loc} {n}" for (k, loc), n in sorted(dropped.items()))
    print(f"\nGenerated positives left out as not well-formed (see `well_formed`): {left}.")
    if args.errors:
        for e in errors:
            print(e)

    fortunes = ROOT / "data" / "sample" / "fortunes-00.jsonl.gz"
    speed_sets = {"generated set": [r["text"] for r in rows]}
    if fortunes.exists():
        with gzip.open(fortunes, "rt", encoding="utf-8") as fh:
            speed_sets["English fortunes (data/sample)"] = [json.loads(line)["text"] for line in fh]
    engines = {"pii (this tree)": pii.redact}
    if args.compare_rev:
        old = old_module(args.compare_rev)
        engines[f"pii @ {args.compare_rev}"] = old.Pii().redact
    if len(engines) > 1:  # the older stage has no span API: compare which items each leaves intact
        kinds = Counter(r["kind"] for r in rows)
        hits = {name: changed(fn, rows) for name, fn in engines.items()}
        print("\nItems redacted (positives: higher is better; negatives: lower), without the documents' language:\n")
        print("| kind | items | " + " | ".join(engines) + " |")
        print("|---|---:|" + "---:|" * len(engines))
        for kind in (*ALL_TYPES, *NEGATIVES):
            print(f"| {kind} | {kinds[kind]} | " + " | ".join(str(hits[e][kind]) for e in engines) + " |")
    print("\n| set | docs | " + " | ".join(f"{e} docs/CPU-s" for e in engines) + " |")
    print("|---|---:|" + "---:|" * len(engines))
    for name, texts in speed_sets.items():
        rates = [docs_per_cpu_second(fn, texts) for fn in engines.values()]
        print(f"| {name} | {len(texts):,} | " + " | ".join(f"{x:,.0f}" for x in rates) + " |")


if __name__ == "__main__":
    main()
