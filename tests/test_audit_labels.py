"""Every action code and detail key the code base can write to the audit trail has a label.

The codes are found by reading the source (ast), not by listing them here, so a new
`record("x.y", details={...})` anywhere without a label fails this test.
"""
import ast
from pathlib import Path

from fieldlog.services.people.audit_labels import ACTION_LABELS, DETAIL_LABELS
from fieldlog.services.records.kinds import KINDS
from fieldlog.services.review.decisions import DECISIONS

SOURCE = Path(__file__).resolve().parent.parent / "fieldlog"
AUDIT_CALLS = {"record", "audit", "title_lines"}  # record()/audit.record(), ledger's alias, exports


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(
        func, ast.Attribute) else ""


def _strings(node: ast.expr) -> list[str] | None:
    """Return the codes an expression can be, or None when it is not a plain constant."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _strings(node.body), _strings(node.orelse)
        return body + orelse if body is not None and orelse is not None else None
    return None


def _dict_keys(node: ast.expr | None) -> set[str]:
    if isinstance(node, ast.IfExp):
        return _dict_keys(node.body) | _dict_keys(node.orelse)
    if not isinstance(node, ast.Dict):
        return set()
    return {k.value for k in node.keys if isinstance(k, ast.Constant)}


def _verbs(tree: ast.Module) -> list[str]:
    return [c.args[2].value for c in ast.walk(tree) if isinstance(c, ast.Call)
            and _name(c.func) == "_audit_item" and isinstance(c.args[2], ast.Constant)]


def written_codes() -> tuple[set[str], set[str], list[str]]:
    """Return (action codes, detail keys, expressions not understood) the source can write."""
    trees = {path: ast.parse(path.read_text()) for path in SOURCE.rglob("*.py")}
    verbs = sorted({v for tree in trees.values() for v in _verbs(tree)})
    expansions = {  # the f-strings that build codes, expanded from the app's own tables
        "f'{kind.name}.{verb}'": [f"{k}.{v}" for k in KINDS for v in verbs],
        "f'review.{decision}'": [f"review.{d}" for d in DECISIONS],
    }
    actions, keys, unknown = set(), set(), []
    for path, tree in trees.items():
        if path.name == "audit_labels.py":
            continue
        for node in ast.walk(tree):
            code_node = None
            if isinstance(node, ast.Call) and _name(node.func) in AUDIT_CALLS and node.args:
                code_node = node.args[4] if _name(node.func) == "title_lines" else node.args[0]
                keys |= _dict_keys(next((k.value for k in node.keywords if k.arg == "details"),
                                        node.args[5] if len(node.args) > 5 else None))
            elif isinstance(node, ast.Call) and _name(node.func) == "_audit_item":
                keys |= {k.arg for k in node.keywords if k.arg}
            elif isinstance(node, ast.Dict) and {"action", "object_type"} <= _dict_keys(node):
                values = dict(zip([getattr(k, "value", None) for k in node.keys], node.values,
                                  strict=True))
                code_node = values["action"]
                keys |= _dict_keys(values.get("details"))
            elif isinstance(node, ast.Assign) and any(
                    getattr(t, "id", None) == "details" for t in node.targets):
                keys |= _dict_keys(node.value)
            elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Subscript) and getattr(t.value, "id", None) == "details"
                    for t in node.targets):
                keys |= {t.slice.value for t in node.targets if isinstance(t, ast.Subscript)
                         and isinstance(t.slice, ast.Constant)}
            if code_node is None:
                continue
            codes = _strings(code_node)
            if codes is None:
                text = ast.unparse(code_node)
                if text in expansions:
                    codes = expansions[text]
                elif isinstance(code_node, (ast.Name, ast.Subscript, ast.Attribute)):
                    continue  # passed through (exports' `action`, record_many's items)
                else:
                    unknown.append(f"{path.name}:{node.lineno}: {text}")
                    continue
            actions |= {c for c in codes if "." in c or c == "logout"}
    return actions, keys, unknown


def test_the_source_writes_codes_this_test_can_read():
    actions, keys, unknown = written_codes()
    assert not unknown, f"audit codes built in a way this test cannot expand: {unknown}"
    assert {"login.success", "review.approve", "visit.create", "export.scores"} <= actions
    assert {"channel", "device_id", "version", "reason"} <= keys


def test_every_action_code_written_has_a_label():
    actions, _keys, _unknown = written_codes()
    assert sorted(actions - set(ACTION_LABELS)) == []


def test_every_detail_key_written_has_a_label():
    _actions, keys, _unknown = written_codes()
    assert sorted(keys - set(DETAIL_LABELS)) == []


def test_audit_page_shows_labels_not_codes(client, world, login):
    login("admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "登录成功" in page and "渠道" in page and ">用户</span>" in page
    assert ">login.success<" not in page and ">channel<" not in page


def written_object_types() -> set[str]:
    """Return every object_type the source writes as a constant, and every record type."""
    found = set(KINDS)
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "object_type":
                found |= set(_strings(node.value) or [])
            elif isinstance(node, ast.Dict) and {"action", "object_type"} <= _dict_keys(node):
                values = dict(zip([getattr(k, "value", None) for k in node.keys], node.values,
                                  strict=True))
                found |= set(_strings(values["object_type"]) or [])
    return found - {""}


def test_every_object_type_written_has_a_label():
    from fieldlog.services.people.audit_labels import OBJECT_LABELS

    types = written_object_types()
    assert {"user", "device_token", "export", "audit_log"} <= types
    assert sorted(types - set(OBJECT_LABELS)) == []
