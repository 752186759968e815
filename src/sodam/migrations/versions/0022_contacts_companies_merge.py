"""typed contact attributes, companies, one contact per e-mail and per phone, merges, imports

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-02

Existing data is kept: every distinct free-text `contacts.company` (per workspace, ignoring
case and surrounding spaces) becomes one `companies` row and its contacts point at it; every
phone gets its E.164 form; contacts sharing an e-mail (case-insensitive) or a phone are merged
into the oldest (created_at, then id) before the unique indexes are built, so this migration
never fails on real data: every row that pointed at a duplicate (conversations, identities,
survey answers, visits, attachments — found from the catalog's foreign keys) is moved to the
survivor, its empty fields are filled from the duplicates and their attributes merged under
its own.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0022"
down_revision = "0024"
branch_labels = None
depends_on = None

# Every (table, column) whose foreign key points at contacts.id.
REFERENCES_SQL = """
SELECT cl.relname AS table_name, att.attname AS column_name
  FROM pg_constraint con
  JOIN pg_class cl ON cl.oid = con.conrelid
  JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = con.conkey[1]
 WHERE con.contype = 'f' AND con.confrelid = 'contacts'::regclass AND cl.relname <> 'contacts'
 ORDER BY 1, 2
"""


def _ws():
    return sa.Column(
        "workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )


def _created():
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def _updated():
    return sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def _normalise_phone(raw):
    # The same rule as sodam.contacts.phones (copied: a migration must not change when the code does).
    import re

    import phonenumbers

    if not raw or not raw.strip():
        return None
    value = raw.strip()
    try:
        parsed = phonenumbers.parse(value, "KR")
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    digits = re.sub(r"[^\d]", "", value)
    if len(digits) < 4:
        return None
    return ("+" if value.startswith("+") else "") + digits[:30]


def _tables():
    op.create_table(
        "companies",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("domain", sa.String(253), nullable=True),
        sa.Column("plan", sa.String(60), nullable=True),
        sa.Column("custom_attributes", JSONB(), nullable=False, server_default="{}"),
        _created(),
        _updated(),
    )
    op.create_index("ix_companies_workspace_id", "companies", ["workspace_id"])
    op.create_index(
        "uq_companies_domain",
        "companies",
        ["workspace_id", sa.text("lower(domain)")],
        unique=True,
        postgresql_where=sa.text("domain IS NOT NULL"),
    )
    op.create_index("ix_companies_name", "companies", ["workspace_id", sa.text("lower(name)")])
    op.add_column(
        "contacts",
        sa.Column(
            "company_id", sa.BigInteger(), sa.ForeignKey("companies.id", ondelete="SET NULL"), nullable=True
        ),
    )
    op.create_index("ix_contacts_company_id", "contacts", ["company_id"])
    op.add_column("contacts", sa.Column("phone_normalized", sa.String(40), nullable=True))
    op.create_table(
        "contact_attribute_definitions",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column("applies_to", sa.String(10), nullable=False, server_default="contact"),
        sa.Column("key", sa.String(60), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("type", sa.String(10), nullable=False),
        sa.Column("options", JSONB(), nullable=False, server_default="[]"),
        sa.Column("currency", sa.String(3), nullable=False, server_default="KRW"),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        _created(),
        _updated(),
        sa.UniqueConstraint("workspace_id", "applies_to", "key", name="uq_contact_attribute_definitions_key"),
        sa.CheckConstraint("applies_to IN ('contact', 'company')", name="applies_to"),
        sa.CheckConstraint("type IN ('text', 'number', 'money', 'date', 'list', 'boolean')", name="type"),
    )
    op.create_index(
        "ix_contact_attribute_definitions_workspace_id", "contact_attribute_definitions", ["workspace_id"]
    )
    op.create_table(
        "contact_merges",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column("winner_id", sa.BigInteger(), nullable=False),
        sa.Column("loser_id", sa.BigInteger(), nullable=False),
        sa.Column("loser", JSONB(), nullable=False),
        sa.Column("winner_before", JSONB(), nullable=False),
        sa.Column("winner_after", JSONB(), nullable=False),
        sa.Column("moved", JSONB(), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        _created(),
    )
    op.create_index("ix_contact_merges_workspace_id", "contact_merges", ["workspace_id"])
    op.create_index("ix_contact_merges_winner_id", "contact_merges", ["winner_id"])
    op.create_table(
        "contact_imports",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="queued"),
        sa.Column("total", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("processed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("errors", JSONB(), nullable=False, server_default="[]"),
        sa.Column("message", sa.String(500), nullable=True),
        sa.Column("agent_id", sa.BigInteger(), nullable=True),
        _created(),
        _updated(),
    )
    op.create_index("ix_contact_imports_workspace_id", "contact_imports", ["workspace_id"])


def _companies_from_free_text(bind):
    bind.execute(
        sa.text(
            """
            INSERT INTO companies (workspace_id, name)
            SELECT workspace_id, min(btrim(company))
              FROM contacts WHERE btrim(coalesce(company, '')) <> ''
             GROUP BY workspace_id, lower(btrim(company))
            """
        )
    )
    bind.execute(
        sa.text(
            """
            UPDATE contacts c SET company_id = co.id, company = co.name
              FROM companies co
             WHERE co.workspace_id = c.workspace_id AND lower(co.name) = lower(btrim(c.company))
            """
        )
    )


def _normalise_phones(bind):
    rows = bind.execute(sa.text("SELECT id, phone FROM contacts WHERE phone IS NOT NULL")).fetchall()
    updates = [{"id": r.id, "p": _normalise_phone(r.phone)} for r in rows]
    updates = [u for u in updates if u["p"]]
    if updates:
        bind.execute(sa.text("UPDATE contacts SET phone_normalized = :p WHERE id = :id"), updates)


def _duplicate_groups(bind):
    """Groups of contact ids (oldest first) sharing an e-mail or a phone, transitively."""
    rows = bind.execute(
        sa.text(
            "SELECT id, workspace_id, lower(email) AS email, phone_normalized AS phone FROM contacts"
            " WHERE email IS NOT NULL OR phone_normalized IS NOT NULL ORDER BY created_at, id"
        )
    ).fetchall()
    parent = {r.id: r.id for r in rows}
    order = {r.id: i for i, r in enumerate(rows)}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first_of = {}
    for r in rows:
        for key in (("e", r.workspace_id, r.email), ("p", r.workspace_id, r.phone)):
            if key[2] is None:
                continue
            if key in first_of:
                a, b = find(first_of[key]), find(r.id)
                if a != b:  # the older one stays the root
                    if order[a] < order[b]:
                        parent[b] = a
                    else:
                        parent[a] = b
            else:
                first_of[key] = r.id
    groups = {}
    for r in rows:
        groups.setdefault(find(r.id), []).append(r.id)
    return [sorted(g, key=order.__getitem__) for g in groups.values() if len(g) > 1]


def _merge_duplicates(bind):
    groups = _duplicate_groups(bind)
    if not groups:
        return
    references = bind.execute(sa.text(REFERENCES_SQL)).fetchall()
    for group in groups:
        winner, losers = group[0], group[1:]
        for ref in references:
            bind.execute(
                sa.text(f'UPDATE "{ref.table_name}" SET "{ref.column_name}" = :w WHERE "{ref.column_name}" = ANY(:l)'),
                {"w": winner, "l": losers},
            )
        bind.execute(
            sa.text(
                "UPDATE messages SET sender_id = :w WHERE sender_type = 'contact' AND sender_id = ANY(:l)"
                " AND conversation_id IN (SELECT id FROM conversations WHERE contact_id = :w)"
            ),
            {"w": winner, "l": losers},
        )
        # Empty fields of the survivor from the duplicates (oldest first); its attributes win.
        for loser in losers:
            bind.execute(
                sa.text(
                    """
                    UPDATE contacts w SET
                        name = coalesce(w.name, l.name),
                        email = coalesce(w.email, l.email),
                        phone = coalesce(w.phone, l.phone),
                        phone_normalized = coalesce(w.phone_normalized, l.phone_normalized),
                        company = coalesce(w.company, l.company),
                        company_id = coalesce(w.company_id, l.company_id),
                        language = coalesce(w.language, l.language),
                        custom_attributes = coalesce(l.custom_attributes, '{}') || coalesce(w.custom_attributes, '{}')
                      FROM contacts l WHERE w.id = :w AND l.id = :l
                    """
                ),
                {"w": winner, "l": loser},
            )
        bind.execute(sa.text("DELETE FROM contacts WHERE id = ANY(:l)"), {"l": losers})


def upgrade() -> None:
    _tables()
    bind = op.get_bind()
    _companies_from_free_text(bind)
    _normalise_phones(bind)
    _merge_duplicates(bind)
    op.create_index(
        "uq_contacts_email",
        "contacts",
        ["workspace_id", sa.text("lower(email)")],
        unique=True,
        postgresql_where=sa.text("email IS NOT NULL"),
    )
    op.create_index(
        "uq_contacts_phone",
        "contacts",
        ["workspace_id", "phone_normalized"],
        unique=True,
        postgresql_where=sa.text("phone_normalized IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_contacts_phone", table_name="contacts")
    op.drop_index("uq_contacts_email", table_name="contacts")
    op.drop_table("contact_imports")
    op.drop_table("contact_merges")
    op.drop_table("contact_attribute_definitions")
    op.drop_index("ix_contacts_company_id", table_name="contacts")
    op.drop_column("contacts", "phone_normalized")
    op.drop_column("contacts", "company_id")
    op.drop_table("companies")
