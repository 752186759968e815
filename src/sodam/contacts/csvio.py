"""Reading and writing contact CSV files (no database here: see importer.py).

Korean spreadsheets arrive in three encodings: UTF-8 with a BOM (Excel's "CSV UTF-8"),
CP949 (Excel's plain "CSV" on a Korean Windows; a superset of EUC-KR) and plain UTF-8.
UTF-8 is tried first because a CP949 file is almost never valid UTF-8, while many UTF-8
files decode (wrongly) as CP949.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sodam.contacts import phones
from sodam.contacts.attributes import KEY_RE, AttributeInvalid, coerce
from sodam.contacts.models import ContactAttributeDefinition

MAX_BYTES = 20 * 1024 * 1024
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LANGUAGES = ("ko", "en")
# Header words (lowercase, spaces and _ - removed) -> contact field.
ALIASES = {
    "name": ("name", "fullname", "이름", "성명", "고객명", "고객이름"),
    "email": ("email", "e-mail", "mail", "emailaddress", "이메일", "메일", "이메일주소", "전자우편"),
    "phone": (
        "phone",
        "phonenumber",
        "mobile",
        "tel",
        "전화",
        "전화번호",
        "휴대폰",
        "휴대전화",
        "연락처",
        "핸드폰",
    ),
    "language": ("language", "lang", "locale", "언어"),
    "company": ("company", "companyname", "organisation", "organization", "회사", "회사명", "소속", "기업"),
    "company_domain": ("companydomain", "domain", "회사도메인", "도메인"),
}
IGNORED = frozenset({"id", "createdat", "updatedat", "companyid"})


class Unreadable(Exception):
    """The file itself cannot be read as CSV (the only error that fails a whole import)."""


def _squash(header: str) -> str:
    return re.sub(r"[\s_\-]+", "", header.strip().lower())


_FIELD_OF = {_squash(alias): name for name, aliases in ALIASES.items() for alias in aliases}


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name) of a CSV file's bytes, or Unreadable."""
    if len(data) > MAX_BYTES:
        raise Unreadable(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Unreadable("the file is not text (it holds NUL bytes)")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    for encoding in ("utf-8", "cp949"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise Unreadable("the file is neither UTF-8 nor CP949/EUC-KR text")


@dataclass
class Mapping:
    """Which column holds which field or attribute."""

    fields: dict[int, str] = field(default_factory=dict)  # column -> contact field
    attributes: dict[int, str] = field(default_factory=dict)  # column -> attribute key
    ignored: list[str] = field(default_factory=list)  # headers used for nothing


def map_header(header: list[str], definitions: dict[str, ContactAttributeDefinition]) -> Mapping:
    """Fields by their names in English or Korean; attributes by key or label; any other
    header that is a valid key becomes a (free-text) attribute; the rest is ignored."""
    by_label = {_squash(d.label): d.key for d in definitions.values()}
    by_key = {_squash(k): k for k in definitions}
    mapping = Mapping()
    taken: set[str] = set()
    for column, raw in enumerate(header):
        squashed = _squash(raw)
        name = _FIELD_OF.get(squashed)
        key = by_key.get(squashed) or by_label.get(squashed)
        free = re.sub(r"[\s\-]+", "_", raw.strip().lower())
        if name and name not in taken:
            mapping.fields[column] = name
            taken.add(name)
        elif key and key not in taken:
            mapping.attributes[column] = key
            taken.add(key)
        elif squashed not in IGNORED and KEY_RE.match(free) and free not in taken:
            mapping.attributes[column] = free
            taken.add(free)
        elif raw.strip():
            mapping.ignored.append(raw.strip())
    return mapping


@dataclass
class Row:
    line: int
    fields: dict[str, Any]
    attributes: dict[str, Any]


@dataclass
class BadRow:
    """A row left out: `reason` in English (the API's), `code` and `params` for the copy in the
    reader's language (`reason_in`)."""

    line: int
    reason: str
    code: str = "other"
    params: dict[str, Any] = field(default_factory=dict)

    def as_error(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason, "code": self.code, "params": self.params}


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    sample = text[:8192]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def read(text: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and an iterator of (line number of the row's first line, cells)."""
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text))
    try:
        header = next(reader)
    except StopIteration as exc:
        raise Unreadable("the file is empty") from exc
    except csv.Error as exc:
        raise Unreadable(f"the header line cannot be read: {exc}") from exc
    if not any(h.strip() for h in header):
        raise Unreadable("the first line must name the columns")

    def rows() -> Iterator[tuple[int, list[str]]]:
        start = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield start, [f"\x00{exc}"]  # a malformed row: reported, the rest goes on
                start = reader.line_num + 1
                continue
            yield start, cells
            start = reader.line_num + 1

    return header, rows()


def parse_row(
    line: int, cells: list[str], mapping: Mapping, definitions: dict[str, ContactAttributeDefinition]
) -> Row | BadRow | None:
    """One data row checked (None for an empty row)."""
    if cells and cells[0].startswith("\x00"):
        return BadRow(line, f"malformed CSV: {cells[0][1:]}", "malformed", {"detail": cells[0][1:][:120]})
    if not any(c.strip() for c in cells):
        return None
    cells = [unquote_cell(c) for c in cells]
    values: dict[str, Any] = {}
    for column, name in mapping.fields.items():
        value = cells[column].strip() if column < len(cells) else ""
        if value:
            values[name] = value
    if "\x00" in "".join(cells):
        return BadRow(line, "the row holds a NUL character", "nul")
    email = values.get("email")
    if email and (len(email) > 320 or not EMAIL_RE.match(email)):
        return BadRow(line, f"invalid e-mail: {email[:80]}", "email", {"value": email[:80]})
    phone = values.get("phone")
    if phone and (len(phone) > 40 or phones.normalise(phone) is None):
        return BadRow(line, f"invalid phone number: {phone[:40]}", "phone", {"value": phone[:40]})
    language = values.get("language")
    if language:
        language = language.lower()[:2] if language.lower()[:2] in LANGUAGES else language
        if language not in LANGUAGES:
            return BadRow(
                line,
                f"language must be ko or en, not {values['language'][:20]}",
                "language",
                {"value": values["language"][:20]},
            )
        values["language"] = language
    if len(values.get("name", "")) > 200 or len(values.get("company", "")) > 200:
        return BadRow(line, "name and company are at most 200 characters", "too_long")
    if not (values.get("name") or email or phone):
        return BadRow(line, "a row needs a name, an e-mail or a phone", "no_identity")
    attrs: dict[str, Any] = {}
    for column, key in mapping.attributes.items():
        raw = cells[column].strip() if column < len(cells) else ""
        if not raw:
            continue
        if key in definitions:
            try:
                attrs[key] = coerce(definitions[key], raw)
            except AttributeInvalid as exc:
                why = (exc.details or {}).get("why", "type") if isinstance(exc.details, dict) else "type"
                return BadRow(
                    line,
                    exc.message,
                    f"attribute_{why}",
                    {
                        "attribute": key,
                        "value": raw[:80],
                        "options": ", ".join(definitions[key].options or []),
                    },
                )
        else:
            attrs[key] = raw[:500]
    return Row(line, values, attrs)


EXPORT_FIELDS = ("id", "name", "email", "phone", "language", "company", "company_domain", "created_at")


def export_header(attribute_keys: list[str]) -> list[str]:
    return [*EXPORT_FIELDS, *attribute_keys]


_FORMULA = re.compile(r"^(?:[=@\t\r]|[+\-](?![\d\s(]))")


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula ("=HYPERLINK(...)" gets a leading ')."""
    if isinstance(value, str) and _FORMULA.match(value):
        return "'" + value
    return "" if value is None else value


def unquote_cell(value: str) -> str:
    """What safe_cell protected, as it was."""
    if value.startswith("'") and _FORMULA.match(value[1:]):
        return value[1:]
    return value


BOM = b"\xef\xbb\xbf"


def lines(rows: list[list[Any]]) -> bytes:
    """CSV lines (UTF-8, cells a spreadsheet will not run): a part of a file."""
    out = io.StringIO()
    csv.writer(out).writerows([safe_cell(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8")


def write(rows: list[list[Any]], header: list[str]) -> bytes:
    """UTF-8 with a BOM: Excel (also in Korea) opens it with the Hangul intact."""
    return BOM + lines([header]) + lines(rows)


def reason_in(error: dict[str, Any], translate: Callable[..., str]) -> str:
    """A bad row's reason in the reader's language (`translate(msgid, **params)`); reports
    stored before reasons had codes keep their English text."""
    code = error.get("code")
    if not code or code == "other":
        return str(error.get("reason", ""))
    return translate(f"contacts.import.bad.{code}", **(error.get("params") or {}))


def errors_csv(errors: list[dict[str, Any]], translate: Callable[..., str] | None = None) -> bytes:
    """The bad rows' report: line, reason (in the reader's language when `translate` is given)."""
    header = ["line", "reason"]
    if translate is not None:
        header = [translate("contacts.import.line"), translate("contacts.import.reason")]
        return write([[e["line"], reason_in(e, translate)] for e in errors], header)
    return write([[e["line"], e["reason"]] for e in errors], header)
