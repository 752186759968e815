"""A text's ranking terms: word (morpheme) terms and character n-gram terms, prefixed apart
(nlp.ranking indexes and ranks on them)."""

from __future__ import annotations

from collections.abc import Sequence

from sodam.nlp.text import char_ngrams, english_tokens, has_hangul, morphemes_batch, normalize, tokens

__all__ = ["CHAR", "WORD", "analyze", "analyze_batch", "joined_word_terms"]

WORD, CHAR = "w:", "c:"


def analyze(text: str, n_min: int = 2, n_max: int = 4) -> list[str]:
    """The terms of a text: word/morpheme terms and character n-gram terms, prefixed apart."""
    norm = normalize(text)
    return [WORD + t for t in tokens(norm, normalized=True)] + [
        CHAR + g for g in char_ngrams(norm, n_min, n_max, normalized=True)
    ]


def analyze_batch(texts: Sequence[str], n_min: int = 2, n_max: int = 4) -> list[list[str]]:
    """analyze() over many texts, Korean ones through Kiwi's multi-threaded batch."""
    norms = [normalize(t) for t in texts]
    ko = [i for i, t in enumerate(norms) if has_hangul(t)]
    words: list[list[str]] = [[] for _ in norms]
    for i, toks in zip(ko, morphemes_batch([norms[i] for i in ko], normalized=True), strict=True):
        words[i] = toks
    out = []
    for i, norm in enumerate(norms):
        toks = words[i] if has_hangul(norm) else english_tokens(norm, normalized=True)
        out.append(
            [WORD + t for t in toks] + [CHAR + g for g in char_ngrams(norm, n_min, n_max, normalized=True)]
        )
    return out


def joined_word_terms(query: str, terms: list[str]) -> list[str]:
    """The word terms of the query typed without its spaces that its own analysis lacks: a space
    inside a word ("결 제 했는데", "며 칠이면") breaks its morpheme, and Kiwi segments unspaced
    text itself. Added to what BM25 ranks on (not to the two-way match)."""
    if " " not in query or not has_hangul(query):
        return []
    have = set(terms)
    joined = normalize(query).replace(" ", "")
    return [WORD + t for t in dict.fromkeys(tokens(joined, normalized=True)) if WORD + t not in have]
