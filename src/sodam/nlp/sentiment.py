"""Sentiment of a customer message: a score in [-1, 1] and negative / neutral / positive.

Korean: a trained model (NSMC movie reviews, 150k) — NB-weighted logistic
regressions over character 1–5-grams and kiwipiepy morpheme 1–3-grams, averaged
with weights chosen on a held-out share of train. It is not shipped in git (tens
of MB); train it once with

    sodam nlp train-sentiment --nsmc ../shared/datasets/nsmc

which writes SODAM_DATA_DIR/models/sentiment_ko.joblib, where the product loads it
from (about 5 minutes on 2 cores, 203 s of CPU; the file is ~31 MB). `python -m
sodam.nlp.sentiment train --nsmc DIR --out PATH` and `sodam bench nlu --dataset nsmc
--save PATH` train the same model.
Until a model exists, and for English always, a small hand-written lexicon with
negation handling gives the direction: no English sentiment data set is on this
machine, so English uses the lexicon only.
"""

from __future__ import annotations

import csv
import re
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sodam.nlp.language import detect
from sodam.nlp.text import Tok, analyse_batch, english_tokens, normalize, tagged_morphemes_batch

__all__ = [
    "DatasetError",
    "KoreanSentimentModel",
    "Sentiment",
    "SentimentScorer",
    "default_model_path",
    "lexicon_score_en",
    "lexicon_score_ko",
    "read_nsmc",
    "train_from_nsmc",
]

NEUTRAL_BAND = 0.2  # |score| below this is "neutral": NSMC has no neutral class, so this is a product choice


@dataclass(frozen=True)
class Sentiment:
    score: float  # -1 (very negative) .. 1 (very positive)
    label: str  # negative | neutral | positive
    language: str | None
    source: str  # "model" or "lexicon"


def _label(score: float) -> str:
    if score <= -NEUTRAL_BAND:
        return "negative"
    if score >= NEUTRAL_BAND:
        return "positive"
    return "neutral"


# -- lexicons ---------------------------------------------------------------------------
_EN_POS = {
    "good", "great", "excellent", "amazing", "awesome", "fantastic", "wonderful", "love", "like", "thank",
    "thanks", "helpful", "happy", "glad", "perfect", "best", "nice", "easy", "fast", "quick", "resolv",
    "solv", "fix", "work", "appreciat", "pleas", "satisfi", "recommend", "smooth", "friendly", "brilliant",
    "super", "cool", "enjoy", "impress", "reliabl", "kind", "polit",
}  # fmt: skip
_EN_NEG = {
    "bad", "terribl", "awful", "horribl", "worst", "hate", "angry", "annoy", "disappoint", "frustrat",
    "useless", "broken", "broke", "slow", "poor", "wrong", "fail", "error", "problem", "issu", "bug",
    "crash", "refund", "cancel", "complain", "rude", "scam", "fraud", "never", "unhappy", "upset",
    "ridiculous", "unacceptabl", "wast", "stuck", "lost", "miss", "delay", "late", "stolen", "worse",
    "sucks", "suck", "unabl", "cannot", "can't", "charg",
}  # fmt: skip
_EN_NEGATORS = {
    "not",
    "no",
    "never",
    "don't",
    "doesn't",
    "didn't",
    "isn't",
    "wasn't",
    "won't",
    "cannot",
    "can't",
    "nothing",
}

_KO_POS = {
    "좋", "최고", "감사", "고맙", "만족", "훌륭", "친절", "빠르", "재밌", "재미있", "추천", "사랑", "편하",
    "편리", "괜찮", "대박", "짱", "멋지", "행복", "기쁘", "완벽", "해결", "굿", "감동", "수고", "유용",
}  # fmt: skip
_KO_NEG = {
    "싫", "최악", "별로", "불만", "화나", "화", "짜증", "실망", "느리", "불편", "나쁘", "환불", "엉망",
    "쓰레기", "답답", "문제", "오류", "고장", "불친절", "아깝", "후회", "불량", "늦", "취소", "안되",
    "황당", "어이없", "망하", "속상", "지겹", "귀찮", "당황", "억울", "피해", "사기",
}  # fmt: skip


