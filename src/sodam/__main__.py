"""`python -m sodam …` is the `sodam` command."""

from sodam.cli import app

app(prog_name="sodam")
