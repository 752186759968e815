"""Who may do what: one table from role to permissions, read by every route's dependency.

Routes never compare roles themselves. An API route asks for its permission through
`accounts.auth.api_access(permission, scope)`; a console route through
`accounts.sessions.console_access(permission)`. Both dependencies carry the permission
they check (`dependency.permission`), so tests can read, for every route, what it
requires, and prove the table is enforced everywhere (tests/test_permissions.py).
"""

from __future__ import annotations

import enum

from sodam.accounts.models import Role


class Permission(str, enum.Enum):
    # Every signed-in agent: the inbox, conversations, contacts, the knowledge base (read),
    # their own account (password, 2FA, sessions).
    work = "work"
    kb_edit = "kb.edit"
    bot_review = "bot.review"
    teams_manage = "teams.manage"
    agents_manage = "agents.manage"
    inboxes_manage = "inboxes.manage"
    tokens_manage = "tokens.manage"
    # Workspace-wide sign-in rules: required 2FA, password policy, allowed e-mail domains,
    # rate limits.
    security_manage = "security.manage"
    audit_read = "audit.read"
    privacy_manage = "privacy.manage"
    # Team and workspace-wide canned replies (자주 쓰는 답변); personal ones need only `work`.
    replies_manage = "replies.manage"
    # Agents' capacity and skills, routing rules, team routing methods, the live queue.
    routing_manage = "routing.manage"
    # Business hours (운영 시간) of inboxes and teams: spans, time zone, holidays.
    hours_manage = "hours.manage"
    # SLA policies (targets by priority and tier).
    sla_manage = "sla.manage"
    # Outgoing webhooks: subscriptions, API inboxes' callback URLs, deliveries, redelivery.
    webhooks_manage = "webhooks.manage"
    # Customer surveys (CSAT / NPS / CES / custom): create, change, send, read answers and summaries.
    surveys_manage = "surveys.manage"
    # Anonymous employee feedback: create internal surveys and read their aggregates.
    feedback_manage = "feedback.manage"
    # The phone line: phone inboxes' IVR menus, auth tokens, callback capacity; incident announcements.
    phone_manage = "phone.manage"
    # Segments (saved contact filters): create, change, delete. Reading them, their counts and
    # members, and previewing a filter need only `work` (agents read contacts anyway).
    segments_manage = "segments.manage"
    # Reports (보고서): every KPI by period and filter, their CSV downloads.
    reports_read = "reports.read"
    # Contact data: attribute definitions, companies (create, change, delete), merging contacts
    # and undoing a merge. Reading contacts and editing one contact's fields need only `work`.
    contacts_manage = "contacts.manage"
    # Importing contacts from a CSV file and exporting every contact of the workspace.
    contacts_import = "contacts.import"
    # Automation rules and journeys: create, change, enable, dry-run, templates, their runs.
    automations_manage = "automations.manage"
    # Page rules (도움말 제안): the widget's help offered by page, and their reach figures.
    pagehelp_manage = "pagehelp.manage"
    # Campaigns to segments (create, schedule, start, pause, cancel, counts) and incident
    # announcements (shown by the widget, the bot, auto-replies and the IVR).
    campaigns_manage = "campaigns.manage"
    # Browser video and voice calls with customers (sodam.calls): start, answer, end, book and
    # list them. Every role holds it; a role without it sees no call buttons.
    calls = "calls"
    # The training sandbox: build scenarios from resolved conversations, delete them, see every
    # trainee's attempts and review them. Practising and the leaderboard need only `work`.
    training_manage = "training.manage"
    # Co-browsing (화면 함께 보기): on/off and the CSS selectors masked in the customer's browser.
    # Asking a customer to share their page and watching it need only `work`.
    cobrowse_manage = "cobrowse.manage"


_SUPERVISOR = frozenset(
    {
        Permission.work,
        Permission.kb_edit,
        Permission.bot_review,
        Permission.teams_manage,
        Permission.replies_manage,
        Permission.routing_manage,
        Permission.hours_manage,
        Permission.sla_manage,
        Permission.surveys_manage,
        Permission.phone_manage,
        Permission.segments_manage,
        Permission.reports_read,
        Permission.contacts_manage,
        Permission.contacts_import,
        Permission.automations_manage,
        Permission.pagehelp_manage,
        Permission.campaigns_manage,
        Permission.calls,
        Permission.training_manage,
        Permission.cobrowse_manage,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.agent: frozenset({Permission.work, Permission.calls}),
    Role.supervisor: _SUPERVISOR,
    Role.admin: frozenset(Permission),
}

# The console's settings page shows the sections of these permissions.
SETTINGS_PERMISSIONS = frozenset(
    {
        Permission.teams_manage,
        Permission.agents_manage,
        Permission.inboxes_manage,
        Permission.tokens_manage,
        Permission.security_manage,
        Permission.hours_manage,
        Permission.sla_manage,
        Permission.phone_manage,
        Permission.cobrowse_manage,
    }
)


def allows(role: Role | str, permission: Permission) -> bool:
    """Whether this role holds this permission."""
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False


def permissions_of(role: Role | str) -> frozenset[Permission]:
    """Every permission of a role (none for an unknown one)."""
    try:
        return ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return frozenset()
