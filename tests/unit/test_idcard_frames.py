"""GA 467 frames, SW3 statuses, GB 11643 check digits and the card text block, without I/O."""
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from devices.base import DeviceError
from devices.idcard import status as sw3
from devices.idcard.codes import NATION, SEX, nation_name, sex_name
from devices.idcard.frames import (
    MAX_LENGTH, PREAMBLE, CardAbsent, CardAuthError, CardFormatError, CardReadError, ChecksumError,
    Command, DeviceTimeout, FrameParser, FramingError, LengthError, NoContent, ProtocolError,
    RequestRejected, Response, SamFault, StatusError, UnexpectedAnswer, UnexpectedStatus, decode_command, decode_response, decode_stream, encode_command,
    encode_response, status_error,
)
from devices.idcard.photo import PhotoDecodeError, PhotoDecoder, decode_photo
from devices.idcard.text import (
    IdentityCard, build_card_data, encode_text, id_check_char, id_number_ok, mask_english_name,
    mask_name, mask_number, parse_address, parse_card_data, parse_text,
)

H = bytes.fromhex

# Hand-built frames (GA 467): LEN counts CMD/SW1 .. CHK, CHK = XOR of LEN1 .. last data byte.
FIND_CARD_REQUEST = H("AAAAAA9669 0003 2001 22")          # 00^03^20^01 = 22
SAM_STATUS_REQUEST = H("AAAAAA9669 0003 11FF ED")         # 00^03^11^FF = ED
RESET_REQUEST = H("AAAAAA9669 0003 10FF EC")
READ_REQUEST = H("AAAAAA9669 0003 3001 32")
CARD_FOUND_ANSWER = H("AAAAAA9669 0008 00009F 00000000 97")  # 00^08^9F = 97
NO_CARD_ANSWER = H("AAAAAA9669 0004 000080 84")
READ_FAILED_ANSWER = H("AAAAAA9669 0004 000041 45")


# -- frames ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("command, raw", [
    (Command(0x20, 0x01), FIND_CARD_REQUEST),
    (Command(0x11, 0xFF), SAM_STATUS_REQUEST),
    (Command(0x10, 0xFF), RESET_REQUEST),
    (Command(0x30, 0x01), READ_REQUEST),
])
def test_commands_encode_to_known_bytes(command, raw):
    assert encode_command(command) == raw
    assert decode_command(raw) == command


@pytest.mark.parametrize("response, raw", [
    (Response(0, 0, 0x9F, b"\0\0\0\0"), CARD_FOUND_ANSWER),
    (Response(0, 0, 0x80), NO_CARD_ANSWER),
    (Response(0, 0, 0x41), READ_FAILED_ANSWER),
])
def test_responses_encode_to_known_bytes(response, raw):
    assert encode_response(response) == raw
    assert decode_response(raw) == response


def test_response_check_raises_typed_status():
    assert decode_response(CARD_FOUND_ANSWER).check(0x9F).sw3 == 0x9F
    with pytest.raises(CardReadError) as e:
        decode_response(READ_FAILED_ANSWER).check()
    assert e.value.code == "status_41"
    assert isinstance(e.value, DeviceError)


def test_bad_checksum_is_a_checksum_error():
    with pytest.raises(ChecksumError) as e:
        decode_response(NO_CARD_ANSWER[:-1] + b"\x85")
    assert e.value.code == "checksum"


@pytest.mark.parametrize("length", [b"\x00\x00", b"\x00\x03", b"\xFF\xFF"])
def test_impossible_length_is_a_length_error(length):
    with pytest.raises(LengthError) as e:
        decode_response(PREAMBLE + length + b"\x00\x00\x90\x00")
    assert e.value.code == "length"


def test_truncated_frame_is_a_length_error():
    with pytest.raises(LengthError):
        decode_response(CARD_FOUND_ANSWER[:-3])


def test_bytes_without_preamble_are_a_framing_error():
    with pytest.raises(FramingError) as e:
        decode_response(b"\x01\x02\x03\x04\x05\x06\x07\x08")
    assert e.value.code == "framing"


def test_two_frames_where_one_is_expected_is_a_framing_error():
    with pytest.raises(FramingError):
        decode_response(NO_CARD_ANSWER + NO_CARD_ANSWER)


