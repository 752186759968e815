"""Trainable intent classifier with an out-of-scope decision (CPU-only, offline).

TF-IDF over words/morphemes (1-2-grams) and character n-grams feeds a linear SVM
whose scores become probabilities through a softmax whose temperature is fitted
on held-out data. When the `embeddings` extra is installed, a logistic
regression over sentence embeddings is averaged in (it knows synonyms the TF-IDF
has never seen). With tune_layers > 0 the top layers of that encoder are also
fine-tuned with a classification head (`embeddings.TopLayerTuner`: the frozen lower
layers run once per training text, a few CPU minutes on 10-15k texts) and their
probabilities join the average; the averaging weights and the softmax temperature
are chosen on held-out data. A message whose best probability is below a threshold
chosen on validation data — never on test data — is out of scope: predict()
returns None and the bot hands off. The threshold either maximises in-scope
accuracy + oos_weight x out-of-scope recall, or (min_oos_recall) keeps the most
in-scope answers while rejecting at least that share of the validation
out-of-scope messages.
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
    max_prob_in: np.ndarray,
    correct_in: np.ndarray,
    max_prob_oos: np.ndarray,
    oos_weight: float,
    min_oos_recall: float | None = None,
) -> tuple[float, float]:
    if min_oos_recall is not None:
        return _threshold_for_recall(max_prob_in, correct_in, max_prob_oos, min_oos_recall)
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


def _threshold_for_recall(
    max_prob_in: np.ndarray, correct_in: np.ndarray, max_prob_oos: np.ndarray, min_recall: float
) -> tuple[float, float]:
    """The lowest threshold that rejects at least `min_recall` of the out-of-scope messages
    (so the most in-scope answers are kept), and the in-scope accuracy it leaves."""
    oos = np.sort(max_prob_oos)
    k = int(np.ceil(min_recall * len(oos) - 1e-9))  # messages that must fall below the threshold
    if k <= 0:
        t = 0.0
    elif k >= len(oos):
        t = float(np.nextafter(oos[-1], np.inf))
    else:
        t = float((oos[k - 1] + oos[k]) / 2)  # midway: the same decisions, less brittle on new data
    return t, float(np.mean(correct_in & (max_prob_in >= t)))


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
    tuner: object | None = None  # embeddings.TopLayerTuner: fine-tuned top MiniLM layers + head
    tune_weight: float = 0.0


class IntentClassifier:
    """fit(texts, labels) -> predict(text) -> (label | None, confidence); save/load with joblib."""

    def __init__(
        self,
        *,
        C: float = 0.5,
        use_embeddings: bool | None = None,
        emb_weight: float = 0.5,
        oos_weight: float = 1.0,
        min_oos_recall: float | None = None,
        tune_layers: int = 0,
        tune_epochs: float = 2.0,
    ) -> None:
        """oos_weight: how much one point of out-of-scope recall is worth against in-scope accuracy.

        min_oos_recall: instead, keep as many in-scope answers as possible while rejecting at
        least this share of the validation out-of-scope messages.
        tune_layers: with the `embeddings` extra, also fine-tune this many top encoder layers
        plus a classification head for tune_epochs (0: off; CPU minutes on real data sets).
        """
        self.C = C
        self.oos_weight = oos_weight
        self.min_oos_recall = min_oos_recall
        self.tune_layers = tune_layers
        self.tune_epochs = tune_epochs
        self.use_embeddings = use_embeddings
        self.emb_weight = emb_weight
        self.threshold = 0.0
        self.calibration_report: dict | None = None
        self.classes_: np.ndarray | None = None
        self._p: _Parts | None = None
        self._encoder = None
        self._fit_cache: dict[str, np.ndarray] | None = None  # embeddings reused across fit's passes

    # -- features -----------------------------------------------------------------
    def _tfidf(self, texts: Sequence[str]):
        norm = [normalize(t) for t in texts]
        return sparse.hstack([self._p.word.transform(norm), self._p.char.transform(norm)]).tocsr()

    def _tuned(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(fine-tuned head's probabilities, frozen embeddings) from one pass of the encoder."""
        tuner = self._p.tuner
        if tuner._encoder is None:
            self._embed([])  # loads the encoder
            tuner.attach(self._encoder)
        states, pooled = tuner.below(list(texts), with_pooled=True)
        return tuner.predict_proba(list(texts), states=states), pooled

    def _svm_scores(self, texts: Sequence[str]) -> np.ndarray:
        scores = self._p.svm.decision_function(self._tfidf(texts))
        if scores.ndim == 1:  # two classes: sklearn gives one column
            scores = np.column_stack([-scores, scores])
        return scores

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        from sodam.nlp.embeddings import get_encoder

        if self._encoder is None:
            self._encoder = get_encoder(self._p.emb_model)
            if self._encoder is None:
                raise RuntimeError("this model uses sentence embeddings: install the `embeddings` extra")
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
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
            t, temp, w, wt = self.threshold, self._p.temperature, self._p.emb_weight, self._p.tune_weight
            # The fine-tuned layers (minutes of CPU) are kept from the first pass, not trained again.
            self._fit_models(texts, labels, keep_tuner=self._p.tuner)
            self.threshold, self._p.temperature, self._p.emb_weight = t, temp, w
            self._p.tune_weight = wt
        else:
            self._fit_models(texts, labels)
            self._calibrate(list(val_texts), list(val_labels))

    def _fit_models(self, texts: list[str], labels: list[str], keep_tuner=None) -> None:
        from sodam.nlp import embeddings

        classes_before = self.classes_
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
            if keep_tuner is not None and np.array_equal(classes_before, self.classes_):
                self._p.tuner = keep_tuner
            elif self.tune_layers:
                self._embed([])  # loads the encoder
                tuner = embeddings.TopLayerTuner(layers=self.tune_layers, epochs=self.tune_epochs)
                tuner.attach(self._encoder)
                states, pooled = tuner.below(texts, with_pooled=True)
                self._fit_cache.update(zip(texts, pooled, strict=True))
                self._p.tuner = tuner.fit(texts, y, len(self.classes_), states=states)
            e = self._embed(texts)
            self._p.emb_lr = LogisticRegression(C=20.0, max_iter=2000).fit(e, y)
            self._p.emb_weight = self.emb_weight

    def _calibrate(self, texts: list[str], labels: list[str | None]) -> None:
        index = {c: i for i, c in enumerate(self.classes_)}
        in_mask = np.array([lab is not None and lab in index for lab in labels])
        y_in = np.array([index[lab] for lab, m in zip(labels, in_mask, strict=True) if m])
        svm_scores = self._svm_scores(texts)
        p_tune = None
        if self._p.tuner is not None:
            p_tune, pooled = self._tuned(texts)
            self._fit_cache.update(zip(texts, pooled, strict=True))
        p_emb = self._p.emb_lr.predict_proba(self._embed(texts)) if self._p.emb_lr is not None else None
        if p_tune is not None:  # (weight of the frozen-embedding LR, weight of the tuned head); SVM the rest
            grid = [
                (w, wt) for wt in (0.4, 0.5, 0.6, 0.7, 0.8) for w in (0.0, 0.1, 0.2, 0.3) if w + wt <= 0.9
            ]
        elif p_emb is not None:
            grid = [(w, 0.0) for w in (0.3, 0.4, 0.5, 0.6, 0.7)]
        else:
            grid = [(0.0, 0.0)]
        has_oos = bool((~in_mask).any())
        best = None
        for temp in TEMPERATURES:
            p_svm = _softmax(svm_scores * temp)
            for w, wt in grid:
                p = (1 - w - wt) * p_svm
                if p_emb is not None:
                    p = p + w * p_emb
                if p_tune is not None:
                    p = p + wt * p_tune
                pin = p[in_mask]
                correct = pin.argmax(1) == y_in
                nll = -float(np.mean(np.log(pin[np.arange(len(y_in)), y_in] + 1e-12)))
                if has_oos:
                    thr, obj = _threshold_and_objective(
                        pin.max(1), correct, p[~in_mask].max(1), self.oos_weight, self.min_oos_recall
                    )
                else:
                    thr, obj = choose_threshold(pin.max(1), correct, None), float(np.mean(correct))
                key = (round(obj, 6), -nll)  # the decision first, calibration breaks ties
                if best is None or key > best[0]:
                    best = (key, temp, w, wt, thr)
        _, self._p.temperature, self._p.emb_weight, self._p.tune_weight, self.threshold = best
        # What the chosen settings do on the calibration data (a dev figure, never a test one).
        temp, w, wt, thr = best[1:]
        p = (1 - w - wt) * _softmax(svm_scores * temp)
        if p_emb is not None:
            p = p + w * p_emb
        if p_tune is not None:
            p = p + wt * p_tune
        pin = p[in_mask]
        correct = pin.argmax(1) == y_in
        self.calibration_report = {
            "n": int(len(labels)),
            "accuracy_no_rejection": round(100 * float(np.mean(correct)), 2),
            "in_scope_accuracy": round(100 * float(np.mean(correct & (pin.max(1) >= thr))), 2),
            "oos_recall": round(100 * float(np.mean(p[~in_mask].max(1) < thr)), 2) if has_oos else None,
            "temperature": temp,
            "emb_weight": w,
            "tune_weight": wt,
        }

    # -- inference ----------------------------------------------------------------
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if self._p is None:
            raise RuntimeError("the classifier is not trained")
        p = _softmax(self._svm_scores(texts) * self._p.temperature)
        tuner = getattr(self._p, "tuner", None)
        if self._p.emb_lr is not None:
            w, wt = self._p.emb_weight, getattr(self._p, "tune_weight", 0.0)
            if tuner is not None:
                p_tune, emb = self._tuned(texts)
                p = (1 - w - wt) * p + wt * p_tune
            else:
                emb = self._embed(texts)
                p = (1 - w) * p
            p = p + w * self._p.emb_lr.predict_proba(emb)
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
