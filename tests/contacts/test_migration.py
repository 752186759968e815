"""Migration 0022 on data made before it: free-text companies become company records, phones
get their E.164 form, and contacts sharing an e-mail or a phone are merged into the oldest
(everything that pointed at a duplicate moved) before the unique indexes are built."""

from __future__ import annotations

import secrets

import psycopg
from sqlalchemy.engine import make_url

from sodam.db.embedded import ensure_database
from sodam.db.migrate import upgrade
from sodam.db.session import libpq_url


def test_existing_companies_and_duplicates_are_migrated(database_url):
    admin = libpq_url(database_url)
    name = f"sodam_mig_{secrets.token_hex(4)}"
    ensure_database(admin, name)
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    upgrade(url, "0020")
    with psycopg.connect(url, autocommit=True) as conn:
        ws = conn.execute(
            "INSERT INTO workspaces (name, slug, default_locale) VALUES ('A', 'a', 'ko') RETURNING id"
        ).fetchone()[0]
        other = conn.execute(
            "INSERT INTO workspaces (name, slug, default_locale) VALUES ('B', 'b', 'ko') RETURNING id"
        ).fetchone()[0]
        inbox = conn.execute(
            "INSERT INTO inboxes (workspace_id, name, channel_type, public_token, settings, allowed_origins)"
            " VALUES (%s, '웹', 'web_widget', 'tok-a', '{}', '{}') RETURNING id",
            (ws,),
        ).fetchone()[0]

        def contact(workspace, created, **f):
            f.setdefault("custom_attributes", "{}")
            cols = ["workspace_id", "created_at", *f]
            return conn.execute(
                f"INSERT INTO contacts ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) RETURNING id",
                (workspace, created, *f.values()),
            ).fetchone()[0]

        oldest = contact(
            ws,
            "2024-01-01",
            name="김민지",
            email="minji@example.com",
            company="소담상사",
            custom_attributes='{"tier": "VIP"}',
        )
        same_mail = contact(
            ws,
            "2024-02-01",
            email="MINJI@example.com",
            phone="010-1234-5678",
            language="ko",
            custom_attributes='{"tier": "일반", "city": "서울"}',
        )
        same_phone = contact(ws, "2024-03-01", name="민지2", phone="+82 10 1234 5678", company=" 소담상사 ")
        alone = contact(ws, "2024-01-05", name="이준", company="SODAM상사")
        elsewhere = contact(other, "2023-01-01", email="minji@example.com", company="소담상사")
        for cid, ext in ((same_mail, "m-1"), (same_phone, "m-2")):
            conn.execute(
                "INSERT INTO contact_identities (workspace_id, contact_id, channel_type, external_id)"
                " VALUES (%s, %s, 'web_widget', %s)",
                (ws, cid, ext),
            )
        conv = conn.execute(
            "INSERT INTO conversations (workspace_id, inbox_id, contact_id, status, priority)"
            " VALUES (%s, %s, %s, 'open', 'none') RETURNING id",
            (ws, inbox, same_phone),
        ).fetchone()[0]
    upgrade(url)
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id, name, email, phone, phone_normalized, language, company, company_id, custom_attributes"
            " FROM contacts WHERE workspace_id = %s ORDER BY id",
            (ws,),
        ).fetchall()
        assert [r[0] for r in rows] == [oldest, alone]
        kept = rows[0]
        assert kept[1:7] == (
            "김민지",
            "minji@example.com",
            "010-1234-5678",
            "+821012345678",
            "ko",
            "소담상사",
        )
        assert kept[8] == {"tier": "VIP", "city": "서울"}  # the oldest's value wins a conflict
        owners = conn.execute(
            "SELECT contact_id FROM contact_identities WHERE workspace_id = %s", (ws,)
        ).fetchall()
        assert {o[0] for o in owners} == {oldest}
        assert (
            conn.execute("SELECT contact_id FROM conversations WHERE id = %s", (conv,)).fetchone()[0]
            == oldest
        )
        companies = conn.execute(
            "SELECT id, workspace_id, name FROM companies ORDER BY workspace_id, id"
        ).fetchall()
        # One per distinct name (case and spaces aside) per workspace.
        assert [(c[1], c[2]) for c in companies] == [
            (ws, "SODAM상사"),
            (ws, "소담상사"),
            (other, "소담상사"),
        ] or [(c[1], c[2]) for c in companies] == [(ws, "소담상사"), (ws, "SODAM상사"), (other, "소담상사")]
        by_name = {(c[1], c[2]): c[0] for c in companies}
        assert kept[7] == by_name[(ws, "소담상사")] and rows[1][7] == by_name[(ws, "SODAM상사")]
        assert (
            conn.execute("SELECT company_id FROM contacts WHERE id = %s", (elsewhere,)).fetchone()[0]
            == by_name[(other, "소담상사")]
        )
        # The unique indexes hold from now on.
        try:
            conn.execute(
                "INSERT INTO contacts (workspace_id, email, custom_attributes) VALUES (%s, 'Minji@Example.com', '{}')",
                (ws,),
            )
            raise AssertionError("a second contact with the same e-mail was accepted")
        except psycopg.errors.UniqueViolation:
            pass
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
