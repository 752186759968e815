"""IMAP polling against a real IMAP server: Dovecot on a loopback port with its own config in a
temporary directory (skipped where /usr/sbin/dovecot is not installed: apt-get install
dovecot-imapd)."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from sodam.conversations.models import Message
from sodam.db.session import session_scope
from sodam.mail import imap
from sodam.mail import service as mail
from sodam.mail.models import MailInbox
from tests.conftest import free_port
from tests.mail.support import customer_mail, email_inbox

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
CONF = """
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = {uid}
{users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


@pytest.fixture(scope="module")
def imap_server():
    if not Path(DOVECOT).exists():
        pytest.skip("no dovecot (apt-get install -y dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="sodam-imap-"))
    root.chmod(0o755)
    if os.getuid() == 0:  # mail is never read as root: the package's own user
        owner = pwd.getpwnam("dovecot")
        uid, gid, users = owner.pw_uid, owner.pw_gid, ""
    else:
        uid, gid = os.getuid(), os.getgid()
        name = pwd.getpwuid(uid).pw_name
        users = f"default_login_user = {name}\ndefault_internal_user = {name}"
    for sub in ("run", "state", "home"):
        (root / sub).mkdir()
    os.chown(root / "home", uid, gid)
    (root / "passwd").write_text("support:{PLAIN}imap-secret\n")
    port = free_port()
    (root / "dovecot.conf").write_text(CONF.format(root=root, uid=uid, gid=gid, users=users, port=port))
    subprocess.run([DOVECOT, "-c", str(root / "dovecot.conf")], check=True)
    deadline = time.time() + 10
    while True:
        try:
            imaplib.IMAP4("127.0.0.1", port).logout()
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    yield port
    pid = int((root / "run" / "master.pid").read_text())
    os.kill(pid, 15)
    shutil.rmtree(root, ignore_errors=True)


def _append(port: int, raw: bytes, *, seen: bool = False) -> None:
    client = imaplib.IMAP4("127.0.0.1", port)
    client.login("support", "imap-secret")
    client.append("INBOX", "(\\Seen)" if seen else None, None, raw)
    client.logout()


async def _messages(inbox_id: int) -> list[Message]:
    async with session_scope() as session:
        return list(
            await session.scalars(select(Message).where(Message.inbox_id == inbox_id).order_by(Message.id))
        )


async def test_new_mail_is_read_once_and_threads(db, imap_server, make_workspace):
    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws)
    async with session_scope() as session:
        await mail.set_config(
            session,
            workspace_id=ws.workspace_id,
            inbox_id=inbox_id,
            imap_host="127.0.0.1",
            imap_port=imap_server,
            imap_security="none",
            imap_username="support",
            imap_password="imap-secret",
        )
    old = customer_mail(to=address, subject="이미 읽은 옛 메일")
    _append(imap_server, old.as_bytes(), seen=True)  # history before Sodam: not imported
    first = customer_mail(to=address, subject="IMAP 문의", body="메일함으로 보낸 문의입니다.")
    _append(imap_server, first.as_bytes())
    assert await imap.poll_inbox(inbox_id) == 1
    assert await imap.poll_inbox(inbox_id) == 0  # nothing new: nothing stored twice
    reply = customer_mail(
        to=address, subject="Re: IMAP 문의", body="추가 문의입니다.", in_reply_to=first["Message-ID"]
    )
    _append(imap_server, reply.as_bytes())
    assert await imap.poll_inbox(inbox_id) == 1
    one, two = await _messages(inbox_id)
    assert one.content == "메일함으로 보낸 문의입니다." and one.conversation_id == two.conversation_id
    async with session_scope() as session:
        config = await session.get(MailInbox, inbox_id)
        assert config.imap_last_uid == 3 and config.imap_error is None and config.imap_checked_at
    # The mailbox itself is untouched (read-only): the new mail is still unread there.
    client = imaplib.IMAP4("127.0.0.1", imap_server)
    client.login("support", "imap-secret")
    client.select("INBOX", readonly=True)
    assert client.uid("SEARCH", None, "UNSEEN")[1][0].split() == [b"2", b"3"]
    client.logout()


async def test_a_wrong_password_is_shown_and_nothing_is_lost(db, imap_server, make_workspace):
    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws)
    async with session_scope() as session:
        await mail.set_config(
            session,
            workspace_id=ws.workspace_id,
            inbox_id=inbox_id,
            imap_host="127.0.0.1",
            imap_port=imap_server,
            imap_security="none",
            imap_username="support",
            imap_password="wrong",
        )
    assert await imap.poll_inbox(inbox_id) == 0
    async with session_scope() as session:
        config = await session.get(MailInbox, inbox_id)
        assert config.imap_error and "authentication" in config.imap_error.lower()
        assert config.imap_last_uid == 0
