"""KakaoTalk 상담톡 and 알림톡 on the API channel, through a dealer (딜러사) client (docs/kakao.md).

Importing the package registers the send guard on the agent reply path (session rules, image
size): an agent's reply that Kakao would refuse is refused before it is stored."""

from sodam.kakao import guard as _guard  # noqa: F401
