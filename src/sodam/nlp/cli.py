"""`sodam nlp train-sentiment`: train the models of the language layer that the product loads."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

nlp_app = typer.Typer(help="Train the language layer's models.", no_args_is_help=True)
console = Console()

# The shared data sets beside a source checkout (…/shared/datasets); only a default.
DEFAULT_NSMC = Path(__file__).resolve().parents[4] / "shared" / "datasets" / "nsmc"


@nlp_app.command("train-sentiment")
def train_sentiment(
    nsmc: Path = typer.Option(
        DEFAULT_NSMC, help="NSMC folder holding ratings_train.txt (TSV: id, document, label 0/1)."
    ),
    out: Path = typer.Option(
        None, help="Where to write the model (default: SODAM_DATA_DIR/models/sentiment_ko.joblib)."
    ),
) -> None:
    """Train the Korean sentiment model on NSMC's train split and save it where the product loads it."""
    from sodam.config import get_settings
    from sodam.nlp.sentiment import DatasetError, KoreanSentimentModel, default_model_path, train_from_nsmc

    out = out or default_model_path(get_settings().data_dir)
    console.print(f"training on {nsmc / 'ratings_train.txt'} (about 5 minutes on 2 cores for NSMC's 150,000)")
    try:
        info = train_from_nsmc(nsmc, out)
    except DatasetError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    KoreanSentimentModel.load(out)  # fail here, not in the worker, if the file cannot be read back
    console.print(
        f"trained on {info['n_train']:,} reviews in {info['train_s']:.0f} s "
        f"({info['train_cpu_s']:.0f} s CPU) -> {info['path']} ({info['size_mb']} MB)",
        soft_wrap=True,
    )
    console.print("running `sodam serve` / `sodam worker` processes load it on their next start")
