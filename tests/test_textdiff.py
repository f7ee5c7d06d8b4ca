"""The history marks only the changed words: Latin by word, Chinese by character."""
from fieldlog.services.review.textdiff import word_diff


def changed(parts):
    return [text for is_changed, text in parts if is_changed]


def test_chinese_is_compared_character_by_character():
    old, new = word_diff("确定两名积极分子，报乡党委备案。", "确定三名积极分子，报乡党委备案。")
    assert changed(old) == ["两"] and changed(new) == ["三"]
    assert "".join(t for _c, t in old) == "确定两名积极分子，报乡党委备案。"


def test_latin_text_is_compared_word_by_word():
    old, new = word_diff("the pump is broken", "the pump works")
    assert changed(old) == ["is broken"] and changed(new) == ["works"]


def test_mixed_text_keeps_numbers_whole():
    old, new = word_diff("编号 A-1234 已办结", "编号 A-1235 已办结")
    assert changed(old) == ["1234"] and changed(new) == ["1235"]


def test_unchanged_text_has_no_marks():
    same = [(False, "同样的内容")]
    assert word_diff("同样的内容", "同样的内容") == (same, same)
