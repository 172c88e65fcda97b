/* Configuration page: tabs, the lists, hall settings with opening hours, CSV import. Every change goes through the
   JSON API (session cookie + X-CSRF-Token); the create/edit forms are in config_forms.js. */
import { api } from "/static/ov/api.js";
import { $, el, pageData, toast } from "/static/ov/dom.js";
import { CfgForms } from "/admin/manage/static/config_forms.js";
import { CfgDevices } from "/admin/manage/static/devices.js";

const page = pageData();
const H = page.hall_id;
const DAYS = [["mon", "周一"], ["tue", "周二"], ["wed", "周三"], ["thu", "周四"], ["fri", "周五"], ["sat", "周六"], ["sun", "周日"]];
const KINDS = Object.fromEntries(page.window_kinds);
const ROLES = {clerk: "窗口人员", manager: "大厅管理", admin: "系统管理员"};
const FORMS = {original: "原件", copy: "复印件", original_and_copy: "原件和复印件"};
const yes = (v) => (v ? "是" : "否");
// Everything the lists and the forms' selects refer to, reloaded after each change.
const refs = {items: [], categories: [], bundles: [], queues: [], windows: [], staff: []};
const REF_URLS = {items: `/halls/${H}/items`, categories: `/halls/${H}/categories`, bundles: `/halls/${H}/bundles`,
                  queues: `/halls/${H}/queues`, windows: `/halls/${H}/windows`, staff: `/halls/${H}/staff`};

const nameOf = (list, id, f) => { const r = refs[list].find((x) => x.id === id); return r ? f(r) : (id ?? ""); };
const staffName = (id) => (id == null ? "—" : nameOf("staff", id, (s) => `${s.display_name}（${s.employee_no || s.username}）`));

// Which columns each list shows.
const COLS = {
  items: [["code", "编码"], ["name", "名称"], ["category_id", "分类", (v) => nameOf("categories", v, (c) => c.name)],
          ["kind", "类型", (v, r) => (v === "promised" ? `承诺件 ${r.promised_days}个工作日` : "即办件")],
          ["queue_ids", "队列", (v) => v.map((id) => nameOf("queues", id, (q) => q.prefix)).join(" ")],
          ["materials", "材料", (v) => v.map((m) => `${m.name}（${FORMS[m.form] || m.form}${m.count > 1 ? "×" + m.count : ""}）`).join("、")],
          ["on_the_spot", "即来即办", yes], ["active", "在用", yes]],
  categories: [["code", "编码"], ["name", "名称"], ["sort", "排序"],
               ["id", "事项数", (v) => refs.items.filter((i) => i.category_id === v).length]],
  bundles: [["code", "编码"], ["name", "名称"], ["queue_id", "队列", (v) => nameOf("queues", v, (q) => `${q.prefix} ${q.name}`)],
            ["item_ids", "事项", (v) => v.map((id) => nameOf("items", id, (i) => i.name)).join(" → ")], ["active", "在用", yes]],
  queues: [["prefix", "字头"], ["name", "名称"], ["daily_cap", "每日上限", (v) => v ?? "不限"],
           ["item_ids", "事项数", (v) => v.length], ["active", "在用", yes]],
  windows: [["number", "窗口号"], ["name", "名称"], ["kind", "类型", (v) => KINDS[v] || v],
            ["queues", "服务队列", (v) => v.map((q) => q.prefix + (q.role === "helper" ? "（协办）" : "")).join(" ") || "未设置"],
            ["a_clerk_id", "A岗", staffName], ["b_clerk_id", "B岗", staffName]],
  staff: [["username", "账号"], ["display_name", "姓名"], ["employee_no", "工号"], ["role", "角色", (v) => ROLES[v] || v],
          ["active", "启用", yes]],
};

let current = "settings";

// The latest reading of the lists, and whether one ever succeeded: a new window's number is the next free one only
// once the windows are known (before, it was 1, which the server refuses as taken).
let refsLoading = null;
let refsKnown = false;
function loadRefs() {
  const names = Object.keys(REF_URLS);
  refsLoading = Promise.all(names.map((n) => api("GET", "/api/v1" + REF_URLS[n]))).then((lists) => {
    names.forEach((n, i) => { refs[n] = lists[i].items; });
    refsKnown = true;
  });
  return refsLoading;
}

/** Open a new-entry form once the lists it pre-fills from are in (its button waits meanwhile). */
async function openNew(button) {
  button.disabled = true;
  try { await (refsLoading || loadRefs()); } catch { /* said on the list; the form opens without a number */ }
  finally { button.disabled = false; }
  CfgForms.open(button.dataset.new, null);
}

