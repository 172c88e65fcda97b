"""Issue 16: whatever status and payload the SAM answers with, the real driver returns a correct result
or raises one of its own errors, and never hangs.

The exhaustive matrix (every command × every SW3 byte × every payload size) runs the driver against the
simulator's SAM in-process (:class:`InMemoryPort`: the same frame codec and fault injection, no pty); a
representative part of it — every SW3 GA 467 defines and a few it does not, with every size that
can be accepted — and the Hypothesis-drawn answers run over the real pty and pyserial.
``ONEVISIT_IDCARD_PTY_FULL=1`` runs the whole matrix over the pty as well.

GA 467 SAM_V answers are ``AA AA AA 96 69 | LEN | SW1 SW2 SW3 | data | CHK``; each command has
its success SW3 (90, or 9F for find-card) and payload size. Any other SW3 — another command's
success code, a code the protocol does not define — or another command's payload is a typed
error of :class:`IdCardError`.
"""
from __future__ import annotations

import functools
import os
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.idcard import status as sw3
from devices.idcard.cli import read_idcard
from devices.idcard.driver import READ_SLICE, SerialIdCardReader
from devices.idcard.frames import COMMAND_MIN_LENGTH, MAX_LENGTH, FrameParser, IdCardError, ProtocolError, StatusError, UnexpectedAnswer, UnexpectedStatus
from devices.idcard.poller import CardPoller, CardPresented, ReaderOnline, ReadFailed, wait_for_event
from devices.idcard.simulator import SAMPLE_CARDS, Fault, SamSimulator
from devices.idcard.text import build_card_data, encode_address

# Answers take well under 1 ms; the generous deadline only keeps a machine loaded by other jobs
# from turning a slow answer into a timeout (also one of our errors, but not the one checked).
ANSWER_TIMEOUT = 2.0
CALL_LIMIT_S = 20.0  # a call still running after this has hung

# (name, the command the fault is armed on, the call, the answers it may accept: sw3 → payload sizes)
COMMANDS = [
    ("reset", (0x10, 0xFF), lambda r: r.reset(), {0x90: {0}}),
    ("sam_status", (0x11, 0xFF), lambda r: r.sam_status(), {0x90: {0}}),
    ("sam_id", (0x12, 0xFF), lambda r: r.sam_id(), {0x90: {16}}),
    ("find_card", (0x20, 0x01), lambda r: r.find_card(), {0x9F: {4}, 0x80: None}),
    ("select_card", (0x20, 0x02), lambda r: r.select_card(), {0x90: {8}}),
    ("read_text_photo", (0x30, 0x01), lambda r: r.read_selected(), {0x90: "card"}),
    ("read_with_fingerprint", (0x30, 0x10), lambda r: r.read_selected(fingerprint=True), {0x90: "card_fp"}),
    ("read_newest_address", (0x30, 0x03), lambda r: r.read_newest_address(), {0x90: {70}, 0x91: None}),
]
GOOD_CARD = build_card_data(SAMPLE_CARDS["resident"], with_fingerprint=False)
GOOD_CARD_FP = build_card_data(SAMPLE_CARDS["resident"], with_fingerprint=True)
# Sizes of every answer GA 467 defines, their neighbours, empty, and past the frame limit.
LENGTHS = (0, 1, 3, 4, 5, 8, 16, 70, 256, len(GOOD_CARD), len(GOOD_CARD_FP), 4100)


# Over the pty: every SW3 GA 467 defines, a few it does not, and the sizes an answer can be accepted with.
PTY_FULL = os.environ.get("ONEVISIT_IDCARD_PTY_FULL") == "1"
PTY_STATUSES = tuple(range(256)) if PTY_FULL else (*sorted(sw3.SW3_TABLE), 0x00, 0x7F, 0x92, 0xEE, 0xFF)
PTY_LENGTHS = LENGTHS if PTY_FULL else (0, 4, 8, 16, 70, len(GOOD_CARD), len(GOOD_CARD_FP), 4100)


class InMemoryPort:
    """The pyserial calls the driver makes, answered by the simulator's SAM in the calling thread.

    ``write`` hands the command bytes to :meth:`SamSimulator.receive` (the pty loop's own frame
    handling and fault injection); its answer is buffered for ``read``, sliced as the driver asks.
    """

    def __init__(self, sim: SamSimulator) -> None:
        self._sim = sim
        self._parser = FrameParser(min_length=COMMAND_MIN_LENGTH)
        self._buffer = bytearray()
        self.is_open = True
        self.baudrate = sim.baudrate
        sim._send = self._buffer.extend  # the SAM answers into the buffer instead of the pty

    @property
    def in_waiting(self) -> int:
        return len(self._buffer)

    def reset_input_buffer(self) -> None:
        self._buffer.clear()

    def write(self, data: bytes) -> int:
        self._sim.receive(self._parser, bytes(data))
        return len(data)

    def read(self, size: int = 1) -> bytes:
        if not self._buffer:
            time.sleep(READ_SLICE)  # a port's read timeout: nothing (more) came
            return b""
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def close(self) -> None:
        self.is_open = False