def test_timeout_error_is_a_timeout_and_a_device_error():
    err = DeviceTimeout("silent")
    assert isinstance(err, TimeoutError) and isinstance(err, DeviceError)
    assert err.code == "timeout"


def test_parser_resynchronises_after_noise_and_corrupt_frame():
    parser = FrameParser()
    parser.feed(b"\x00\xAA\x96\x13" + NO_CARD_ANSWER[:-1] + b"\x00" + b"\xAA\xAA" + CARD_FOUND_ANSWER)
    with pytest.raises(ChecksumError):
        parser.next_frame()
    assert parser.next_frame() == CARD_FOUND_ANSWER[7:-1]
    assert parser.next_frame() is None
    assert parser.discarded > 0


def test_parser_accepts_one_byte_at_a_time():
    parser = FrameParser()
    bodies = []
    for byte in CARD_FOUND_ANSWER + NO_CARD_ANSWER:
        parser.feed(bytes([byte]))
        if (body := parser.next_frame()) is not None:
            bodies.append(body)
    assert bodies == [CARD_FOUND_ANSWER[7:-1], NO_CARD_ANSWER[7:-1]]
    assert parser.incomplete_error() is None


def test_parser_reports_what_is_left_at_the_end():
    parser = FrameParser()
    parser.feed(CARD_FOUND_ANSWER[:10])
    assert parser.next_frame() is None
    assert isinstance(parser.incomplete_error(), LengthError)


# -- SW3 table ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("code, cls", [
    (0x10, RequestRejected), (0x11, RequestRejected), (0x21, RequestRejected), (0x23, RequestRejected),
    (0x24, SamFault), (0x31, CardAuthError), (0x32, CardAuthError), (0x33, CardAuthError),
    (0x40, CardReadError), (0x41, CardReadError), (0x47, CardReadError), (0x60, SamFault),
    (0x66, SamFault), (0x80, CardAbsent), (0x81, CardAbsent), (0x91, NoContent),
])
def test_every_failure_status_has_a_typed_error(code, cls):
    err = status_error(code)
    assert type(err) is cls
    assert isinstance(err, StatusError) and err.sw3 == code
    assert err.code == f"status_{code:02X}"
    assert sw3.describe(code).meaning in str(err)


@pytest.mark.parametrize("code", [0x90, 0x9F])
def test_success_codes_where_another_is_expected_are_protocol_errors(code):
    # 9F answering a read used to raise a bare ValueError out of status_error (issue 16).
    assert sw3.describe(code).ok
    err = status_error(code)
    assert type(err) is UnexpectedStatus and isinstance(err, ProtocolError) and isinstance(err, DeviceError)
    assert err.sw3 == code and err.code == "unexpected_status" and f"0x{code:02X}" in str(err)
    with pytest.raises(UnexpectedStatus):
        Response(0, 0, code).check(0x9F if code == 0x90 else 0x90)


@pytest.mark.parametrize("code", [0x00, 0x55, 0x92, 0xFF])
def test_undefined_statuses_are_protocol_errors(code):
    assert sw3.describe(code).kind == "unknown"
    err = status_error(code)
    assert type(err) is UnexpectedStatus and err.sw3 == code


@given(st.integers(0, 255))
def test_every_status_byte_maps_to_an_error_of_ours(code):
    err = status_error(code)
    assert isinstance(err, (StatusError, ProtocolError))
    assert err.code in (f"status_{code:02X}", "unexpected_status")


def test_a_payload_of_another_answer_is_an_unexpected_answer():
    assert Response(0, 0, 0x9F, b"\0" * 4).check(0x9F, sizes=(4,)).data == b"\0" * 4
    with pytest.raises(UnexpectedAnswer) as e:
        Response(0, 0, 0x90, b"\0" * 8).check(sizes=(0,))
    assert e.value.code == "unexpected_answer" and "8 data bytes" in str(e.value)


def test_status_table_covers_the_protocol_list():
    listed = {0x90, 0x9F, 0x10, 0x11, 0x21, 0x23, 0x24, 0x31, 0x32, 0x33, 0x40, 0x41, 0x47,
              0x60, 0x66, 0x80, 0x81, 0x91}
    assert listed <= set(sw3.SW3_TABLE)


