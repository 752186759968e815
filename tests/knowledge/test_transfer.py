"""`sodam kb export|import`: JSON and Markdown-folder round trips, idempotent re-import, bad files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.knowledge.helpers import seed_kb


def sodam(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SODAM_DATABASE_URL": database_url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "sodam.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def comparable(data: dict) -> dict:
    """An export without ids (they differ between workspaces), articles in a stable order."""
    articles = sorted(
        ({k: v for k, v in a.items() if k != "id"} for a in data["articles"]),
        key=lambda a: (a["locale"], a["title"]),
    )
    return {"categories": data["categories"], "articles": articles}


async def test_json_and_markdown_round_trip(database_url, make_workspace, tmp_path):
    source, json_copy, md_copy = await make_workspace(), await make_workspace(), await make_workspace()
    await seed_kb(source.workspace_id)
    from sodam.db.session import session_scope
    from sodam.knowledge import service

    async with session_scope() as session:  # a draft with markdown that must survive byte for byte
        await service.create_article(
            session,
            workspace_id=source.workspace_id,
            title="초안: 표와 코드",
            body="| 등급 | 혜택 |\n|---|---|\n| VIP | 무료 배송 |\n\n```\ncode: 1\n```\n\n---\n\n끝",
            locale="ko",
            alternate_questions=["VIP 혜택"],
        )
    exported = tmp_path / "kb.json"
    r = sodam("kb", "export", str(exported), "--workspace", source.slug, database_url=database_url)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "exported 6 articles, 3 categories" in r.stdout
    original = json.loads(exported.read_text(encoding="utf-8"))
    assert {a["status"] for a in original["articles"]} == {"draft", "published"}

    r = sodam(
        "kb",
        "import",
        str(exported),
        "--workspace",
        json_copy.slug,
        "--author",
        json_copy.agent_email,
        database_url=database_url,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "6 created, 0 updated, 3 new categories" in r.stdout
    # importing again updates instead of duplicating
    r = sodam("kb", "import", str(exported), "--workspace", json_copy.slug, database_url=database_url)
    assert "0 created, 6 updated, 0 new categories" in r.stdout
    again = tmp_path / "again.json"
    sodam("kb", "export", str(again), "--workspace", json_copy.slug, database_url=database_url)
    assert comparable(json.loads(again.read_text(encoding="utf-8"))) == comparable(original)

    folder = tmp_path / "md"
    r = sodam(
        "kb",
        "export",
        str(folder),
        "--workspace",
        source.slug,
        "--format",
        "markdown",
        database_url=database_url,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    files = sorted(folder.glob("*.md"))
    assert len(files) == 6 and (folder / "categories.yaml").exists()
    assert files[0].read_text(encoding="utf-8").startswith("---\nid: ")
    r = sodam("kb", "import", str(folder), "--workspace", md_copy.slug, database_url=database_url)
    assert r.returncode == 0, r.stdout + r.stderr
    from_md = tmp_path / "from_md.json"
    sodam("kb", "export", str(from_md), "--workspace", md_copy.slug, database_url=database_url)
    assert comparable(json.loads(from_md.read_text(encoding="utf-8"))) == comparable(original)


async def test_bad_files_exit_2_with_a_message(database_url, make_workspace, tmp_path):
    ws = await make_workspace()
    bad = tmp_path / "bad.json"
    bad.write_text('{"articles": [{"title": "", "locale": "fr"}]}', encoding="utf-8")
    r = sodam("kb", "import", str(bad), "--workspace", ws.slug, database_url=database_url)
    assert r.returncode == 2 and "articles.0" in r.stdout
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    r = sodam("kb", "import", str(broken), "--workspace", ws.slug, database_url=database_url)
    assert r.returncode == 2 and "not a readable JSON file" in r.stdout
    folder = tmp_path / "md"
    folder.mkdir()
    (folder / "a.md").write_text("no front matter", encoding="utf-8")
    r = sodam("kb", "import", str(folder), "--workspace", ws.slug, database_url=database_url)
    assert r.returncode == 2 and "front matter" in r.stdout
