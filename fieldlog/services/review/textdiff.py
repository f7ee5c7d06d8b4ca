"""Which words changed between two texts, for the history pages."""
import re
from difflib import SequenceMatcher

# A token is a Latin word or number, a run of spaces, or one other character: Chinese has no
# spaces between words, so it is compared character by character.
_TOKENS = re.compile(r"[A-Za-z0-9\u00C0-\u024F]+|\s+|.", re.S)
_WORD_DIFF_MAX = 20_000  # tokens; longer values are shown as wholly changed


def _joined(parts: list[tuple[bool, str]]) -> list[tuple[bool, str]]:
    """Merge neighbouring parts of the same kind; drop empty ones."""
    out: list[tuple[bool, str]] = []
    for changed, text in parts:
        if not text:
            continue
        if out and out[-1][0] == changed:
            out[-1] = (changed, out[-1][1] + text)
        else:
            out.append((changed, text))
    return out


def word_diff(old: str, new: str) -> tuple[list[tuple[bool, str]], list[tuple[bool, str]]]:
    """Split two texts into (changed, text) parts: words for Latin text, characters for CJK."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    if len(a) + len(b) > _WORD_DIFF_MAX:
        return [(True, old)], [(True, new)]
    old_parts, new_parts = [], []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        same = op == "equal"
        old_parts.append((not same, "".join(a[i1:i2])))
        new_parts.append((not same, "".join(b[j1:j2])))
    return _joined(old_parts), _joined(new_parts)