def lexicon_score_en(text: str) -> float:
    """Direction from word lists; a negator up to three words before a word flips it."""
    words = normalize(text).replace("n't", " not").split()
    toks = english_tokens(" ".join(words), normalized=True)
    total, hits = 0.0, 0
    for i, tok in enumerate(toks):
        pol = 1.0 if tok in _EN_POS else -1.0 if tok in _EN_NEG else 0.0
        if not pol:
            continue
        if any(t in _EN_NEGATORS for t in toks[max(0, i - 3) : i]):
            pol = -pol
        total += pol
        hits += 1
    if "!" in text and total:
        total *= 1.2
    return float(np.tanh(total / 1.5)) if hits else 0.0


def lexicon_score_ko(text: str, toks: Sequence[Tok] | None = None) -> float:
    """Direction from morpheme lists; 안/못 before or 않/없 after a word flips it; ㅠㅠ counts negative.
    toks: Kiwi's analysis of normalize(text, keep_emoticons=True), when the caller has it."""
    if toks is None:
        (toks,) = analyse_batch([normalize(text, keep_emoticons=True)])
    total, hits = 0.0, 0
    for i, t in enumerate(toks):
        form = t.form
        pol = 0.0
        if form in _KO_POS:
            pol = 1.0
        elif form in _KO_NEG:
            pol = -1.0
        elif re.fullmatch(r"[ㅠㅜ]+", form):
            pol = -0.7
        elif re.fullmatch(r"[ㅋㅎ]+", form):
            pol = 0.3
        if not pol:
            continue
        before = toks[i - 1].form if i else ""
        after = {x.form for x in toks[i + 1 : i + 4]}
        is_predicate = t.tag.startswith(("VV", "VA", "XR"))  # "좋지 않아요"; not "별로 ... 않아요"
        if before in ("안", "못") or (is_predicate and after & {"않", "없", "못하"}):
            pol = -pol
        total += pol
        hits += 1
    return float(np.tanh(total / 1.5)) if hits else 0.0


# -- the trained Korean model ---------------------------------------------------------
class DatasetError(ValueError):
    """A training data set that is missing or not in the expected format."""


def read_nsmc(path: str | Path, *, strict: bool = False) -> tuple[list[str], list[int]]:
    """NSMC's TSV (id, document, label); quoting off because reviews contain quote marks.

    strict: raise DatasetError on a missing file, a wrong header, a row that is not
    `id<TAB>document<TAB>0|1`, or a file without both labels (else short rows are skipped).
    """
    path = Path(path)
    if strict and not path.is_file():
        raise DatasetError(f"{path} does not exist")
    texts, labels = [], []
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(reader, None)
            if strict and header != ["id", "document", "label"]:
                raise DatasetError(f"{path}: the first line must be the header 'id<TAB>document<TAB>label'")
            for line, row in enumerate(reader, start=2):
                if strict and (len(row) != 3 or row[2] not in ("0", "1")):
                    raise DatasetError(
                        f"{path}, line {line}: expected 'id<TAB>document<TAB>0|1', got {row!r:.120}"
                    )
                if len(row) < 3:
                    continue
                texts.append(row[1])
                labels.append(int(row[2]))
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path} is not UTF-8 text: {exc}") from exc
    if strict and set(labels) != {0, 1}:
        raise DatasetError(
            f"{path}: needs both negative (0) and positive (1) reviews, found {sorted(set(labels))}"
        )
    return texts, labels


def train_from_nsmc(folder: str | Path, out: str | Path) -> dict:
    """Train the Korean model on `folder`/ratings_train.txt and save it to `out` (atomically).

    Raises DatasetError when the folder or its file is missing or malformed.
    """
    import os
    import time

    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"no NSMC folder at {folder} (it must hold ratings_train.txt)")
    texts, labels = read_nsmc(folder / "ratings_train.txt", strict=True)
    start, cpu0 = time.perf_counter(), time.process_time()
    model = KoreanSentimentModel().fit(texts, labels)
    train_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu0
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    model.save(tmp)
    os.replace(tmp, out)  # a process loading the model never sees a half-written file
    return {
        "path": str(out),
        "n_train": len(texts),
        "train_s": round(train_s, 1),
        "train_cpu_s": round(cpu_s, 1),
        "size_mb": round(out.stat().st_size / 1e6, 1),
    }


