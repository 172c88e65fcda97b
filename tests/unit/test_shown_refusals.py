"""A Chinese page shows a rule's own sentence only when it is plain Chinese (front.shown)."""
from __future__ import annotations

from hall_queue.domain.errors import InvalidRequest
from hall_queue.entrypoints.front import shown


def test_english_and_clause_numbers_give_way_to_the_pages_sentence():
    assert shown(InvalidRequest("day must be '*', mon..sun or YYYY-MM-DD"), "请检查") == "请检查"
    assert shown(InvalidRequest("a complaint is handled by a manager (专人负责, 000 §10.2)"), "请检查") == "请检查"
    # A Chinese term and a field name, no three English words in a row: the console showed it as it was.
    assert shown(InvalidRequest("a one-time notice (一次性告知) needs detail.missing_materials"), "请检查") == "请检查"


def test_a_chinese_sentence_with_a_product_name_or_a_ticket_number_is_kept():
    assert shown(InvalidRequest("请携带税务UKey"), "请检查") == "请携带税务UKey"
    assert shown(InvalidRequest("刚刚呼叫过A003，请30秒后再重呼"), "请检查") == "刚刚呼叫过A003，请30秒后再重呼"
