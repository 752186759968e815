"""Alembic environment: runs migrations on a psycopg 3 connection."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from sodam.accounts import models as _accounts  # noqa: F401
from sodam.assist import models as _assist  # noqa: F401
from sodam.attachments import models as _attachments  # noqa: F401
from sodam.audit import models as _audit  # noqa: F401
from sodam.bot import models as _bot  # noqa: F401
from sodam.channels import models as _channels  # noqa: F401
from sodam.cobrowse import models as _cobrowse  # noqa: F401
from sodam.companies import models as _companies  # noqa: F401
from sodam.contacts import models as _contacts  # noqa: F401
from sodam.conversations import models as _conversations  # noqa: F401
from sodam.db.base import Base
from sodam.db.session import sqlalchemy_url
from sodam.knowledge import models as _knowledge  # noqa: F401
from sodam.mail import models as _mail  # noqa: F401
from sodam.notifications import models as _notifications  # noqa: F401
from sodam.pagehelp import models as _pagehelp  # noqa: F401
from sodam.privacy import models as _privacy  # noqa: F401
from sodam.replies import models as _replies  # noqa: F401
from sodam.search import models as _search  # noqa: F401
from sodam.segments import models as _segments  # noqa: F401
from sodam.surveys import models as _surveys  # noqa: F401
from sodam.training import models as _training  # noqa: F401

target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    connectable = context.config.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