def _nb_ratio(x, y: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Naive-Bayes log-count ratio per feature (Wang & Manning 2012)."""
    xb = x.copy()
    xb.data[:] = 1.0
    p = alpha + np.asarray(xb[y == 1].sum(0)).ravel()
    q = alpha + np.asarray(xb[y == 0].sum(0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)


def _join_morphs(ms: list[str]) -> str:
    return " ".join(ms)


def _space_split(text: str) -> list[str]:
    return text.split()


class KoreanSentimentModel:
    """NB-weighted logistic regressions over char n-grams and morpheme n-grams, averaged."""

    # Averaging weights (char model, morpheme model) chosen on a 10 % holdout of NSMC train
    # (holdout accuracy 88.2 %); pass weights=None to choose them again on your data.
    DEFAULT_WEIGHTS = (0.65, 0.35)

    def __init__(
        self,
        *,
        C: float = 4.0,
        weights: Sequence[float] | None = DEFAULT_WEIGHTS,
        holdout: float = 0.1,
        seed: int = 0,
    ) -> None:
        self.C, self.holdout, self.seed = C, holdout, seed
        self.fixed_weights = list(weights) if weights is not None else None
        self.weights: list[float] = []
        self.holdout_accuracy: float | None = None
        self._vecs: list = []
        self._ratios: list[np.ndarray] = []
        self._models: list = []

    @staticmethod
    def _views(texts: Sequence[str]) -> tuple[list[str], list[str]]:
        norm = [normalize(t, keep_emoticons=True) for t in texts]
        morphs = [_join_morphs(m) for m in tagged_morphemes_batch(norm)]
        return norm, morphs

    def _make_vectorizers(self):
        from sklearn.feature_extraction.text import TfidfVectorizer

        char = TfidfVectorizer(
            analyzer="char", ngram_range=(1, 5), min_df=2, sublinear_tf=True, max_features=1_500_000
        )
        morph = TfidfVectorizer(
            analyzer="word",
            tokenizer=_space_split,
            token_pattern=None,
            lowercase=False,
            ngram_range=(1, 3),
            min_df=2,
            sublinear_tf=True,
        )
        return [char, morph]

    def _fit_views(self, views: list[list[str]], y: np.ndarray):
        from sklearn.linear_model import LogisticRegression

        vecs, ratios, models = self._make_vectorizers(), [], []
        for vec, texts in zip(vecs, views, strict=True):
            x = vec.fit_transform(texts)
            r = _nb_ratio(x, y)
            ratios.append(r)
            models.append(
                LogisticRegression(C=self.C, solver="liblinear", max_iter=1000).fit(x.multiply(r).tocsr(), y)
            )
        return vecs, ratios, models

    @staticmethod
    def _probas(parts, views: list[list[str]]) -> np.ndarray:
        vecs, ratios, models = parts
        cols = [
            m.predict_proba(v.transform(texts).multiply(r).tocsr())[:, 1]
            for v, r, m, texts in zip(vecs, ratios, models, views, strict=True)
        ]
        return np.column_stack(cols)

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> KoreanSentimentModel:
        """Train (once with fixed weights; else weights chosen on a held-out share, then refit on all)."""
        y = np.asarray(labels, dtype=int)
        views = list(self._views(texts))
        if self.fixed_weights is not None:
            self.weights = self.fixed_weights
            self._vecs, self._ratios, self._models = self._fit_views(views, y)
            return self
        rng = np.random.default_rng(self.seed)
        perm = rng.permutation(len(y))
        n_va = int(self.holdout * len(y))
        va, tr = perm[:n_va], perm[n_va:]
        parts = self._fit_views([[v[i] for i in tr] for v in views], y[tr])
        p = self._probas(parts, [[v[i] for i in va] for v in views])
        best = (-1.0, 0.5)
        for w in np.linspace(0, 1, 21):
            acc = np.mean(((w * p[:, 0] + (1 - w) * p[:, 1]) >= 0.5) == y[va])
            if acc > best[0]:
                best = (acc, float(w))
        self.weights = [round(best[1], 2), round(1 - best[1], 2)]
        self.holdout_accuracy = float(best[0])
        self._vecs, self._ratios, self._models = self._fit_views(views, y)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(positive) per text."""
        p = self._probas((self._vecs, self._ratios, self._models), list(self._views(texts)))
        return p @ np.asarray(self.weights)

    def save(self, path: str | Path) -> None:
        import joblib

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path, compress=3)

    @classmethod
    def load(cls, path: str | Path) -> KoreanSentimentModel:
        import joblib

        obj = joblib.load(path)
        if not isinstance(obj, cls):
            raise TypeError(f"{path} does not hold a KoreanSentimentModel")
        return obj


