"""Trainable intent classifier with an out-of-scope decision (CPU-only, offline).

TF-IDF over words/morphemes (1-2-grams) and character n-grams feeds a linear SVM
whose scores become probabilities through a softmax whose temperature is fitted
on held-out data. When the `embeddings` extra is installed, a logistic
regression over sentence embeddings is averaged in (it knows synonyms the TF-IDF
has never seen). A message whose best probability is below a threshold chosen on
validation data — never on test data — is out of scope: predict() returns None
and the bot hands off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from sodam.nlp.text import normalize, tokens

__all__ = ["IntentClassifier", "choose_threshold"]


def _word_analyzer(text: str) -> list[str]:
    toks = tokens(text, normalized=True)
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


TEMPERATURES = (
    1.0,
    2.0,
    3.0,
    5.0,
    7.0,
    10.0,
    14.0,
    20.0,
)  # softmax sharpening of SVM scores, chosen on validation


def _threshold_and_objective(
    max_prob_in: np.ndarray, correct_in: np.ndarray, max_prob_oos: np.ndarray, oos_weight: float
) -> tuple[float, float]:
    cands = np.unique(np.concatenate([max_prob_in, max_prob_oos, [0.0]]))
    # accepted in-scope correct / rejected out-of-scope for every candidate threshold, vectorised
    ok_sorted = np.sort(max_prob_in[correct_in])
    oos_sorted = np.sort(max_prob_oos)
    acc = (len(ok_sorted) - np.searchsorted(ok_sorted, cands, side="left")) / max(len(max_prob_in), 1)
    rec = np.searchsorted(oos_sorted, cands, side="left") / len(oos_sorted)
    obj = acc + oos_weight * rec
    i = int(np.argmax(obj))
    # Midway to the next lower candidate: the same decisions on validation, less brittle on new data.
    t = float(cands[i]) if i == 0 else float((cands[i] + cands[i - 1]) / 2)
    return t, float(obj[i])


def choose_threshold(
    max_prob_in: np.ndarray,
    correct_in: np.ndarray,
    max_prob_oos: np.ndarray | None,
    oos_weight: float = 1.0,
) -> float:
    """A rejection threshold from validation data.

    With out-of-scope examples: maximise in-scope accuracy + oos_weight x
    out-of-scope recall. Without them: keep 99 % of the correctly classified
    in-scope validation messages.
    """
    if max_prob_oos is None or len(max_prob_oos) == 0:
        ok = np.sort(max_prob_in[correct_in])
        return float(ok[int(0.01 * len(ok))]) if len(ok) else 0.0
    return _threshold_and_objective(max_prob_in, correct_in, max_prob_oos, oos_weight)[0]


@dataclass
class _Parts:
    word: TfidfVectorizer
    char: TfidfVectorizer
    svm: LinearSVC
    temperature: float
    emb_lr: LogisticRegression | None = None
    emb_weight: float = 0.0
    emb_model: str | None = None


class IntentClassifier:
    """fit(texts, labels) -> predict(text) -> (label | None, confidence); save/load with joblib."""

    def __init__(
        self,
        *,
        C: float = 0.5,
        use_embeddings: bool | None = None,
        emb_weight: float = 0.5,
        oos_weight: float = 1.0,
    ) -> None:
        """oos_weight: how much one point of out-of-scope recall is worth against in-scope accuracy."""
        self.C = C
        self.oos_weight = oos_weight
        self.use_embeddings = use_embeddings
        self.emb_weight = emb_weight
        self.threshold = 0.0
        self.classes_: np.ndarray | None = None
        self._p: _Parts | None = None
        self._encoder = None
        self._fit_cache: dict[str, np.ndarray] | None = None  # embeddings reused across fit's passes

    # -- features -----------------------------------------------------------------
    def _tfidf(self, texts: Sequence[str]):
        norm = [normalize(t) for t in texts]
        return sparse.hstack([self._p.word.transform(norm), self._p.char.transform(norm)]).tocsr()

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        from sodam.nlp.embeddings import get_encoder

        if self._encoder is None:
            self._encoder = get_encoder(self._p.emb_model)
            if self._encoder is None:
                raise RuntimeError("this model uses sentence embeddings: install the `embeddings` extra")
        cache = self._fit_cache
        if cache is None:
            return self._encoder.encode(list(texts))
        missing = list(dict.fromkeys(t for t in texts if t not in cache))
        if missing:
            cache.update(zip(missing, self._encoder.encode(missing), strict=True))
        return np.stack([cache[t] for t in texts])

    # -- training -----------------------------------------------------------------
    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        val_texts: Sequence[str] | None = None,
        val_labels: Sequence[str | None] | None = None,
        holdout: float = 0.1,
        seed: int = 0,
    ) -> IntentClassifier:
        """Train; calibrate and pick the out-of-scope threshold on validation data.

        val_labels may contain None for out-of-scope messages. Without validation
        data a stratified `holdout` share of the training data is held out for
        calibration, then the model is refitted on everything.
        """
        texts, labels = list(texts), list(labels)
        self._fit_cache = {}
        try:
            self._fit(texts, labels, val_texts, val_labels, holdout, seed)
        finally:
            self._fit_cache = None
        return self

    def _fit(self, texts, labels, val_texts, val_labels, holdout, seed) -> None:
        if val_texts is None:
            tr, va = _split(labels, holdout, seed)
            self._fit_models([texts[i] for i in tr], [labels[i] for i in tr])
            self._calibrate([texts[i] for i in va], [labels[i] for i in va])
            t, temp, w = self.threshold, self._p.temperature, self._p.emb_weight
            self._fit_models(texts, labels)
            self.threshold, self._p.temperature, self._p.emb_weight = t, temp, w
        else:
            self._fit_models(texts, labels)
            self._calibrate(list(val_texts), list(val_labels))

    def _fit_models(self, texts: list[str], labels: list[str]) -> None:
        from sodam.nlp import embeddings

        self.classes_, y = np.unique(np.asarray(labels, dtype=object), return_inverse=True)
        norm = [normalize(t) for t in texts]
        word = TfidfVectorizer(analyzer=_word_analyzer, sublinear_tf=True, min_df=1)
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
        x = sparse.hstack([word.fit_transform(norm), char.fit_transform(norm)]).tocsr()
        svm = LinearSVC(C=self.C).fit(x, y)
        self._p = _Parts(word, char, svm, temperature=10.0)
        use_emb = self.use_embeddings
        if use_emb is None:
            use_emb = embeddings.available() and embeddings.resolve_model_path() is not None
        if use_emb:
            self._p.emb_model = embeddings.resolve_model_path()
            e = self._embed(texts)
            self._p.emb_lr = LogisticRegression(C=20.0, max_iter=2000).fit(e, y)
            self._p.emb_weight = self.emb_weight

    def _calibrate(self, texts: list[str], labels: list[str | None]) -> None:
        index = {c: i for i, c in enumerate(self.classes_)}
        in_mask = np.array([lab is not None and lab in index for lab in labels])
        y_in = np.array([index[lab] for lab, m in zip(labels, in_mask, strict=True) if m])
        svm_scores = self._p.svm.decision_function(self._tfidf(texts))
        if svm_scores.ndim == 1:  # two classes: sklearn gives one column
            svm_scores = np.column_stack([-svm_scores, svm_scores])
        p_emb = self._p.emb_lr.predict_proba(self._embed(texts)) if self._p.emb_lr is not None else None
        has_oos = bool((~in_mask).any())
        best = None
        for temp in TEMPERATURES:
            p_svm = _softmax(svm_scores * temp)
            for w in (0.3, 0.4, 0.5, 0.6, 0.7) if p_emb is not None else (0.0,):
                p = p_svm if p_emb is None else (1 - w) * p_svm + w * p_emb
                pin = p[in_mask]
                correct = pin.argmax(1) == y_in
                nll = -float(np.mean(np.log(pin[np.arange(len(y_in)), y_in] + 1e-12)))
                if has_oos:
                    thr, obj = _threshold_and_objective(
                        pin.max(1), correct, p[~in_mask].max(1), self.oos_weight
                    )
                else:
                    thr, obj = choose_threshold(pin.max(1), correct, None), float(np.mean(correct))
                key = (round(obj, 6), -nll)  # the decision first, calibration breaks ties
                if best is None or key > best[0]:
                    best = (key, temp, w, thr)
        _, self._p.temperature, self._p.emb_weight, self.threshold = best

    # -- inference ----------------------------------------------------------------
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if self._p is None:
            raise RuntimeError("the classifier is not trained")
        p = _softmax(self._p.svm.decision_function(self._tfidf(texts)) * self._p.temperature)
        if self._p.emb_lr is not None:
            w = self._p.emb_weight
            p = (1 - w) * p + w * self._p.emb_lr.predict_proba(self._embed(texts))
        return p

    def predict_many(self, texts: Sequence[str]) -> list[tuple[str | None, float]]:
        p = self.predict_proba(texts)
        best = p.argmax(1)
        out = []
        for i, j in enumerate(best):
            conf = float(p[i, j])
            out.append((str(self.classes_[j]) if conf >= self.threshold else None, conf))
        return out

    def predict(self, text: str) -> tuple[str | None, float]:
        """The intent, or None when out of scope, with the model's probability for its best guess."""
        return self.predict_many([text])[0]

    # -- persistence ----------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        import joblib

        encoder, self._encoder = self._encoder, None  # the encoder is reloaded from its path
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            joblib.dump(self, path, compress=3)
        finally:
            self._encoder = encoder

    def __setstate__(self, state: dict) -> None:
        state.setdefault("_fit_cache", None)
        self.__dict__.update(state)

    @classmethod
    def load(cls, path: str | Path) -> IntentClassifier:
        import joblib

        obj = joblib.load(path)
        if not isinstance(obj, cls):
            raise TypeError(f"{path} does not hold an IntentClassifier")
        return obj


def _split(labels: list[str], share: float, seed: int) -> tuple[list[int], list[int]]:
    """A stratified split: `share` of each label (at least one when it has two or more) held out."""
    rng = np.random.default_rng(seed)
    by: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        by.setdefault(lab, []).append(i)
    tr, va = [], []
    for idx in by.values():
        idx = list(rng.permutation(idx))
        n = int(round(share * len(idx))) if len(idx) > 1 else 0
        n = max(n, 1) if len(idx) > 1 else 0
        va += idx[:n]
        tr += idx[n:]
    return sorted(tr), sorted(va)
