"""The IVR menu tree of a phone line: its JSON shape, validation and the default tree.

    {"root": "main",
     "nodes": {
       "main": {"prompt": {"ko": "결제 문의는 1번, …", "en": "For billing press 1, …"},
                "options": {"1": {"action": "queue", "team_id": 3},
                            "2": {"action": "menu", "node": "orders"},
                            "3": {"action": "callback"},
                            "4": {"action": "voicemail"},
                            "5": {"action": "announcement", "text": {"ko": "…", "en": "…"}},
                            "6": {"action": "forward", "number": "+82212345678"}}},
       "orders": {…}}}

0 always means a person (seed 003: a menu must never keep a caller from a real person): a
tree may leave it out (it is added) or say {"action": "person"}, nothing else; every menu's
prompt is followed by "상담원과 통화하시려면 0번을 눌러 주세요" so no tree can remove it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sodam.voice import numbers

ACTIONS = ("menu", "queue", "person", "callback", "voicemail", "announcement", "forward")
DIGITS = tuple("0123456789")
NODE_ID = re.compile(r"^[a-z0-9_-]{1,40}$")
MAX_NODES = 30
MAX_DEPTH = 5
MAX_PROMPT = 600
PERSON = {"action": "person"}

DEFAULT_TREE: dict[str, Any] = {
    "root": "main",
    "nodes": {
        "main": {
            "prompt": {
                "ko": "소담 고객센터입니다. 상담 대기는 1번, 전화 예약은 2번, 음성 메시지를 남기시려면 3번을 눌러 주세요.",
                "en": "Welcome to Sodam support. To wait for an agent press 1, "
                "to book a callback press 2, to leave a voice message press 3.",
            },
            "options": {
                "1": {"action": "person"},
                "2": {"action": "callback"},
                "3": {"action": "voicemail"},
            },
        }
    },
}


@dataclass(frozen=True)
class Problem:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


def _text(value: Any, field: str, problems: list[Problem], *, required: bool = True) -> dict[str, str]:
    value = value if isinstance(value, dict) else {}
    out = {}
    for lang in ("ko", "en"):
        text = str(value.get(lang) or "").strip()
        if required and not text:
            problems.append(Problem(f"{field}.{lang}", "prompt_missing", f"{lang} text is required"))
        if len(text) > MAX_PROMPT:
            problems.append(Problem(f"{field}.{lang}", "prompt_too_long", f"at most {MAX_PROMPT} characters"))
        out[lang] = text[:MAX_PROMPT]
    return out


def _option(digit: str, raw: Any, where: str, problems: list[Problem]) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or raw.get("action") not in ACTIONS:
        problems.append(Problem(where, "unknown_action", f"action must be one of {', '.join(ACTIONS)}"))
        return None
    action = raw["action"]
    if digit == "0" and action != "person":
        problems.append(Problem(where, "zero_is_a_person", "0 always connects the caller to a person"))
        return None
    option: dict[str, Any] = {"action": action}
    if action == "menu":
        option["node"] = str(raw.get("node") or "")
    elif action in ("queue", "person") and raw.get("team_id") not in (None, ""):
        try:
            option["team_id"] = int(raw["team_id"])
        except (TypeError, ValueError):
            problems.append(Problem(f"{where}.team_id", "invalid_team", "team_id must be a team's id"))
    elif action == "announcement":
        option["text"] = _text(raw.get("text"), f"{where}.text", problems)
    elif action == "forward":
        number = numbers.normalise(str(raw.get("number") or ""))
        if number is None:
            problems.append(Problem(f"{where}.number", "invalid_number", "an E.164 number like +82212345678"))
        option["number"] = number or ""
    if action == "queue" and "team_id" not in option:
        problems.append(Problem(f"{where}.team_id", "team_required", "a queue option names its team"))
    return option


def check(tree: Any) -> tuple[dict[str, Any], list[Problem]]:
    """(the cleaned tree, its problems); the tree is valid when there are none."""
    problems: list[Problem] = []
    if not isinstance(tree, dict) or not isinstance(tree.get("nodes"), dict) or not tree["nodes"]:
        return {}, [Problem("nodes", "no_nodes", "a tree needs at least one menu")]
    nodes_in = tree["nodes"]
    if len(nodes_in) > MAX_NODES:
        problems.append(Problem("nodes", "too_many_nodes", f"at most {MAX_NODES} menus"))
    root = str(tree.get("root") or "")
    if root not in nodes_in:
        problems.append(Problem("root", "unknown_root", "root must name one of the menus"))
    nodes: dict[str, Any] = {}
    for node_id, node in list(nodes_in.items())[:MAX_NODES]:
        where = f"nodes.{node_id}"
        if not NODE_ID.match(str(node_id)):
            problems.append(Problem(where, "invalid_node_id", "lower-case letters, digits, - and _"))
        node = node if isinstance(node, dict) else {}
        prompt = _text(node.get("prompt"), f"{where}.prompt", problems)
        options: dict[str, Any] = {}
        raw_options = node.get("options") if isinstance(node.get("options"), dict) else {}
        for digit, raw in raw_options.items():
            digit = str(digit)
            if digit not in DIGITS:
                problems.append(Problem(f"{where}.options.{digit}", "invalid_digit", "options are keys 0-9"))
                continue
            option = _option(digit, raw, f"{where}.options.{digit}", problems)
            if option is not None:
                options[digit] = option
        options["0"] = {**PERSON, **{k: v for k, v in options.get("0", {}).items() if k == "team_id"}}
        nodes[str(node_id)] = {"prompt": prompt, "options": dict(sorted(options.items()))}
    for node_id, node in nodes.items():
        for digit, option in node["options"].items():
            if option["action"] == "menu" and option["node"] not in nodes:
                problems.append(
                    Problem(f"nodes.{node_id}.options.{digit}.node", "unknown_node", "no menu has this id")
                )
    if not problems and _depth(nodes, root) > MAX_DEPTH:
        problems.append(Problem("nodes", "too_deep", f"at most {MAX_DEPTH} levels"))
    return {"root": root, "nodes": nodes}, problems


def _depth(nodes: dict[str, Any], root: str) -> int:
    """Levels from the root (a menu going back up is not a level deeper)."""
    best, stack = 0, [(root, 1, frozenset({root}))]
    while stack:
        node_id, depth, seen = stack.pop()
        best = max(best, depth)
        for option in nodes[node_id]["options"].values():
            child = option.get("node")
            if option["action"] == "menu" and child not in seen:
                stack.append((child, depth + 1, seen | {child}))
    return best


def team_ids(tree: dict[str, Any]) -> set[int]:
    """Every team a tree sends callers to (the service checks they are the workspace's)."""
    return {
        o["team_id"]
        for node in tree.get("nodes", {}).values()
        for o in node["options"].values()
        if "team_id" in o
    }


def tree_of(raw: dict[str, Any] | None) -> dict[str, Any]:
    """A stored tree (checked when saved), else the default."""
    return raw if raw and raw.get("nodes") else check(DEFAULT_TREE)[0]