def default_model_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / "models" / "sentiment_ko.joblib"


class SentimentScorer:
    """Scores any message: the Korean model when it has been trained, lexicons otherwise.

    The model is loaded lazily on first use and kept for the process.
    """

    def __init__(
        self, model_path: str | Path | None = None, model: KoreanSentimentModel | None = None
    ) -> None:
        self.model_path = Path(model_path) if model_path else None
        self._model = model
        self._tried = model is not None
        self._lock = threading.Lock()

    def _korean_model(self) -> KoreanSentimentModel | None:
        if not self._tried:
            with self._lock:
                if not self._tried:
                    if self.model_path is not None and self.model_path.exists():
                        self._model = KoreanSentimentModel.load(self.model_path)
                    self._tried = True
        return self._model

    def score(self, text: str, language: str | None = None) -> Sentiment:
        lang = language or detect(text, default="ko")
        if lang == "ko":
            model = self._korean_model()
            if model is not None:
                p = float(model.predict_proba([text])[0])
                s = 2 * p - 1
                return Sentiment(round(s, 4), _label(s), lang, "model")
            s = lexicon_score_ko(text)
            return Sentiment(round(s, 4), _label(s), lang, "lexicon")
        s = lexicon_score_en(text)
        return Sentiment(round(s, 4), _label(s), lang, "lexicon")

    def score_many(self, texts: Sequence[str]) -> list[Sentiment]:
        """score() for many texts, the Korean model called once for all of them (its
        vectorisers cost more per call than per text)."""
        langs = [detect(t, default="ko") for t in texts]
        model = self._korean_model()
        korean = [i for i, lang in enumerate(langs) if lang == "ko"] if model is not None else []
        results: list[Sentiment | None] = [None] * len(texts)
        if korean:
            for i, p in zip(korean, model.predict_proba([texts[i] for i in korean]), strict=True):
                s = 2 * float(p) - 1
                results[i] = Sentiment(round(s, 4), _label(s), "ko", "model")
        elif model is None:
            # The lexicons: Kiwi over the Korean texts as one batch (shared with the search
            # indexer through analyse_batch's memory of recent texts).
            lexicon = [i for i, lang in enumerate(langs) if lang == "ko"]
            analysed = analyse_batch([normalize(texts[i], keep_emoticons=True) for i in lexicon])
            for i, toks in zip(lexicon, analysed, strict=True):
                s = lexicon_score_ko(texts[i], toks)
                results[i] = Sentiment(round(s, 4), _label(s), "ko", "lexicon")
        return [
            r if r is not None else self.score(t, lang)
            for r, t, lang in zip(results, texts, langs, strict=True)
        ]


def _main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sodam.nlp.sentiment")
    sub = parser.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train", help="train the Korean model on NSMC's train split")
    tr.add_argument("--nsmc", required=True, help="folder with ratings_train.txt")
    tr.add_argument("--out", required=True, help="where to write the model (.joblib)")
    args = parser.parse_args(argv)
    try:
        info = train_from_nsmc(args.nsmc, args.out)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"trained on {info['n_train']} reviews in {info['train_s']:.0f} s -> {info['path']}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
