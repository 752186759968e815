import secrets

import httpx
import psycopg
from sqlalchemy.engine import make_url

from sodam.db.embedded import ensure_database
from sodam.db.migrate import upgrade
from sodam.db.session import libpq_url


def test_healthz_ok(live_server):
    response = httpx.get(live_server.url + "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_503_when_database_goes_away(database_url, server_factory):
    admin = make_url(libpq_url(database_url)).set(database="postgres").render_as_string(hide_password=False)
    name = "sodam_gone_" + secrets.token_hex(3)
    ensure_database(admin, name)
    doomed = make_url(admin).set(database=name).render_as_string(hide_password=False)
    upgrade(doomed)
    server = server_factory(extra_env={"SODAM_DATABASE_URL": doomed})
    assert httpx.get(server.url + "/healthz").status_code == 200
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    response = httpx.get(server.url + "/healthz", timeout=10)
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
