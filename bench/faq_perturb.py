"""How much the FAQ bot's answers depend on how cleanly the customer types (a check, not a
tuning set: nothing is chosen on its figures).

Each answerable dev query (bench/data/faq_dev) is perturbed programmatically, one way at a
time, with a fixed seed: all spaces removed, a space put inside a word, 요 endings typed as
여/염, one syllable dropped, one jamo replaced by a neighbouring key of the 2-beolsik
keyboard. The perturbed queries go through the same offline ranking and decision as
bench/faq_tune.py (the live constants); the figure per perturbation is the share answered
with the right article, clean vs perturbed, over the queries the perturbation changed.

    python -m bench.faq_perturb
"""

from __future__ import annotations

import json
import random
import re
import sys
import tempfile
from pathlib import Path

from bench import faq_tune

SEED = 11
_HANGUL_WORD = re.compile(r"[\uac00-\ud7a3]{2,}")
_YO_END = re.compile(r"요(?=[?!.,~\s]|$)")

# 2-beolsik neighbours of each jamo (left/right on the same row; lead and tail consonants share
# keys), as compatibility jamo.
_ROWS = ("ㅂㅈㄷㄱㅅㅛㅕㅑㅐㅔ", "ㅁㄴㅇㄹㅎㅗㅓㅏㅣ", "ㅋㅌㅊㅍㅠㅜㅡ")
_NEIGHBOURS: dict[str, str] = {}
for _row in _ROWS:
    for _i, _ch in enumerate(_row):
        _NEIGHBOURS[_ch] = (_row[_i - 1] if _i else "") + (_row[_i + 1] if _i + 1 < len(_row) else "")
_LEADS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_VOWELS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_TAILS = " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"


def _syllable(lead: int, vowel: int, tail: int) -> str:
    return chr(0xAC00 + (lead * 21 + vowel) * 28 + tail)


def _words(text: str) -> list[re.Match]:
    return list(_HANGUL_WORD.finditer(text))


def no_spaces(text: str, rnd: random.Random) -> str:
    return text.replace(" ", "")


def split_word(text: str, rnd: random.Random) -> str:
    words = _words(text)
    if not words:
        return text
    w = rnd.choice(words)
    cut = rnd.randrange(w.start() + 1, w.end())
    return text[:cut] + " " + text[cut:]


def chat_ending(text: str, rnd: random.Random) -> str:
    return _YO_END.sub(lambda m: rnd.choice("여염"), text)


def drop_syllable(text: str, rnd: random.Random) -> str:
    words = [w for w in _words(text) if len(w.group(0)) >= 3]
    if not words:
        return text
    w = rnd.choice(words)
    i = rnd.randrange(w.start(), w.end())
    return text[:i] + text[i + 1 :]


def jamo_typo(text: str, rnd: random.Random) -> str:
    """One jamo of one syllable replaced by a neighbouring key (what a slipped finger types)."""
    words = _words(text)
    if not words:
        return text
    w = rnd.choice(words)
    i = rnd.randrange(w.start(), w.end())
    code = ord(text[i]) - 0xAC00
    lead, vowel, tail = code // 588, (code % 588) // 28, code % 28
    options = []
    for n in _NEIGHBOURS.get(_LEADS[lead], ""):
        if n in _LEADS:
            options.append(_syllable(_LEADS.index(n), vowel, tail))
    for n in _NEIGHBOURS.get(_VOWELS[vowel], ""):
        if n in _VOWELS:
            options.append(_syllable(lead, _VOWELS.index(n), tail))
    if tail:
        for n in _NEIGHBOURS.get(_TAILS[tail], ""):
            if n in _TAILS:
                options.append(_syllable(lead, vowel, _TAILS.index(n)))
    if not options:
        return text
    return text[:i] + rnd.choice(options) + text[i + 1 :]


PERTURBATIONS = {
    "no_spaces": no_spaces,
    "split_word": split_word,
    "chat_ending": chat_ending,
    "drop_syllable": drop_syllable,
    "jamo_typo": jamo_typo,
}


def perturbed_sets(queries: list[dict]) -> dict[str, list[tuple[dict, dict]]]:
    """Per perturbation: (clean query, perturbed query) for each answerable query it changes."""
    out = {}
    for name, fn in PERTURBATIONS.items():
        rnd = random.Random(f"{SEED}:{name}")
        pairs = []
        for q in queries:
            if q.get("kind") != "answerable":
                continue
            text = fn(q["text"], rnd)
            if text != q["text"]:
                pairs.append((q, {**q, "text": text}))
        out[name] = pairs
    return out


def main(kb_path: Path | None = None, q_path: Path | None = None) -> dict:
    kb_path = kb_path or faq_tune.DEV / "kb.json"
    queries = json.loads(Path(q_path or faq_tune.DEV / "queries.json").read_text(encoding="utf-8"))
    sets = perturbed_sets(queries)
    every = queries + [p for pairs in sets.values() for _, p in pairs]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump(every, f, ensure_ascii=False)
    try:
        rows = faq_tune.run(kb_path, f.name)
    finally:
        Path(f.name).unlink()
    by_text = {(r["q"].get("kb"), r["q"]["text"]): r for r in rows}

    def right(q: dict) -> bool:
        r = by_text[(q.get("kb"), q["text"])]
        return not r["human"] and faq_tune._right(r) and r["res"].confidence.decision() == "answer"

    def first(q: dict) -> bool:
        return faq_tune._right(by_text[(q.get("kb"), q["text"])])

    def share(test, qs) -> float:
        return round(sum(map(test, qs)) / max(1, len(qs)), 4)

    clean_all = [q for q in queries if q.get("kind") == "answerable"]
    report = {
        "clean": {
            "n": len(clean_all),
            "answered_right": share(right, clean_all),
            "first": share(first, clean_all),
        }
    }
    for name, pairs in sets.items():
        clean, perturbed = [c for c, _ in pairs], [p for _, p in pairs]
        before, after = share(right, clean), share(right, perturbed)
        report[name] = {
            "n": len(pairs),
            "clean": before,
            "perturbed": after,
            "drop": round(before - after, 4),
            "first_clean": share(first, clean),
            "first_perturbed": share(first, perturbed),
        }
    n_all = sum(v["n"] for k, v in report.items() if k != "clean")
    report["mean_drop"] = round(
        sum(v["drop"] * v["n"] for k, v in report.items() if k != "clean") / max(1, n_all), 4
    )
    return report


if __name__ == "__main__":
    if "--show" in sys.argv:
        qs = json.loads((faq_tune.DEV / "queries.json").read_text(encoding="utf-8"))
        for name, pairs in perturbed_sets(qs).items():
            for c, p in pairs[:5]:
                print(f"{name}: {c['text']}  ->  {p['text']}")
    else:
        print(json.dumps(main()))
