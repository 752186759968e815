"""The language layer: normalisation, morphemes, language detection, ranking, intents, sentiment.

Pure functions and in-memory models only: nothing here touches the database or a
domain, so the knowledge base, the bot, routing and the benchmarks can all share
it (an import-linter contract keeps it that way).
"""
