"""The real pyserial driver against the SAM simulator on a pty: cards, faults, speeds, polling, unplugging."""
from __future__ import annotations

import dataclasses
import time

import pytest
import serial

from devices.base import DeviceError, UnsupportedDeviceURL
from devices.idcard import open_reader, probe_health
from devices.idcard.cli import read_idcard
from devices.idcard.driver import SerialIdCardReader
from devices.idcard.frames import (
    PREAMBLE, CardAbsent, CardAuthError, CardReadError, ChecksumError, DeviceTimeout, FrameParser,
    LengthError, NoContent, PortError, RequestRejected, SamFault, response_from_body,
)
from devices.idcard.poller import (
    CardPoller, CardPresented, CardRemoved, ReaderOffline, ReaderOnline, ReadFailed, wait_for_event,
)
from devices.idcard.simulator import SAMPLE_CARDS, Fault, SamSimulator

ANSWER_TIMEOUT = 0.3


@pytest.fixture
def sim(tmp_path):
    simulator = SamSimulator(link=str(tmp_path / "ttyIDCARD"))
    yield simulator
    simulator.stop()


@pytest.fixture
def reader(sim):
    with SerialIdCardReader(sim.device, timeout=ANSWER_TIMEOUT) as r:
        yield r


class Events:
    """Collect poller events for assertions (the poller also queues them)."""

    def __init__(self, poller: CardPoller) -> None:
        self.poller = poller

    def wait(self, kind: type, timeout: float = 3.0):
        return wait_for_event(self.poller, kind, timeout)

    def drain(self, seconds: float) -> list:
        time.sleep(seconds)
        seen = []
        while not self.poller.events.empty():
            seen.append(self.poller.events.get_nowait())
        return seen


@pytest.fixture
def poller(reader):
    p = CardPoller(reader, interval=0.03, removal_polls=2, backoff=(0.05, 0.2))
    p.start()
    yield Events(p)
    p.stop()


# -- reading every card type ------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(SAMPLE_CARDS))
def test_every_sample_card_reads_back_as_itself(sim, reader, name):
    sim.present(name)
    card = reader.read_card()
    assert card == dataclasses.replace(SAMPLE_CARDS[name], fingerprint=None)
    assert len(card.photo_wlt) == 1024


def test_bad_check_digit_card_is_read_and_flagged(sim, reader):
    sim.present("bad_check_digit")
    assert reader.read_card().id_check_ok is False


def test_fingerprint_read(sim, reader):
    sim.present("resident")
    card = reader.read_card(fingerprint=True)
    assert card.fingerprint == SAMPLE_CARDS["resident"].fingerprint
    assert len(card.fingerprint) == 1024
    sim.present("foreign_permanent")
    assert reader.read_card(fingerprint=True).fingerprint is None


def test_sam_commands(sim, reader):
    reader.reset()
    assert reader.sam_status() is True
    assert reader.sam_id() == sim.sam_id
    assert [(c.cmd, c.para) for c in sim.requests] == [(0x10, 0xFF), (0x11, 0xFF), (0x12, 0xFF)]


def test_no_card(sim, reader):
    assert reader.find_card() is False
    with pytest.raises(CardAbsent) as e:
        reader.read_card()
    assert e.value.code == "status_80"
    with pytest.raises(CardAbsent) as e:
        reader.select_card()
    assert e.value.code == "status_81"


def test_newest_address(sim, reader):
    sim.present("resident", newest_address="北京市西城区示例街5号")
    reader.read_card()
    assert reader.read_newest_address() == "北京市西城区示例街5号"
    sim.present("resident")
    reader.find_card()
    reader.select_card()
    assert reader.read_newest_address() is None


def test_wait_for_card_times_out_with_status_80(reader):
    start = time.monotonic()
    with pytest.raises(CardAbsent) as e:
        reader.wait_for_card(0.2, poll=0.05)
    assert e.value.code == "status_80"
    assert time.monotonic() - start < 1.0


