"""Training sandbox: practice conversations replayed from resolved ones (docs/training.md)."""
