"""DLE EOT answers decoded into a printer status; silence is never good news."""
import pytest

from devices.printer import (
    CoverOpen,
    PaperOut,
    PrinterHardwareError,
    PrinterNotResponding,
    PrinterOffline,
    PrinterState,
    decode_status,
)
from devices.printer.status import error_for, query_status

OK = b"\x12"


def answers(n1=OK, n2=OK, n3=OK, n4=OK):
    return {1: n1, 2: n2, 3: n3, 4: n4}


@pytest.mark.parametrize(("given", "state", "condition"), [
    (answers(), PrinterState.ONLINE, None),
    (answers(n4=b"\x1e"), PrinterState.PAPER_NEAR_END, "paper_near_end"),
    (answers(n1=b"\x1a", n2=b"\x32", n4=b"\x7e"), PrinterState.PAPER_OUT, "paper_out"),
    (answers(n4=b"\x72"), PrinterState.PAPER_OUT, "paper_out"),  # roll-end sensor alone
    (answers(n1=b"\x1a", n2=b"\x16"), PrinterState.COVER_OPEN, "cover_open"),
    (answers(n1=b"\x1a", n2=b"\x52", n3=b"\x1a"), PrinterState.ERROR, "cutter_error"),
    (answers(n3=b"\x32"), PrinterState.ERROR, "unrecoverable_error"),
    (answers(n3=b"\x52"), PrinterState.ERROR, "auto_recoverable_error"),
    (answers(n1=b"\x1a"), PrinterState.OFFLINE, "offline"),
    (answers(n1=b"\x16"), PrinterState.ONLINE, None),  # drawer pin 3 high is no fault
])
def test_each_answer_decodes(given, state, condition):
    status = decode_status(given)
    assert status.state == state
    if condition:
        assert condition in status.conditions
    assert status.ready == (state in (PrinterState.ONLINE, PrinterState.PAPER_NEAR_END))


def test_silence_is_no_answer_not_ok():
    status = decode_status({1: None, 2: None, 3: None, 4: None})
    assert status.state == PrinterState.NO_ANSWER
    assert not status.ready
    assert decode_status({}).state == PrinterState.NO_ANSWER


def test_partial_silence_is_no_answer_when_no_fault_was_seen():
    assert decode_status(answers(n4=None)).state == PrinterState.NO_ANSWER
    assert decode_status(answers(n3=None, n4=b"\x1e")).state == PrinterState.NO_ANSWER


def test_a_fault_seen_before_silence_is_still_reported():
    assert decode_status(answers(n2=b"\x16", n3=None, n4=None)).state == PrinterState.COVER_OPEN


@pytest.mark.parametrize("garbage", [b"\x00", b"\xff", b"\x13", b"\x92"])
def test_answers_with_wrong_fixed_bits_count_as_silence(garbage):
    # e.g. a printer echoing data, or line noise on RS-232
    status = decode_status(answers(n1=garbage))
    assert status.state == PrinterState.NO_ANSWER
    assert status.answers[1] is None


def test_cover_open_wins_over_paper_out():
    assert decode_status(answers(n2=b"\x36", n4=b"\x7e")).state == PrinterState.COVER_OPEN


@pytest.mark.parametrize(("answer", "state", "asked"), [
    (None, PrinterState.NO_ANSWER, [1]),  # a silent first query: the printer is not there, ask no more
    (OK, PrinterState.ONLINE, [1, 2, 3, 4]),
])
def test_query_asks_until_silence(answer, state, asked):
    queries = []

    def ask(n):
        queries.append(n)
        return answer

    assert query_status(ask).state == state
    assert queries == asked


@pytest.mark.parametrize(("given", "error"), [
    (answers(n2=b"\x32"), PaperOut),
    (answers(n2=b"\x16"), CoverOpen),
    (answers(n3=b"\x1a"), PrinterHardwareError),
    (answers(n1=b"\x1a"), PrinterOffline),
    ({}, PrinterNotResponding),
])
def test_errors_for_states(given, error):
    err = error_for(decode_status(given))
    assert isinstance(err, error)
    assert err.code == error.code


def test_no_error_when_printable():
    assert error_for(decode_status(answers())) is None
    assert error_for(decode_status(answers(n4=b"\x1e"))) is None


def test_status_as_dict():
    d = decode_status(answers(n4=b"\x1e")).as_dict()
    assert d["state"] == "paper_near_end"
    assert d["answers"]["4"] == "0x1e"
