"""REST API v1: webhook subscriptions, their deliveries and redelivery (webhooks.manage)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission
from sodam.core.deps import Principal
from sodam.core.pagination import MAX_ID, Page, PageQuery, decode_cursor, encode_cursor, page_of
from sodam.webhooks import service
from sodam.webhooks.schemas import (
    DeliveryDetail,
    DeliveryOut,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionUpdate,
    SubscriptionWithSecret,
)

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Reader = Annotated[Principal, Depends(api_access(Permission.webhooks_manage, "read"))]
Writer = Annotated[Principal, Depends(api_access(Permission.webhooks_manage, "write"))]
URL_422 = {
    422: {
        "description": "Not http(s) (`invalid_url_scheme`), credentials in the URL (`url_credentials`), "
        "a loopback/private/link-local address (`url_not_allowed`) or an unknown event (`unknown_event_type`)."
    }
}


def _with_secret(sub, secret: str) -> dict:
    return {**SubscriptionOut.model_validate(sub).model_dump(), "secret": secret}


@router.get("/event-types", summary="The event types a subscription can choose")
async def event_types(principal: Reader) -> dict:
    return {"data": list(service.EVENT_TYPES)}


@router.get(
    "",
    summary="List webhook subscriptions (and API inboxes' callback URLs)",
    response_model=list[SubscriptionOut],
)
async def list_subscriptions(principal: Reader, session: ApiSession):
    return await service.list_(session, workspace_id=principal.workspace_id)


@router.post(
    "",
    summary="Create a webhook subscription; the answer carries its signing secret, once",
    status_code=201,
    response_model=SubscriptionWithSecret,
    responses={**URL_422, 409: {"description": "The inbox already has a callback URL (`callback_exists`)."}},
)
async def create_subscription(body: SubscriptionIn, principal: Writer, session: ApiSession):
    sub, secret = await service.create(
        session,
        workspace_id=principal.workspace_id,
        url=body.url,
        events=body.events,
        description=body.description,
        inbox_id=body.inbox_id,
    )
    return _with_secret(sub, secret)


@router.get("/{subscription_id}", summary="Get a webhook subscription", response_model=SubscriptionOut)
async def get_subscription(subscription_id: Id, principal: Reader, session: ApiSession):
    return await service.get(session, workspace_id=principal.workspace_id, subscription_id=subscription_id)


@router.patch(
    "/{subscription_id}",
    summary="Change a subscription; `status: active` resumes a paused one",
    response_model=SubscriptionOut,
    responses=URL_422,
)
async def update_subscription(
    subscription_id: Id, body: SubscriptionUpdate, principal: Writer, session: ApiSession
):
    return await service.update_(
        session, workspace_id=principal.workspace_id, subscription_id=subscription_id, **body.model_dump()
    )


@router.delete("/{subscription_id}", summary="Delete a subscription and its deliveries", status_code=204)
async def delete_subscription(subscription_id: Id, principal: Writer, session: ApiSession):
    await service.delete(session, workspace_id=principal.workspace_id, subscription_id=subscription_id)
    return Response(status_code=204)


@router.post(
    "/{subscription_id}/rotate-secret",
    summary="Replace the signing secret (the old one stops at once); the answer carries it, once",
    response_model=SubscriptionWithSecret,
)
async def rotate_secret(subscription_id: Id, principal: Writer, session: ApiSession):
    sub, secret = await service.rotate_secret(
        session, workspace_id=principal.workspace_id, subscription_id=subscription_id
    )
    return _with_secret(sub, secret)


@router.get(
    "/{subscription_id}/deliveries",
    summary="A subscription's deliveries, newest first (`status=dead`: the dead letters)",
    response_model=Page[DeliveryOut],
)
async def list_deliveries(
    subscription_id: Id,
    principal: Reader,
    session: ApiSession,
    page: PageQuery,
    status: str | None = Query(default=None, pattern="^(pending|delivered|dead)$"),
):
    await service.get(session, workspace_id=principal.workspace_id, subscription_id=subscription_id)
    before = decode_cursor(page.cursor, "webhook_deliveries", {"id": int})["id"] if page.cursor else None
    rows = await service.deliveries(
        session,
        workspace_id=principal.workspace_id,
        subscription_id=subscription_id,
        status=status,
        before_id=before,
        limit=page.limit + 1,
    )
    rows, cursor = page_of(rows, page.limit, lambda d: encode_cursor("webhook_deliveries", {"id": d.id}))
    return {"data": rows, "next_cursor": cursor}


@router.get(
    "/deliveries/{delivery_id}",
    summary="A delivery with its body and every try",
    response_model=DeliveryDetail,
)
async def get_delivery(delivery_id: Id, principal: Reader, session: ApiSession):
    delivery = await service.get_delivery(
        session, workspace_id=principal.workspace_id, delivery_id=delivery_id
    )
    tries = await service.attempts(session, workspace_id=principal.workspace_id, delivery_id=delivery_id)
    return {**DeliveryOut.model_validate(delivery).model_dump(), "body": delivery.body, "tries": tries}


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    summary="Send a delivery again now (same id and body; a fresh set of tries)",
    response_model=DeliveryOut,
)
async def redeliver(delivery_id: Id, principal: Writer, session: ApiSession):
    return await service.redeliver(session, workspace_id=principal.workspace_id, delivery_id=delivery_id)
