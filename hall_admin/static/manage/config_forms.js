/* Configuration page: the forms (one <dialog> per kind of thing) that create, change and delete through the JSON
   API. The server is the judge of what is valid; its {"error": {"code", "message"}} is shown in the form, next to
   the field it names, and the dialog stays open with what the user typed. */
import { api } from "/static/ov/api.js";
import { $, el, toast } from "/static/ov/dom.js";

const CfgForms = (() => {
  const TITLES = {items: "事项", categories: "分类", bundles: "一件事", queues: "队列", windows: "窗口", staff: "人员"};
  const GUIDE = ["legal_basis", "conditions", "fees", "time_limit", "process"];
  // The field a 409 conflict is about: the one that must be unique in the hall.
  // A queue's own service levels (issue 17): empty = the hall's, 0 = not watched.
  const QUEUE_LEVELS = ["sl_max_wait_s", "sl_max_service_s", "sl_max_queue_len"];
  const UNIQUE = {items: "code", categories: "code", bundles: "code", queues: "prefix", windows: "number", staff: "username"};
  let ctx = null;  // {hall, refs, onSaved}, set by config.js

  const endpoints = (H) => ({
    items: {list: `/api/v1/halls/${H}/items`, one: (id) => `/api/v1/items/${id}`},
    categories: {list: `/api/v1/halls/${H}/categories`, one: (id) => `/api/v1/categories/${id}`},
    bundles: {list: `/api/v1/halls/${H}/bundles`, one: (id) => `/api/v1/bundles/${id}`},
    queues: {list: `/api/v1/halls/${H}/queues`, one: (id) => `/api/v1/queues/${id}`},
    windows: {list: `/api/v1/halls/${H}/windows`, one: (id) => `/api/v1/windows/${id}`},
    staff: {list: `/api/v1/halls/${H}/staff`, one: (id) => `/api/v1/staff/${id}`},
  });

  // ------------------------------------------------------------ small helpers
  const intOrNull = (v) => (String(v ?? "").trim() === "" ? null : Number(v));
  const field = (form, name) => form.querySelector(`[data-field="${name}"]`);
  const val = (form, name) => field(form, name).value;
  const setVal = (form, name, v) => { field(form, name).value = v ?? ""; };
  const checked = (form, name) => field(form, name).checked;
  /** "11:45-12:45，15:00-15:15" → [["11:45", "12:45"], ["15:00", "15:15"]] (the server checks the times). */
  const breakPlan = (text) => text.split(/[，,；;、\s]+/).filter(Boolean).map((piece) => {
    const [a, b = ""] = piece.split(/[-–—~～至]/);
    return [a.replace("：", ":"), b.replace("：", ":")];
  });

  /** [value, label] options for a reference list; ``keep`` is kept even if it is no longer offered. */
  function options(ref, keep) {
    const r = ctx.refs;
    if (ref === "categories") return r.categories.map((c) => [c.id, `${c.name}（${c.code}）`]);
    if (ref === "queues") return r.queues.map((q) => [q.id, `${q.prefix} ${q.name}${q.active ? "" : "（停用）"}`]);
    if (ref === "items") return r.items.map((i) => [i.id, `${i.code} ${i.name}${i.active ? "" : "（停用）"}`]);
    if (ref === "staff") {
      return r.staff.filter((s) => s.active || s.id === keep).map((s) =>
        [s.id, `${s.display_name}（${s.employee_no || s.username}）${s.active ? "" : "（已停用）"}`]);
    }
    return [];
  }

  function fillSelect(sel, value) {
    const opts = options(sel.dataset.ref, value);
    const first = sel.dataset.empty !== undefined ? [el("option", {value: ""}, sel.dataset.empty)]
      : [el("option", {value: "", disabled: true}, "请选择…")];
    sel.replaceChildren(...first, ...opts.map(([v, label]) => el("option", {value: v}, label)));
    sel.value = value == null ? "" : String(value);
  }

  function fillChecks(box, ids) {
    const want = new Set((ids || []).map(Number));
    box.replaceChildren(...options(box.dataset.checks).map(([v, label]) => el("label", {class: "inline"},
      el("input", {type: "checkbox", name: box.dataset.name, value: v, checked: want.has(Number(v))}), " ", label)));
  }

  const checkedIds = (form, name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((c) => Number(c.value));

  function addRow(tbody, tplId) {
    const row = $(tplId).content.firstElementChild.cloneNode(true);
    tbody.append(row);
    numberRows(tbody);
    return row;
  }

  function numberRows(tbody) {
    [...tbody.children].forEach((tr, i) => { const pos = tr.querySelector(".pos"); if (pos) pos.textContent = i + 1; });
  }

  // ------------------------------------------------------------ errors next to the form
  function clearErrors(form) {
    const box = form.querySelector(".form-error, .error");
    if (box) { box.hidden = true; box.textContent = ""; }
    for (const e of form.querySelectorAll(".field-error")) e.remove();
    for (const e of form.querySelectorAll("[aria-invalid]")) e.removeAttribute("aria-invalid");
  }

  /** The control a server message "loc: problem" is about, e.g. "materials.0.name" or "guide.fees". */
  function controlFor(form, loc) {
    const parts = loc.split(".");
    if (parts[0] === "materials" && /^\d+$/.test(parts[1] || "")) {
      const row = form.querySelectorAll(".material-row")[Number(parts[1])];
      if (row) return row.querySelector(`[name="m_${parts[2] || "name"}"]`) || row;
    }
    if (parts[0] === "opening_hours") return field(form, "opening_hours");
    return field(form, loc) || field(form, parts[0]);
  }

  function markField(control, text) {
    control.setAttribute("aria-invalid", "true");
    const holder = control.closest(".field, fieldset, td, table") || control;
    // Two refusals about one field (a time range's start and end) are one note, not the same words twice.
    if ([...holder.querySelectorAll(".field-error")].some((n) => n.textContent === text)) return;
    holder.append(el("small", {class: "field-error"}, text));
  }

  // The server refuses in English, for integrators; a manager reads these sentences instead (the code and the
  // English stay in the browser's console for a technician). First match wins; "$1" is the matched value.
  const REFUSALS = [
    [/window number (\S+) is taken/, "窗口号 $1 已被占用"], [/username '?([^' ]+)'? is taken/, "用户名 $1 已被占用"],
    [/code (\S+) is taken/, "编码 $1 已被占用"], [/prefix (\S+) is already used/, "队列前缀 $1 已被占用"],
    [/two different people/, "A岗和B岗须为两位不同的人员"],
    [/has issued tickets; its prefix cannot change/, "该队列已发过号，前缀不能修改（请新建队列）"],
    [/signed in at window (\d+)/, "有人员在 $1 号窗口签到，请先签退"],
    [/password must have/, "密码须为 8 至 200 个字符"], [/needs promised_days/, "承诺件须填写承诺办结天数"],
    [/has no promised_days/, "即办件不填承诺办结天数"], [/listed twice/, "有重复的行"],
    [/unknown timezone/, "时区无效"], [/a break ends after it starts/, "休息时段的结束须晚于开始"],
  ];
  const WEEKDAY = {mon: "周一", tue: "周二", wed: "周三", thu: "周四", fri: "周五", sat: "周六", sun: "周日"};
  // pydantic's sentence about one field, as the field's note.
  const FIELD_SAYS = [
    [/(mon|tue|wed|thu|fri|sat|sun): interval (\S+) is not a valid time range/, "$1 $2 不是有效的时段（结束须晚于开始）"],
    [/Field required|at least 1 character|must not be empty/, "必填"],
    [/at least (\d+) characters?/, "至少 $1 个字"], [/at most (\d+) characters?/, "至多 $1 个字"],
    [/greater than or equal to ([\d.]+)/, "不能小于 $1"], [/less than or equal to ([\d.]+)/, "不能大于 $1"],
    [/greater than ([\d.]+)/, "须大于 $1"], [/less than ([\d.]+)/, "须小于 $1"],
    [/valid integer|valid number/, "请填写数字"], [/match pattern|valid time|times are HH:MM/, "格式不对"],
  ];
  const chinese = (s) => /[\u4e00-\u9fff]/.test(s || "");
  // "queue Z is used by 3 ticket(s), 1 bundle(s); deactivate it instead": what still uses it, counted in Chinese.
  const USED_BY = {"service item(s)": "个事项", "ticket(s)": "张号票", tickets: "张号票", "bundle(s)": "个一件事",
                   "complaint(s)": "件投诉", complaints: "件投诉", "window(s)": "个窗口", "post records": "条在岗记录",
                   alerts: "条告警", "covered windows": "个被顶岗窗口", "device tokens": "个设备令牌"};
  function usedBy(english) {
    const m = / is used by ([^;]+);\s*(.*)$/.exec(english);
    if (!m) return null;
    const parts = m[1].split(", ").map((p) => /^(\d+) (.+)$/.exec(p)).filter(Boolean)
      .map(([, n, kind]) => `${n} ${USED_BY[kind] || "条记录"}`);
    const instead = /deactivate/.test(m[2]) ? "，可改为停用" : /close it/.test(m[2]) ? "，可改为关闭" : "";
    return `仍被 ${parts.join("、")} 使用，不能删除${instead}`;
  }
  function say(table, english, otherwise) {
    const used = usedBy(english);
    if (used) return used;
    for (const [re, zh] of table) {
      const m = re.exec(english);
      if (m) return zh.replace(/\$(\d)/g, (_, n) => WEEKDAY[m[n]] || m[n] || "");
    }
    return otherwise;
  }

  function showError(form, e, entity) {
    clearErrors(form);
    const box = form.querySelector(".form-error, .error");
    const raw = String(e.raw || "");
    if (e.status) console.info("refused", e.status, e.code, raw);  // for a technician
    box.textContent = chinese(raw) ? e.message : say(REFUSALS, raw, e.message);
    box.hidden = false;
    let marked = 0;
    for (const part of raw.split("; ")) {
      const m = /^([A-Za-z_][\w.]*): (.+)$/.exec(part);
      const el = m && controlFor(form, m[1]);
      // A required field left empty fails the server's pattern too: the manager is told it is required.
      const empty = el && el.required && !String(el.value ?? "").trim();
      if (el) { markField(el, chinese(m[2]) ? m[2] : empty ? "必填" : say(FIELD_SAYS, m[2], "此项填写有误")); marked++; }
    }
    if (!marked && e.code === "conflict" && entity && field(form, UNIQUE[entity])) {
      markField(field(form, UNIQUE[entity]), "已被占用");
    }
  }

  // ------------------------------------------------------------ filling a form from a row, reading it back
  const FILL = {
    items(form, r) {
      r = r || {code: "", name: "", category_id: ctx.refs.categories[0]?.id, kind: "immediate", promised_days: null,
                on_the_spot: false, appointment_only_slots: false, typical_service_s: 300, guide: {}, queue_ids: [],
                active: true, materials: [{name: "居民身份证", form: "original", count: 1, required: true, deferrable: false}]};
      setVal(form, "code", r.code); setVal(form, "name", r.name); setVal(form, "name_en", r.name_en); setVal(form, "kind", r.kind);
      setVal(form, "promised_days", r.promised_days);
      setVal(form, "typical_service_s", r.typical_service_s / 60);
      field(form, "on_the_spot").checked = r.on_the_spot;
      field(form, "appointment_only_slots").checked = r.appointment_only_slots;
      field(form, "active").checked = r.active;
      fillSelect(field(form, "category_id"), r.category_id);
      fillChecks(form.querySelector("[data-checks=queues]"), r.queue_ids);
      for (const k of GUIDE) setVal(form, "guide." + k, (r.guide || {})[k]);
      const tbody = $("materials-rows");
      tbody.replaceChildren();
      for (const m of r.materials) {
        const row = addRow(tbody, "tpl-material");
        row.querySelector("[name=m_name]").value = m.name;
        row.querySelector("[name=m_form]").value = m.form;
        row.querySelector("[name=m_count]").value = m.count;
        row.querySelector("[name=m_required]").checked = m.required;
        row.querySelector("[name=m_deferrable]").checked = m.deferrable;
      }
    },
    categories(form, r) {
      r = r || {code: "", name: "", sort: ctx.refs.categories.length};
      setVal(form, "code", r.code); setVal(form, "name", r.name); setVal(form, "sort", r.sort);
    },
    bundles(form, r) {
      r = r || {code: "", name: "", description: "", queue_id: null, item_ids: [], active: true};
      setVal(form, "code", r.code); setVal(form, "name", r.name); setVal(form, "name_en", r.name_en);
      setVal(form, "description", r.description);
      field(form, "active").checked = r.active;
      fillSelect(field(form, "queue_id"), r.queue_id);
      const tbody = $("bundle-item-rows");
      tbody.replaceChildren();
      for (const id of (r.item_ids.length ? r.item_ids : [null])) fillSelect(addRow(tbody, "tpl-bundle-item").querySelector("select"), id);
    },
    queues(form, r) {
      r = r || {prefix: "", name: "", daily_cap: null, item_ids: [], active: true};
      setVal(form, "prefix", r.prefix); setVal(form, "name", r.name); setVal(form, "daily_cap", r.daily_cap);
      for (const k of QUEUE_LEVELS) setVal(form, k, r[k] ?? null);
      field(form, "active").checked = r.active;
      fillChecks(form.querySelector("[data-checks=items]"), r.item_ids);
    },
    windows(form, r) {
      // The next free number only once the windows are known: left empty otherwise (1 may well be taken).
      const next = ctx.known() ? Math.max(0, ...ctx.refs.windows.map((w) => w.number)) + 1 : "";
      r = r || {number: next, name: next ? `综合窗口${next}` : "", kind: "general", queues: [], a_clerk_id: null,
                b_clerk_id: null};
      setVal(form, "number", r.number); setVal(form, "name", r.name); setVal(form, "kind", r.kind);
      setVal(form, "area", r.area);
      fillSelect(field(form, "a_clerk_id"), r.a_clerk_id);
      fillSelect(field(form, "b_clerk_id"), r.b_clerk_id);
      setVal(form, "break_plan", (r.break_plan || []).map(([a, b]) => `${a}-${b}`).join("，"));
      // Served queues first, in their calling order, then the others (unticked).
      const served = new Map(r.queues.map((q) => [q.id ?? q.queue_id, q.role]));
      const order = [...r.queues.map((q) => q.id ?? q.queue_id),
                     ...ctx.refs.queues.map((q) => q.id).filter((id) => !served.has(id))];
      const byId = new Map(ctx.refs.queues.map((q) => [q.id, q]));
      $("window-queue-rows").replaceChildren(...order.filter((id) => byId.has(id)).map((id) => {
        const q = byId.get(id);
        const role = el("select", {name: "wq_role", "aria-label": `${q.prefix}队列角色`},
          el("option", {value: "primary"}, "主办"), el("option", {value: "helper"}, "协办"));
        role.value = served.get(id) || "primary";
        return el("tr", {class: "window-queue-row", "data-queue": id},
          el("td", {}, el("input", {type: "checkbox", name: "wq_on", value: id, checked: served.has(id),
                                          "aria-label": `服务${q.prefix}队列`})),
          el("td", {}, `${q.prefix} ${q.name}${q.active ? "" : "（停用）"}`), el("td", {}, role),
          el("td", {}, el("button", {type: "button", class: "secondary small", "data-row": "up", "aria-label": "上移"}, "↑"),
                el("button", {type: "button", class: "secondary small", "data-row": "down", "aria-label": "下移"}, "↓")));
      }));
    },
    staff(form, r) {
      r = r || {username: "", display_name: "", employee_no: "", role: "clerk", active: true};
      setVal(form, "username", r.username); setVal(form, "display_name", r.display_name);
      setVal(form, "employee_no", r.employee_no); setVal(form, "role", r.role); setVal(form, "password", "");
      field(form, "username").readOnly = Boolean(r.id);
      field(form, "active").checked = r.active;
      $("new-password").value = "";
      clearErrors($("password-form"));
    },
  };

  const READ = {
    items(form) {
      const body = {code: val(form, "code"), name: val(form, "name"), name_en: val(form, "name_en").trim() || null,
                    category_id: intOrNull(val(form, "category_id")),
                    kind: val(form, "kind"), on_the_spot: checked(form, "on_the_spot"),
                    appointment_only_slots: checked(form, "appointment_only_slots"), active: checked(form, "active"),
                    queue_ids: checkedIds(form, "queue_ids"), guide: {}};
      body.promised_days = body.kind === "promised" ? intOrNull(val(form, "promised_days")) : null;
      const minutes = val(form, "typical_service_s");
      if (minutes !== "") body.typical_service_s = Math.round(Number(minutes) * 60);
      for (const k of GUIDE) { const v = val(form, "guide." + k).trim(); if (v) body.guide[k] = v; }
      body.materials = [...form.querySelectorAll(".material-row")].map((row) => ({
        name: row.querySelector("[name=m_name]").value, form: row.querySelector("[name=m_form]").value,
        count: intOrNull(row.querySelector("[name=m_count]").value),
        required: row.querySelector("[name=m_required]").checked,
        deferrable: row.querySelector("[name=m_deferrable]").checked}));
      return body;
    },
    categories: (form) => ({code: val(form, "code"), name: val(form, "name"), sort: intOrNull(val(form, "sort")) ?? 0}),
    bundles: (form) => ({code: val(form, "code"), name: val(form, "name"), name_en: val(form, "name_en").trim() || null,
                         description: val(form, "description"),
                         queue_id: intOrNull(val(form, "queue_id")), active: checked(form, "active"),
                         item_ids: [...form.querySelectorAll("[name=b_item]")].map((s) => intOrNull(s.value))
                           .filter((v) => v !== null)}),
    queues: (form) => ({prefix: val(form, "prefix"), name: val(form, "name"), daily_cap: intOrNull(val(form, "daily_cap")),
                        item_ids: checkedIds(form, "item_ids"), active: checked(form, "active"),
                        ...Object.fromEntries(QUEUE_LEVELS.map((k) => [k, intOrNull(val(form, k))]))}),
    windows: (form) => ({number: intOrNull(val(form, "number")), name: val(form, "name"), kind: val(form, "kind"),
                         area: val(form, "area"),
                         a_clerk_id: intOrNull(val(form, "a_clerk_id")), b_clerk_id: intOrNull(val(form, "b_clerk_id")),
                         break_plan: breakPlan(val(form, "break_plan")),
                         queues: [...form.querySelectorAll(".window-queue-row")]
                           .filter((tr) => tr.querySelector("[name=wq_on]").checked)
                           .map((tr) => ({queue_id: Number(tr.dataset.queue), role: tr.querySelector("[name=wq_role]").value}))}),
    staff(form) {
      const body = {display_name: val(form, "display_name"), employee_no: val(form, "employee_no"), role: val(form, "role")};
      if (form.dataset.id) body.active = checked(form, "active");
      else Object.assign(body, {username: val(form, "username"), password: val(form, "password")});
      return body;
    },
  };

  const labelOf = (entity, r) => r.code || r.prefix || (r.number ? `${r.number}号` : "") || r.username || `#${r.id}`;

  // ------------------------------------------------------------ open / save / delete
  function showKind(form) {
    const box = form.querySelector("[data-show-when]");
    if (!box) return;
    const [name, want] = box.dataset.showWhen.split("=");
    box.hidden = val(form, name) !== want;
  }

  function open(entity, row) {
    const form = $("form-" + entity);
    form.reset();
    clearErrors(form);
    form.dataset.id = row ? row.id : "";
    form.querySelector(".dlg-title").textContent = (row ? "编辑" : "新建") + TITLES[entity] + (row ? ` ${labelOf(entity, row)}` : "");
    for (const el of $("dlg-" + entity).querySelectorAll("[data-only]")) el.hidden = el.dataset.only !== (row ? "edit" : "create");
    FILL[entity](form, row);
    showKind(form);
    $("dlg-" + entity).showModal();
    form.querySelector("input:not([type=hidden]):not([readonly]), select")?.focus();
  }

  async function save(entity, form) {
    const ep = endpoints(ctx.hall)[entity];
    const body = READ[entity](form);
    const button = form.querySelector("button.save");
    button.disabled = true;
    try {
      if (form.dataset.id) await api("PATCH", ep.one(form.dataset.id), body);
      else await api("POST", ep.list, body);
      $("dlg-" + entity).close();
      toast(`${TITLES[entity]}已保存`);
      ctx.onSaved(entity);
    } catch (e) {
      showError(form, e, entity);
    } finally {
      button.disabled = false;
    }
  }

  /** Delete after confirmation; the server refuses what is still in use (409 in_use) and says what uses it. */
  async function remove(entity, row, form) {
    if (!confirm(`确定删除${TITLES[entity]} ${labelOf(entity, row)}？删除后不能恢复。仍在使用的不能删除，可改为停用。`)) return;
    try {
      await api("DELETE", endpoints(ctx.hall)[entity].one(row.id));
      if (form) $("dlg-" + entity).close();
      toast(`${TITLES[entity]}已删除`);
      ctx.onSaved(entity);
    } catch (e) {
      if (form) showError(form, e, entity);
      else toast(chinese(e.raw) ? e.message : say(REFUSALS, String(e.raw || ""), e.message), "error");
    }
  }

  /** Move a repeated row up or down, or remove it (materials, bundle items, served queues, opening periods). */
  function rowButton(ev) {
    const b = ev.target.closest("[data-row]");
    if (!b) return;
    const act = b.dataset.row;
    if (act === "remove-period") { b.closest(".period").remove(); return; }
    const tr = b.closest("tr");
    const tbody = tr.parentElement;
    if (act === "up" && tr.previousElementSibling) tbody.insertBefore(tr, tr.previousElementSibling);
    else if (act === "down" && tr.nextElementSibling) tbody.insertBefore(tr.nextElementSibling, tr);
    else if (act === "remove") tr.remove();
    numberRows(tbody);
  }

  function init(context) {
    ctx = context;
    for (const entity of Object.keys(TITLES)) {
      const form = $("form-" + entity);
      form.addEventListener("submit", (ev) => { ev.preventDefault(); save(entity, form); });
      form.addEventListener("click", rowButton);
      form.addEventListener("change", () => showKind(form));
      form.querySelector("[data-close]").addEventListener("click", () => $("dlg-" + entity).close());
      form.querySelector("button.delete")?.addEventListener("click", () => {
        const row = ctx.refs[entity].find((r) => String(r.id) === form.dataset.id);
        if (row) remove(entity, row, form);
      });
    }
    document.querySelector("[data-add-row=material]").addEventListener("click", () => {
      addRow($("materials-rows"), "tpl-material").querySelector("input").focus();
    });
    document.querySelector("[data-add-row=bundle-item]").addEventListener("click", () => {
      const sel = addRow($("bundle-item-rows"), "tpl-bundle-item").querySelector("select");
      fillSelect(sel, null);
      sel.focus();
    });
    $("password-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const form = ev.target;
      const id = $("form-staff").dataset.id;
      clearErrors(form);
      try {
        await api("POST", `/api/v1/staff/${id}/password`, {password: $("new-password").value});
        $("new-password").value = "";
        toast("密码已重置，该账号需重新登录");
      } catch (e) { showError(form, e); }
    });
  }

  return {init, open, remove, showError, clearErrors, TITLES};
})();
export { CfgForms };
