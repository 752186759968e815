"""The small centred lines a conversation shows for its events (assigned, status, tags, priority),
in the agent's language."""

from __future__ import annotations

from sodam.accounts.sessions import Console
from sodam.core.korean import i_ga, ro
from sodam.core.templating import shown_time


def event_line(ctx: Console, event, agents: dict[int, str], teams: dict[int, str]) -> str | None:
    """A system line for the conversation view, in the agent's language (None: not shown)."""
    line = _line(ctx, event, agents, teams)
    if line and event.actor_type in ("bot", "system"):
        # The Korean lines honour a person ("김관리님이 …"); the system and the bot are not
        # people: "시스템이 김관리님에게 배정했습니다", never "시스템님이".
        actor = ctx.t("console.bot" if event.actor_type == "bot" else "console.system")
        line = line.replace(f"{actor}님이", f"{actor}{i_ga(actor)}")
    return line


def _line(ctx: Console, event, agents: dict[int, str], teams: dict[int, str]) -> str | None:
    data = event.data or {}
    if event.actor_type == "agent":
        actor = agents.get(event.actor_id or 0, ctx.t("console.agent.unknown"))
    elif event.actor_type == "contact":
        actor = ctx.t("console.contact.label")
    elif event.actor_type == "bot":
        if event.type == "tags.changed":  # the bot's own wording: "봇이 …", never "알 수 없는 상담원"
            before, after = data.get("from") or [], data.get("to") or []
            added = [t for t in after if t not in before]
            if added and set(before) <= set(after):  # only added (the handoff's bot-handoff): say which
                return ctx.t("console.event.bot_tags_added", tags=", ".join(added))
            tags = ", ".join(after) or ctx.t("console.tags.none")
            return ctx.t("console.event.bot_tags", tags=tags)
        actor = ctx.t("console.bot")
    else:
        actor = ctx.t("console.system")
    if event.type == "conversation.assigned":
        parts = []
        if "assignee" in data:
            to = data["assignee"].get("to")
            if to and event.actor_type == "agent" and to == event.actor_id:
                parts.append(ctx.t("console.event.took", actor=actor))
            elif to:
                parts.append(ctx.t("console.event.assigned", actor=actor, agent=agents.get(to, "?")))
            else:
                parts.append(ctx.t("console.event.unassigned", actor=actor))
        if "team" in data:
            to = data["team"].get("to")
            parts.append(
                ctx.t("console.event.team", actor=actor, team=teams.get(to, "?"))
                if to
                else ctx.t("console.event.team_cleared", actor=actor)
            )
        return " · ".join(parts) or None
    if event.type == "status.changed":
        if data.get("reason") == "snooze_ended":
            return ctx.t("snooze.event.ended")
        status = ctx.t(f"console.status.{data.get('to')}")
        line = ctx.t("console.event.status", actor=actor, status=status, ro=ro(status))
        if data.get("until"):
            line += " · " + ctx.t("snooze.until_line", time=shown_time(data["until"], "%m/%d %H:%M"))
        return line
    if event.type == "tags.changed":
        tags = ", ".join(data.get("to") or []) or ctx.t("console.tags.none")
        return ctx.t("console.event.tags", actor=actor, tags=tags)
    if event.type == "priority.changed":
        priority = ctx.t(f"console.priority.{data.get('to')}")
        if event.actor_type == "system":  # raised by an SLA breach
            return ctx.t("sla.event.priority_raised", priority=priority, ro=ro(priority))
        return ctx.t("console.event.priority", actor=actor, priority=priority, ro=ro(priority))
    if event.type == "kakao.session":  # KakaoTalk 상담톡 opened / ended / blocked (kakao/)
        state = data.get("state")
        if state == "ended":
            if data.get("by") == "agent":
                return ctx.t("kakao.event.ended_agent", actor=actor)
            return ctx.t("kakao.event.ended_user")
        return ctx.t(f"kakao.event.{state}") if state in ("opened", "blocked") else None
    if event.type.startswith("cobrowse."):  # co-browsing (cobrowse/): asked, allowed, declined, ended
        return _cobrowse_line(ctx, event.type, data, actor)
    if event.type == "sla.breached":
        return ctx.t("sla.event.breached", kind=ctx.t(f"sla.kind.{data.get('kind', 'first_response')}"))
    return None


def _cobrowse_line(ctx: Console, kind: str, data: dict, actor: str) -> str | None:
    if kind == "cobrowse.requested":
        return ctx.t("cobrowse.event.requested", actor=actor)
    if kind in ("cobrowse.started", "cobrowse.declined"):
        return ctx.t(f"cobrowse.event.{kind.partition('.')[2]}")
    if kind == "cobrowse.ended":
        seconds = int(data.get("duration_s") or 0)
        by = {"contact": "cobrowse.by.contact", "agent": "cobrowse.by.agent"}.get(
            data.get("by"), "cobrowse.by.system"
        )
        return ctx.t("cobrowse.event.ended", by=ctx.t(by), duration=f"{seconds // 60}:{seconds % 60:02d}")
    return None
