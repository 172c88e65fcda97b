"""The house of contexts: the root holds only the composition modules, the domain and the contexts import
no web, socket or device library and never look up at the entrypoints, and the vocabulary is written once."""
from __future__ import annotations

import ast
from pathlib import Path

from hall_queue.domain import vocabulary as V

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "hall_queue"
CONTEXTS = ("domain", "queueing", "appointments", "cases", "feedback", "catalog", "access", "floor")
FORBIDDEN = ("flask", "flask_socketio", "socketio", "engineio", "werkzeug", "serial", "escpos", "cv2")
# Sets of names a module must take from ``domain.vocabulary``, never write out itself.
VOCABULARY = {
    "green-channel reasons": V.GREEN_REASONS, "outcomes": V.OUTCOMES, "window kinds": V.WINDOW_KINDS,
    "ticket statuses": V.TICKET_STATUSES, "call rules": V.CALL_RULES, "queue roles": V.QUEUE_ROLES,
    "priority classes": V.PRIORITY_CLASSES, "complaint kinds": V.COMPLAINT_KINDS,
    "complaint channels": V.COMPLAINT_CHANNELS, "roles": V.ROLES, "item kinds": V.ITEM_KINDS,
    "material forms": V.MATERIAL_FORMS, "device kinds": V.DEVICE_KINDS, "device states": V.DEVICE_STATES,
    "appointment statuses": V.APPOINTMENT_STATUSES, "consultation channels": V.CONSULTATION_CHANNELS,
    "violation kinds": V.VIOLATION_KINDS,
}


def _imports(path: Path) -> list[str]:
    """Every module a file imports, at the top or inside a function (absolute names)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
            out += [f"{node.module}.{a.name}" for a in node.names]
    return out


def test_root_holds_only_the_composition_modules():
    assert sorted(p.name for p in PKG.glob("*.py")) == ["__init__.py", "bootstrap.py", "config.py", "wsgi.py"]


def test_domain_and_contexts_import_no_web_socket_or_device_library():
    offenders = []
    for ctx in CONTEXTS:
        for path in (PKG / ctx).rglob("*.py"):
            for mod in _imports(path):
                if mod.split(".")[0] in FORBIDDEN:
                    offenders.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert offenders == []


def test_no_import_runs_upward():
    """Contexts never import the entrypoints or the composition root; the domain imports no context."""
    offenders = []
    for ctx in CONTEXTS + ("infrastructure",):
        for path in (PKG / ctx).rglob("*.py"):
            for mod in _imports(path):
                up = mod.startswith(("hall_queue.entrypoints", "hall_queue.bootstrap")) or mod == "hall_queue.create_app"
                if ctx == "domain":
                    up = up or (mod.startswith("hall_queue.") and not mod.startswith("hall_queue.domain"))
                if ctx == "infrastructure":
                    up = up or any(mod.startswith(f"hall_queue.{c}") for c in CONTEXTS if c != "domain")
                if up:
                    offenders.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert offenders == []


def _strings(node: ast.AST) -> set[str]:
    elts = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return {e.value for e in elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}


def _literal_sets(tree: ast.Module):
    """Definitions of a set of names: module or class-level tuples/lists/sets of strings, and ``Literal[...]``.

    A subset written inline in a condition (``status in ("done", "transferred")``) is a use, not a
    definition; a module or class constant, a schema field's ``Literal`` or a type alias is one.
    """
    scopes = [tree.body] + [n.body for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    for body in scopes:
        for stmt in body:
            value = stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
            if isinstance(value, (ast.Tuple, ast.List, ast.Set)):
                yield stmt.lineno, _strings(value)
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and getattr(node.value, "id", getattr(node.value, "attr", "")) == "Literal":
            yield node.lineno, _strings(node.slice)


def test_vocabulary_literals_are_defined_only_in_the_vocabulary():
    offenders = []
    files = [p for d in ("hall_queue", "kiosk", "hall_admin", "display") for p in (ROOT / d).rglob("*.py")
             if "migrations" not in p.parts and p.name != "vocabulary.py"]
    for path in files:
        for line, strings in _literal_sets(ast.parse(path.read_text(encoding="utf-8"))):
            for what, values in VOCABULARY.items():
                # Two or more names of one set written out together are a copy of that set (or part of it).
                if len(strings & set(values)) >= 2 and strings <= set(values):
                    offenders.append(f"{path.relative_to(ROOT)}:{line} writes out {what} {sorted(strings)}")
    assert offenders == []
