"""Build the background the bot reads small knowledge bases against (sodam.nlp.background):
every dense unit of the dev sets' articles (Korean: bench/data/faq_dev, English:
bench/data/faq_dev_en; never the held-out sets), encoded by the product's encoders, written to
src/sodam/nlp/data/background-<lang>.npz. Run again when an encoder or nlp.encoders.article_units
changes.

    python -m bench.background
"""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
SETS = {"ko": "faq_dev", "en": "faq_dev_en"}


def main() -> None:
    from sodam.knowledge.vectors import encode_missing
    from sodam.nlp import background, encoders

    def encode(channel: str, texts: list[str]):
        kind, _ = encoders.CHANNELS[channel]
        if encoders.get_encoder(kind) is None:
            raise SystemExit(f"the {kind} encoder is not available (SODAM_ENCODER=off or not installed)")
        vectors = encode_missing({str(i): (channel, t) for i, t in enumerate(texts)})
        return [vectors[str(i)] for i in range(len(texts))]

    for language, name in SETS.items():
        articles = json.loads((DATA / name / "kb.json").read_text(encoding="utf-8"))["articles"]
        shipped = background.build(articles, encode)
        path = background.DATA / f"background-{language}.npz"
        shipped.save(path)
        units = sum(len(a) for _, a in shipped.units.values())
        print(
            json.dumps(
                {
                    "language": language,
                    "articles": shipped.n_articles,
                    "units": units,
                    "bytes": path.stat().st_size,
                }
            )
        )


if __name__ == "__main__":
    main()
