"""The provider's request signature (Twilio's X-Twilio-Signature scheme).

signature = base64( HMAC-SHA1( auth_token, URL + every POST parameter's name and value,
                               sorted by name, concatenated without separators ) )

URL is the full address the provider posted to, query string included, exactly as it was
configured (https://, host, path). Behind a proxy set SODAM_PUBLIC_URL so the server
rebuilds the same URL the provider signed. Nothing secret is ever in the URL: the auth
token only keys the HMAC.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def compute(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The expected X-Twilio-Signature of a form POST (repeated names: each value, in order)."""
    data = url + "".join(f"{k}{v}" for k, v in sorted(params, key=lambda kv: kv[0]))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def valid(auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None) -> bool:
    """Constant-time comparison of the header with the expected signature."""
    if not signature or not auth_token:
        return False
    return hmac.compare_digest(compute(auth_token, url, list(params)), signature)
