"""Train the Korean query adapter (sodam.nlp.query_adapter) on the dev companies (issue 11, twelfth pass).

A customer's words sit elsewhere in the encoders' space than a help center's ("맨 앞자리
앉고싶어요" against 사전 좌석 지정, "댕댕이 비행기 요금" against 반려동물 운송). The adapter moves a
query's e5 and USE vectors by a low-rank linear map, x + (x A) B, learned so that each dev
question's own article ranks first among its company's articles: a softmax over the articles of
each channel's best-unit similarity, and over the fused ranking score (the channels' z-scores plus
BM25 as nlp.fusion ranks). The ranking reads the moved vectors; the decision keeps reading the
encoders' own (nlp.ranking.LexicalIndex._fused).

Two steps, because training needs torch (the product never does):

    SODAM_TUNE_CACHE=/tmp/tune/cache.npz python -m bench.query_adapter dump /tmp/qa.npz
    python -m bench.query_adapter loo /tmp/qa.npz /tmp/qa-loo.npz  # torch==2.13.0: held-out top-1 per company
    python -m bench.query_adapter train /tmp/qa.npz    # writes src/sodam/nlp/data/query_adapter-ko.npz

`loo` trains one adapter per company on the others and prints the fused ranking's top-1 on the
held company with and without it (the ranking replayed in torch; bench.faq_more and
bench/README.md have the decision's figures).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "sodam" / "nlp" / "data" / "query_adapter-ko.npz"
E5_CHANNELS = ("e5q", "e5p", "e5s")
# Chosen leave-one-company-out over the thirteen dev companies (bench/README.md, twelfth pass);
# rank 64 or 200 epochs did no better over eighteen (thirteenth pass).
CONFIG = {"rank": 32, "epochs": 120, "lr": 3e-3, "tau": 0.05, "fused": 0.5, "l2": 1e-3, "seed": 0}


def dump(path: str) -> None:
    """Per company: every article unit's vector per channel and its article, each answerable
    question's e5 and USE vectors (as the live path encodes them), its article and BM25 scores."""
    from bench import faq_tune
    from bench.faq_scope import record
    from sodam.nlp import encoders

    rows = record()
    cache = faq_tune.CachedEncode()
    out: dict[str, np.ndarray] = {}
    for part_kb, part_q in faq_tune.load_sets():
        kb = part_q[0]["kb"]
        units: dict[str, list] = {c: [] for c in encoders.CHANNELS}
        owner: dict[str, list] = {c: [] for c in encoders.CHANNELS}
        for i, a in enumerate(part_kb["articles"]):
            for channel, text in encoders.article_units(a["title"], a.get("body") or "", ()):
                kind, passage = encoders.CHANNELS[channel]
                units[channel].append(cache.get(kind, passage, [text])[0])
                owner[channel].append(i)
        ids = [str(a["id"]) for a in part_kb["articles"]]
        mine = [r for r in rows if r["q"]["kb"] == kb and r["q"]["expected"] is not None]
        assert all(r["slot_ids"] == ids for r in mine)
        for c in encoders.CHANNELS:
            out[f"{kb}|u|{c}"], out[f"{kb}|o|{c}"] = np.stack(units[c]), np.array(owner[c])
        out[f"{kb}|q|e5"] = cache.get("e5", False, [r["query"] for r in mine])
        out[f"{kb}|q|use"] = cache.get("use", False, [r["query"] for r in mine])
        out[f"{kb}|exp"] = np.array([ids.index(r["q"]["expected"]) for r in mine])
        out[f"{kb}|bm25"] = np.stack([np.asarray(r["bm25"], np.float64) for r in mine])
    cache.save()
    np.savez(path, **out)


def _load(path: str):
    import torch

    d = np.load(path)
    data = {}
    for kb in sorted({k.split("|")[0] for k in d.files}):
        b = d[f"{kb}|bm25"]
        top = b.max(1, keepdims=True)
        data[kb] = {
            "q": torch.tensor(d[f"{kb}|q|e5"]),
            "use": torch.tensor(d[f"{kb}|q|use"]),
            "exp": torch.tensor(d[f"{kb}|exp"]),
            "units": {c: torch.tensor(d[f"{kb}|u|{c}"]) for c in (*E5_CHANNELS, "use")},
            "owner": {c: torch.tensor(d[f"{kb}|o|{c}"]) for c in (*E5_CHANNELS, "use")},
            "n": int(d[f"{kb}|o|e5p"].max()) + 1,
            "bm25": torch.tensor(np.where(top > 0, b / np.where(top > 0, top, 1), 0), dtype=torch.float32),
        }
    return data