# -- faults ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("fault", "error", "code"), [
    (Fault.BAD_CHECKSUM, ChecksumError, "checksum"),
    (Fault.TRUNCATED, LengthError, "length"),
])
def test_a_garbled_answer_is_a_typed_error_and_the_next_read_works(sim, reader, fault, error, code):
    sim.present("resident")
    sim.inject(fault, command=(0x30, 0x01))
    with pytest.raises(error) as e:
        reader.read_card()
    assert e.value.code == code
    card = reader.read_card()
    assert card.name == "张晓三" and card.card_type == "resident"


def test_no_answer_is_a_timeout_not_a_hang(sim, reader):
    sim.inject(Fault.NO_ANSWER)
    start = time.monotonic()
    with pytest.raises(DeviceTimeout) as e:
        reader.sam_status()
    assert e.value.code == "timeout"
    assert time.monotonic() - start < ANSWER_TIMEOUT + 0.5
    assert reader.sam_status()


def test_truncated_short_answer_is_a_length_error(sim, reader):
    sim.inject(Fault.TRUNCATED)
    with pytest.raises(LengthError):
        reader.sam_status()


def test_card_removed_mid_read(sim, reader):
    sim.present("resident")
    sim.inject(Fault.REMOVED_MID_READ)
    with pytest.raises(CardReadError) as e:
        reader.read_card()
    assert e.value.code == "status_41"
    assert reader.find_card() is False


def test_line_noise_before_an_answer_is_skipped(sim, reader):
    sim.present("hk_macao_taiwan_permit")
    sim.inject(Fault.NOISE, command=(0x30, 0x01))
    assert reader.read_card().pass_number == "H12345678"


@pytest.mark.parametrize("code, cls", [
    (0x10, RequestRejected), (0x11, RequestRejected), (0x21, RequestRejected), (0x23, RequestRejected),
    (0x24, SamFault), (0x31, CardAuthError), (0x32, CardAuthError), (0x33, CardAuthError),
    (0x40, CardReadError), (0x41, CardReadError), (0x47, CardReadError), (0x60, SamFault),
    (0x66, SamFault), (0x80, CardAbsent), (0x81, CardAbsent), (0x91, NoContent),
])
def test_every_sw3_error_reaches_the_caller_typed(sim, reader, code, cls):
    sim.present("resident")
    sim.inject(Fault.STATUS, sw3=code, command=(0x30, 0x01))
    with pytest.raises(cls) as e:
        reader.read_card()
    assert e.value.code == f"status_{code:02X}"


def test_sam_answers_10_and_11_to_bad_frames(sim):
    with serial.serial_for_url(sim.device, baudrate=115200, timeout=0.5) as port:
        for raw, expected in [(PREAMBLE + b"\x00\x03\x11\xFF\x00", 0x10),   # wrong checksum
                              (PREAMBLE + b"\x00\x02\x11\x13", 0x11)]:      # LEN below CMD PARA CHK
            port.write(raw)
            parser = FrameParser()
            parser.feed(port.read(11))
            assert response_from_body(parser.next_frame()).sw3 == expected


def test_unknown_command_gets_21(reader):
    from devices.idcard.frames import Command

    assert reader.transact(Command(0x77, 0x00)).sw3 == 0x21


# -- speeds -----------------------------------------------------------------------------------------------

def test_probe_baud_finds_the_sam_speed(tmp_path):
    with SamSimulator(baudrate=38400) as sim:
        with SerialIdCardReader(sim.device, timeout=0.15) as r:
            with pytest.raises(DeviceTimeout):
                r.sam_status()
            assert r.probe_baud(timeout=0.15) == 38400
            assert r.baudrate == 38400
            sim.present("resident")
            assert r.read_card().name == "张晓三"


