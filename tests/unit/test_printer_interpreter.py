"""The virtual printer's ESC/POS interpreter: attributes, Chinese mode, images, and no crash on garbage."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.printer import MalformedJob
from devices.printer import escpos_bytes as eb
from devices.printer.virtual import Cut, Feed, PrintedImage, interpret, render


def test_text_lines_carry_size_bold_and_alignment():
    job = (eb.INIT + eb.align("center") + eb.bold(True) + eb.size(3, 4) + b"A023\n"
           + eb.size(1, 1) + eb.bold(False) + eb.align("right") + b"right\n")
    first, second = interpret(job).lines
    assert (first.text, first.width, first.height, first.bold, first.align) == ("A023", 3, 4, True, "center")
    assert (second.text, second.width, second.height, second.bold, second.align) == ("right", 1, 1, False, "right")


def test_esc_exclamation_sets_double_size_and_emphasis():
    line = interpret(b"\x1b!\x38AB\n").lines[0]
    assert (line.width, line.height, line.bold) == (2, 2, True)


def test_chinese_mode_decodes_gb18030_and_punctuation():
    printout = interpret(eb.text_bytes("（企业）：𠮷，") + b"\n")
    assert printout.text_lines == ["（企业）：𠮷，"]
    assert printout.lines[0].runs[0].cells() == [2] * 7


def test_without_chinese_mode_high_bytes_are_a_code_page():
    # What python-escpos 3.1's output looks like on the printer if FS & is never sent.
    assert interpret("取".encode("gb18030") + b"\n").text_lines == ["╚í"]


def test_alignment_counts_only_at_the_start_of_a_line():
    line = interpret(b"ab" + eb.align("center") + b"cd\n").lines[0]
    assert line.align == "left"


def test_empty_lines_and_feeds_become_paper_feed():
    blocks = interpret(b"\n" + eb.feed_lines(2)).blocks
    assert blocks == [Feed(30), Feed(60)]


def test_cuts():
    printout = interpret(b"x\x1dV\x00" + b"y\x1dV\x42\x05" + b"\x1bi")
    assert [c.partial for c in printout.cuts] == [False, True, True]
    assert printout.text_lines == ["x", "y"]


def test_raster_image_is_decoded_black_on_white():
    job = b"\x1dv0\x00" + (1).to_bytes(2, "little") + (2).to_bytes(2, "little") + b"\xf0\x0f"
    image_block = interpret(job).blocks[0]
    assert isinstance(image_block, PrintedImage)
    pixels = [image_block.image.getpixel((x, 0)) for x in range(8)]
    assert pixels == [0, 0, 0, 0, 255, 255, 255, 255]


def test_native_qr_is_rendered_with_its_payload():
    job = (b"\x1d(k\x04\x001A2\x00\x1d(k\x03\x001C\x04\x1d(k\x03\x001E1"
           b"\x1d(k\x08\x001P0hello\x1d(k\x03\x001Q0")
    block = interpret(job).blocks[0]
    assert isinstance(block, PrintedImage) and block.qr_data == "hello"
    assert block.image.width % 4 == 0  # module size 4


def test_overlong_text_is_wrapped_by_the_printer_with_a_warning():
    printout = interpret(b"x" * 50 + b"\n")
    assert printout.text_lines == ["x" * 48, "xx"]
    assert printout.warnings


def test_unknown_commands_are_warned_not_fatal():
    printout = interpret(b"\x1b\x01ok\n")
    assert printout.text_lines == ["ok"]
    assert "unknown command" in printout.warnings[0]


@pytest.mark.parametrize("job", [b"\x1b", b"\x1d!", b"\x1dv0\x00\x01\x00\x05\x00ab", b"\x1d(k\x10\x001P0", b"\x10\x04"])
def test_truncated_commands_raise_a_typed_error(job):
    with pytest.raises(MalformedJob) as info:
        interpret(job)
    assert info.value.code == "malformed_escpos"


def test_runaway_feed_is_refused():
    with pytest.raises(MalformedJob):
        interpret(b"\x1bJ\xff" * 200)


def test_render_draws_text_and_cut():
    printout = interpret(eb.text_bytes("示例") + b"\n\x1dV\x00")
    image = render(printout)
    assert image.width == 576 + 48
    assert image.getextrema()[0] == 0  # something black was drawn
    assert isinstance(printout.blocks[-1], Cut)


_COMMANDS = st.sampled_from([b"\x1b", b"\x1d", b"\x1c", b"\x10\x04", b"\x1c&", b"\x1c.", b"\n", b"\x1d!",
                             b"\x1dv0", b"\x1d(k", b"\x1dV", b"\x1ba", b"\x1bE", b"\x81", b"\xfe\x30"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.binary(max_size=12), _COMMANDS), max_size=30).map(b"".join))
def test_interpreter_never_crashes_on_arbitrary_bytes(data):
    try:
        printout = interpret(data, paper_dots=384)
    except MalformedJob:
        return
    render(printout, paper_dots=384)