@pytest.fixture(scope="module")
def rig():
    """The simulator on a pty, the driver on its slave side through pyserial."""
    sim = SamSimulator()
    reader = SerialIdCardReader(sim.device, timeout=ANSWER_TIMEOUT)
    sim.present("resident")
    yield sim, reader
    reader.close()
    sim.stop()


@pytest.fixture(scope="module")
def memory_rig():
    """The same driver and SAM with the pty taken out (InMemoryPort)."""
    sim = SamSimulator(start=False)
    reader = SerialIdCardReader("memory://sam", timeout=ANSWER_TIMEOUT, open_port=False)
    reader._port = InMemoryPort(sim)
    sim.present("resident")
    yield sim, reader
    reader.close()


_caller = ThreadPoolExecutor(max_workers=1, thread_name_prefix="driver-call")


def _call_bounded(call, reader):
    """Run one driver call on a thread of its own; return ("ok", value) or ("raised", exception)."""

    def run():
        try:
            return ("ok", call(reader))
        except BaseException as e:  # noqa: BLE001 - the test inspects whatever escaped
            return ("raised", e)

    global _caller
    future = _caller.submit(run)
    try:
        return future.result(timeout=CALL_LIMIT_S)
    except FuturesTimeout:
        _caller = ThreadPoolExecutor(max_workers=1, thread_name_prefix="driver-call")  # leave the hung one
        raise AssertionError("driver call hung") from None


def _payload(length: int, sw: int, accepted) -> bytes:
    return _payload_of(length, sw, accepted if isinstance(accepted, str) else None)


@functools.lru_cache(maxsize=None)
def _payload_of(length: int, sw: int, accepted: str | None) -> bytes:
    # A well-formed card block where one fits, so the "accepted" branch is exercised too.
    if accepted == "card" and length == len(GOOD_CARD):
        return GOOD_CARD
    if accepted == "card_fp" and length == len(GOOD_CARD_FP):
        return GOOD_CARD_FP
    if length == 70 and sw == 0x90:
        return encode_address("某地某路1号")
    return bytes((i * 37 + sw) & 0xFF for i in range(length))


def _check_outcome(name, accepted, sw, data, outcome):
    kind, value = outcome
    allowed = accepted.get(sw, "absent")
    if kind == "ok":
        # Accepted only with the status this command expects and a payload of its size.
        assert allowed != "absent", f"{name} accepted SW3 0x{sw:02X}"
        if isinstance(allowed, set):
            assert len(data) in allowed, f"{name} accepted a {len(data)}-byte payload"
        return
    assert isinstance(value, IdCardError), f"{name} raised {type(value).__name__}: {value}"
    if allowed == "absent" and len(data) + 4 <= MAX_LENGTH:  # longer: the frame itself is refused
        if sw3.describe(sw).kind in ("ok", "unknown"):
            assert isinstance(value, UnexpectedStatus) and value.sw3 == sw
        else:
            assert isinstance(value, StatusError) and value.sw3 == sw


def _call_inline(call, reader):
    """In-process there is no port to block on: the driver's own answer deadline bounds the call (and
    pytest-timeout the test), so it runs in this thread, without a thread switch per call."""
    try:
        return ("ok", call(reader))
    except BaseException as e:  # noqa: BLE001 - the test inspects whatever escaped
        return ("raised", e)


def _run_matrix(sim, reader, name, command, call, accepted, statuses, lengths, *, bounded=_call_bounded):
    for sw in statuses:
        for length in lengths:
            data = _payload(length, sw, accepted)
            sim.inject(Fault.STATUS, sw3=sw, command=command, data=data)
            _check_outcome(name, accepted, sw, data, bounded(call, reader))
            sim.clear_faults()
            if len(data) + 4 > MAX_LENGTH:
                _drain(reader)