async function loadTab(name) {
  current = name;
  for (const b of document.querySelectorAll(".tabs button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const s of document.querySelectorAll(".tab")) s.hidden = s.id !== "tab-" + name;
  if (name === "settings") return loadSettings();
  if (name === "devices") return CfgDevices.load();
  const box = $("tab-" + name);
  box.dataset.loaded = "0";  // set again when the list is redrawn (tests and screen readers wait on it)
  const err = box.querySelector(".list-error");
  err.hidden = true;
  try {
    await loadRefs();
  } catch (e) { err.textContent = e.message; err.hidden = false; return; }
  const head = el("tr", {}, COLS[name].map(([, label]) => el("th", {}, label)), el("th", {}, ""));
  const rows = refs[name].map((r) => el("tr", {"data-id": r.id, class: r.active === false ? "inactive" : ""},
    COLS[name].map(([k, , f]) => el("td", {}, f ? f(r[k], r) : (r[k] ?? ""))),
    el("td", {class: "row-actions"}, actions(name, r))));
  box.querySelector("table").replaceChildren(el("thead", {}, head), el("tbody", {}, rows));
  box.dataset.loaded = "1";
}

function actions(name, r) {
  const out = [el("button", {type: "button", class: "secondary small edit", onclick: () => CfgForms.open(name, r)}, "编辑")];
  // Staff are never deleted, only disabled (their history stays attributable).
  if (name !== "staff") out.push(el("button", {type: "button", class: "danger small", onclick: () => CfgForms.remove(name, r)}, "删除"));
  return out;
}

// ------------------------------------------------------------ hall settings and opening hours
const NUMBERS = ["max_recalls", "late_requeue_places", "no_show_min_s", "pause_cover_after_s", "wait_alert_s", "default_service_s",
                 "elderly_age",
                 // service levels and guards (issue 17)
                 "sl_max_wait_s", "sl_max_service_s", "sl_max_idle_s", "sl_max_queue_len",
                 "id_daily_ticket_cap", "cancelled_slot_hold_min", "recall_min_gap_s"];

function addPeriod(cell, from = "", to = "") {
  const span = $("tpl-period").content.firstElementChild.cloneNode(true);
  span.querySelector("[name=p_from]").value = from;
  span.querySelector("[name=p_to]").value = to;
  cell.append(span);
  return span;
}

function drawHours(hours) {
  $("hours").tBodies[0].replaceChildren(...DAYS.map(([d, label]) => {
    const cell = el("td", {class: "periods", "data-day": d});
    for (const [from, to] of hours[d] || []) addPeriod(cell, from, to);
    return el("tr", {}, el("th", {scope: "row"}, label), cell,
      el("td", {}, el("button", {type: "button", class: "secondary small", "data-add-period": d,
                                       onclick: () => addPeriod(cell).querySelector("input").focus()}, "＋ 时段")));
  }));
}

function readHours() {
  const hours = {};
  for (const cell of $("hours").querySelectorAll(".periods")) {
    hours[cell.dataset.day] = [...cell.querySelectorAll(".period")].map((p) =>
      [p.querySelector("[name=p_from]").value, p.querySelector("[name=p_to]").value]);
  }
  return hours;
}

async function loadSettings() {
  const f = $("settings-form");
  try {
    const s = await api("GET", `/api/v1/halls/${H}/settings`);
    // A zone set through the API outside the offered list stays selectable as it is.
    const zones = f.elements.timezone;
    if (s.timezone && ![...zones.options].some((o) => o.value === s.timezone)) zones.append(new Option(s.timezone, s.timezone));
    for (const k of ["name", "timezone", "day_boundary", "public_base_url", "address", ...NUMBERS]) f.elements[k].value = s[k] ?? "";
    drawHours(s.opening_hours || {});
    f.dataset.loaded = "1";
  } catch (e) { CfgForms.showError(f, e); }
}

async function saveSettings(ev) {
  ev.preventDefault();
  const f = $("settings-form");
  const body = {name: f.elements.name.value, timezone: f.elements.timezone.value, day_boundary: f.elements.day_boundary.value,
                public_base_url: f.elements.public_base_url.value, address: f.elements.address.value,
                opening_hours: readHours()};
  for (const k of NUMBERS) body[k] = f.elements[k].value === "" ? null : Number(f.elements[k].value);
  CfgForms.clearErrors(f);
  try { await api("PATCH", `/api/v1/halls/${H}/settings`, body); toast("大厅设置已保存"); }
  catch (e) { CfgForms.showError(f, e); }
}

// ------------------------------------------------------------ CSV import
async function importCsv(ev) {
  ev.preventDefault();
  const file = $("csv-file").files[0];
  const out = $("csv-result");
  out.replaceChildren();
  if (!file) return;
  const dry = $("csv-dry").checked ? "?dry_run=1" : "";
  try {
    const data = await api("POST", `/api/v1/halls/${H}/items.csv${dry}`, file, {contentType: "text/csv"});
    out.append(el("p", {}, `${data.dry_run ? "校验通过（未导入）" : "已导入"}：${data.rows} 行，新增 ${data.created}，更新 ${data.updated}`));
    if (!data.dry_run) loadTab("items");
  } catch (e) {
    out.append(el("p", {class: "error"}, e.message),
               el("ul", {class: "csv-errors"}, (e.detail.rows || []).map((x) => el("li", {}, `第 ${x.row} 行：${x.message}`))));
  }
}

async function createHall(ev) {
  ev.preventDefault();
  const f = ev.target;
  try {
    const h = await api("POST", "/api/v1/halls", {code: f.code.value, name: f.hname.value});
    toast(`已创建大厅 ${h.name}（ID ${h.id}）`);
    location.href = `?hall=${h.id}`;
  } catch (e) { toast(e.message, "error"); }
}

// ------------------------------------------------------------ wiring
CfgForms.init({hall: H, refs, known: () => refsKnown, onSaved: () => loadTab(current)});
for (const b of document.querySelectorAll(".tabs button")) b.addEventListener("click", () => loadTab(b.dataset.tab));
for (const b of document.querySelectorAll("[data-new]")) b.addEventListener("click", () => openNew(b));
$("settings-form").addEventListener("submit", saveSettings);
$("settings-form").addEventListener("click", (ev) => {
  const b = ev.target.closest("[data-row=remove-period]");
  if (b) b.closest(".period").remove();
});
$("csv-form").addEventListener("submit", importCsv);
$("hall-form")?.addEventListener("submit", createHall);
loadTab("settings");
