"""`sodam nlp train-sentiment` on a tiny NSMC-shaped data set: the saved model loads and predicts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sodam.cli import app
from sodam.config import get_settings
from sodam.nlp.sentiment import KoreanSentimentModel, SentimentScorer, default_model_path

from .test_sentiment import NEG, POS

runner = CliRunner()


def _write_nsmc(folder, rows, header="id\tdocument\tlabel"):
    folder.mkdir(parents=True, exist_ok=True)
    lines = [header] + [f"{i}\t{text}\t{label}" for i, (text, label) in enumerate(rows)]
    (folder / "ratings_train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def tiny_nsmc(tmp_path):
    # Each review twice so that n-grams clear min_df=2, plus one empty review as in the real file.
    rows = [(t, 1) for t in POS] * 2 + [(t, 0) for t in NEG] * 2 + [("", 0)]
    return _write_nsmc(tmp_path / "nsmc", rows)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SODAM_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def test_train_sentiment_default_out_is_where_the_product_loads(tiny_nsmc, data_dir):
    result = runner.invoke(app, ["nlp", "train-sentiment", "--nsmc", str(tiny_nsmc)])
    assert result.exit_code == 0, result.output
    path = default_model_path(data_dir)
    assert path == data_dir / "models" / "sentiment_ko.joblib" and path.is_file()
    assert "65 reviews" in result.output
    model = KoreanSentimentModel.load(path)
    p = model.predict_proba(["친절하고 빨라서 감사합니다", "너무 느리고 불친절해서 최악"])
    assert p[0] > 0.5 > p[1]
    # The product's scorer (conversations.tasks.scorer) reads the same path.
    s = SentimentScorer(default_model_path(get_settings().data_dir)).score("정말 친절해서 감사해요")
    assert s.source == "model" and s.score > 0
    assert not list(path.parent.glob(".*.tmp"))  # written atomically, no leftovers


def test_train_sentiment_explicit_out(tiny_nsmc, tmp_path):
    out = tmp_path / "elsewhere" / "m.joblib"
    result = runner.invoke(app, ["nlp", "train-sentiment", "--nsmc", str(tiny_nsmc), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert KoreanSentimentModel.load(out).predict_proba(["최악이에요 환불해 주세요"])[0] < 0.5


def test_missing_folder_fails_clearly(tmp_path, data_dir):
    result = runner.invoke(app, ["nlp", "train-sentiment", "--nsmc", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "no NSMC folder" in result.output
    assert not default_model_path(data_dir).exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d.mkdir(), "ratings_train.txt does not exist"),
        (lambda d: _write_nsmc(d, [("좋아요", 1), ("싫어요", 0)], header="text\tlabel"), "header"),
        (lambda d: _write_nsmc(d, [("좋아요", 1), ("싫어요", "bad")]), "line 3"),
        (lambda d: _write_nsmc(d, [("좋아요", 1), ("최고", 1)]), "both negative (0) and positive (1)"),
    ],
    ids=["no-file", "bad-header", "bad-label", "one-class"],
)
def test_malformed_dataset_fails_clearly(tmp_path, data_dir, make, message):
    folder = tmp_path / "bad"
    make(folder)
    result = runner.invoke(app, ["nlp", "train-sentiment", "--nsmc", str(folder)])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not default_model_path(data_dir).exists()