@pytest.mark.parametrize("name, command, call, accepted", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_status_byte_and_payload_size_gives_a_result_or_our_error(memory_rig, name, command, call, accepted):
    _run_matrix(*memory_rig, name, command, call, accepted, range(256), LENGTHS, bounded=_call_inline)


@pytest.mark.parametrize("name, command, call, accepted", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_defined_status_bytes_and_sizes_over_the_pty_give_a_result_or_our_error(rig, name, command, call, accepted):
    _run_matrix(*rig, name, command, call, accepted, PTY_STATUSES, PTY_LENGTHS)


def _drain(reader):
    """After an oversized answer was refused mid-frame, let its rest arrive and be skipped."""
    for _ in range(5):
        try:
            reader.sam_status()
            return
        except IdCardError:
            continue


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(COMMANDS), st.integers(0, 255), st.integers(0, 255), st.integers(0, 255),
       st.binary(max_size=1500))
def test_random_answers_never_escape_the_driver_error_types(rig, spec, sw1, sw2, sw, data):
    sim, reader = rig
    name, command, call, accepted = spec
    sim.inject(Fault.STATUS, sw3=sw, command=command, data=data)
    try:
        _check_outcome(name, accepted, sw, data, _call_bounded(call, reader))
    finally:
        sim.clear_faults()


def test_read_answered_with_card_found_is_a_protocol_error_not_a_crash(rig):
    sim, reader = rig
    sim.inject(Fault.STATUS, sw3=0x9F, command=(0x30, 0x01), data=b"\0\0\0\0")
    with pytest.raises(UnexpectedStatus) as e:
        reader.read_card()
    assert e.value.code == "unexpected_status" and e.value.sw3 == 0x9F
    sim.inject(Fault.STATUS, sw3=0x90, command=(0x20, 0x01), data=bytes(8))   # a select's answer to a find
    with pytest.raises(UnexpectedStatus):
        reader.find_card()
    sim.inject(Fault.STATUS, sw3=0x90, command=(0x20, 0x02), data=bytes(4))   # a 4-byte payload to a select
    with pytest.raises(UnexpectedAnswer):
        reader.select_card()
    assert reader.read_card().name == "张晓三"                               # the next read is fine


@pytest.mark.parametrize("answer", [0x9F, 0x90, 0x00, 0xEE])
def test_cli_prints_a_json_error_for_a_misfitting_status(tmp_path, answer):
    sim = SamSimulator()
    try:
        sim.present("resident")
        command = (0x20, 0x01) if answer == 0x90 else (0x30, 0x01)
        sim.inject(Fault.STATUS, sw3=answer, command=command, times=None)
        obj, code = read_idcard(f"serial://{sim.device}?timeout=0.2", timeout=0.5, reveal=False)
    finally:
        sim.stop()
    assert code != 0
    assert obj == {"error": {"code": "unexpected_status", "message": obj["error"]["message"]}}
    assert f"0x{answer:02X}" in obj["error"]["message"]


def test_cli_subprocess_exits_non_zero_with_json(tmp_path):
    """The real command line: no traceback, one JSON line, exit 1 (the crash of issue 16)."""
    import json
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from devices.idcard.simulator import SamSimulator, Fault\n"
        "from devices.cli import main\n"
        "sim = SamSimulator(); sim.present('resident')\n"
        "sim.inject(Fault.STATUS, sw3=0x9F, command=(0x30, 0x01), times=None)\n"
        "code = main(['read-idcard', f'serial://{sim.device}?timeout=0.2', '--timeout', '0.5'])\n"
        "sim.stop(); sys.exit(code)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["error"]["code"] == "unexpected_status"


def test_poller_reports_a_misfitting_answer_and_keeps_polling():
    sim = SamSimulator()
    reader = SerialIdCardReader(sim.device, timeout=ANSWER_TIMEOUT)
    poller = CardPoller(reader, interval=0.03, removal_polls=2, backoff=(0.05, 0.2))
    try:
        poller.start()
        wait_for_event(poller, ReaderOnline, 3.0)
        # A read answered with "card found", then finds answered with a select's success code.
        sim.inject(Fault.STATUS, sw3=0x9F, command=(0x30, 0x01), data=b"\0\0\0\0")
        sim.present("resident")
        failed = wait_for_event(poller, ReadFailed, 3.0)
        assert isinstance(failed.error, ProtocolError) and failed.error.code == "unexpected_status"
        sim.remove()
        sim.inject(Fault.STATUS, sw3=0x90, command=(0x20, 0x01), times=5)
        failed = wait_for_event(poller, ReadFailed, 3.0)
        assert isinstance(failed.error, UnexpectedStatus) and failed.error.sw3 == 0x90
        sim.present("hk_macao_taiwan_permit")
        assert wait_for_event(poller, CardPresented, 3.0).card.card_type == "hk_macao_taiwan_permit"
        assert poller._thread is not None and poller._thread.is_alive()
    finally:
        poller.stop()
        reader.close()
        sim.stop()
