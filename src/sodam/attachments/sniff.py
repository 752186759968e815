"""What a file really is (from its first bytes, never the client's word) and a safe name for it.

Types are grouped in families a workspace allows or not (policy.py). Executables and
scripts are refused whatever a workspace says; HTML and SVG are never among the types,
so nothing uploaded is ever served as a page.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

FAMILIES = ("images", "documents", "archives", "media")


@dataclass(frozen=True)
class FileType:
    content_type: str
    family: str
    extensions: tuple[str, ...]
    # Shown in the page (an <img>): only simple raster formats every browser decodes.
    inline: bool = False


PNG = FileType("image/png", "images", ("png",), inline=True)
JPEG = FileType("image/jpeg", "images", ("jpg", "jpeg", "jfif"), inline=True)
GIF = FileType("image/gif", "images", ("gif",), inline=True)
WEBP = FileType("image/webp", "images", ("webp",), inline=True)
HEIC = FileType("image/heic", "images", ("heic", "heif"))
PDF = FileType("application/pdf", "documents", ("pdf",))
ZIP = FileType("application/zip", "archives", ("zip",))
OOXML = {
    "docx": FileType(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "documents", ("docx",)
    ),
    "xlsx": FileType(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "documents", ("xlsx",)
    ),
    "pptx": FileType(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation", "documents", ("pptx",)
    ),
    "hwpx": FileType("application/hwp+zip", "documents", ("hwpx",)),
}
OLE = {  # compound documents: the old Office formats and 한글 (HWP 5)
    "doc": FileType("application/msword", "documents", ("doc",)),
    "xls": FileType("application/vnd.ms-excel", "documents", ("xls",)),
    "ppt": FileType("application/vnd.ms-powerpoint", "documents", ("ppt",)),
    "hwp": FileType("application/x-hwp", "documents", ("hwp",)),
}
TEXT = FileType("text/plain; charset=utf-8", "documents", ("txt", "log", "md"))
CSV = FileType("text/csv; charset=utf-8", "documents", ("csv",))
MP4 = FileType("video/mp4", "media", ("mp4", "m4v", "mov"))
M4A = FileType("audio/mp4", "media", ("m4a",))
MP3 = FileType("audio/mpeg", "media", ("mp3",))

# Never accepted, whatever the workspace allows (by extension or by content).
BLOCKED_EXTENSIONS = frozenset(
    "exe dll com scr msi msp bat cmd ps1 psm1 vbs vbe js jse mjs wsf wsh hta cpl jar apk app dmg pkg"
    " deb rpm sh bash zsh csh ksh run bin elf so dylib lnk reg inf iso img html htm xhtml shtml svg svgz"
    " xml xsl php asp aspx jsp py pl rb".split()
)


class Refused(Exception):
    """Why a file is not accepted: `code` is unsupported_type or blocked_type."""

    def __init__(self, code: str, detected: str | None = None):
        super().__init__(code)
        self.code = code
        self.detected = detected


def extension(filename: str) -> str:
    return filename.rsplit(".", 1)[1].lower() if "." in filename.strip(".") else ""


def _looks_executable(head: bytes) -> str | None:
    if head.startswith(b"MZ"):
        return "application/x-msdownload"
    if head.startswith(b"\x7fELF"):
        return "application/x-executable"
    if head[:4] in (
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xcf\xfa\xed\xfe",
        b"\xce\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
    ):
        return "application/x-mach-binary"
    if head.startswith(b"#!"):
        return "text/x-script"
    lowered = head[:512].lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<svg", b"<?xml", b"<script")):
        return "text/html"
    return None


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start < len(head) - 3:
            return False
    return True


def detect(head: bytes, filename: str) -> FileType:
    """The file's type from its first bytes (≥ 4 KB when the file is that long) and its name.

    Raises Refused("blocked_type") for executables, scripts, HTML/SVG and blocked
    extensions; Refused("unsupported_type") for anything not recognised.
    """
    ext = extension(filename)
    danger = _looks_executable(head)
    if danger or ext in BLOCKED_EXTENSIONS:
        raise Refused("blocked_type", danger)
    found: FileType | None = None
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        found = PNG
    elif head.startswith(b"\xff\xd8\xff"):
        found = JPEG
    elif head[:6] in (b"GIF87a", b"GIF89a"):
        found = GIF
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        found = WEBP
    elif head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"heif"):
            found = HEIC
        elif brand in (b"M4A ", b"M4B "):
            found = M4A
        else:
            found = MP4
    elif head.startswith(b"%PDF-"):
        found = PDF
    elif head.startswith(b"PK\x03\x04"):
        # Office Open XML and HWPX are zip files: their extension says which.
        found = OOXML.get(ext, ZIP)
    elif head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        found = OLE.get(ext)
    elif head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        found = MP3
    elif _is_text(head):
        found = CSV if ext == "csv" else TEXT
    if found is None:
        raise Refused("unsupported_type")
    return found


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
MAX_NAME = 200


def safe_filename(name: str | None, fallback_ext: str = "") -> str:
    """A name fit to show and to save: no path, no control characters, NFC (so 한글 typed on a
    Mac reads the same), at most 200 characters with its extension kept."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip().strip(".").strip()
    if not name:
        name = "file" + (f".{fallback_ext}" if fallback_ext else "")
    if len(name) > MAX_NAME:
        ext = extension(name)
        keep = MAX_NAME - (len(ext) + 1 if ext and len(ext) < 10 else 0)
        name = name[:keep] + (f".{ext}" if ext and len(ext) < 10 else "")
    return name


def content_disposition(filename: str, *, inline: bool) -> str:
    """RFC 6266 with RFC 5987's filename* (UTF-8), plus an ASCII fallback for old clients."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._ ()-]", "_", ascii_name).strip() or "file"
    ext = extension(filename)
    if ext and not ascii_name.lower().endswith("." + ext):
        ascii_name = f"{ascii_name}.{ext}" if extension(ascii_name) != ext else ascii_name
    disposition = "inline" if inline else "attachment"
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