def _article_sims(q, units, owner, n):
    import torch

    s = q @ units.T
    out = torch.full((q.shape[0], n), -1e9)
    return out.scatter_reduce(1, owner.expand(q.shape[0], -1), s, reduce="amax")


def _moved(q, a, b):
    x = q + (q @ a) @ b
    return x / x.norm(dim=1, keepdim=True)


def _z(x):
    return (x - x.mean(1, keepdim=True)) / (x.std(1, keepdim=True) + 0.01)


def _fused(d, e5, use):
    """nlp.fusion's ranking score (every channel's weight 1, BM25 2), and the channels' sims."""
    from sodam.nlp import fusion

    sims = {c: _article_sims(e5, d["units"][c], d["owner"][c], d["n"]) for c in E5_CHANNELS}
    sims["use"] = _article_sims(use, d["units"]["use"], d["owner"]["use"], d["n"])
    total = fusion.BM25_WEIGHT * d["bm25"]
    for c, s in sims.items():
        total = total + fusion.CHANNEL_WEIGHTS[c] * _z(s)
    return total, sims


def train(data, companies, cfg=CONFIG) -> dict[str, np.ndarray]:
    import torch

    torch.manual_seed(cfg["seed"])
    r = cfg["rank"]
    params = {
        "a": (torch.randn(384, r) * 0.02).requires_grad_(),
        "b": torch.zeros(r, 384, requires_grad=True),
        "a_use": (torch.randn(512, r) * 0.02).requires_grad_(),
        "b_use": torch.zeros(r, 512, requires_grad=True),
    }
    opt = torch.optim.Adam(params.values(), lr=cfg["lr"])
    ce = torch.nn.functional.cross_entropy
    for _ in range(cfg["epochs"]):
        opt.zero_grad()
        loss = cfg["l2"] * (
            ((params["a"] @ params["b"]) ** 2).sum() + ((params["a_use"] @ params["b_use"]) ** 2).sum()
        )
        for kb in companies:
            d = data[kb]
            total, sims = _fused(
                d,
                _moved(d["q"], params["a"], params["b"]),
                _moved(d["use"], params["a_use"], params["b_use"]),
            )
            per_channel = sum(ce(s / cfg["tau"], d["exp"]) for s in sims.values())
            loss = loss + ((1 - cfg["fused"]) * per_channel + cfg["fused"] * ce(total, d["exp"])) / len(
                companies
            )
        loss.backward()
        opt.step()
    return {k: v.detach().numpy().astype(np.float32) for k, v in params.items()}


def top1(d, params=None) -> float:
    import torch

    with torch.no_grad():
        if params is None:
            e5, use = d["q"], d["use"]
        else:
            p = {k: torch.tensor(v) for k, v in params.items()}
            e5, use = _moved(d["q"], p["a"], p["b"]), _moved(d["use"], p["a_use"], p["b_use"])
        total, _ = _fused(d, e5, use)
        return float((total.argmax(1) == d["exp"]).float().mean())


if __name__ == "__main__":
    step, path = sys.argv[1], sys.argv[2]
    if step == "dump":
        dump(path)
    elif step == "loo":
        import torch

        torch.set_num_threads(1)
        data = _load(path)
        before, after, saved = [], [], {}
        for held in data:
            params = train(data, [c for c in data if c != held])
            saved.update({f"{held}|{k}": v for k, v in params.items()})
            before.append(top1(data[held]))
            after.append(top1(data[held], params))
            print(f"{held}: fused top-1 {before[-1]:.4f} -> {after[-1]:.4f}", flush=True)
        print(f"mean {np.mean(before):.4f} -> {np.mean(after):.4f}")
        if len(sys.argv) > 3:  # each company's adapter, trained without it (bench.faq_more adapter)
            np.savez(sys.argv[3], **saved)
    elif step == "train":
        import torch

        torch.set_num_threads(1)
        data = _load(path)
        params = train(data, list(data))
        np.savez(OUT, **params, companies=np.array(sorted(data)))
        print(f"wrote {OUT} ({', '.join(sorted(data))})")
    else:
        raise SystemExit("usage: python -m bench.query_adapter dump|loo|train PATH")
