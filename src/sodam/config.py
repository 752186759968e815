"""Settings from the environment (SODAM_*), in one place."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SODAM_", env_file=".env", extra="ignore")

    # Unset: an embedded PostgreSQL is started inside data_dir.
    database_url: str | None = None
    data_dir: Path = Path(".sodam")
    # Reports read from this database (a read replica of database_url) when set; the rollup
    # job still writes to database_url.
    reports_database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str | None = None
    public_url: str | None = None
    secure_cookies: bool = False
    max_message_chars: int = Field(default=10_000, ge=1)
    max_request_bytes: int = Field(default=256 * 1024, ge=1024)
    db_pool_size: int = 10
    # Visitor messages arriving while a commit is under way share the next transaction,
    # up to this many; 1 turns group commit off (one transaction per message).
    group_commit_max_batch: int = Field(default=64, ge=1)
    # Batches committing at once per process (each on its own connection).
    group_commit_in_flight: int = Field(default=2, ge=1, le=64)
    session_max_age_s: int = 14 * 24 * 3600
    # A visitor token proves who the visitor is for this long; POST /session renews it
    # (a new token each visit) for up to visitor_resume_days after it was issued, so a
    # returning visitor keeps the history and a leaked token soon opens nothing.
    visitor_token_ttl_s: int = Field(default=24 * 3600, ge=60)
    visitor_resume_days: int = Field(default=90, ge=1)
    log_level: str = "info"
    # Run a job worker inside each `sodam serve` process (simplest on one machine);
    # set false when dedicated `sodam worker` processes run the jobs.
    run_worker: bool = True
    worker_concurrency: int = 4
    # That worker runs in a child process of the web process (its own interpreter: the
    # reactions never hold the web server's event loop), at this much lower CPU priority.
    # false: on the web process's own event loop.
    worker_process: bool = True
    worker_nice: int = Field(default=10, ge=0, le=19)
    # The web server builds the help center's search index of every knowledge base with at least
    # this many published articles when it starts (a build takes ~25 s at 10,000); 0: none.
    kb_prebuild_articles: int = Field(default=1000, ge=0)

    # Browser calls (sodam.calls): the ICE servers both browsers use, comma-separated URLs.
    # None is needed on a LAN or loopback (empty iceServers); across NATs set a STUN server,
    # and a TURN server (with its username and credential) when direct paths are blocked.
    call_stun_urls: str = ""
    call_turn_urls: str = ""
    call_turn_username: str = ""
    call_turn_credential: str = ""
    # An unanswered call rings this long before it is recorded as missed.
    call_ring_timeout_s: int = Field(default=45, ge=5, le=600)

    # Rate limits ("N/second|minute|hour|day" or "N/Ns"), GCRA buckets in PostgreSQL shared by
    # every process. The widget/help-center/API ones can be overridden per workspace.
    rate_limits_enabled: bool = True
    rate_limit_widget_session_ip: str = "30/minute"  # new visitors (contacts) from one IP
    rate_limit_widget_session_inbox: str = "600/minute"  # new visitors of one inbox, all IPs
    rate_limit_widget_message_visitor: str = "60/minute"
    rate_limit_widget_message_ip: str = "300/minute"
    # Widget config, history, queue position and socket tickets from one IP (a page load
    # makes ~3; an office behind one NAT shares it).
    rate_limit_widget_read_ip: str = "600/minute"
    rate_limit_helpcenter_search_ip: str = "60/minute"
    rate_limit_helpcenter_vote_ip: str = "30/minute"
    rate_limit_api_token: str = "600/minute"  # noqa: S105 - a rate, not a secret
    rate_limit_login_ip: str = "30/minute"  # console sign-in attempts from one IP, any outcome
    # Console sign-in: after `delay_after` failures each attempt waits 2^n s (429 at once),
    # after `lock_after` the account is locked for `login_lock_s` (every further failure
    # re-locks). Failures are forgotten `login_failure_window_s` after the last one.
    login_delay_after: int = Field(default=5, ge=1)
    login_lock_after: int = Field(default=10, ge=1)
    login_ip_delay_after: int = Field(default=20, ge=1)
    login_ip_lock_after: int = Field(default=100, ge=1)
    login_lock_s: int = Field(default=900, ge=1)
    login_max_delay_s: int = Field(default=300, ge=1)
    login_failure_window_s: int = Field(default=24 * 3600, ge=60)
    # Attachments: where the bytes go (folder under data_dir | postgres | s3), the S3-compatible
    # bucket when s3, and the hard ceiling of an upload request (a workspace sets its own,
    # lower, limit; default 20 MB).
    attachment_store: Literal["folder", "postgres", "s3"] = "folder"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    # E-mail channel: the built-in SMTP listener (started by `sodam serve` once an e-mail inbox
    # exists, or by `sodam mail listen`; port 0 = off), and the outbound relay's retries
    # (attempt n waits base * 2^(n-1) seconds).
    smtp_listen_host: str = "127.0.0.1"
    smtp_listen_port: int = Field(default=2525, ge=0, le=65535)
    smtp_max_message_bytes: int = Field(default=30 * 1024 * 1024, ge=1024)
    # PEM certificate chain and key: the listener then offers STARTTLS (what sending servers expect).
    smtp_tls_cert: Path | None = None
    smtp_tls_key: Path | None = None
    mail_send_attempts: int = Field(default=5, ge=1, le=20)
    mail_retry_base_s: float = Field(default=60.0, ge=0)
    mail_send_timeout_s: float = Field(default=30.0, gt=0)
    # KakaoTalk: tries of one answer through the dealer, and the first wait (doubling after).
    kakao_send_attempts: int = Field(default=5, ge=1, le=20)
    kakao_retry_base_s: float = Field(default=30.0, ge=0)
    # Outgoing webhooks: a delivery is tried up to `webhook_max_attempts` times, waiting
    # base * factor^(n-1) seconds (capped, with +-25 % jitter) between tries: 60 s x 3^n over 8
    # tries is about 18 hours; then it is dead-lettered. A subscription failing
    # `webhook_pause_after` times in a row is paused and its workspace's admins told.
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_retry_base_s: float = Field(default=60.0, gt=0)
    webhook_retry_factor: float = Field(default=3.0, ge=1)
    webhook_retry_max_s: float = Field(default=12 * 3600.0, gt=0)
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_concurrency: int = Field(default=32, ge=1, le=2048)
    webhook_poll_s: float = Field(default=1.0, gt=0)
    # Automations: how often every job-running process drains the event outbox and runs the
    # due journey steps (0: never — the periodic jobs alone, as the test suite runs).
    automations_poll_s: float = Field(default=1.0, ge=0)
    webhook_pause_after: int = Field(default=100, ge=1)
    # Delivered and dead deliveries (with their tries) are purged after this many days.
    webhook_keep_days: int = Field(default=30, ge=1)
    # Callback URLs may not point at loopback, private, link-local or reserved addresses
    # (SSRF) unless inside one of these comma-separated networks (e.g. "127.0.0.1/32").
    webhook_allow_networks: str = ""
    # Reverse proxies whose X-Forwarded-For is believed (comma-separated IPs or CIDRs).
    trusted_proxies: str = ""

    def resolved_secret_key(self) -> str:
        """The configured secret, else one generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key

    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def request_base_url(self, request) -> str:
        """The address to hand out in links and snippets: SODAM_PUBLIC_URL when set, else the
        address this request reached (the server may run on another port than SODAM_PORT)."""
        return (self.public_url or str(request.base_url)).rstrip("/")


@lru_cache
def get_settings() -> Settings:
    return Settings()
