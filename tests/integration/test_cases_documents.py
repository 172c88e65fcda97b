"""Case papers as A4 PDF (ReportLab, CJK font): the clauses' fields are on them, the ID number masked."""
from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from tests.integration.test_cases_api import ID, accept


def _text(api, doc_id: int, who: str = "clerk01") -> tuple[str, bytes, PdfReader]:
    r = api.client.get(f"/api/v1/case-documents/{doc_id}.pdf", headers={"Authorization": f"Bearer {api.token(who)}"})
    assert r.status_code == 200 and r.mimetype == "application/pdf", r.data[:200]
    reader = PdfReader(io.BytesIO(r.data))
    return "".join(p.extract_text() for p in reader.pages).replace(" ", ""), r.data, reader


def _docs(api, case_id: int) -> dict[str, dict]:
    detail = api.get(f"/api/v1/cases/{case_id}", token=api.token("manager")).get_json()
    return {d["title"]: d for d in detail["documents"]}


def test_acceptance_notice_pledge_and_one_time_notice_carry_their_clauses_fields(api):
    done = accept(api, "SS003", outcome="deferred", intermediary_service="清算审计（第三方）",
                  special_procedures=[{"name": "专家评审", "days": 5}],
                  deferred_materials=[{"name": "清税证明", "due_date": "2026-03-06", "promise": "五日内补交"}])
    case = done["cases"][0]
    docs = _docs(api, case["id"])
    text, data, reader = _text(api, docs["受理通知书"]["id"])
    w, h = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (round(float(w)), round(float(h))) == (595, 842)            # A4
    # 002 §8.2.2: item, acceptance number, applicant and phone, time, promised date, intermediary service;
    # 000 §9.3.4 / 002 §8.2.6: special procedures and their time; the accepting clerk.
    for field in ("受理通知书", "企业注销登记", "DEMO2026000001", "张*丰", "139****5678", "2026年03月02日10:00",
                  "3个工作日", "2026年03月05日", "清算审计（第三方）", "专家评审", "约5个工作日", "王丽", "扫码查询办理进度",
                  "清税证明", docs["受理通知书"]["number"]):
        assert field in text, field
    assert ID not in text and "220102********1234" in text
    # Re-printable: the same paper again, byte for byte, and the prints counted.
    assert _text(api, docs["受理通知书"]["id"])[1] == data
    assert _docs(api, case["id"])["受理通知书"]["prints"] == 2
    pledge = _text(api, docs["容缺受理承诺书"]["id"])[0]
    for field in ("容缺受理承诺书", "清税证明", "2026-03-06", "五日内补交", "超期处理办法", "终止办理", "申请人签名"):
        assert field in pledge, field
    notice = _text(api, docs["一次性告知书"]["id"])[0]
    # 002 §6.3: complete? legal form? how to correct, accepted or not and why, special procedures, next step, fees.
    for field in ("一次性告知书", "申请材料是否齐全", "是否符合法定形式", "如何补正", "是否受理及理由", "予以受理",
                  "特别程序", "专家评审", "下一步程序", "收费标准", "不收费"):
        assert field in notice, field


def test_refusal_decision_states_reason_basis_and_the_rights_of_review_and_suit(api):
    done = accept(api, "SS003", outcome="refused", note="申请人不具备清算完成条件")
    docs = _docs(api, done["cases"][0]["id"])
    text = _text(api, docs["不予受理决定书"]["id"])[0]
    for field in ("不予受理决定书", "申请人不具备清算完成条件", "《中华人民共和国市场主体登记管理条例》第三十一条",
                  "行政复议", "60日内", "行政诉讼", "6个月内", "220102********1234"):
        assert field in text, field
    assert ID not in text


def test_a_department_clerk_of_another_hall_cannot_read_a_paper_and_a_missing_one_is_404(api):
    r = api.client.get("/api/v1/case-documents/999.pdf", headers={"Authorization": f"Bearer {api.token('clerk01')}"})
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    r = api.client.get("/api/v1/case-documents/1.pdf")
    assert r.status_code == 401


@pytest.mark.parametrize("path", ["/nonexistent/font.ttc"])
def test_without_a_cjk_font_the_paper_is_refused_with_a_clear_error(api, monkeypatch, path):
    from hall_queue.cases import pdf

    done = accept(api, "SS003")
    doc = _docs(api, done["cases"][0]["id"])["受理通知书"]
    monkeypatch.setenv("ONEVISIT_CJK_FONT", path)
    pdf._register_font.cache_clear()
    try:
        r = api.client.get(f"/api/v1/case-documents/{doc['id']}.pdf",
                           headers={"Authorization": f"Bearer {api.token('clerk01')}"})
        assert r.status_code == 503 and r.get_json()["error"]["code"] == "cjk_font_missing"
        assert "fonts-wqy-zenhei" in r.get_json()["error"]["message"]
    finally:
        monkeypatch.delenv("ONEVISIT_CJK_FONT")
        pdf._register_font.cache_clear()


def test_the_window_prints_the_short_receipt_on_its_escpos_printer(api, app, tmp_path):

    app.config["WINDOW_PRINTER"] = f"virtual://?dir={tmp_path}/w{{window}}"
    done = accept(api, "SS003", intermediary_service="无")
    doc = _docs(api, done["cases"][0]["id"])["受理通知书"]
    r = api.post(f"/api/v1/case-documents/{doc['id']}/print", {"window_id": api.windows[1]}, token=api.token("clerk01"))
    assert r.status_code == 200, r.get_json()
    png = r.get_json()["printout"]
    assert (tmp_path / "w1" / png).exists()
    assert _docs(api, done["cases"][0]["id"])["受理通知书"]["prints"] == 1
    # Not a receipt: the pledge or refusal has none; another hall's window is 404.
    done = accept(api, "SS003", outcome="refused", note="不属于本机关职权")
    refusal = _docs(api, done["cases"][0]["id"])["不予受理决定书"]
    r = api.post(f"/api/v1/case-documents/{refusal['id']}/print", {"window_id": api.windows[1]},
                 token=api.token("clerk01"))
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "not_a_receipt"
