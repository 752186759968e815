"""CSV import and export: header mapping in Korean and English, values checked by type, bad
rows reported by line number with the rest imported (upsert by e-mail, then phone), CP949 and
UTF-8-with-BOM files, the CLI with its exit codes, the console's job and the export round trip."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

from sodam.contacts import attributes, importer
from sodam.contacts import service as contacts
from sodam.db.session import session_scope
from tests.test_api_helpers import client

KOREAN = (
    "이름,이메일,휴대폰,회사,언어,등급,누적 결제액,가입일,마케팅 동의,메모\n"
    '김민지,minji@example.com,010-1234-5678,소담상사,ko,VIP,"1,250,000",2024-03-01,예,첫 고객\n'
    "이준,jun@example,010-2222-3333,,,일반,,,,\n"  # line 3: bad e-mail
    "박서준,seojun@example.com,,소담상사,en,골드,,,,\n"  # line 4: not an option
    '"정\n하늘",haneul@example.com,,,,,,2024-13-01,,\n'  # lines 5-6: a quoted newline, bad date
    ",,,,,,,,,\n"  # line 7: empty, skipped
    "최유리,,+82 10 5555 6666,새회사,ko,일반,5000 USD,2023-1-2,no,\n"  # line 8
    ",,,,,,,,,메모만\n"  # line 9: nobody
)


async def define(ws) -> None:
    async with session_scope() as s:
        await attributes.create(
            s, workspace_id=ws.workspace_id, key="tier", label="등급", type="list", options=["VIP", "일반"]
        )
        await attributes.create(s, workspace_id=ws.workspace_id, key="ltv", label="누적 결제액", type="money")
        await attributes.create(s, workspace_id=ws.workspace_id, key="joined", label="가입일", type="date")
        await attributes.create(
            s, workspace_id=ws.workspace_id, key="marketing", label="마케팅 동의", type="boolean"
        )


async def run_import(ws, data: bytes) -> importer.Report:
    async with session_scope() as s:
        return await importer.import_csv(s, workspace_id=ws.workspace_id, data=data)


async def test_bad_rows_by_line_the_rest_imported_in_cp949_and_bom(make_workspace):
    for encoded in (
        KOREAN.encode("cp949"),
        b"\xef\xbb\xbf" + KOREAN.encode("utf-8"),
        KOREAN.encode("euc-kr"),
    ):
        ws = await make_workspace()
        await define(ws)
        report = await run_import(ws, encoded)
        assert report.encoding in ("cp949", "utf-8-sig")
        lines = {e["line"]: e["reason"] for e in report.errors}
        assert sorted(lines) == [3, 4, 5, 9], report.errors
        assert "e-mail" in lines[3] and "'tier'" in lines[4] and "'joined'" in lines[5] and "name" in lines[9]
        assert (report.created, report.updated) == (2, 0)
        async with session_scope() as s:
            minji = await contacts.find_by_email(s, workspace_id=ws.workspace_id, email="minji@example.com")
            assert minji.name == "김민지" and minji.phone_normalized == "+821012345678"
            assert minji.company == "소담상사" and minji.company_id is not None
            assert minji.custom_attributes["ltv"] == {"amount": 1250000, "currency": "KRW"}
            assert minji.custom_attributes["marketing"] is True
            # A header that is neither a field, a defined attribute nor a valid key is reported.
            assert "memo" not in minji.custom_attributes and report.ignored_columns == ["메모"]
            yuri = await contacts.find_by_phone(s, workspace_id=ws.workspace_id, phone="010-5555-6666")
            assert yuri.custom_attributes["ltv"] == {"amount": 5000, "currency": "USD"}
            assert (
                yuri.custom_attributes["joined"] == "2023-01-02"
                and yuri.custom_attributes["marketing"] is False
            )
    # Again into the last workspace: the same people are updated, not duplicated.
    again = await run_import(ws, "name,phone,tier\n최유리 님,01055556666,VIP\n".encode())
    assert (again.created, again.updated, again.errors) == (0, 1, [])
    async with session_scope() as s:
        yuri = await contacts.find_by_phone(s, workspace_id=ws.workspace_id, phone="+821055556666")
        assert yuri.name == "최유리 님" and yuri.custom_attributes["tier"] == "VIP"
    # An e-mail of one contact and the phone of another: that row is refused.
    clash = await run_import(ws, b"email,phone\nminji@example.com,010-5555-6666\n")
    assert (
        clash.errors and clash.errors[0]["line"] == 2 and "two" not in clash.errors[0]["reason"].lower()[:0]
    )


async def test_export_round_trip(make_workspace):
    ws = await make_workspace()
    await define(ws)
    await run_import(ws, KOREAN.encode("utf-8"))
    async with session_scope() as s:
        data = await importer.export_csv(s, workspace_id=ws.workspace_id)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    header = text.splitlines()[0].split(",")
    assert header[:7] == ["id", "name", "email", "phone", "language", "company", "company_domain"]
    assert "tier" in header and "joined" in header
    # Into a fresh workspace: the same contacts and values.
    fresh = await make_workspace()
    await define(fresh)
    report = await run_import(fresh, data)
    assert (report.created, report.errors) == (2, [])
    async with session_scope() as s:
        before = {c.email or c.phone: c for c in await contacts.list_(s, workspace_id=ws.workspace_id)}
        after = {c.email or c.phone: c for c in await contacts.list_(s, workspace_id=fresh.workspace_id)}
    assert set(before) == set(after)
    for key, c in before.items():
        d = after[key]
        assert (c.name, c.phone_normalized, c.company, c.language) == (
            d.name,
            d.phone_normalized,
            d.company,
            d.language,
        )
        assert c.custom_attributes == d.custom_attributes
    # And into the same workspace: all updated, none created.
    same = await run_import(ws, data)
    assert (same.created, same.updated) == (0, 2)


def sodam(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SODAM_DATABASE_URL": database_url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "sodam.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


async def test_cli_import_and_export(database_url, make_workspace, tmp_path):
    ws = await make_workspace()
    await define(ws)
    source = tmp_path / "고객.csv"
    source.write_bytes(KOREAN.encode("cp949"))
    done = await asyncio.to_thread(
        sodam, "contacts", "import", str(source), "--workspace", ws.slug, database_url=database_url
    )
    assert done.returncode == 0, done.stderr
    assert "2 created, 0 updated, 4 bad rows" in done.stdout
    assert "Line 3: Invalid e-mail address: jun@example" in done.stderr and "Line 9:" in done.stderr
    # The reasons in Korean (--lang ko, or a Korean LANG).
    korean = await asyncio.to_thread(
        sodam,
        "contacts",
        "import",
        str(source),
        "--workspace",
        ws.slug,
        "--lang",
        "ko",
        database_url=database_url,
    )
    assert korean.returncode == 0, korean.stderr
    assert "줄 3: 이메일 주소가 올바르지 않습니다: jun@example" in korean.stderr
    assert "줄 4: 'tier' 속성은 다음 중 하나여야 합니다: VIP, 일반 (입력값: 골드)" in korean.stderr
    assert (
        "줄 5: 'joined' 속성에는 날짜를 YYYY-MM-DD 형식으로 입력해 주세요(입력값: 2024-13-01)."
        in korean.stderr
    )
    assert "줄 9: 이름, 이메일, 전화번호 중 하나는 있어야 합니다." in korean.stderr
    target = tmp_path / "out.csv"
    exported = await asyncio.to_thread(
        sodam, "contacts", "export", str(target), "--workspace", ws.slug, database_url=database_url
    )
    assert exported.returncode == 0, exported.stderr
    assert "김민지" in target.read_bytes().decode("utf-8-sig")
    # Unreadable files: a message and a non-zero exit, nothing imported.
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    bad = await asyncio.to_thread(
        sodam, "contacts", "import", str(binary), "--workspace", ws.slug, database_url=database_url
    )
    assert bad.returncode == 2 and "cannot read" in bad.stdout + bad.stderr
    missing = await asyncio.to_thread(
        sodam, "contacts", "import", str(tmp_path / "none.csv"), database_url=database_url
    )
    assert missing.returncode == 2
    headless = tmp_path / "h.csv"
    headless.write_text("foo,bar\n1,2\n")
    nohead = await asyncio.to_thread(
        sodam, "contacts", "import", str(headless), "--workspace", ws.slug, database_url=database_url
    )
    assert nohead.returncode == 2 and "no column" in nohead.stdout + nohead.stderr


async def test_import_as_a_job_through_the_api(live_server, make_workspace):
    ws = await make_workspace()
    await define(ws)
    async with client(live_server, ws.api_token) as api:
        r = await api.post(
            "/contact-imports", files={"file": ("고객.csv", KOREAN.encode("cp949"), "text/csv")}
        )
        assert r.status_code == 202, r.text
        job = r.json()
        deadline = time.monotonic() + 60
        while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
            await asyncio.sleep(0.3)
            job = (await api.get(f"/contact-imports/{job['id']}")).json()
        assert job["status"] == "done", job
        assert (job["created_count"], job["failed"], job["total"]) == (2, 4, 7)  # 7 records in 8 lines
        report = await api.get(f"/contact-imports/{job['id']}/errors.csv")
        rows = report.content.decode("utf-8-sig").splitlines()
        assert rows[0] == "line,reason" and [r.split(",")[0] for r in rows[1:]] == ["3", "4", "5", "9"]
        assert [e["code"] for e in job["errors"]] == [
            "email",
            "attribute_option",
            "attribute_date",
            "no_identity",
        ]
        assert (
            job["errors"][1]["params"]["attribute"] == "tier"
            and job["errors"][1]["params"]["value"] == "골드"
        )
        korean = (await api.get(f"/contact-imports/{job['id']}/errors.csv", params={"lang": "ko"})).content
        rows = korean.decode("utf-8-sig").splitlines()
        assert rows[0] == "줄,이유" and rows[1] == "3,이메일 주소가 올바르지 않습니다: jun@example"
        assert (
            await api.get(f"/contact-imports/{job['id']}/errors.csv", params={"lang": "fr"})
        ).status_code == 422
        exported = await api.get("/contact-exports")
        assert exported.status_code == 200 and "김민지" in exported.content.decode("utf-8-sig")
        bad = await api.post("/contact-imports", files={"file": ("x.csv", b"\x00\x01" * 10, "text/csv")})
        job = bad.json()
        deadline = time.monotonic() + 60
        while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
            await asyncio.sleep(0.3)
            job = (await api.get(f"/contact-imports/{job['id']}")).json()
        assert job["status"] == "failed" and "not text" in job["message"]


async def test_a_large_export_is_streamed_in_chunks_and_complete(live_server, make_workspace):
    """More rows than one chunk: every contact once, in id order, attributes in their columns."""
    from sqlalchemy import text

    ws = await make_workspace()
    await define(ws)
    n = importer.EXPORT_CHUNK * 2 + 17
    async with session_scope() as s:
        await s.execute(
            text(
                "INSERT INTO contacts (workspace_id, name, language, custom_attributes)"
                " SELECT :ws, '고객 ' || g, 'ko', jsonb_build_object('tier', 'VIP', 'visits', g)"
                " FROM generate_series(1, :n) g"
            ),
            {"ws": ws.workspace_id, "n": n},
        )
        await s.commit()
    async with session_scope() as s:
        chunks = [c async for c in importer.export_chunks(s, workspace_id=ws.workspace_id)]
    assert len(chunks) == 1 + 3  # the header, then three chunks of rows
    async with client(live_server, ws.api_token) as api:
        async with api.stream("GET", "/contact-exports") as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
            body = b"".join([part async for part in r.aiter_bytes()])
    assert body == b"".join(chunks)
    import csv
    import io

    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    header, rows = rows[0], rows[1:]
    assert len(rows) == n and [int(r[0]) for r in rows] == sorted(int(r[0]) for r in rows)
    assert header[-1] == "visits" and rows[-1][header.index("tier")] == "VIP" and rows[-1][-1] == str(n)
