/* Configuration page, tab 设备: register a hall's kiosks, screens and rating pads, list them, change a token,
   take a device out of service. A token is shown once, in a dialog, right after registering or changing it;
   the list never has it (the server keeps only its hash). */
import { api } from "/static/ov/api.js";
import { $, el, pageData, toast } from "/static/ov/dom.js";
import { hallDateTime } from "/static/ov/time.js";

const CfgDevices = (() => {
  const page = pageData();
  const H = page.hall_id;
  const ROLE_NAMES = {kiosk: "自助取号机", hall_screen: "大厅综合屏", window_screen: "窗口屏", pad: "评价器"};
  const WINDOWED = new Set(["window_screen", "pad"]);
  // What a manager reads when the server refuses (its own messages are for developers).
  const ERRORS = {validation_error: "请填写设备名称（不超过 100 个字），窗口屏和评价器还要选择所属窗口。",
                  not_found: "找不到该窗口或设备，请刷新页面后重试。", device_revoked: "该设备已停用，请重新登记。",
                  forbidden: "只有大厅管理人员可以管理设备。", bad_token: "登录已失效，请重新登录。",
                  csrf_failed: "页面已过期，请刷新后重试。"};
  const say = (e) => ERRORS[e.code] || "操作未成功，请稍后重试。";
  let windows = [];

  // The server keeps UTC without a zone suffix; shown in the hall's time, as every page (not this PC's zone).
  const fmt = (iso) => (iso ? hallDateTime(/[Zz]|[+-]\d\d:\d\d$/.test(iso) ? iso : iso + "Z", page.timezone) : "");

  function pageOf(d) {
    if (d.role === "hall_screen") return `${page.public_url}/display/hall/${H}`;
    if (d.role === "window_screen") return `${page.public_url}/display/window/${d.window_id}`;
    if (d.role === "pad") return `${page.public_url}/admin/pad/${d.window_id}`;
    return "";
  }

  function showToken(device, token, title) {
    $("device-token-title").textContent = `${title}：${device.name}`;
    $("device-token").value = token;
    const url = pageOf(device);
    $("device-page-field").hidden = !url;
    $("device-page").value = url ? `${url}?token=${token}` : "";
    $("device-token-hint").textContent = device.role === "kiosk"
      ? "在取号机电脑上运行取号程序时填入此令牌。" : "在该设备的浏览器中打开上面的网址（已含令牌）。";
    $("dlg-device-token").showModal();
  }

  function forget() {  // the token leaves the page when the dialog closes
    $("device-token").value = "";
    $("device-page").value = "";
  }

  function fillWindows() {
    $("device-window").replaceChildren(...windows.map((w) => el("option", {value: w.id}, `${w.number}号窗口 ${w.name}`)));
    $("device-window-field").hidden = !WINDOWED.has($("device-role").value);
  }

  async function load() {
    const box = $("tab-devices");
    box.dataset.loaded = "0";
    const err = box.querySelector(".list-error");
    err.hidden = true;
    let devices;
    try {
      [devices, windows] = await Promise.all([api("GET", `/api/v1/halls/${H}/devices`),
                                             api("GET", `/api/v1/halls/${H}/windows`)]);
    } catch (e) { err.textContent = say(e); err.hidden = false; return; }
    devices = devices.items;
    windows = windows.items;
    fillWindows();
    const head = el("tr", {}, ["名称", "类型", "窗口", "登记时间", "状态", ""].map((t) => el("th", {}, t)));
    const rows = devices.map((d) => el("tr", {"data-id": d.id, class: d.active ? "" : "inactive"},
      el("td", {}, d.name), el("td", {}, ROLE_NAMES[d.role] || ""),
      el("td", {}, d.window_number ? `${d.window_number}号窗口` : "—"), el("td", {}, fmt(d.created_at)),
      el("td", {}, d.active ? "在用" : `已停用（${fmt(d.revoked_at)}）`),
      el("td", {class: "row-actions"}, d.active ? [
        el("button", {type: "button", class: "secondary small rotate", onclick: () => rotate(d)}, "更换令牌"),
        el("button", {type: "button", class: "danger small revoke", onclick: () => revoke(d)}, "停用")] : [])));
    const empty = devices.length ? [] : [el("tr", {}, el("td", {colspan: 6, class: "muted"}, "尚未登记任何设备"))];
    $("device-table").replaceChildren(el("thead", {}, head), el("tbody", {}, rows, empty));
    box.dataset.loaded = "1";
  }

  async function register(ev) {
    ev.preventDefault();
    const f = ev.target;
    const body = {role: f.role.value, name: f.name.value.trim()};
    if (WINDOWED.has(body.role)) body.window_id = Number(f.window_id.value) || undefined;
    $("device-error").hidden = true;
    try {
      const out = await api("POST", `/api/v1/halls/${H}/devices`, body);
      f.name.value = "";
      showToken(out.device, out.token, "已登记");
      await load();
    } catch (e) { $("device-error").textContent = say(e); $("device-error").hidden = false; }
  }

  async function rotate(d) {
    if (!confirm(`更换“${d.name}”的令牌？旧令牌立即失效，设备需填入新令牌。`)) return;
    try {
      const out = await api("POST", `/api/v1/devices/${d.id}/rotate`);
      showToken(out.device, out.token, "新令牌");
      await load();
    } catch (e) { toast(say(e), "error"); }
  }

  async function revoke(d) {
    if (!confirm(`停用“${d.name}”？该设备立即无法使用。`)) return;
    try {
      await api("POST", `/api/v1/devices/${d.id}/revoke`);
      toast(`已停用 ${d.name}`);
      await load();
    } catch (e) { toast(say(e), "error"); }
  }

  $("device-form").addEventListener("submit", register);
  $("device-role").addEventListener("change", fillWindows);
  $("device-copy").addEventListener("click", () => {
    $("device-token").select();
    (navigator.clipboard ? navigator.clipboard.writeText($("device-token").value) : Promise.reject())
      .then(() => toast("已复制令牌"), () => document.execCommand && document.execCommand("copy"));
  });
  $("dlg-device-token").addEventListener("close", forget);
  return {load};
})();
export { CfgDevices };
