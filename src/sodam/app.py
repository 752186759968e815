"""create_app(): routers, middleware, lifespan (database, bus listener)."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
import psycopg_pool
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sodam import __version__
from sodam.campaigns import live as campaigns_live
from sodam.cobrowse import relay as cobrowse_relay
from sodam.config import Settings, get_settings
from sodam.conversations import privacy as conversation_privacy
from sodam.conversations import realtime as conversation_realtime
from sodam.core import logredact
from sodam.core.errors import AppError, error_body
from sodam.core.ratelimit import RULES, default_rate
from sodam.db.embedded import resolve_database_url
from sodam.db.session import dispose_engine, fill_raw_pool, get_engine, init_engine
from sodam.jobs.app import JobRunner
from sodam.jobs.child import WorkerChild
from sodam.jobs.warmup import warm_up_language_models
from sodam.knowledge.tasks import load_large_indexes
from sodam.mail.listener import MailListener
from sodam.realtime.bus import PostgresListener
from sodam.realtime.hub import hub

log = logging.getLogger("sodam")
STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logredact.install()
    for rule in RULES:  # a malformed SODAM_RATE_LIMIT_* fails the start, not a request
        default_rate(settings, rule)

    async def _warm_up(with_jobs: bool) -> None:
        await asyncio.to_thread(warm_up_language_models, with_jobs)
        if settings.kb_prebuild_articles:
            await load_large_indexes(settings.kb_prebuild_articles)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        url = resolve_database_url(settings.database_url, settings.data_dir)
        init_engine(url, pool_size=settings.db_pool_size)
        hub.set_resolver(
            conversation_realtime.resolve,
            immediate={"message.created"},
            at_once=conversation_realtime.resolve_at_once,
        )
        hub.on_event(conversation_privacy.forget_cached)
        hub.on_event(campaigns_live.on_bus_event)  # incident/campaign banners pushed to widgets
        cobrowse_relay.install()  # co-browsing: widget socket frames in, page events relayed to mirrors
        listener = PostgresListener(url, hub.dispatch, _after_missed_events)
        await listener.start()
        await fill_raw_pool()  # every hot-path connection open and warmed before the first message
        app.state.listener = listener
        in_child = settings.run_worker and settings.worker_process
        jobs = JobRunner(
            url, run_worker=settings.run_worker and not in_child, concurrency=settings.worker_concurrency
        )
        await jobs.start()
        worker_child = None
        if in_child:
            worker_child = WorkerChild(
                url, concurrency=settings.worker_concurrency, nice=settings.worker_nice
            )
            await worker_child.start()
        # The SMTP listener, once some inbox has an e-mail address (SODAM_SMTP_LISTEN_PORT=0: never).
        mail_listener = MailListener(settings.smtp_listen_host, settings.smtp_listen_port)
        await mail_listener.start()
        # Kiwi loads its model lazily (seconds of CPU): do it now, off the event loop,
        # rather than inside the first customer's search or sentiment job.
        # Then the search indexes of large knowledge bases, one by one in the background, so that
        # the help center's first search after a start does not wait for a build.
        warmup = asyncio.create_task(_warm_up(with_jobs=settings.run_worker and not in_child))
        try:
            yield
        finally:
            warmup.cancel()
            await mail_listener.stop()
            if worker_child is not None:
                await worker_child.stop()
            await jobs.stop()
            await listener.stop()
            await dispose_engine()

    app = FastAPI(
        title="Sodam API",
        version=__version__,
        description="Sodam (소담) REST API. Errors always have the body "
        '`{"error": {"code", "message", "details"}}`.',
        lifespan=lifespan,
        # The stock pages load Swagger UI / ReDoc from a CDN; /docs is served below from
        # vendored files so it works offline. ReDoc is not vendored, so there is no /redoc.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    _install_error_handlers(app)
    _install_database_error_handlers(app)
    _install_middleware(app, settings)
    _include_routers(app)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    _install_api_docs(app)
    _install_favicon(app)
    return app


SWAGGER_UI_VERSION = "5.35.0"
SWAGGER_UI_DIR = "/static/vendor/swagger-ui"


def _install_favicon(app: FastAPI) -> None:
    from fastapi.responses import RedirectResponse

    # Pages link /static/favicon.svg; this answers browsers (and pages like JSON) that ask the
    # conventional address instead of logging a 404 each time.
    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> RedirectResponse:
        return RedirectResponse("/static/favicon.svg", status_code=308)


def _install_api_docs(app: FastAPI) -> None:
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — Swagger UI",
            swagger_js_url=f"{SWAGGER_UI_DIR}/swagger-ui-bundle-{SWAGGER_UI_VERSION}.js",
            swagger_css_url=f"{SWAGGER_UI_DIR}/swagger-ui-{SWAGGER_UI_VERSION}.css",
            swagger_favicon_url=f"{SWAGGER_UI_DIR}/favicon-32x32.png",
            # The online validator badge would call validator.swagger.io. Tags start collapsed:
            # 20-odd tags and 120-odd operations read better that way, and with every tag
            # expanded Swagger UI 5.35 stopped drawing after the first ten operations.
            swagger_ui_parameters={"validatorUrl": None, "docExpansion": "none"},
        )


async def _after_missed_events() -> None:
    """The bus reconnected: events may have been lost. Clients fetch what they missed, and
    every search index here reloads before its next search."""
    from sodam.knowledge import index as knowledge_index

    await knowledge_index.on_bus_reconnect()
    await hub.resync_all()


def _include_routers(app: FastAPI) -> None:
    from sodam.accounts import views as console_views
    from sodam.channels import views_demo, widget
    from sodam.conversations import live

    app.include_router(widget.router)
    from sodam.channels import views_identity, widget_files, widget_socket, widget_visits

    app.include_router(widget_socket.router)  # /widget/v1/{inbox_token}/ws and its ticket
    app.include_router(widget_visits.router)

    app.include_router(views_identity.router)

    app.include_router(widget_files.router)
    app.include_router(live.router)
    app.include_router(views_demo.router)
    console_views.install(app)  # the agent console (/console) and its login
    from sodam.accounts import api as accounts_api
    from sodam.accounts import api_security as accounts_security_api
    from sodam.channels import api as channels_api
    from sodam.contacts import api as contacts_api
    from sodam.conversations import api as conversations_api

    app.include_router(accounts_api.router)
    app.include_router(accounts_security_api.router)
    app.include_router(channels_api.router)
    app.include_router(contacts_api.router)
    from sodam.companies import api as companies_api
    from sodam.contacts import api_data as contacts_data_api

    app.include_router(contacts_data_api.router)  # attributes, merges, imports, exports
    app.include_router(companies_api.router)
    app.include_router(conversations_api.router)
    from sodam.routing import api as routing_api
    from sodam.routing import views as routing_views

    app.include_router(routing_api.router)
    app.include_router(routing_views.router)
    from sodam.knowledge import api as knowledge_api
    from sodam.knowledge import helpcenter
    from sodam.knowledge import index as knowledge_index
    from sodam.knowledge import views as knowledge_views
    from sodam.knowledge import views_categories as knowledge_categories

    knowledge_index.install()  # every process refreshes its search index on "kb.changed"
    app.include_router(knowledge_api.router)
    app.include_router(knowledge_views.router)  # console editor (/console/kb)
    app.include_router(knowledge_categories.router)  # /console/kb/categories and their templates
    from sodam.privacy import views as privacy_views

    app.include_router(privacy_views.public_router)  # /help/{slug}/privacy, before the help center's routes
    helpcenter.install(app)  # public help center (/help/{workspace slug})
    from sodam.bot import api as bot_api
    from sodam.bot import views as bot_views

    app.include_router(bot_api.router)
    app.include_router(bot_views.router)  # console learning queue (/console/bot/proposals)
    from sodam.audit import api as audit_api
    from sodam.audit import views as audit_views
    from sodam.privacy import api as privacy_api
    from sodam.privacy import views as privacy_views

    app.include_router(audit_api.router)
    app.include_router(audit_views.router)  # console audit log (/console/settings/audit)
    app.include_router(privacy_api.router)
    app.include_router(privacy_views.console_router)  # export / erase, privacy settings
    from sodam.replies import api as replies_api
    from sodam.replies import views as replies_views

    app.include_router(replies_api.router)
    from sodam.attachments import api as attachments_api
    from sodam.attachments import views as attachments_views

    app.include_router(attachments_api.router)
    app.include_router(attachments_views.router)  # reply-box uploads, /console/attachments/{id}
    from sodam.accounts import views_profile
    from sodam.conversations import views_triage

    app.include_router(views_profile.router)  # the agent's public name and avatar

    app.include_router(views_triage.router)  # priority and snooze (보류) in the console
    app.include_router(replies_views.router)  # the reply box's `/` picker, /console/settings/replies
    from sodam.mail import api as mail_api
    from sodam.mail import views as mail_views
    from sodam.notifications import views as notifications_views
    from sodam.search import api as search_api
    from sodam.search import views as search_views

    app.include_router(search_api.router)
    app.include_router(search_views.router)  # /console/search
    app.include_router(notifications_views.router)  # /console/notifications
    from sodam.hours import views as hours_views
    from sodam.sla import api as sla_api
    from sodam.sla import views as sla_views

    app.include_router(hours_views.router)  # /console/settings/hours: inboxes' and teams' hours
    app.include_router(sla_api.router)
    app.include_router(sla_views.router)  # /console/settings/sla
    app.include_router(mail_api.router)  # /api/v1/inboxes/{id}/mail
    app.include_router(mail_views.router)  # e-mail inbox settings, a mail's original
    from sodam.channels import api_channel
    from sodam.mentions import api as mentions_api
    from sodam.mentions import views as mentions_views
    from sodam.webhooks import api as webhooks_api
    from sodam.webhooks import views as webhooks_views

    app.include_router(api_channel.router)  # POST /api/v1/inboxes/{id}/conversations (API inboxes)
    from sodam.kakao import api as kakao_api
    from sodam.kakao import views as kakao_views
    from sodam.kakao import views_settings as kakao_settings_views

    app.include_router(kakao_api.events_router)  # /kakao/v1/inboxes/{id}/events: the dealer's events
    app.include_router(kakao_api.router)  # connecting, 알림톡 templates, session, end, 알림톡 sends
    app.include_router(kakao_views.router)  # the console's session panel
    app.include_router(kakao_settings_views.router)  # /console/settings/inboxes/{id}/kakao
    app.include_router(webhooks_api.router)
    app.include_router(webhooks_views.router)  # /console/settings/webhooks
    app.include_router(mentions_api.router)  # POST /api/v1/inboxes/{id}/mentions, /api/v1/mentions
    app.include_router(mentions_views.router)  # /console/mentions
    from sodam.crm import api as crm_api
    from sodam.crm import views as crm_views
    from sodam.surveys import api as surveys_api
    from sodam.surveys import public as surveys_public
    from sodam.surveys import views as surveys_views

    app.include_router(crm_api.router)  # /api/v1/contacts/{id}/summary and /timeline
    app.include_router(crm_views.router)  # the screen pop and timeline fragments
    app.include_router(surveys_api.router)
    app.include_router(surveys_public.router)  # /s/{token}: the customer's survey page
    app.include_router(surveys_public.widget_router)  # the widget's survey card
    app.include_router(surveys_views.router)  # /console/surveys, /console/feedback
    from sodam.cobrowse import api as cobrowse_api
    from sodam.cobrowse import views as cobrowse_views
    from sodam.cobrowse import widget_api as cobrowse_widget
    from sodam.voice import api as voice_api
    from sodam.voice import views as voice_views
    from sodam.voice import webhook as voice_webhook
    from sodam.voice import widget_api as voice_widget

    app.include_router(voice_api.router)  # /api/v1/phone/…, /api/v1/calls, /api/v1/callbacks
    app.include_router(voice_webhook.router)  # /voice/v1/{inbox token}/…: the provider's webhook
    app.include_router(voice_widget.router)  # the widget's 전화 예약 form
    app.include_router(voice_views.router)  # /console/phone, /console/settings/phone
    app.include_router(cobrowse_api.router)  # /api/v1/…/cobrowse, the mirror socket
    app.include_router(cobrowse_widget.router)  # the widget's consent prompt
    app.include_router(cobrowse_views.router)  # /console/cobrowse/{id}, /console/settings/cobrowse

    from sodam.segments import api as segments_api
    from sodam.segments import views as segments_views

    app.include_router(segments_api.router)  # /api/v1/segments
    app.include_router(segments_views.router)  # /console/segments
    from sodam.automations import api as automations_api
    from sodam.automations import views as automations_views

    app.include_router(automations_api.router)  # /api/v1/automations
    app.include_router(automations_api.events_router)  # POST /api/v1/events (custom events)
    app.include_router(automations_views.router)  # /console/automations

    from sodam.campaigns import api as campaigns_api
    from sodam.campaigns import public as campaigns_public
    from sodam.campaigns import views as campaigns_views

    app.include_router(campaigns_api.router)  # /api/v1/campaigns, /api/v1/announcements
    app.include_router(campaigns_public.router)  # /c/l/{token}, /c/o/{token}.gif: tracked links, open pixel
    app.include_router(campaigns_public.widget_router)  # the widget's banner and "seen"
    app.include_router(campaigns_views.router)  # /console/campaigns, /console/campaigns/announcements

    from sodam.analytics import api as reports_api
    from sodam.analytics import views as reports_views

    app.include_router(reports_api.router)  # /api/v1/reports/{name}
    app.include_router(reports_views.router)  # /console/reports/...

    from sodam.pagehelp import api as pagehelp_api
    from sodam.pagehelp import views as pagehelp_views
    from sodam.pagehelp import widget_api as pagehelp_widget
    from sodam.routing import widget_api as routing_widget

    app.include_router(pagehelp_api.router)  # /api/v1/page-rules
    app.include_router(pagehelp_views.router)  # /console/page-rules
    app.include_router(pagehelp_widget.router)  # the widget's page-rule reports (+ rules in /config)
    app.include_router(routing_widget.router)  # the widget's 진행 상황 button (GET …/status)
    from sodam.assist import api as assist_api
    from sodam.assist import views as assist_views

    app.include_router(assist_api.router)  # /api/v1/conversations/{id}/assist, /api/v1/assist/...
    app.include_router(assist_views.router)  # the console's assist panel (console-assist.js)
    from sodam.calls import api as calls_api
    from sodam.calls import signalling as calls_signalling
    from sodam.calls import views as calls_views
    from sodam.calls import widget_api as calls_widget

    calls_signalling.install()  # `call` frames on both sockets, call frames delivered here
    app.include_router(calls_api.router)  # /api/v1/conversations/{id}/web-calls, /api/v1/web-calls/{id}
    app.include_router(calls_widget.router)  # the widget's call UI: copy, ICE servers, slots, booking
    app.include_router(calls_views.router)  # the console's call bar and call window
    from sodam.training import api as training_api
    from sodam.training import views as training_views

    app.include_router(training_api.router)  # /api/v1/training/...
    app.include_router(training_views.router)  # /console/training: scenarios, practice, leaderboard

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> JSONResponse:
        """200 when the database answers, 503 otherwise."""
        try:
            async with get_engine().connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not healthy"
            return JSONResponse({"status": "unavailable", "detail": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ok"})


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            body = error_body("malformed_json", "the request body is not valid JSON", _jsonable(errors))
        else:
            body = error_body("validation_error", "the request is not valid", _jsonable(errors))
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            # FastAPI's answer to a JSON body that is not UTF-8: the same 422 as any bad JSON.
            body = error_body("malformed_json", "the request body is not valid UTF-8 JSON")
            return JSONResponse(body, status_code=422)
        code = HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code
        return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


def _install_database_error_handlers(app: FastAPI) -> None:
    """A value the database cannot hold (a number out of range, a NUL in text) is the
    client's error: 422, never a 500. Bounds on every parameter come first; this is the
    net under them."""

    def invalid_value(exc: Exception) -> JSONResponse:
        body = error_body("invalid_value", "a value in the request is out of range or not allowed")
        return JSONResponse(body, status_code=422)

    def unavailable() -> JSONResponse:
        # The database restarted or failed over: this connection died, the next one will
        # work. Nothing was accepted, so a retry (same client_id) is safe.
        body = error_body("database_unavailable", "the database is briefly unavailable: retry shortly")
        return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if isinstance(exc.orig, psycopg.errors.DataError):
            return invalid_value(exc)
        if exc.connection_invalidated or isinstance(exc.orig, psycopg.OperationalError):
            log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
            return unavailable()
        log.exception("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(error_body("internal_error", "something went wrong on our side"), status_code=500)

    @app.exception_handler(psycopg.errors.DataError)
    async def raw_data_error(request: Request, exc: psycopg.errors.DataError) -> JSONResponse:
        return invalid_value(exc)

    @app.exception_handler(psycopg.OperationalError)
    async def raw_unavailable(request: Request, exc: psycopg.OperationalError) -> JSONResponse:
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return unavailable()

    @app.exception_handler(psycopg_pool.PoolTimeout)
    async def pool_timeout(request: Request, exc: psycopg_pool.PoolTimeout) -> JSONResponse:
        return unavailable()

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # Logged by the server as well; the client gets the usual error body.
        return JSONResponse(error_body("internal_error", "something went wrong on our side"), status_code=500)


def _jsonable(errors: list) -> list:
    out = []
    for e in errors:
        item = {k: v for k, v in e.items() if k in ("type", "loc", "msg")}
        item["loc"] = [str(p) for p in item.get("loc", [])]
        out.append(item)
    return out


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    from sodam.web.middleware import AuditScope, BodySizeLimit, RateLimitHeaders, WidgetCors

    app.add_middleware(AuditScope)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(WidgetCors)
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_request_bytes, upload_max_bytes=settings.max_upload_bytes
    )
