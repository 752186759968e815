"""The canned replies service against PostgreSQL: who sees what, who may change what, search
with Korean conjugations, placeholders from the conversation."""

from __future__ import annotations

import pytest

from sodam.accounts import service as accounts
from sodam.accounts.models import Role
from sodam.core.errors import Conflict, Forbidden, NotFound
from sodam.db.session import session_scope
from sodam.replies import service
from sodam.replies.models import ReplyScope
from tests.test_console_helpers import add_agent, seed_conversation


async def _viewer(session, ws, agent_id, role):
    return await service.viewer(session, workspace_id=ws.workspace_id, agent_id=agent_id, role=role)


@pytest.fixture
async def team_setup(make_workspace):
    """A workspace with an admin, a supervisor, two agents; agent A is in team 배송팀, B is not."""
    ws = await make_workspace()
    a_id, _, _ = await add_agent(ws, role=Role.agent, locale="ko")
    b_id, _, _ = await add_agent(ws, role=Role.agent, locale="en")
    sup_id, _, _ = await add_agent(ws, role=Role.supervisor, locale="ko")
    async with session_scope() as session:
        team = await accounts.create_team(
            session, workspace_id=ws.workspace_id, name="배송팀", agent_ids=[a_id]
        )
        other = await accounts.create_team(
            session, workspace_id=ws.workspace_id, name="결제팀", agent_ids=[b_id]
        )
    return ws, {"a": a_id, "b": b_id, "sup": sup_id, "team": team.id, "other_team": other.id}


async def test_visibility_across_agents_teams_and_workspaces(team_setup, make_workspace):
    ws, ids = team_setup
    elsewhere = await make_workspace()
    async with session_scope() as session:
        a = await _viewer(session, ws, ids["a"], "agent")
        b = await _viewer(session, ws, ids["b"], "agent")
        sup = await _viewer(session, ws, ids["sup"], "supervisor")
        mine = await service.create(
            session,
            workspace_id=ws.workspace_id,
            viewer=a,
            shortcut="내인사",
            title="내 인사",
            body="안녕하세요",
        )
        team = await service.create(
            session,
            workspace_id=ws.workspace_id,
            viewer=sup,
            shortcut="배송",
            title="배송 지연 안내",
            body="배송이 지연되면 연락드리겠습니다.",
            scope=ReplyScope.team,
            team_id=ids["team"],
        )
        shared = await service.create(
            session,
            workspace_id=ws.workspace_id,
            viewer=sup,
            shortcut="환불",
            title="환불 안내",
            body="환불은 3영업일 안에 처리됩니다.",
            scope=ReplyScope.workspace,
        )
        other_ws = await service.create(
            session,
            workspace_id=elsewhere.workspace_id,
            viewer=await _viewer(session, elsewhere, elsewhere.agent_id, "admin"),
            shortcut="환불",
            title="환불 안내",
            body="다른 회사",
            scope=ReplyScope.workspace,
        )

    async with session_scope() as session:

        def ids_of(rows):
            return {r.id for r in rows}

        seen_by_a = await service.list_(session, workspace_id=ws.workspace_id, viewer=a)
        seen_by_b = await service.list_(session, workspace_id=ws.workspace_id, viewer=b)
        seen_by_sup = await service.list_(session, workspace_id=ws.workspace_id, viewer=sup)
        assert ids_of(seen_by_a) == {mine.id, team.id, shared.id}
        assert ids_of(seen_by_b) == {shared.id}  # not in 배송팀, and A's personal one is A's
        assert ids_of(seen_by_sup) == {team.id, shared.id}  # manages every team's, never A's own
        # The picker shows a manager only their own teams' replies.
        picker = await service.find(
            session, workspace_id=ws.workspace_id, viewer=sup, query="", own_teams_only=True
        )
        assert {r.id for _, r in picker} == {shared.id}
        for viewer, reply_id in ((b, mine.id), (b, team.id), (a, other_ws.id), (sup, mine.id)):
            with pytest.raises(NotFound):
                await service.get(session, workspace_id=ws.workspace_id, viewer=viewer, reply_id=reply_id)


