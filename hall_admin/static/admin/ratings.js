/* 好差评 summary, 差评整改 cases (assign → fix → feedback → close) and rating-pad links. */
"use strict";
(() => {
  const page = JSON.parse(document.getElementById("page-data").textContent);
  const {api, el, toast} = OV;
  const $ = (id) => document.getElementById(id);
  const STATUS = {open: "待指定", assigned: "整改中", fixed: "已整改", closed: "已办结", excluded: "申诉成立，不计入"};
  const windows = Object.fromEntries(page.windows.map((w) => [w.id, w]));
  let cases = [], current = null;

  async function load() {
    const r = await api("GET", `/api/v1/halls/${page.hall_id}/ratings`);
    const s = r.by_score;
    $("summary").textContent = r.total ? `共${r.total}条：非常满意${s["5"]}、满意${s["4"]}、基本满意${s["3"]}、不满意${s["2"]}、非常不满意${s["1"]}；好评率${(r.good_rate * 100).toFixed(1)}%`
      : "暂无评价";
    const c = await api("GET", `/api/v1/halls/${page.hall_id}/rectifications${$("show-closed").checked ? "" : "?status=pending"}`);
    cases = c.items;
    $("cases").querySelector("tbody").replaceChildren(...cases.map((k) => el("tr", {"data-case": k.id},
      el("td", {}, `#${k.id}`), el("td", {}, `${k.ticket_number || ""} / ${k.window_number}号`),
      el("td", {}, `${k.rating.label}：${k.rating.reason_labels.join("、")}${k.rating.comment ? "；" + k.rating.comment : ""}`),
      el("td", {}, k.responsible_name || "—"),
      el("td", {class: k.overdue ? "overdue" : ""}, k.deadline.slice(0, 10) + (k.overdue ? "（已超期）" : "")),
      el("td", {"data-status": k.status}, STATUS[k.status]),
      el("td", {}, el("button", {class: "secondary", onclick: () => openCase(k)}, "处理")))));
  }

  function openCase(k) {
    current = k;
    $("d-title").textContent = `整改 #${k.id}（${STATUS[k.status]}）`;
    $("d-rating").textContent = `${k.rating.label}：${k.rating.reason_labels.join("、")} ${k.rating.comment || ""}`;
    if (k.responsible_clerk_id) $("d-clerk").value = k.responsible_clerk_id;
    $("d-deadline").value = k.deadline.slice(0, 10);
    $("d-plan").value = k.fix_plan; $("d-fix-text").value = k.fix; $("d-feedback-text").value = k.feedback;
    $("d-assign").hidden = !["open", "assigned"].includes(k.status);
    $("d-fix").hidden = !["assigned", "fixed"].includes(k.status);
    $("d-feedback").hidden = k.status === "closed";
    $("d-close-btn").hidden = k.status !== "fixed";
    $("d-error").hidden = true;
    if (!$("case-dlg").open) $("case-dlg").showModal();
  }
  async function step(path, body) {
    try {
      const k = await api("POST", `/api/v1/rectifications/${current.id}/${path}`, body);
      await load();
      const fresh = cases.find((x) => x.id === k.id);
      if (fresh) openCase(fresh); else $("case-dlg").close();
      toast("已保存");
    } catch (e) { $("d-error").textContent = e.message; $("d-error").hidden = false; }
  }
  $("d-assign-btn").addEventListener("click", () => step("assign", {responsible_clerk_id: Number($("d-clerk").value),
    deadline: $("d-deadline").value || null, fix_plan: $("d-plan").value}));
  $("d-fix-btn").addEventListener("click", () => step("fix", {fix: $("d-fix-text").value}));
  $("d-feedback-btn").addEventListener("click", () => step("feedback", {feedback: $("d-feedback-text").value}));
  $("d-close-btn").addEventListener("click", () => step("close"));
  document.querySelectorAll("dialog [data-close]").forEach((b) => b.addEventListener("click", () => b.closest("dialog").close()));
  $("show-closed").addEventListener("change", load);
  document.querySelectorAll("[data-pad]").forEach((b) => b.addEventListener("click", async () => {
    const w = windows[b.dataset.pad];
    if (!confirm(`为${w.number}号窗口生成新的评价器链接？旧链接将失效。`)) return;
    try {
      const r = await api("POST", `/api/v1/windows/${w.id}/pad-token`, {});
      $(`pad-url-${w.id}`).replaceChildren(el("a", {href: r.url, target: "_blank"}, r.url));
    } catch (e) { toast(e.message, "error"); }
  }));
  load().catch((e) => toast(e.message, "error"));
})();