def test_probe_baud_gives_up_with_a_timeout():
    with SamSimulator(baudrate=9600) as sim:
        with SerialIdCardReader(sim.device, timeout=0.1) as r:
            with pytest.raises(DeviceTimeout):
                r.probe_baud([115200, 57600], timeout=0.1)
            assert r.baudrate == 115200


def test_serial_url_with_baud_and_probe():
    with SamSimulator(baudrate=19200) as sim:
        with open_reader(f"serial://{sim.device}?baud=19200&timeout=0.2") as r:
            assert r.sam_status()
        with open_reader(f"serial://{sim.device}?probe=1&timeout=0.1") as r:
            assert r.baudrate == 19200


# -- URLs, health and the CLI --------------------------------------------------------------------------------

def test_sim_url_starts_a_simulator_and_stops_it_on_close():
    with open_reader("sim://?card=foreign_permanent_2023") as r:
        assert r.simulator.running
        assert r.read_card().english_name == SAMPLE_CARDS["foreign_permanent_2023"].english_name
        r.simulator.remove()
        assert r.find_card() is False
        r.simulator.present("resident")
        assert r.read_card().card_type == "resident"
        simulator = r.simulator
    assert not simulator.running


def test_sim_url_without_card_has_an_empty_reader():
    with open_reader("sim://") as r:
        assert r.find_card() is False


@pytest.mark.parametrize("url", ["sim://?card=nobody", "tcp://1.2.3.4", "serial://", "serial:///dev/x?baud=1234"])
def test_bad_urls(url):
    with pytest.raises(UnsupportedDeviceURL):
        open_reader(url)


def test_missing_port_is_a_port_error(tmp_path):
    with pytest.raises(PortError) as e:
        open_reader(f"serial://{tmp_path}/ttyNOPE")
    assert e.value.code == "offline"


def test_health_online_offline_fault(sim, tmp_path):
    online = probe_health(f"serial://{sim.device}")
    assert online.state == "online" and online.detail["sam_id"] == sim.sam_id.hex()
    assert probe_health("sim://").state == "online"
    assert probe_health(f"serial://{tmp_path}/ttyNOPE").state == "offline"
    sim.inject(Fault.STATUS, sw3=0x60, times=None)
    faulty = probe_health(f"serial://{sim.device}?timeout=0.2")
    assert faulty.state == "fault" and "self-check" in faulty.reason
    sim.clear_faults()
    sim.inject(Fault.NO_ANSWER, times=None)
    silent = probe_health(f"serial://{sim.device}?timeout=0.2")
    assert silent.state == "fault" and silent.detail["code"] == "timeout"


def test_cli_reads_the_default_sim_card_masked():
    obj, code = read_idcard("sim://", timeout=1.0, reveal=False)
    assert code == 0
    assert set(obj) == {"card_type", "name", "english_name", "sex_code", "nation_code", "birth", "address",
                        "id_number", "authority", "valid_from", "valid_to", "pass_number", "issue_count",
                        "country", "id_check_ok"}
    assert obj["name"] == "张*三"
    assert obj["id_number"] == "110101********" + SAMPLE_CARDS["resident"].id_number[-4:]
    assert obj["id_check_ok"] is True and obj["english_name"] is None


def test_cli_reveal_and_card_choice():
    obj, code = read_idcard("sim://?card=foreign_permanent", timeout=1.0, reveal=True)
    assert code == 0
    assert obj["english_name"] == "DOE JANE" and obj["country"] == "USA" and obj["id_check_ok"] is None


def test_cli_reports_protocol_failures(sim):
    sim.present("resident")
    sim.inject(Fault.BAD_CHECKSUM, command=(0x30, 0x01))
    obj, code = read_idcard(f"serial://{sim.device}?timeout=0.2", timeout=1.0, reveal=False)
    assert code != 0 and obj == {"error": {"code": "checksum", "message": obj["error"]["message"]}}
    sim.inject(Fault.STATUS, sw3=0x41, command=(0x30, 0x01))
    obj, code = read_idcard(f"serial://{sim.device}?timeout=0.2", timeout=1.0, reveal=False)
    assert code != 0 and obj["error"]["code"] == "status_41"
    sim.remove()
    obj, code = read_idcard(f"serial://{sim.device}?timeout=0.2", timeout=0.2, reveal=False)
    assert code != 0 and obj["error"]["code"] == "status_80"