async def test_only_managers_share_and_shortcuts_are_unique_per_owner(team_setup):
    ws, ids = team_setup
    async with session_scope() as session:
        a = await _viewer(session, ws, ids["a"], "agent")
        b = await _viewer(session, ws, ids["b"], "agent")
        sup = await _viewer(session, ws, ids["sup"], "supervisor")
        for scope, team_id in ((ReplyScope.workspace, None), (ReplyScope.team, ids["team"])):
            with pytest.raises(Forbidden) as refused:
                await service.create(
                    session,
                    workspace_id=ws.workspace_id,
                    viewer=a,
                    shortcut="x",
                    title="x",
                    body="x",
                    scope=scope,
                    team_id=team_id,
                )
            assert refused.value.code == "permission_required"
        shared = await service.create(
            session,
            workspace_id=ws.workspace_id,
            viewer=sup,
            shortcut="감사",
            title="감사 인사",
            body="감사합니다.",
            scope=ReplyScope.workspace,
        )
        with pytest.raises(Forbidden):  # A sees it but may not change it
            await service.update(
                session, workspace_id=ws.workspace_id, viewer=a, reply_id=shared.id, body="x"
            )
        # The same shortcut: fine for two agents' personal replies and the workspace's, not twice for one owner.
        await service.create(
            session, workspace_id=ws.workspace_id, viewer=a, shortcut="감사", title="t", body="b"
        )
        await service.create(
            session, workspace_id=ws.workspace_id, viewer=b, shortcut="감사", title="t", body="b"
        )
        with pytest.raises(Conflict) as taken:
            await service.create(
                session, workspace_id=ws.workspace_id, viewer=a, shortcut="감사", title="t", body="b"
            )
        assert taken.value.code == "shortcut_taken"
        # The failed insert left the session usable and nothing behind.
        rows = await service.list_(session, workspace_id=ws.workspace_id, viewer=a)
        assert sorted(r.scope for r in rows if r.shortcut == "감사") == ["personal", "workspace"]


async def test_search_matches_korean_morphemes_and_ranks_by_use(team_setup):
    ws, ids = team_setup
    async with session_scope() as session:
        sup = await _viewer(session, ws, ids["sup"], "supervisor")

        async def add(shortcut, title, body):
            return await service.create(
                session,
                workspace_id=ws.workspace_id,
                viewer=sup,
                shortcut=shortcut,
                title=title,
                body=body,
                scope=ReplyScope.workspace,
            )

        delay = await add("지연", "배송 지연 사과", "배송이 지연되어 죄송합니다. 내일 출발합니다.")
        ship = await add("배송", "배송 안내", "주문하신 상품은 2~3일 안에 도착합니다.")
        refund = await add("환불", "환불 안내", "환불은 카드사 사정에 따라 3~5영업일 걸립니다.")
        english = await add("thanks", "Thank you", "Thanks for waiting, {{contact.first_name}}!")

        async def found(query):
            return [
                r.id
                for _, r in await service.find(session, workspace_id=ws.workspace_id, viewer=sup, query=query)
            ]

        assert (await found("배송"))[:2] == [ship.id, delay.id]  # the shortcut first, then the words
        assert await found("환불해") == [refund.id]  # a conjugated form
        assert await found("환불해 주세요") == [refund.id]
        assert await found("지연돼서") == [delay.id]
        assert await found("waiting") == [english.id]
        assert await found("배") == [ship.id, delay.id]  # a word still being typed
        assert await found("주차") == []
        # Equal matches: the more used reply comes first.
        for _ in range(3):
            await service.record_use(session, workspace_id=ws.workspace_id, reply_id=refund.id)
        empty_query = await found("")
        assert empty_query[0] == refund.id


async def test_render_fills_the_conversations_contact_and_counts_a_use(team_setup):
    ws, ids = team_setup
    conversation_id, _ = await seed_conversation(ws, name="김민지")
    async with session_scope() as session:
        a = await _viewer(session, ws, ids["a"], "agent")
        reply = await service.create(
            session,
            workspace_id=ws.workspace_id,
            viewer=a,
            shortcut="인사",
            title="인사",
            body="{{contact.first_name}}님, 안녕하세요. {{agent.name}}입니다. {{contact.등급}}",
        )
    async with session_scope() as session:
        text = await service.render(
            session,
            workspace_id=ws.workspace_id,
            viewer=a,
            reply_id=reply.id,
            conversation_id=conversation_id,
        )
        agent = await accounts.get_agent(session, workspace_id=ws.workspace_id, agent_id=ids["a"])
    assert text == f"민지님, 안녕하세요. {agent.name}입니다. {{{{contact.등급}}}}"
    async with session_scope() as session:
        again = await service.get(session, workspace_id=ws.workspace_id, viewer=a, reply_id=reply.id)
        assert again.usage_count == 1 and again.last_used_at is not None
