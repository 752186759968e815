"""Wire shapes for the knowledge base REST API and the import/export file format."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, computed_field

from sodam.knowledge.markdown import render
from sodam.knowledge.videos import DEFAULT_VIDEO_HOSTS


def _no_nul(value: Any) -> Any:
    """PostgreSQL stores no NUL character: refuse it as a 422, not a 500."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain the NUL character")
    if isinstance(value, dict):
        for k, v in value.items():
            _no_nul(k)
            _no_nul(v)
    if isinstance(value, list):
        for v in value:
            _no_nul(v)
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
Locale = Literal["ko", "en"]
Status = Literal["draft", "published"]
Question = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_no_nul)]


class CategoryNames(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ko: Text | None = Field(default=None, max_length=200, examples=["시작하기"])
    en: Text | None = Field(default=None, max_length=200, examples=["Getting started"])


class CategoryTemplate(BaseModel):
    """Markdown a new article in the category starts from, per locale."""

    model_config = ConfigDict(extra="forbid")
    ko: Text | None = Field(
        default=None, max_length=20_000, examples=["## 문제\n\n## 원인\n\n## 해결 방법\n"]
    )
    en: Text | None = Field(
        default=None, max_length=20_000, examples=["## Problem\n\n## Cause\n\n## Steps\n"]
    )


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: Text = Field(
        min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9-]*$", examples=["getting-started"]
    )
    names: CategoryNames
    position: int | None = Field(default=None, ge=0, le=1_000_000, description="Display order (ascending).")
    template: CategoryTemplate | None = None


class CategoryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: Text | None = Field(default=None, min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9-]*$")
    names: CategoryNames | None = None
    position: int | None = Field(default=None, ge=0, le=1_000_000)
    template: CategoryTemplate | None = Field(
        default=None, description="Replaces the template ({} clears it)."
    )


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    slug: str
    names: dict[str, str]
    position: int
    template: dict[str, str] = Field(default_factory=dict)
    created_at: datetime


class TemplateOut(BaseModel):
    name: str
    ko: str
    en: str


class QuestionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    text: str


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Question


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Text = Field(min_length=1, max_length=300)
    body: Text = Field(
        default="", max_length=100_000, description="Markdown; rendered and sanitised on read."
    )
    locale: Locale = "ko"
    category_id: int | None = Field(default=None, ge=1)
    status: Status = "draft"
    alternate_questions: list[Question] = Field(default_factory=list, max_length=50)
    from_template: bool = Field(
        default=False, description="An empty body starts from the category's template in `locale`."
    )
    review_by: datetime | None = Field(default=None, description="Default: today + the review period.")


class ArticleUpdate(BaseModel):
    """Only the fields sent change; `alternate_questions` replaces the list; category_id null clears it."""

    model_config = ConfigDict(extra="forbid")
    title: Text | None = Field(default=None, min_length=1, max_length=300)
    body: Text | None = Field(default=None, max_length=100_000)
    locale: Locale | None = None
    category_id: int | None = Field(default=None, ge=1)
    status: Status | None = None
    alternate_questions: list[Question] | None = Field(default=None, max_length=50)
    review_by: datetime | None = Field(
        default=None,
        description="Saving the title or body moves it to today + the review period unless given.",
    )


class ArticleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    title: str
    body: str = Field(description="Markdown as written.")
    locale: str
    category_id: int | None
    status: str
    alternate_questions: list[QuestionOut]
    author_id: int | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    view_count: int
    helpful_count: int
    not_helpful_count: int
    review_by: datetime | None = None
    last_viewed_at: datetime | None = None
    _video_hosts: tuple[str, ...] = PrivateAttr(default=DEFAULT_VIDEO_HOSTS)

    def with_video_hosts(self, hosts: tuple[str, ...]) -> ArticleOut:
        """Render video lines against the workspace's allow-list (not the default one)."""
        self._video_hosts = tuple(hosts)
        return self

    @computed_field(
        description="The body as sanitised HTML (video lines from allowed hosts as sandboxed iframes)."
    )
    @property
    def body_html(self) -> str:
        return render(self.body, video_hosts=self._video_hosts)


class SearchHitOut(BaseModel):
    article_id: int
    title: str
    locale: str
    category_id: int | None
    snippet: str
    score: float
    coverage: float = Field(description="Share of the query's weighted terms found in this article (0-1).")


class ConfidenceOut(BaseModel):
    coverage: float
    margin: float
    value: float


class SearchOut(BaseModel):
    query: str
    locale: str
    decision: Literal["answer", "choices", "handoff"] = Field(
        description="What the bot would do with this result: answer, offer choices or hand off."
    )
    confidence: ConfidenceOut
    data: list[SearchHitOut]


class ContentGapOut(BaseModel):
    query: str
    locale: str
    searches: int
    zero_results: int
    clicks: int
    top_article_id: int | None
    helpful: int
    not_helpful: int


class HealthReasonOut(BaseModel):
    code: Literal["overdue", "unviewed", "downvoted", "handoffs"] = Field(
        description="overdue: days past review-by; unviewed: days without a view; "
        "downvoted: 👎 count; handoffs: bot handoffs after this article."
    )
    points: int
    value: int


class HealthItemOut(BaseModel):
    article_id: int
    title: str
    locale: str
    category_id: int | None
    owner_id: int | None
    review_by: datetime | None
    score: int
    reasons: list[HealthReasonOut]
    helpful: int
    not_helpful: int
    handoffs: int


class KbSettingsOut(BaseModel):
    video_hosts: list[str]
    default_video_hosts: bool = Field(description="True while the default allow-list is in force.")
    review_days: int
    stale_view_days: int
    min_downvotes: int
    handoff_days: int


class KbSettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    video_hosts: list[Annotated[Text, Field(max_length=253)]] | None = Field(
        default=None, max_length=50, description="Host names (subdomains included); null: unchanged."
    )
    reset_video_hosts: bool = Field(default=False, description="Back to YouTube, youtube-nocookie and Vimeo.")
    review_days: int | None = Field(default=None, ge=7, le=1095)
    stale_view_days: int | None = Field(default=None, ge=7, le=365)
    min_downvotes: int | None = Field(default=None, ge=1, le=1000)
    handoff_days: int | None = Field(default=None, ge=1, le=365)


class HealthOut(BaseModel):
    generated_at: datetime
    settings: KbSettingsOut
    data: list[HealthItemOut]


# -- import / export --------------------------------------------------------------------
class ExportCategory(BaseModel):
    model_config = ConfigDict(extra="ignore")
    slug: Text = Field(min_length=1, max_length=80)
    names: dict[str, Text] = Field(default_factory=dict)
    position: int | None = None


class ExportArticle(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int | None = None
    title: Text = Field(min_length=1, max_length=300)
    body: Text = ""
    locale: Locale = "ko"
    category: Text | None = Field(default=None, description="The category's slug.")
    alternate_questions: list[Question] = Field(default_factory=list)
    status: Status = "draft"


class ExportFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    categories: list[ExportCategory] = Field(default_factory=list)
    articles: list[ExportArticle] = Field(default_factory=list)
