"""The virtual printer: rendered PNG tickets, their decoded text, and simulated faults for drills."""
import pytest
from PIL import Image

from devices.base import UnsupportedDeviceURL
from devices.printer import (
    CoverOpen,
    PaperOut,
    PrinterOffline,
    PrinterState,
    SlipMaterial,
    TicketSlip,
    VirtualTicketPrinter,
    open_printer,
    probe_health,
)
from devices.printer import virtual
from devices.printer.cli import print_test

FULL_ID = "220102199001011234"
MATERIALS = [SlipMaterial("公司登记（备案）申请书", True, 1),
             SlipMaterial("公司章程（有限责任公司由全体股东签署）", True, 1),
             SlipMaterial("法定代表人身份证件", False, 2)]


def slip(**changes):
    data = dict(hall_name="示例政务服务中心", number="A023", queue_name="综合受理（A）", matter="企业设立登记",
                people_ahead=5, estimated_wait_minutes=18, issued_at="2025-01-06 09:31", materials=MATERIALS,
                masked_identity="张*三 220102********1234", follow_url="https://hall.example.cn/t/A023")
    data.update(changes)
    return TicketSlip(**data)


@pytest.fixture
def printer(tmp_path):
    p = open_printer(f"virtual://?dir={tmp_path}")
    assert isinstance(p, VirtualTicketPrinter)
    yield p
    p.close()


@pytest.mark.parametrize("width", [80, 58])
def test_ticket_png_and_its_decoded_text_match_the_slip(tmp_path, width):
    with open_printer(f"virtual://?dir={tmp_path}&width={width}") as printer:
        png = printer.print_ticket(slip())
        printout = printer.last_printout
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.width == {80: 576, 58: 384}[width] + 2 * virtual.MARGIN
    text = "".join(printout.text_lines)
    for part in ("A023", "示例政务服务中心", "综合受理（A）", "企业设立登记", "张*三 220102********1234",
                 *(m.name for m in MATERIALS)):
        assert part in text, part
    assert FULL_ID not in text
    number = next(line for line in printout.lines if line.text == "A023")
    assert number.height == max(line.height for line in printout.lines) >= 5
    assert number.bold and number.align == "center"
    hall = next(line for line in printout.lines if line.text == "示例政务服务中心")
    assert (hall.width, hall.height, hall.bold) == (2, 2, True)
    assert printout.qr_codes == ["https://hall.example.cn/t/A023"]
    assert len(printout.cuts) == 1
    assert printout.warnings == []


def test_an_unmasked_identity_is_masked_on_paper(printer):
    printer.print_ticket(slip(masked_identity=f"张三 {FULL_ID}"))
    assert FULL_ID not in "".join(printer.last_printout.text_lines)


def test_raster_qr_renders_as_an_image(tmp_path):
    with open_printer(f"virtual://?dir={tmp_path}&qr=raster") as printer:
        printer.print_ticket(slip())
        blocks = [b for b in printer.last_printout.blocks if isinstance(b, virtual.PrintedImage)]
    assert len(blocks) == 1 and blocks[0].qr_data is None
    assert blocks[0].image.width > 100


def test_paper_out_fault_blocks_printing_with_a_typed_error(printer, tmp_path):
    printer.set_fault("paper_out")
    with pytest.raises(PaperOut) as info:
        printer.print_ticket(slip())
    assert info.value.code == "paper_out"
    assert printer.status().state == PrinterState.PAPER_OUT
    assert (printer.health().state, printer.health().reason) == ("fault", "paper_out")
    assert list(tmp_path.iterdir()) == []
    printer.set_fault(None)
    assert printer.print_ticket(slip())


@pytest.mark.parametrize(("fault", "error", "health"), [
    ("cover_open", CoverOpen, ("fault", "cover_open")),
    ("offline", PrinterOffline, ("offline", "offline")),
])
def test_other_faults(printer, fault, error, health):
    printer.set_fault(fault)
    with pytest.raises(error):
        printer.print_ticket(slip())
    h = printer.health()
    assert (h.state, h.reason) == health


def test_paper_near_end_still_prints_and_is_reported(printer):
    printer.set_fault("paper_near_end")
    assert printer.print_ticket(slip())
    h = printer.health()
    assert (h.state, h.reason) == ("online", "paper_near_end")


def test_even_with_check_0_the_virtual_printer_cannot_print_without_paper(tmp_path):
    with open_printer(f"virtual://?dir={tmp_path}&paper=out&check=0") as printer, pytest.raises(PaperOut):
        printer.print_ticket(slip())


def test_unknown_fault_is_refused(printer):
    with pytest.raises(ValueError):
        printer.set_fault("jam")
    with pytest.raises(UnsupportedDeviceURL):
        open_printer("virtual://?fault=jam")


def test_probe_health_of_virtual_urls():
    assert probe_health("virtual://").state == "online"
    h = probe_health("virtual://?paper=out")
    assert (h.state, h.reason) == ("fault", "paper_out")
    assert probe_health("virtual://?paper=near_end").reason == "paper_near_end"
    assert probe_health("virtual://?fault=cover_open").state == "fault"
    assert probe_health("nonsense").state == "offline"


def test_print_test_cli_on_virtual(tmp_path):
    report, code = print_test(f"virtual://?dir={tmp_path}")
    assert code == 0 and report["printed"] is True
    with Image.open(report["png"]) as image:
        assert image.height > 800
    assert report["warnings"] == []


def test_print_test_cli_reports_errors():
    report, code = print_test("virtual://?paper=out")
    assert code == 1
    assert report["error"]["code"] == "paper_out"
    report, code = print_test("bogus://x")
    assert code == 1 and report["error"]["code"] == "bad_url"


def test_missing_cjk_font_falls_back_with_a_warning(printer, monkeypatch):
    monkeypatch.setattr(virtual, "find_cjk_font", lambda: None)
    virtual._font.cache_clear()
    try:
        png = printer.print_ticket(slip())
    finally:
        virtual._font.cache_clear()
    with Image.open(png) as image:
        assert image.height > 800
    assert any("no CJK font" in w for w in printer.last_printout.warnings)
