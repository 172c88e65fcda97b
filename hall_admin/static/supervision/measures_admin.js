/* 整改措施公示管理 (000 §10.4): the published measures as the public reads them; withhold one with a reason, or
   re-publish it (both audited). */
import { api } from "/static/ov/api.js";
import { $, el, pageData, toast } from "/static/ov/dom.js";

const page = pageData();
const base = `/api/v1/halls/${page.hall_id}/measures`;
const ERRORS = {already_withheld: "该措施已撤下。", not_withheld: "该措施已在公示中。", validation_error: "请填写撤下原因。"};
const say = (e) => ERRORS[e.code] || "操作失败，请稍后重试。";
let current = null;

function row(m) {
  const state = m.withheld ? el("span", {class: "tag warn", title: m.withheld_reason}, "已撤下")
    : el("span", {class: "tag ok"}, "公示中");
  const action = m.withheld
    ? el("button", {type: "button", class: "secondary", onclick: () => republish(m)}, "重新公示")
    : el("button", {type: "button", class: "secondary", onclick: () => ask(m)}, "撤下");
  return el("tr", {"data-source": m.source, "data-id": m.source_id, class: m.withheld ? "withheld" : ""},
    el("td", {}, m.closed_on || "—"), el("td", {}, m.source_label), el("td", {}, m.topic),
    el("td", {class: "sv-clip pre"}, m.measures),
    el("td", {}, state, m.withheld ? el("div", {class: "muted"}, `原因：${m.withheld_reason}`) : null),
    el("td", {}, action));
}

async function refresh() {
  const r = await api("GET", base);
  $("measures").querySelector("tbody").replaceChildren(...r.items.map(row));
  $("empty").hidden = r.items.length > 0;
  document.body.dataset.loaded = "1";
}

function ask(m) {
  current = m;
  $("w-text").textContent = m.measures;
  $("w-reason").value = "";
  $("w-error").hidden = true;
  $("withhold-dialog").showModal();
}

$("w-cancel").addEventListener("click", () => $("withhold-dialog").close());
$("withhold-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const reason = $("w-reason").value.trim();
  if (!reason) { $("w-error").textContent = ERRORS.validation_error; $("w-error").hidden = false; return; }
  try {
    await api("POST", `${base}/${current.source}/${current.source_id}/withhold`, {reason});
    $("withhold-dialog").close();
    toast("已撤下，公示页面不再显示该措施");
    refresh();
  } catch (e) { $("w-error").textContent = say(e); $("w-error").hidden = false; }
});

async function republish(m) {
  try {
    await api("POST", `${base}/${m.source}/${m.source_id}/republish`);
    toast("已重新公示");
    refresh();
  } catch (e) { toast(say(e), "error"); }
}

refresh().catch(() => { $("empty").textContent = "加载失败，请稍后刷新。"; $("empty").hidden = false; });
