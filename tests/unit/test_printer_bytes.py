"""Exact ESC/POS bytes for Chinese text, sizes and wrapping."""
import pytest

from devices.printer import escpos_bytes as eb
from devices.printer.errors import UnsupportedPaper
from devices.printer.layouts import mask_full_ids, wait_text


def test_ascii_text_is_sent_as_is_without_chinese_mode():
    assert eb.text_bytes("A023 09:30") == b"A023 09:30"


def test_chinese_text_is_gb18030_inside_fs_ampersand_and_fs_dot():
    assert eb.text_bytes("取号") == b"\x1c\x26" + b"\xc8\xa1\xba\xc5" + b"\x1c\x2e"


def test_punctuation_only_string_is_gb18030_not_question_marks():
    # python-escpos 3.1 prints these as "?" because the string holds no CJK ideograph.
    data = eb.text_bytes("（）：，")
    assert data == b"\x1c\x26\xa3\xa8\xa3\xa9\xa3\xba\xa3\xac\x1c\x2e"
    assert b"?" not in data


def test_mixed_text_is_one_chinese_mode_chunk():
    assert eb.text_bytes("A023号") == b"\x1c&A023\xba\xc5\x1c."


def test_character_outside_gbk_uses_four_byte_gb18030():
    assert eb.text_bytes("€") == b"\x1c&" + "€".encode("gb18030") + b"\x1c."
    # U+20BB7: linear 0x10BB7 from 0x90308130 -> 95 34 B2 35 (GB 18030-2005, 4-byte area)
    assert eb.text_bytes("𠮷") == b"\x1c&\x95\x34\xb2\x35\x1c."


def test_control_characters_cannot_reach_the_printer():
    assert eb.text_bytes("A\x1dV\x00B") == b"A V B"
    assert b"\x1b" not in eb.text_bytes("名\x1b@称")


@pytest.mark.parametrize(("width", "height", "byte"), [(1, 1, 0x00), (2, 2, 0x11), (6, 6, 0x55), (8, 1, 0x70)])
def test_gs_exclamation_size(width, height, byte):
    assert eb.size(width, height) == b"\x1d!" + bytes([byte])


def test_size_out_of_range_is_refused():
    with pytest.raises(ValueError):
        eb.size(9, 1)


def test_alignment_bold_feed_and_status_query_bytes():
    assert eb.align("center") == b"\x1ba\x01"
    assert eb.bold(True) == b"\x1bE\x01"
    assert eb.feed_lines(3) == b"\x1bd\x03"
    assert eb.status_query(4) == b"\x10\x04\x04"
    with pytest.raises(ValueError):
        eb.status_query(5)


def test_display_width_counts_every_double_byte_character_as_two():
    assert eb.display_width("A023") == 4
    assert eb.display_width("企业设立登记") == 12
    assert eb.display_width("（×·）") == 8


def test_wrap_keeps_lines_within_columns_and_loses_nothing():
    text = "公司章程（有限责任公司由全体股东签署，股份有限公司由全体发起人签署）"
    lines = eb.wrap(text, 32)
    assert all(eb.display_width(line) <= 32 for line in lines)
    assert "".join(lines) == text
    assert len(lines) == 3


def test_wrap_never_starts_a_line_with_closing_punctuation():
    lines = eb.wrap("一二三四五六七，八九", 14)  # the comma would start line 2
    assert [line[0] for line in lines[1:]] != ["，"]
    assert all(eb.display_width(line) <= 14 for line in lines)
    assert "".join(lines) == "一二三四五六七，八九"


def test_wrap_keeps_ascii_words_whole_when_they_fit():
    assert eb.wrap("预约号 BK20250106-0042", 16) == ["预约号", "BK20250106-0042"]


def test_wrap_splits_a_word_longer_than_a_line():
    lines = eb.wrap("https://hall.example.cn/t/A023", 10)
    assert "".join(lines) == "https://hall.example.cn/t/A023"
    assert all(len(line) <= 10 for line in lines)


def test_pad_between_fills_the_line_exactly():
    line = eb.pad_between("1. 住所使用证明", "复印件 1份", 32)
    assert line is not None and eb.display_width(line) == 32
    assert eb.pad_between("很长" * 10, "原件 1份", 32) is None


def test_papers():
    assert (eb.paper_for(80).columns, eb.paper_for(80).dots) == (48, 576)
    assert (eb.paper_for(58).columns, eb.paper_for(58).dots) == (32, 384)
    with pytest.raises(UnsupportedPaper):
        eb.paper_for(76)


def test_full_id_numbers_are_masked_but_masked_ones_are_left_alone():
    assert mask_full_ids("张三 22010219900101123X") == "张三 220102********123X"
    assert mask_full_ids("220102900101123") == "220102*****1123"
    assert mask_full_ids("张*三 220102********1234") == "张*三 220102********1234"


def test_wait_text():
    assert wait_text(0) == "即将叫号"
    assert wait_text(25) == "约 25 分钟"
    assert wait_text(60) == "约 1 小时"
    assert wait_text(75) == "约 1 小时 15 分钟"