# -- GB 11643 check digit --------------------------------------------------------------------------------

@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014"])
def test_standard_examples_pass_the_check(number):
    # The two worked examples printed in GB 11643-1999.
    assert id_check_char(number[:17]) == number[17]
    assert id_number_ok(number)


@pytest.mark.parametrize("number", ["110105194912310021", "44052418800101001", "4405241880010100A4", "", None])
def test_wrong_or_malformed_numbers_fail_the_check(number):
    assert not id_number_ok(number)


def test_lower_case_x_is_accepted():
    assert id_number_ok("11010519491231002x")


def test_check_char_needs_17_digits():
    with pytest.raises(ValueError):
        id_check_char("1234")


# -- codes ---------------------------------------------------------------------------------------------

def test_code_tables():
    assert len([k for k in NATION if k <= "56"]) == 56
    assert NATION["01"] == "汉" and NATION["56"] == "基诺" and NATION["97"] == "其他"
    assert "98" in NATION
    assert set(SEX) == {"0", "1", "2", "9"}
    assert sex_name("2") == "女" and nation_name("03") == "回"
    assert sex_name(None) is None and nation_name("77") is None


# -- text block ------------------------------------------------------------------------------------------

def u(text: str, size: int) -> bytes:
    """Encode a field the way the card stores it: UCS-2LE, space padded."""
    data = text.encode("utf-16-le")
    return data + " ".encode("utf-16-le") * ((size - len(data)) // 2)


RESIDENT_BLOCK = b"".join([
    u("李示例", 30), u("2", 2), u("05", 4), u("19851231", 16), u("新疆维吾尔自治区乌鲁木齐市示例街2号", 70),
    u("65010219851231002" + id_check_char("65010219851231002"), 36), u("乌鲁木齐市公安局", 30),
    u("20200101", 16), u("长期", 16), u("", 36),
])
PERMIT_BLOCK = b"".join([
    u("林台生", 30), u("1", 2), u("", 4), u("19920202", 16), u("福建省厦门市思明区示例路3号", 70),
    u("83000019920202003" + id_check_char("83000019920202003"), 36), u("厦门市公安局", 30),
    u("20210101", 16), u("20260101", 16), u("T0123456", 18), u("02", 4), u("", 6), u("J", 2), u("", 6),
])
FOREIGN_BLOCK = b"".join([
    u("ROE RICHARD", 120), u("1", 2), u("GBR310750505001", 30), u("GBR", 6), u("罗理查", 30),
    u("20180101", 16), u("20280101", 16), u("19750505", 16), u("02", 4), u("1100", 8), u("I", 2), u("", 6),
])
FOREIGN_2023_BLOCK = b"".join([
    u("白安娜", 30), u("2", 2), u("03", 4), u("19990909", 16),
    u("ABCDEFGHIJKLMNOPQRSTUVWXYZ ABCDEFG ", 70),   # characters 1-35; the 35th is a space
    u("93125019990909004" + id_check_char("93125019990909004"), 36), u("", 30),
    u("20240101", 16), u("20340101", 16), u("HIJK LMNO", 22), u("FRA", 6), u("Y", 2), u("", 6),
])


def test_blocks_are_256_bytes():
    for block in (RESIDENT_BLOCK, PERMIT_BLOCK, FOREIGN_BLOCK, FOREIGN_2023_BLOCK):
        assert len(block) == 256


def test_parse_resident_card():
    card = parse_text(RESIDENT_BLOCK, b"\x01" * 1024)
    assert card.card_type == "resident"
    assert (card.name, card.sex_code, card.nation_code, card.birth) == ("李示例", "2", "05", "19851231")
    assert card.address == "新疆维吾尔自治区乌鲁木齐市示例街2号"
    assert card.authority == "乌鲁木齐市公安局"
    assert (card.valid_from, card.valid_to) == ("20200101", "长期")
    assert card.id_check_ok is True
    assert card.sex == "女" and card.nation == "维吾尔"
    assert card.photo_wlt == b"\x01" * 1024 and card.fingerprint is None
    assert card.pass_number is card.english_name is card.country is None


def test_parse_permit_card():
    card = parse_text(PERMIT_BLOCK)
    assert card.card_type == "hk_macao_taiwan_permit"
    assert (card.name, card.pass_number, card.issue_count) == ("林台生", "T0123456", "02")
    assert card.nation_code is None and card.id_check_ok is True


def test_parse_2017_foreigner_card():
    card = parse_text(FOREIGN_BLOCK)
    assert card.card_type == "foreign_permanent"
    assert (card.english_name, card.name, card.country) == ("ROE RICHARD", "罗理查", "GBR")
    assert (card.id_number, card.birth, card.authority, card.card_version) == (
        "GBR310750505001", "19750505", "1100", "02")
    assert (card.valid_from, card.valid_to) == ("20180101", "20280101")
    assert card.id_check_ok is None


def test_parse_2023_foreigner_card_joins_the_english_name():
    card = parse_text(FOREIGN_2023_BLOCK)
    assert card.card_type == "foreign_permanent_2023"
    assert card.english_name == "ABCDEFGHIJKLMNOPQRSTUVWXYZ ABCDEFG HIJK LMNO"
    assert (card.name, card.issue_count, card.country, card.birth) == ("白安娜", "03", "FRA", "19990909")
    assert card.id_check_ok is True and card.authority is None


def test_wrong_check_digit_is_reported_not_raised():
    block = bytearray(RESIDENT_BLOCK)
    last = 122 + 17 * 2
    block[last:last + 2] = ("0" if chr(block[last]) != "0" else "1").encode("utf-16-le")
    assert parse_text(bytes(block)).id_check_ok is False


def test_unknown_card_type_is_a_format_error():
    block = RESIDENT_BLOCK[:248] + u("Q", 2) + RESIDENT_BLOCK[250:]
    with pytest.raises(CardFormatError):
        parse_text(block)


def test_text_block_must_be_256_bytes():
    with pytest.raises(LengthError):
        parse_text(RESIDENT_BLOCK[:200])


@pytest.mark.parametrize("block", [RESIDENT_BLOCK, PERMIT_BLOCK, FOREIGN_BLOCK, FOREIGN_2023_BLOCK])
def test_encode_text_reproduces_the_card_block(block):
    assert encode_text(parse_text(block)) == block


def test_card_data_round_trip_with_and_without_fingerprint():
    card = parse_text(RESIDENT_BLOCK, b"\x02" * 1024, b"\x03" * 1024)
    data = build_card_data(card, with_fingerprint=True)
    assert data[:6] == H("0100 0400 0400")
    assert parse_card_data(data, with_fingerprint=True) == card
    plain = build_card_data(card, with_fingerprint=False)
    assert len(plain) == 4 + 256 + 1024
    assert parse_card_data(plain, with_fingerprint=False) == dataclasses.replace(card, fingerprint=None)


def test_card_data_with_inconsistent_lengths_is_a_length_error():
    data = build_card_data(parse_text(RESIDENT_BLOCK, b"\x02" * 1024), with_fingerprint=False)
    with pytest.raises(LengthError):
        parse_card_data(data[:-1], with_fingerprint=False)
    with pytest.raises(LengthError):
        parse_card_data(b"\x01", with_fingerprint=True)


def test_appended_address():
    assert parse_address(u("上海市浦东新区示例路9号", 70)) == "上海市浦东新区示例路9号"
    assert parse_address(u("", 70)) is None
    with pytest.raises(LengthError):
        parse_address(b"\x00" * 10)


# -- masking and JSON -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, masked", [("张三", "张*"), ("张晓三", "张*三"), ("欧阳明月", "欧**月"), ("王", "*"), (None, None)])
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_mask_numbers_and_english_names():
    assert mask_number("220102199001011234") == "220102********1234"
    assert mask_number("H12345678") == "H******78"
    assert mask_english_name("DOE JANE MARY") == "D** J*** M***"


def test_masked_card_and_json_keys():
    card = parse_text(PERMIT_BLOCK)
    shown = card.masked().as_dict()
    assert list(shown) == ["card_type", "name", "english_name", "sex_code", "nation_code", "birth",
                           "address", "id_number", "authority", "valid_from", "valid_to", "pass_number",
                           "issue_count", "country", "id_check_ok"]
    assert shown["name"] == "林*生" and shown["pass_number"] == "T*****56"
    assert shown["id_number"].startswith("830000") and "*" in shown["id_number"]
    assert card.as_dict()["name"] == "林台生"


# -- photo hook -------------------------------------------------------------------------------------------

def test_photo_decoder_hook():
    class Upper:
        def decode(self, wlt: bytes) -> bytes:
            return b"BM" + wlt[:2]

    class Broken:
        def decode(self, wlt: bytes) -> bytes:
            raise RuntimeError("vendor library crashed")

    assert isinstance(Upper(), PhotoDecoder)
    assert decode_photo(b"WLxx", Upper()) == b"BMWL"
    assert decode_photo(b"WLxx", None) is None
    with pytest.raises(PhotoDecodeError):
        decode_photo(b"WLxx", Broken())


# -- properties ---------------------------------------------------------------------------------------------

payloads = st.binary(max_size=300)
bytes_ = st.integers(0, 255)


@given(bytes_, bytes_, payloads)
def test_command_round_trip(cmd, para, data):
    command = Command(cmd, para, data)
    assert decode_command(encode_command(command)) == command


@given(bytes_, bytes_, bytes_, payloads)
def test_response_round_trip(a, b, c, data):
    response = Response(a, b, c, data)
    assert decode_response(encode_response(response)) == response


@given(st.lists(st.tuples(st.binary(max_size=8), bytes_, payloads), max_size=5))
def test_live_parser_recovers_every_frame_between_noise(chunks):
    stream, expected = b"", []
    for noise, code, data in chunks:
        assume(PREAMBLE[:1] not in noise)  # noise that cannot start a preamble
        frame = encode_response(Response(0, 0, code, data))
        stream += noise + frame
        expected.append(frame[7:-1])
    assume(all(PREAMBLE not in frame[5:] for frame in expected))
    parser = FrameParser()
    parser.feed(stream)
    bodies = []
    while (body := parser.next_frame()) is not None:
        bodies.append(body)
    assert bodies == expected


@settings(suppress_health_check=[HealthCheck.filter_too_much])
@given(bytes_, payloads, st.data())
def test_any_single_byte_corruption_is_a_typed_error(code, data, draw):
    frame = encode_response(Response(0, 0, code, data))
    assume(PREAMBLE not in frame[1:])
    index = draw.draw(st.integers(0, len(frame) - 1))
    flip = draw.draw(st.integers(1, 255))
    corrupted = bytearray(frame)
    corrupted[index] ^= flip
    with pytest.raises(DeviceError):
        decode_stream(bytes(corrupted))


@given(bytes_, payloads, st.data())
def test_any_truncation_is_a_typed_error(code, data, draw):
    frame = encode_response(Response(0, 0, code, data))
    cut = draw.draw(st.integers(1, len(frame) - 1))
    with pytest.raises(DeviceError):
        decode_stream(frame[:cut])


@given(st.binary(max_size=3 * MAX_LENGTH))
def test_arbitrary_bytes_never_crash_the_stream_decoder(stream):
    try:
        bodies = decode_stream(stream)
    except DeviceError:
        return
    assert all(isinstance(b, bytes) for b in bodies)


@given(st.lists(st.binary(max_size=64), max_size=40))
def test_arbitrary_chunks_never_hang_the_live_parser(chunks):
    parser = FrameParser()
    for chunk in chunks:
        parser.feed(chunk)
        for _ in range(len(parser.buffer) + 2):  # each call consumes input or returns None
            try:
                if parser.next_frame() is None:
                    break
            except DeviceError:
                pass
        else:
            pytest.fail("parser made no progress")
    error = parser.incomplete_error()
    assert error is None or isinstance(error, DeviceError)


@given(st.binary(min_size=256, max_size=256))
def test_arbitrary_text_blocks_parse_or_raise_a_format_error(block):
    try:
        card = parse_text(block)
    except CardFormatError:
        return
    assert isinstance(card, IdentityCard)


@given(st.binary(max_size=1400), st.booleans())
def test_arbitrary_card_data_parses_or_raises_a_device_error(data, fingerprint):
    try:
        parse_card_data(data, with_fingerprint=fingerprint)
    except DeviceError:
        pass
