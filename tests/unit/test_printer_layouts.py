"""Slip layouts recorded on python-escpos's Dummy printer (STYLE rule 9)."""
import pytest
from escpos.printer import Dummy

from devices.printer import CheckinSlip, NoticeSlip, SlipMaterial, TicketSlip, UnsupportedPaper
from devices.printer import escpos_bytes as eb
from devices.printer.layouts import layout_checkin, layout_notice, layout_ticket
from devices.printer.virtual import interpret

URL = "https://hall.example.cn/t/A023"


def ticket(**changes):
    data = dict(hall_name="示例政务服务中心", number="A023", queue_name="综合受理（A）", matter="企业设立登记",
                people_ahead=5, estimated_wait_minutes=18, issued_at="2025-01-06 09:31",
                materials=[SlipMaterial("公司登记（备案）申请书", True, 1),
                           SlipMaterial("法定代表人身份证件", False, 2)],
                masked_identity="张*三 220102********1234", follow_url=URL, priority_label="老年人优先")
    data.update(changes)
    return TicketSlip(**data)


def record(layout, slip, **kw):
    printer = Dummy()
    layout(printer, slip, **kw)
    return printer.output


@pytest.mark.parametrize("paper_mm", [80, 58])
def test_ticket_bytes_hold_the_expected_commands(paper_mm):
    out = record(layout_ticket, ticket(paper_mm=paper_mm))
    assert out.startswith(eb.INIT + eb.CHINESE_OFF)
    assert eb.text_bytes("示例政务服务中心") in out
    assert eb.size(2, 2) in out  # hall name
    assert eb.size(6, 6) + b"A023\n" in out  # the number, as large as GS ! goes here
    assert eb.align("center") in out
    assert eb.bold(True) in out
    assert eb.text_bytes("队列：综合受理（A）") in out
    assert eb.text_bytes("【老年人优先】") in out
    assert "原件 1份".encode("gb18030") in out and "复印件 2份".encode("gb18030") in out
    assert eb.text_bytes("办事人：张*三 220102********1234") in out
    # native QR: model 2, module size, error correction M, store, print (GS ( k)
    module = 6 if paper_mm == 80 else 5
    assert b"\x1d(k\x04\x001A2\x00" in out
    assert b"\x1d(k\x03\x001C" + bytes([module]) in out
    assert b"\x1d(k\x03\x001E1" in out
    assert b"\x1d(k" + (len(URL) + 3).to_bytes(2, "little") + b"1P0" + URL.encode() in out
    assert b"\x1d(k\x03\x001Q0" in out
    assert out.endswith(b"\x1bd\x06\x1dV\x00")  # feed past the cutter, full cut
    assert b"?" not in out.replace(URL.encode(), b"")


@pytest.mark.parametrize("paper_mm", [80, 58])
def test_ticket_lines_fit_the_paper(paper_mm):
    out = record(layout_ticket, ticket(paper_mm=paper_mm, matter="企业开办一件事（设立登记、公章刻制、发票申领、社保登记）"))
    printout = interpret(out, paper_dots=eb.paper_for(paper_mm).dots)
    assert printout.warnings == []  # the printer never had to wrap a line on its own
    assert any("企业开办一件事" in line for line in printout.text_lines)


def test_raster_qr_mode_sends_a_gs_v_0_image_instead():
    out = record(layout_ticket, ticket(), qr_mode="raster")
    assert b"\x1dv0\x00" in out
    assert b"\x1d(k" not in out


def test_ticket_without_optional_parts():
    out = record(layout_ticket, ticket(materials=[], masked_identity=None, follow_url=None,
                                       priority_label=None, estimated_wait_minutes=None))
    assert b"\x1d(k" not in out
    assert eb.text_bytes("一次性告知") not in out
    assert out.endswith(b"\x1dV\x00")


def test_an_unmasked_id_number_never_reaches_the_paper():
    out = record(layout_ticket, ticket(masked_identity="张三 220102199001011234"))
    assert b"220102199001011234" not in out
    assert eb.text_bytes("办事人：张三 220102********1234") in out


def test_unsupported_paper_is_refused():
    with pytest.raises(UnsupportedPaper):
        record(layout_ticket, ticket(paper_mm=76))


@pytest.mark.parametrize("paper_mm", [80, 58])
def test_notice_slip(paper_mm):
    slip = NoticeSlip(hall_name="示例政务服务中心", matter="企业设立登记",
                      missing=[SlipMaterial("住所使用证明", False, 1)],
                      deadline_text="请于2025年1月13日前补齐材料，到任一综合窗口办理。",
                      window="5号窗口", clerk_number="0123", issued_on="2025-01-06",
                      ticket_number="A023", masked_identity="张*三", paper_mm=paper_mm)
    out = record(layout_notice, slip)
    printout = interpret(out, paper_dots=eb.paper_for(paper_mm).dots)
    text = "".join(printout.text_lines)
    for part in ("一次性告知书", "企业设立登记", "住所使用证明", "复印件 1份", "2025年1月13日",
                 "5号窗口", "0123", "2025-01-06", "A023"):
        assert part in text
    assert printout.warnings == []
    assert out.endswith(b"\x1dV\x00")


@pytest.mark.parametrize("paper_mm", [80, 58])
def test_checkin_slip(paper_mm):
    slip = CheckinSlip(hall_name="示例政务服务中心", number="Y007", queue_name="预约（Y）",
                       matter="不动产登记", appointment_slot="2025-01-06 09:30-10:00",
                       checked_in_at="2025-01-06 09:21", booking_reference="BK20250106-0042",
                       people_ahead=1, window_hint="8号窗口", follow_url=URL, paper_mm=paper_mm)
    out = record(layout_checkin, slip)
    printout = interpret(out, paper_dots=eb.paper_for(paper_mm).dots)
    text = "".join(printout.text_lines)
    for part in ("预约签到凭条", "Y007", "不动产登记", "09:30-10:00", "BK20250106-0042", "8号窗口"):
        assert part in text
    assert printout.qr_codes == [URL]
    assert printout.warnings == []


@pytest.mark.parametrize("paper_mm", [80, 58])
def test_case_receipt_holds_its_fields_masks_ids_and_fits_the_paper(paper_mm):
    from devices.printer import ReceiptSlip
    from devices.printer.layouts import layout_receipt

    slip = ReceiptSlip(hall_name="示例政务服务中心", title="受理单", number="DEMO2026000001-SL",
                       lines=[("事项名称", "企业注销登记"), ("受理号", "DEMO2026000001"), ("申请人", "张*丰"),
                              ("证件号码", "220102199003071234"), ("承诺办结日期", "2026年03月05日"),
                              ("特别程序及所需时间", "专家评审（约5个工作日，不计入承诺时限）")],
                       progress_url="https://hall.example.cn/c/abcdefghijklmnop", paper_mm=paper_mm)
    out = record(layout_receipt, slip)
    printout = interpret(out, paper_dots=eb.paper_for(paper_mm).dots)
    assert printout.warnings == []
    text = "".join(printout.text_lines)
    for field in ("受理单", "DEMO2026000001", "企业注销登记", "张*丰", "2026年03月05日", "专家评审", "扫码查询办理进度"):
        assert field in text, field
    assert "220102********1234" in text and "199003071" not in text
    assert printout.qr_codes == ["https://hall.example.cn/c/abcdefghijklmnop"] and len(printout.cuts) == 1
