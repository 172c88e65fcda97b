/* Configuration page: every change goes through the JSON API (session cookie + X-CSRF-Token). */
"use strict";
(() => {
  const page = JSON.parse(document.getElementById("page-data").textContent);
  const H = page.hall_id;
  const $ = (id) => document.getElementById(id);
  const DAYS = [["mon", "周一"], ["tue", "周二"], ["wed", "周三"], ["thu", "周四"], ["fri", "周五"], ["sat", "周六"], ["sun", "周日"]];
  const yes = (v) => (v ? "是" : "否");

  // Each entity: where to list/create/change it, which columns to show, which fields are edited as JSON.
  const ENTITIES = {
    items: {title: "事项", list: `/halls/${H}/items`, one: (id) => `/items/${id}`,
      cols: [["code", "编码"], ["name", "名称"], ["kind", "类型", (v, r) => v === "promised" ? `承诺件 ${r.promised_days}日` : "即办件"],
             ["on_the_spot", "即来即办", yes], ["materials", "材料", (v) => v.length], ["active", "在用", yes]],
      fields: ["code", "name", "category_id", "kind", "promised_days", "on_the_spot", "appointment_only_slots",
               "typical_service_s", "materials", "guide", "queue_ids", "active"],
      blank: {code: "", name: "", category_id: null, kind: "immediate", promised_days: null, on_the_spot: false,
              appointment_only_slots: false, typical_service_s: 300,
              materials: [{name: "居民身份证", form: "original", count: 1, required: true, deferrable: false}],
              guide: {legal_basis: "", conditions: "", fees: "不收费", time_limit: "即办", process: ""}, queue_ids: [], active: true}},
    categories: {title: "分类", list: `/halls/${H}/categories`, one: (id) => `/categories/${id}`,
      cols: [["code", "编码"], ["name", "名称"], ["sort", "排序"]], fields: ["code", "name", "sort"],
      blank: {code: "", name: "", sort: 0}},
    bundles: {title: "一件事", list: `/halls/${H}/bundles`, one: (id) => `/bundles/${id}`,
      cols: [["code", "编码"], ["name", "名称"], ["item_ids", "事项数", (v) => v.length], ["active", "在用", yes]],
      fields: ["code", "name", "description", "queue_id", "item_ids", "active"],
      blank: {code: "", name: "", description: "", queue_id: null, item_ids: [], active: true}},
    queues: {title: "队列", list: `/halls/${H}/queues`, one: (id) => `/queues/${id}`,
      cols: [["prefix", "字头"], ["name", "名称"], ["daily_cap", "日上限", (v) => v ?? "不限"], ["item_ids", "事项数", (v) => v.length],
             ["active", "在用", yes]],
      fields: ["prefix", "name", "daily_cap", "item_ids", "active"],
      blank: {prefix: "", name: "", daily_cap: null, item_ids: [], active: true}},
    windows: {title: "窗口", list: `/halls/${H}/windows`, one: (id) => `/windows/${id}`,
      cols: [["number", "号"], ["name", "名称"], ["kind", "类型"], ["queues", "队列", (v) => v.map((q) => q.prefix + (q.role === "helper" ? "(辅)" : "")).join(" ")],
             ["a_clerk_id", "A岗"], ["b_clerk_id", "B岗"]],
      fields: ["number", "name", "kind", "queues", "a_clerk_id", "b_clerk_id"],
      edit: (r) => ({number: r.number, name: r.name, kind: r.kind,
                     queues: r.queues.map((q) => ({queue_id: q.id ?? q.queue_id, role: q.role})),
                     a_clerk_id: r.a_clerk_id, b_clerk_id: r.b_clerk_id}),
      blank: {number: 1, name: "", kind: "general", queues: [], a_clerk_id: null, b_clerk_id: null}},
    staff: {title: "人员", list: `/halls/${H}/staff`, one: (id) => `/staff/${id}`,
      cols: [["id", "ID"], ["username", "账号"], ["employee_no", "工号"], ["role", "角色"], ["active", "启用", yes]],
      fields: ["display_name", "employee_no", "role", "active"],
      blank: {username: "", display_name: "", employee_no: "", role: "clerk", password: ""}},
  };

  let current = "settings";

  function showError(box, e) {
    box.textContent = e.message + (e.status ? `（${e.status} ${e.code || ""}）` : "");
    box.hidden = false;
  }

  async function loadTab(name) {
    current = name;
    for (const b of document.querySelectorAll(".tabs button")) b.classList.toggle("active", b.dataset.tab === name);
    for (const s of document.querySelectorAll(".tab")) s.hidden = s.id !== "tab-" + name;
    if (name === "settings") return loadSettings();
    const ent = ENTITIES[name];
    const box = $("tab-" + name);
    const table = box.querySelector("table");
    try {
      const data = await OV.api("GET", "/api/v1" + ent.list);
      const head = OV.el("tr", {}, OV.el("th", {}, "ID"), ent.cols.map(([, label]) => OV.el("th", {}, label)), OV.el("th", {}, ""));
      const rows = data.items.map((r) => OV.el("tr", {"data-id": r.id},
        OV.el("td", {}, r.id),
        ent.cols.map(([k, , f]) => OV.el("td", {}, f ? f(r[k], r) : (r[k] ?? ""))),
        OV.el("td", {}, actions(name, r))));
      table.replaceChildren(OV.el("thead", {}, head), OV.el("tbody", {}, rows));
    } catch (e) { showError(box.querySelector(".error"), e); }
  }

  function actions(name, r) {
    const ent = ENTITIES[name];
    const out = [OV.el("button", {type: "button", class: "secondary small", onclick: () => edit(name, r)}, "编辑")];
    if (name === "staff") {
      out.push(OV.el("button", {type: "button", class: "secondary small", onclick: () => resetPassword(r)}, "重置密码"));
    } else {
      out.push(OV.el("button", {type: "button", class: "danger small", onclick: () => remove(name, r)}, "删除"));
    }
    return out;
  }

  function pick(obj, fields) {
    const o = {};
    for (const f of fields) if (f in obj) o[f] = obj[f];
    return o;
  }

  function edit(name, row) {
    const ent = ENTITIES[name];
    const dlg = $("edit-dlg");
    $("edit-title").textContent = (row ? "编辑" : "新建") + ent.title + (row ? ` #${row.id}` : "");
    const value = row ? (ent.edit ? ent.edit(row) : pick(row, ent.fields)) : ent.blank;
    $("edit-json").value = JSON.stringify(value, null, 2);
    $("edit-error").hidden = true;
    dlg.dataset.entity = name;
    dlg.dataset.id = row ? row.id : "";
    dlg.showModal();
  }

  async function save() {
    const dlg = $("edit-dlg");
    const ent = ENTITIES[dlg.dataset.entity];
    let body;
    try { body = JSON.parse($("edit-json").value); } catch (e) { showError($("edit-error"), new Error("JSON 格式错误：" + e.message)); return; }
    try {
      if (dlg.dataset.id) await OV.api("PATCH", "/api/v1" + ent.one(dlg.dataset.id), body);
      else await OV.api("POST", "/api/v1" + ent.list, body);
      dlg.close();
      OV.toast("已保存");
      loadTab(current);
    } catch (e) { showError($("edit-error"), e); }
  }

  async function remove(name, r) {
    const ent = ENTITIES[name];
    if (!confirm(`删除${ent.title} ${r.code || r.prefix || r.number || r.id}？`)) return;
    try { await OV.api("DELETE", "/api/v1" + ent.one(r.id)); OV.toast("已删除"); loadTab(current); }
    catch (e) { OV.toast(e.message, "error"); }
  }

  async function resetPassword(r) {
    const pw = prompt(`为 ${r.username} 设置新密码（至少 8 位）`);
    if (!pw) return;
    try { await OV.api("POST", `/api/v1/staff/${r.id}/password`, {password: pw}); OV.toast("密码已重置，该账号需重新登录"); }
    catch (e) { OV.toast(e.message, "error"); }
  }

  // ------------------------------------------------------------ hall settings
  const NUMBERS = [["max_recalls", "最多重呼次数"], ["late_requeue_places", "过号重排后移位数"],
                   ["pause_cover_after_s", "暂停多久后B岗顶岗（秒）"], ["wait_alert_s", "等候告警（秒）"],
                   ["default_service_s", "默认办理时长（秒）"]];

  async function loadSettings() {
    const s = await OV.api("GET", `/api/v1/halls/${H}/settings`);
    const f = $("settings-form");
    f.name.value = s.name; f.timezone.value = s.timezone; f.day_boundary.value = s.day_boundary;
    for (const [k] of NUMBERS) f[k].value = s[k];
    for (const [d] of DAYS) f["h_" + d].value = (s.opening_hours[d] || []).map((p) => p.join("-")).join(", ");
  }

  async function saveSettings(ev) {
    ev.preventDefault();
    const f = $("settings-form");
    const hours = {};
    for (const [d] of DAYS) {
      hours[d] = f["h_" + d].value.split(/[,，]/).map((x) => x.trim()).filter(Boolean).map((x) => x.split("-").map((t) => t.trim()));
    }
    const body = {name: f.name.value, timezone: f.timezone.value, day_boundary: f.day_boundary.value, opening_hours: hours};
    for (const [k] of NUMBERS) body[k] = Number(f[k].value);
    $("settings-error").hidden = true;
    try { await OV.api("PATCH", `/api/v1/halls/${H}/settings`, body); OV.toast("大厅设置已保存"); }
    catch (e) { showError($("settings-error"), e); }
  }

  // ------------------------------------------------------------ CSV import
  async function importCsv(ev) {
    ev.preventDefault();
    const file = $("csv-file").files[0];
    const out = $("csv-result");
    out.replaceChildren();
    if (!file) return;
    const dry = $("csv-dry").checked ? "?dry_run=1" : "";
    const r = await fetch(`/api/v1/halls/${H}/items.csv${dry}`, {method: "POST", body: file, credentials: "same-origin",
      headers: {"Content-Type": "text/csv", "X-CSRF-Token": OV.csrf || document.querySelector('meta[name="csrf-token"]').content}});
    const data = await r.json().catch(() => ({}));
    if (r.ok) {
      out.append(OV.el("p", {}, `${data.dry_run ? "校验通过（未导入）" : "已导入"}：${data.rows} 行，新增 ${data.created}，更新 ${data.updated}`));
      if (!data.dry_run) loadTab("items");
    } else {
      const err = data.error || {};
      out.append(OV.el("p", {class: "error"}, err.message || r.statusText),
                 OV.el("ul", {class: "csv-errors"}, (err.rows || []).map((x) => OV.el("li", {}, `第 ${x.row} 行：${x.message}`))));
    }
  }

  async function createHall(ev) {
    ev.preventDefault();
    const f = ev.target;
    try {
      const h = await OV.api("POST", "/api/v1/halls", {code: f.code.value, name: f.hname.value});
      OV.toast(`已创建大厅 ${h.name}（ID ${h.id}）`);
      location.href = `?hall=${h.id}`;
    } catch (e) { OV.toast(e.message, "error"); }
  }

  // ------------------------------------------------------------ wiring
  const hoursBox = $("hours");
  for (const [d, label] of DAYS) {
    hoursBox.append(OV.el("label", {for: "h_" + d}, label),
                    OV.el("input", {type: "text", id: "h_" + d, name: "h_" + d, placeholder: "08:30-12:00, 13:00-17:30"}));
  }
  const numBox = $("numbers");
  for (const [k, label] of NUMBERS) numBox.append(OV.el("div", {}, OV.el("label", {for: k}, label),
                                                        OV.el("input", {type: "number", id: k, name: k, min: 0})));
  for (const b of document.querySelectorAll(".tabs button")) b.addEventListener("click", () => loadTab(b.dataset.tab));
  for (const b of document.querySelectorAll("[data-new]")) b.addEventListener("click", () => edit(b.dataset.new, null));
  $("edit-save").addEventListener("click", save);
  $("edit-cancel").addEventListener("click", () => $("edit-dlg").close());
  $("settings-form").addEventListener("submit", saveSettings);
  $("csv-form").addEventListener("submit", importCsv);
  $("hall-form")?.addEventListener("submit", createHall);
  loadTab("settings");
})();