def test_cli_bad_url_and_missing_port(tmp_path):
    obj, code = read_idcard("nope://x", timeout=0.1, reveal=False)
    assert code == 2 and obj["error"]["code"] == "bad_url"
    obj, code = read_idcard(f"serial://{tmp_path}/ttyNOPE", timeout=0.1, reveal=False)
    assert code == 1 and obj["error"]["code"] == "offline"


# -- poller --------------------------------------------------------------------------------------------------

def test_poller_emits_presented_once_and_removed(sim, poller):
    poller.wait(ReaderOnline)
    sim.present("resident")
    assert poller.wait(CardPresented).card.name == "张晓三"
    later = poller.drain(0.3)
    assert not [e for e in later if isinstance(e, (CardPresented, CardRemoved))]
    sim.remove()
    poller.wait(CardRemoved)
    sim.present("foreign_permanent_2023")
    assert poller.wait(CardPresented).card.card_type == "foreign_permanent_2023"


def test_poller_notices_a_swap_without_a_gap(sim, poller):
    sim.present("resident")
    poller.wait(CardPresented)
    sim.present("hk_macao_taiwan_permit")
    poller.wait(CardRemoved)
    assert poller.wait(CardPresented).card.card_type == "hk_macao_taiwan_permit"


def test_poller_reports_a_failed_read_once_and_reads_the_next_card(sim, poller):
    poller.wait(ReaderOnline)
    sim.inject(Fault.REMOVED_MID_READ)
    sim.present("resident")
    failed = poller.wait(ReadFailed)
    assert failed.error.code == "status_41"
    assert not [e for e in poller.drain(0.2) if isinstance(e, (ReadFailed, CardPresented))]
    sim.present("resident")
    poller.wait(CardPresented)


def test_poller_survives_garbled_answers(sim, poller):
    poller.wait(ReaderOnline)
    sim.inject(Fault.BAD_CHECKSUM, command=(0x20, 0x01), times=3)
    sim.present("resident")
    poller.wait(CardPresented)


def test_poller_recovers_after_unplug(sim, poller, tmp_path):
    poller.wait(ReaderOnline)
    sim.present("resident")
    poller.wait(CardPresented)
    sim.stop()                                   # unplugged: the device node disappears
    poller.wait(CardRemoved)
    offline = poller.wait(ReaderOffline)
    assert offline.reason
    time.sleep(0.3)                              # several failed reopen attempts
    with SamSimulator(link=sim.link) as replugged:
        replugged.present("hk_macao_taiwan_permit")
        poller.wait(ReaderOnline)
        assert poller.wait(CardPresented).card.card_type == "hk_macao_taiwan_permit"


def test_poller_goes_offline_on_a_silent_sam_and_back(sim, poller):
    poller.wait(ReaderOnline)
    sim.inject(Fault.NO_ANSWER, times=None)
    poller.wait(ReaderOffline)
    sim.clear_faults()
    poller.wait(ReaderOnline)


def test_poller_callback_receives_events(sim, reader):
    seen = []
    with CardPoller(reader, on_event=seen.append, interval=0.03):
        sim.present("resident")
        deadline = time.monotonic() + 3
        while not any(isinstance(e, CardPresented) for e in seen) and time.monotonic() < deadline:
            time.sleep(0.02)
    assert isinstance(seen[0], ReaderOnline)
    assert any(isinstance(e, CardPresented) for e in seen)


def test_errors_are_device_errors():
    for cls in (ChecksumError, LengthError, DeviceTimeout, PortError, CardAbsent):
        assert issubclass(cls, DeviceError)
