/* Kiosk touch pages. Talks only to the local kiosk agent (/kiosk/agent/…); never holds a token,
   never sees a full name or ID number (the agent sends them masked). */
import { api as callApi } from "/static/ov/api.js";
import { $, esc } from "/static/ov/dom.js";
import { hallClock } from "/static/ov/time.js";
import { bilingual, createI18n } from "/static/ov/i18n.js";
import { whereText } from "./places.js";
import { withVisitorText } from "./visitor_text.js";

var AGENT = "/kiosk/agent";
var KEY_META = document.querySelector('meta[name="kiosk-key"]');
var KEY = KEY_META ? KEY_META.getAttribute("content") : "";

var TEXT = withVisitorText(bilingual({
  pickup_n: ["您有 {n} 件办理结果可领取", "{n} result(s) ready for you to collect"],
  pickup_take: ["取号领取办理结果", "Take a ticket to collect"],
  pickup: ["领取办理结果", "Collect a result"],
  pickup_sub: ["扫受理通知书上的二维码，或输入受理号", "Scan the receipt's QR code or enter the acceptance number"],
  pickup_title: ["领取办理结果", "Collect a result"],
  pickup_hint: ["请把受理通知书上的二维码对准扫码口，或在下方输入受理号。", "Hold the QR code of your receipt to the scanner, or enter the acceptance number below."],
  pickup_ph: ["受理号，如 DEMO2026000001", "Acceptance number, e.g. DEMO2026000001"],
  pickup_find: ["查询", "Look up"],
  pickup_none: ["没有查到可领取的办理结果。请核对受理号，或到导办台咨询。", "No result is waiting under this number. Check the number or ask at the help desk."],
  pickup_taken: ["这些办理结果已经取过号，请留意叫号，到出件窗口领取。", "A ticket was already taken for these results: please watch for your number at the handover window."],
  supply: ["补交材料", "Hand in missing materials"],
  supply_sub: ["容缺受理后补交，放在高拍仪下扫描", "Accepted with materials to follow: scan them here"],
  supply_title: ["补交材料（容缺受理）", "Hand in missing materials"],
  supply_hint: ["请刷身份证，或把受理通知书上的二维码对准扫码口；也可以输入受理号后刷身份证。", "Place your ID card on the reader, or hold the receipt's QR code to the scanner; or type the acceptance number, then place your ID card."],
  supply_card: ["请刷身份证核对身份（受理号已输入）", "Please place your ID card on the reader (number entered)"],
  supply_none: ["没有查到需要补交的材料。请核对受理号，或到导办台咨询。", "Nothing is waiting to be handed in. Check the number or ask at the help desk."],
  supply_n: ["您有 {n} 份容缺材料待补交", "{n} material(s) still to hand in"],
  supply_go: ["扫描补交材料", "Scan missing materials"],
  supply_scan: ["扫描补交", "Scan"],
  supply_due: ["请于 {d} 前补交", "Due by {d}"],
  supply_late: ["已超过补交期限（{d}），请尽快补交", "Past its deadline ({d}): please hand it in now"],
  supply_no: ["受理号 {n}", "Acceptance no. {n}"],
  supply_scan_title: ["扫描补交：{m}", "Scan: {m}"],
  supply_submit: ["提交补交材料", "Hand in these pages"],
  supply_need_pages: ["请先扫描这份材料，再提交", "Scan the material first, then hand it in"],
  supply_ok: ["“{m}”已补交（{p} 页），窗口会尽快审核。", "“{m}” handed in ({p} page(s)). The window will check it soon."],
  supply_all: ["您的容缺材料已全部补交，请留意办理进度。", "Everything owed is handed in. Follow your case's progress."],
  supply_pages: ["已扫描 {n} 页", "{n} page(s) scanned"],
  elder: ["适老模式", "Senior mode"],
  welcome: ["欢迎办事，请选择", "Welcome. What would you like to do?"],
  take: ["取号", "Take a ticket"],
  take_sub: ["选择办理事项", "Choose a service"],
  swipe: ["刷身份证 / 预约签到", "Swipe ID card / Check in"],
  swipe_sub: ["请将身份证放在感应区", "Place your ID card on the reader"],
  bundles: ["一件事", "Life events"],
  bundles_sub: ["多个事项一次办", "Several services at once"],
  green: ["绿色通道", "Green channel"],
  green_sub: ["老年人·残疾人·孕妇·军人", "Elderly · Disabled · Pregnant · Military"],
  guides: ["办事指南", "Service guides"],
  guides_sub: ["扫码在手机上阅读", "Scan to read on your phone"],
  code: ["输入预约码", "Enter booking code"],
  code_sub: ["没带身份证也能签到", "Check in without an ID card"],
  walkin_hint: ["不需要预约也可以直接取号办理。", "No appointment needed: you can take a ticket right away."],
  back: ["返回", "Back"],
  choose_item: ["请选择办理事项", "Choose a service"],
  choose_guide: ["请选择要查看指南的事项", "Choose a service to read its guide"],
  clear: ["清除", "Clear"],
  search_ph: ["拼音首字母搜索，如 shbzk（社会保障卡）", "Search by pinyin initials, e.g. shbzk"],
  bundles_title: ["一件事 · 多个事项一次办", "Life events · several services at once"],
  notice_title: ["一次性告知：请备齐以下材料", "Please bring all of these materials"],
  no_materials: ["本事项无需提交材料。", "No materials are needed."],
  add_phone: ["留手机号，快到号时短信提醒", "Leave a phone number for an SMS when your turn is near"],
  confirm_take: ["我已知晓，确认取号", "Understood, take a ticket"],
  scan_first: ["先扫描材料（可选）", "Scan materials first (optional)"],
  guide_qr: ["查看办事指南", "Service guide"],
  phone_title: ["请输入手机号码", "Enter your mobile number"],
  ok: ["确定", "OK"],
  no_phone: ["不留号码", "No number"],
  scan_title: ["扫描材料（预先提交给窗口）", "Scan materials (sent ahead to the window)"],
  scan_lay: ["请把材料平放在高拍仪下，放好后手离开", "Lay the page flat under the camera and take your hand away"],
  scan_keep: ["清晰，保留这页", "Clear, keep this page"],
  scan_retake: ["重拍", "Retake"],
  scan_done: ["扫描完成", "Done scanning"],
  card_title: ["身份信息", "Your identity"],
  card_place: ["请将身份证放在下方感应区", "Place your ID card on the reader below"],
  walkin: ["不预约，直接取号", "No booking, take a ticket"],
  manual: ["不刷卡，直接取号", "Take a ticket without the card"],
  code_title: ["请输入预约码", "Enter your booking code"],
  checkin: ["签到", "Check in"],
  green_title: ["绿色通道：优先办理", "Green channel: priority service"],
  green_hint: ["窗口工作人员会核实，请如实选择。", "Staff will check; please choose truthfully."],
  g_elderly: ["老年人（60岁以上）", "Elderly (60+)"],
  g_disabled: ["残疾人", "Disabled"],
  g_pregnant: ["孕妇", "Pregnant"],
  g_military: ["现役军人 / 退役军人", "Military / veteran"],
  guide_phone: ["手机扫码阅读办事指南", "Scan to read the guide on your phone"],
  take_this: ["办理此事项", "Take a ticket for this"],
  follow_qr: ["手机扫码查看排队进度", "Scan to follow your turn"],
  done: ["完成", "Done"],
  book_qr: ["手机扫码预约其他时间", "Scan to book another time"],
  book: ["预约办理", "Book an appointment"],
  home: ["返回首页", "Home"],
  paused: ["暂停取号，请稍候", "Ticketing paused, please wait"],
  paused_text: ["正在重新连接排队系统，连上后会自动为您取号，不会重复出号。", "Reconnecting to the queue system; your ticket will be issued once, automatically."],
  cancel: ["取消", "Cancel"],
  sim: ["演示设备：", "Demo devices:"],
  sim_swipe: ["模拟刷身份证", "Simulate ID swipe"],
  sim_remove: ["移走身份证", "Remove card"],
  sim_bad: ["读卡失败", "Bad read"],
  sim_paper: ["打印机缺纸", "Printer out of paper"],
  sim_paper_ok: ["装好纸", "Paper loaded"],
  waiting: ["等候 {n} 人", "{n} waiting"],
  ahead: ["前面还有 {n} 人，预计等待约 {m} 分钟", "{n} ahead of you, about {m} min"],
  ahead_range: ["前面还有 {n} 人，预计等待{w}", "{n} ahead of you, about {lo}–{hi} min"],
  ahead_now: ["马上就到您了", "You are next"],
  now_no_window: ["暂无窗口办理，请留意叫号", "No window is serving this now, please watch the screen"],
  elder_offer: ["您已年满{n}周岁，可以走绿色通道优先办理。", "You are {n} or older: you may use the green channel for priority service."],
  elder_green: ["走绿色通道，优先办理", "Use the green channel"],
  elder_mode_on: ["切换为适老模式（大字、语音）", "Switch to senior mode (large text, voice)"],
  sms_back: ["快到号时将短信提醒 {p}", "An SMS will remind {p} when your turn is near"],
  printed: ["凭条已打印，请取走凭条", "Please take your printed ticket"],
  print_failed: ["打印机暂时无法出票，请用手机扫码或拍下本页，记住您的号码：{n}", "The printer cannot print now. Scan the code or take a photo; your number is {n}"],
  pages_ok: ["已将 {n} 页材料提交给窗口", "{n} page(s) sent to the window"],
  pages_fail: ["材料上传未成功，请到窗口出示纸质材料", "Pages could not be sent; please show the paper copies"],
  identity: ["办事人：{name}  {id}", "Visitor: {name}  {id}"],
  attach_id: ["已附带身份信息", "Identity attached"],
  green_on: ["绿色通道：{r}", "Green channel: {r}"],
  closed_title: ["现在不在办公时间", "The hall is closed now"],
  closed_text: ["大厅现在不能取号。您可以预约其他时间来办理。", "No tickets now. You can book another time."],
  cap_title: ["今日号源已取完", "No more tickets today"],
  cap_text: ["该业务今天的号已经取完。您可以预约其他时间来办理。", "Today's tickets for this service are gone. You can book another time."],
  card_read_fail: ["读卡失败，请把身份证拿起后重新放好；也可以不刷卡直接取号。", "The card could not be read. Lift it and place it again, or take a ticket without it."],
  reader_offline: ["身份证阅读器暂时不可用，请直接取号或输入预约码。", "The ID reader is unavailable. Take a ticket or enter a booking code."],
  server_down: ["暂停取号，请稍候（正在重新连接排队系统）", "Ticketing paused, please wait (reconnecting)"],
  printer_down: ["打印机暂时无法出票，号码会显示在屏幕上", "The printer is out of order; your number will be shown on screen"],
  no_appt: ["今天没有您的预约，可以直接取号办理。", "No booking today. You can take a ticket right away."],
  appt_title: ["您今天的预约：", "Your bookings today:"],
  appt_checkin: ["签到取号", "Check in"],
  late: ["已超过预约时间，为您取了普通号。", "Past your booking time: you got an ordinary ticket."],
  retry_in: ["{s} 秒后自动重试", "Retrying in {s} s"],
  pages_n: ["已扫描 {n} 页，将随号码提交给窗口", "{n} page(s) scanned, sent with your ticket"],
  scan_no_page: ["请把材料平放在高拍仪下", "Lay the page under the camera"],
  scan_incomplete: ["请将材料完整放在拍摄区内", "Place the whole page inside the camera area"],
  scan_moving: ["请保持不动…", "Hold still…"],
  scan_blurry: ["画面模糊，请把材料放平、不要晃动", "Blurred: lay the page flat and keep still"],
  scan_confirm: ["请确认这一页是否清晰", "Is this page clear?"],
  scan_done_page: ["这一页已保存，可以放下一页", "Page kept. Lay the next page"],
  scan_error: ["高拍仪暂时不可用", "The document camera is unavailable"],
  phone_set: ["提醒号码：{p}", "SMS to: {p}"],
  search_none: ["没有找到，请换个首字母试试", "Nothing found; try other initials"],
  elderly: ["老年人", "elderly"],
  disabled: ["残疾人", "disabled"],
  pregnant: ["孕妇", "pregnant"],
  military: ["军人", "military"],
  minutes: ["分钟", "min"],
  bundle_items: ["包含事项：{x}", "Includes: {x}"],
  appt_code: ["预约码", "Booking code"],
  copies: ["{n} 份", "{n}"],
  optional: ["非必需", "optional"],
  defer_note: ["标“可后补”的材料暂缺时也可先受理，按窗口告知的期限补交即可。", "Materials marked “may follow later” may be handed in after acceptance, by the date the window gives you."],
  guide_basis: ["设定依据", "Legal basis"],
  guide_conditions: ["办理条件", "Conditions"],
  guide_fees: ["收费", "Fees"],
  guide_time: ["办理时限", "Time limit"],
  guide_process: ["办理流程", "Process"],
  guide_materials: ["申请材料", "Materials"],
  all: ["全部", "All"],
  error: ["操作未成功：{m}", "That did not work: {m}"],
  no_window: ["暂无窗口办理", "No window serving now"],
  ahead_no_window: ["前面还有 {n} 人，暂无窗口办理，请留意叫号", "{n} ahead of you; no window is serving this now, please watch the screen"],
  dev_idcard: ["身份证阅读器", "ID reader"],
  dev_printer: ["打印机", "Printer"],
  dev_scanner: ["高拍仪", "Document camera"],
  dev_online: ["正常", "ready"],
  dev_fault: ["暂停使用", "out of service"],
  dev_offline: ["未连接", "not connected"],
  dev_unknown: ["检测中", "checking"],
  immediate: ["即办件", "Done on the spot"],
  promised: ["承诺件 {n} 个工作日", "Done within {n} working days"],
  appt_priority: ["预约优先", "Booked: served first"],
  zh_only: ["", "name in Chinese only"],
  open_now: ["正在办公", "Open now"],
  today_hours: ["今日办公时间 {h}", "Today {h}"],
  closed_now: ["现在不在办公时间", "The hall is closed now"],
  next_open: ["下次办公：{w}", "Opens again {w}"],
  no_next: ["近期暂无办公安排", "No opening hours scheduled soon"],
  weekdays: ["日一二三四五六", "SunMonTueWedThuFriSat"],
  next_when: ["{m}月{d}日（周{wd}）{t}", "{wd} {m}/{d} {t}"],
  q_waiting: ["{n} 人等候", "{n} waiting"],
  try_again: ["请稍后再试，或到导办台咨询", "please try again, or ask at the help desk"],
}));

var S = {
  elder: false, catalog: null, category: null, search: "", mode: "take",
  matter: null, green: null, phone: null, withIdentity: false, card: null, requestId: null,
  retryTimer: null, state: null, idleMs: 60000, lastTouch: Date.now(), screen: "home", history: [],
  pendingAction: null, error: null
};

// The page's language lives in the shared i18n object; S.lang reads and switches it.
const I18N = createI18n(TEXT, "zh");
const t = I18N.t;
Object.defineProperty(S, "lang", { get: () => I18N.lang, set: (v) => { I18N.lang = v; }, enumerable: true });
// An item's or bundle's name in the page's language; without an English name the Chinese one shows,
// marked so, never silently mixed in.
function nameHtml(x) {
  if (S.lang !== "en" || x.name_en) return esc(S.lang === "en" ? x.name_en : x.name);
  return esc(x.name) + ' <small class="zh-only">(' + esc(t("zh_only")) + ")</small>";
}
const nameText = I18N.nameOf;
function newRequestId() {
  if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
  var a = new Uint8Array(16); window.crypto.getRandomValues(a);
  return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
}

// The local agent's API through the shared caller; the per-boot key of an in-process agent in production.
function api(method, path, body) {
  return callApi(method, AGENT + path, body, { headers: KEY ? { "X-Kiosk-Key": KEY } : {} }).catch(function (e) {
    if (e.code === "network") e.code = "agent_unreachable";
    e.data = e.detail;
    throw e;
  });
}

// ---------------------------------------------------------------- voice (适老化)
// The browser's own voice when it has one for the page's language; otherwise, for Chinese, the same
// server voice (espeak-ng) the hall screens fall back to, through the agent (issue 21).
var voiceAudio = null;
function hasVoice(lang) {
  if (!window.speechSynthesis) return false;
  var re = lang === "zh" ? /^(zh|cmn)/i : /^en/i;
  return speechSynthesis.getVoices().some(function (v) { return re.test(v.lang); });
}
function speak(text) {
  if (!S.elder || !text) return;
  S.spoken = (S.spoken || []).concat([{ text: text, method: null }]).slice(-20);
  var said = S.spoken[S.spoken.length - 1];
  if (hasVoice(S.lang)) {
    try {
      window.speechSynthesis.cancel();
      var u = new SpeechSynthesisUtterance(text);
      u.lang = S.lang === "zh" ? "zh-CN" : "en-US"; u.rate = 0.85;
      window.speechSynthesis.speak(u);
      said.method = "speech";
    } catch (e) { /* no voice on this machine */ }
    return;
  }
  if (S.lang !== "zh") return;                  // the server's voice speaks Mandarin only
  if (voiceAudio) voiceAudio.pause();
  voiceAudio = new Audio(AGENT + "/voice?text=" + encodeURIComponent(text.replace(/\s+/g, " ").slice(0, 80)));
  said.method = "audio";
  voiceAudio.onerror = function () { said.method = "none"; };
  voiceAudio.play().then(function () { said.played = true; }, function () { said.method = "none"; });
}
window.onevisitKioskVoice = function () { return S.spoken || []; };

// ---------------------------------------------------------------- screens
var PROMPTS = { home: "welcome", browse: "choose_item", bundles: "bundles_title", notice: "notice_title",
  card: "card_place", pickup: "pickup_hint", supply: "supply_hint", scan: "scan_lay", green: "green_title", code: "code_title", phone: "phone_title", paused: "paused" };
function show(name, opts) {
  opts = opts || {};
  if (!opts.noHistory && S.screen !== name && S.screen !== "result" && S.screen !== "paused") S.history.push(S.screen);
  document.querySelectorAll(".screen").forEach(function (el) { el.classList.add("hidden"); });
  $("s-" + name).classList.remove("hidden");
  S.screen = name;
  document.querySelector("main").scrollTop = 0;
  if (PROMPTS[name]) speak(t(PROMPTS[name]));
}
function back() {
  var prev = S.history.pop() || "home";
  if (S.screen === "scan") api("POST", "/scan/stop").catch(function () {});
  show(prev, { noHistory: true });
  if (prev === "notice") renderNotice();
}
function home() {
  S.history = []; S.matter = null; S.green = null; S.phone = null; S.withIdentity = false; S.mode = "take"; S.supplyFor = null;
  S.requestId = null; S.search = ""; S.category = null;
  if (S.retryTimer) { clearInterval(S.retryTimer); S.retryTimer = null; }
  show("home", { noHistory: true });
}

function applyText() {
  document.documentElement.lang = S.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-t]").forEach(function (el) {
    var target = el.querySelector("span[data-t]") ? null : el;
    if (target) target.textContent = t(el.getAttribute("data-t"));
  });
  document.querySelectorAll("[data-tp]").forEach(function (el) { el.placeholder = t(el.getAttribute("data-tp")); });
  $("btn-lang").textContent = S.lang === "zh" ? "English" : "中文";
  if (S.catalog) { renderCats(); renderItems(); renderBundles(); renderHallStatus(); }
  if (S.screen === "notice") renderNotice();
  if (S.supplyFor) { document.querySelector("#s-scan h2").textContent = t("supply_scan_title", { m: S.supplyFor.name });
    $("scan-done").textContent = t("supply_submit"); }
  if (S.screen === "supply" && supplyWho && $("supply-list").children.length) supplyFind();
  if (S.state) applyState(S.state);  // the footer's device states in the new language
}

// ---------------------------------------------------------------- idle: back home, personal data gone
function touched() {
  S.lastTouch = Date.now();
  if (S.error) { S.error = null; if (S.state) applyState(S.state); else setBanner(null); }
}
function clearPersonal() {
  ["card-identity", "notice-identity", "id-chip-browse", "r-identity", "r-number", "r-matter", "r-ahead",
   "phone-display", "phone-shown", "code-display", "appt-list", "scan-thumbs", "scan-summary", "pickup-found-count", "pickup-msg",
   "supply-list", "supply-msg", "supply-done", "supply-count"].forEach(function (id) {
    var el = $(id); if (el) { el.innerHTML = ""; }
  });
  ["card-identity", "notice-identity", "id-chip-browse", "r-identity"].forEach(function (id) { $(id).classList.add("hidden"); });
  $("r-qr").removeAttribute("src"); $("scan-preview").removeAttribute("src"); $("scan-pending").removeAttribute("src");
  S.card = null; $("pickup-input").value = ""; pickupWho = null;
  $("supply-input").value = ""; supplyWho = null; S.supplyFor = null;
  ["supply-box", "supply-msg", "supply-done"].forEach(function (id) { $(id).classList.add("hidden"); });
}
function idleReset() {
  clearPersonal();
  // The next visitor starts in Chinese and in the ordinary mode (issue 21 §3).
  S.lang = "zh"; S.elder = false; S.error = null;
  $("elder-offer").classList.add("hidden");
  document.body.classList.remove("elder"); $("btn-elder").classList.remove("on");
  applyText();
  api("POST", "/session/reset").catch(function () {});
  home();
}
setInterval(function () {
  if (S.screen === "paused") { touched(); return; }
  if (Date.now() - S.lastTouch >= S.idleMs && (S.screen !== "home" || S.card)) idleReset();
}, 500);
["pointerdown", "keydown", "touchstart"].forEach(function (ev) { document.addEventListener(ev, touched, true); });

// ---------------------------------------------------------------- state + events from the agent
function setBanner(text, bad) {
  var b = $("banner");
  if (!text) { b.classList.add("hidden"); return; }
  b.textContent = text; b.classList.toggle("bad", !!bad); b.classList.remove("hidden");
}
function applyState(st) {
  S.state = st;
  if (st.hall) { $("hall-name").textContent = st.hall.name; hallZone = st.hall.timezone; tickClock(); }
  if (!document.body.getAttribute("data-idle")) S.idleMs = (st.idle_s || 60) * 1000;
  $("sim-panel").classList.toggle("hidden", !st.sim);
  var d = st.devices || {};
  $("foot-devices").textContent = ["idcard", "printer", "scanner"].filter(function (k) { return d[k]; }).map(function (k) {
    var state = d[k].state; var key = { online: "dev_online", fault: "dev_fault", offline: "dev_offline" }[state] || "dev_unknown";
    return t("dev_" + k) + "：" + t(key);
  }).join("　");
  if (!st.server_ok) setBanner(t("server_down"), true);
  else if (S.error) setBanner(S.error, true);
  else if (d.printer && d.printer.state !== "online") setBanner(t("printer_down"), false);
  else if (d.idcard && d.idcard.state === "offline" && S.screen === "card") setBanner(t("reader_offline"), false);
  else setBanner(null);
}
function pollState() {
  api("GET", "/state").then(applyState).catch(function () { setBanner(t("server_down"), true); });
}
setInterval(pollState, 2000);

function onCard(data) {
  S.card = data; touched();
  $("card-wait").classList.add("hidden");
  $("card-msg").classList.add("hidden");
  var box = $("card-identity");
  box.textContent = t("identity", { name: data.masked_name || "", id: data.masked_id || "" });
  box.classList.remove("hidden");
  offerElder(!!data.elderly, data.elderly_age);
  // Bringing 容缺 materials: the card is the identity asked for on that screen; the visitor stays there.
  if (S.screen === "supply") { supplyFind(); return; }
  if (S.screen === "scan" && S.supplyFor) return;
  if (S.screen !== "card") show("card");
  loadPickups();
  loadSupplyCount();
  loadAppointments();
}
// 统一出件 (001 §7.3): results waiting at the handover window for this card.
function loadPickups() { cardBox("/pickup", "pickup", "pickup_n"); }
// A box under the identity saying how many things wait for this card (`<name>-box`, `<name>-count`).
function cardBox(path, name, key) {
  $(name + "-box").classList.add("hidden");
  api("GET", path).then(function (r) {
    if (!r.count) return;
    $(name + "-count").textContent = t(key, { n: r.count });
    $(name + "-box").classList.remove("hidden");
    speak(t(key, { n: r.count }));
  }).catch(function (e) { if (e.code !== "no_card") handleError(e); });
}
function takePickup(who) {
  if (!S.requestId) S.requestId = newRequestId();
  var body = Object.assign({ request_id: S.requestId }, who || {});
  var run = function () {
    return api("POST", "/pickup", body).then(function (r) { stopRetry(); showResult(r); }, function (e) {
      if (e.code === "server_unreachable") { startRetry(run, e.data.retry_after_s); return; }
      stopRetry(); S.requestId = null; handleError(e);
    });
  };
  return run();
}
// A visitor ELDERLY_AGE or older (from the card's birth date, told by the agent) is offered the
// green channel and 适老 mode; nothing is switched without their touch.
function offerElder(on, age) {
  $("elder-offer").classList.toggle("hidden", !on);
  $("elder-mode").classList.toggle("hidden", !on || S.elder);
  if (!on) return;
  S.elderAge = age || Number(document.body.dataset.elderlyAge);
  $("elder-offer-text").textContent = t("elder_offer", { n: S.elderAge });
}
function setElder(on) {
  S.elder = on; document.body.classList.toggle("elder", S.elder);
  $("btn-elder").classList.toggle("on", S.elder);
}
function onCardFailed() {
  touched();
  offerElder(false);
  if (S.screen !== "card") show("card");
  // A failed re-read forgets the card read before: the identity on screen must be the one on the reader.
  S.card = null; S.withIdentity = false;
  $("card-identity").textContent = ""; $("card-identity").classList.add("hidden");
  $("appt-list").innerHTML = ""; setWalkinPrimary(true);
  var m = $("card-msg"); m.textContent = t("card_read_fail"); m.classList.remove("hidden");
  speak(t("card_read_fail"));
}
function connectEvents() {
  if (!window.EventSource) return;
  var es = new EventSource(AGENT + "/events");
  es.addEventListener("card", function (e) { onCard(JSON.parse(e.data)); });
  es.addEventListener("card_failed", onCardFailed);
  es.addEventListener("reader", function (e) {
    var d = JSON.parse(e.data);
    if (d.state === "offline" && S.screen === "card") { var m = $("card-msg"); m.textContent = t("reader_offline"); m.classList.remove("hidden"); }
    pollState();
  });
}

// ---------------------------------------------------------------- catalogue
// Waiting counts on the item cards follow the hall, not the page load.
setInterval(function () {
  if (!S.catalog || ["home", "browse", "bundles"].indexOf(S.screen) < 0) return;
  api("GET", "/catalog").then(function (c) {
    S.catalog.waiting = c.waiting; S.catalog.open_now = c.open_now;
    S.catalog.hours_today = c.hours_today; S.catalog.next_opening = c.next_opening;
    renderHallStatus();
    document.querySelectorAll(".item[data-queues] .wait").forEach(function (el) {  // in place: a tap is never lost
      el.textContent = waitText(JSON.parse(el.parentNode.getAttribute("data-queues")));
    });
  }).catch(function () {});
}, (document.body.getAttribute("data-refresh") || 15) * 1000);
function loadCatalog() {
  return api("GET", "/catalog").then(function (c) {
    S.catalog = c;
    if (c.hall) $("hall-name").textContent = c.hall.name;
    renderCats(); renderItems(); renderBundles(); renderHallStatus();
    return c;
  });
}
function waitText(queueIds) {
  var w = S.catalog && S.catalog.waiting || {};
  for (var i = 0; i < (queueIds || []).length; i++) {
    var q = w[String(queueIds[i])];
    if (q && q.serving_windows === 0) return t("no_window");
    if (q) return t("waiting", { n: q.waiting });
  }
  return "";
}
// Home: is the hall open, today's hours, and how many wait in each queue now.
function renderHallStatus() {
  var c = S.catalog; if (!c) return;
  var box = $("hall-status"), hours = (c.hours_today || []).map(function (h) { return h[0] + "–" + h[1]; }).join("、");
  box.classList.toggle("closed", c.open_now === false);
  if (c.open_now === false) {
    var w = t("no_next");
    if (c.next_opening) {
      var d = new Date(c.next_opening), wds = t("weekdays"), en = S.lang === "en";
      var wd = en ? wds.substr(d.getDay() * 3, 3) : wds.charAt(d.getDay());
      w = t("next_open", { w: t("next_when", { m: d.getMonth() + 1, d: d.getDate(), wd: wd, t: c.next_opening.slice(11, 16) }) });
    }
    box.textContent = t("closed_now") + " · " + w;
  } else box.textContent = t("open_now") + (hours ? " · " + t("today_hours", { h: hours }) : "");
  var strip = $("queue-strip"); strip.innerHTML = "";
  (c.queues || []).forEach(function (q) {
    var w = (c.waiting || {})[String(q.id)]; if (!w) return;
    var chip = document.createElement("span"); chip.className = "q-chip"; chip.setAttribute("data-queue", q.prefix);
    chip.innerHTML = "<b>" + esc(q.prefix) + "</b> " + esc(q.name) + " <em>" +
      esc(w.serving_windows === 0 && w.waiting > 0 ? t("no_window") : t("q_waiting", { n: w.waiting })) + "</em>";
    strip.appendChild(chip);
  });
}
function renderCats() {
  var nav = $("cats"); nav.innerHTML = "";
  var all = document.createElement("button"); all.textContent = t("all"); all.className = S.category == null ? "on" : "";
  all.onclick = function () { S.category = null; renderCats(); renderItems(); }; nav.appendChild(all);
  (S.catalog.categories || []).forEach(function (c) {
    var b = document.createElement("button"); b.textContent = c.name; b.className = S.category === c.id ? "on" : "";
    b.setAttribute("data-category", c.id);
    b.onclick = function () { S.category = c.id; renderCats(); renderItems(); }; nav.appendChild(b);
  });
}
function renderItems() {
  var box = $("items"); box.innerHTML = "";
  var q = S.search.toLowerCase();
  var items = (S.catalog.items || []).filter(function (i) {
    if (S.category != null && i.category_id !== S.category) return false;
    if (q && (i.pinyin_initials || "").indexOf(q) !== 0 && (i.pinyin_initials || "").indexOf(q) < 0 && i.name.indexOf(S.search) < 0) return false;
    if (S.mode === "take" && !(i.queue_ids || []).length) return false;
    return true;
  });
  if (!items.length) { box.innerHTML = '<p class="sub">' + esc(t("search_none")) + "</p>"; return; }
  items.forEach(function (i) {
    var b = document.createElement("button"); b.className = "item"; b.setAttribute("data-item", i.code);
    b.setAttribute("data-queues", JSON.stringify(i.queue_ids || []));
    b.innerHTML = "<b>" + nameHtml(i) + "</b><span>" + esc(i.kind === "immediate" ? t("immediate") : t("promised", { n: i.promised_days || "" })) +
      '</span><span class="wait">' + esc(waitText(i.queue_ids)) + "</span>";
    b.onclick = function () {
      if (S.mode === "guide") openGuide({ type: "item", item: i });
      else openNotice({ type: "item", item: i });
    };
    box.appendChild(b);
  });
}
function renderBundles() {
  var box = $("bundle-list"); box.innerHTML = "";
  (S.catalog.bundles || []).forEach(function (bd) {
    var names = (S.catalog.items || []).filter(function (i) { return bd.item_ids.indexOf(i.id) >= 0; }).map(nameText);
    var b = document.createElement("button"); b.className = "item"; b.setAttribute("data-bundle", bd.code);
    b.setAttribute("data-queues", JSON.stringify([bd.queue_id]));
    b.innerHTML = "<b>" + nameHtml(bd) + "</b><span>" + esc(bd.description) + "</span><span>" +
      esc(t("bundle_items", { x: names.join("、") })) + '</span><span class="wait">' + esc(waitText([bd.queue_id])) + "</span>";
    b.onclick = function () {
      if (S.mode === "guide") openGuide({ type: "bundle", bundle: bd, names: names });
      else openNotice({ type: "bundle", bundle: bd, names: names });
    };
    box.appendChild(b);
  });
}
function buildLetterKeys() {
  var k = $("letter-keys"); k.innerHTML = "";
  "abcdefghijklmnopqrstuvwxyz".split("").concat(["⌫"]).forEach(function (ch) {
    var b = document.createElement("button"); b.textContent = ch.toUpperCase(); b.setAttribute("data-key", ch);
    b.onclick = function () {
      S.search = ch === "⌫" ? S.search.slice(0, -1) : S.search + ch;
      $("search").value = S.search.toUpperCase(); renderItems();
    };
    k.appendChild(b);
  });
}
$("search").addEventListener("click", function () { $("letter-keys").classList.toggle("hidden"); });
$("search-clear").onclick = function () { S.search = ""; $("search").value = ""; renderItems(); };

function enterBrowse(mode) {
  S.mode = mode;
  $("browse-title").textContent = t(mode === "guide" ? "choose_guide" : "choose_item");
  var ready = S.catalog ? Promise.resolve(S.catalog) : loadCatalog();
  return ready.then(function () {
    renderCats(); renderItems(); renderGreenChip(); renderIdentityChip();
    show("browse");
  }).catch(handleError);
}
function renderGreenChip() {
  ["green-chip", "notice-green"].forEach(function (id) {
    var el = $(id); el.classList.toggle("hidden", !S.green);
    if (S.green) el.textContent = t("green_on", { r: t(S.green) });
  });
}
function renderIdentityChip() {
  ["id-chip-browse", "notice-identity"].forEach(function (id) {
    var el = $(id); var on = S.withIdentity && S.card;
    el.classList.toggle("hidden", !on);
    if (on) el.textContent = t("identity", { name: S.card.masked_name || "", id: S.card.masked_id || "" }) + " · " + t("attach_id");
  });
}

// ---------------------------------------------------------------- one-time notice (000 §6.9, 003 §3.8)
function openNotice(matter) { S.matter = matter; S.requestId = null; renderNotice(); show("notice"); }
function materialsOf(m) {
  return m.type === "bundle" ? (m.bundle.materials || []) : (m.item.materials || []);
}
function renderNotice() {
  var m = S.matter; if (!m) return;
  $("notice-matter").innerHTML = nameHtml(m.type === "bundle" ? m.bundle : m.item);
  $("notice-items").textContent = m.type === "bundle" ? t("bundle_items", { x: m.names.join("、") }) : "";
  var rows = materialsOf(m);
  $("notice-empty").classList.toggle("hidden", rows.length > 0);
  var deferNote = $("notice-defer");
  deferNote.classList.toggle("hidden", !rows.some(function (x) { return x.deferrable; }));
  deferNote.textContent = t("defer_note");
  $("notice-materials").innerHTML = rows.map(function (x, n) {
    var tags = '<span class="tag">' + esc(t(x.form || "copy")) + " " + esc(t("copies", { n: x.count || 1 })) + "</span>";
    if (x.required === false) tags += '<span class="tag opt">' + esc(t("optional")) + "</span>";
    if (x.deferrable) tags += '<span class="tag defer">' + esc(t("deferrable")) + "</span>";
    return '<tr><td class="n">' + (n + 1) + "</td><td>" + esc(x.name) + tags + "</td></tr>";
  }).join("");
  renderGreenChip(); renderIdentityChip();
  $("phone-shown").textContent = S.phone ? t("phone_set", { p: maskPhone(S.phone) }) : "";
  var st = S.state && S.state.scan;
  $("scan-summary").textContent = st && st.pages ? t("pages_n", { n: st.pages }) : "";
  speak(t("notice_title") + "。" + rows.map(function (x) { return x.name; }).join("，"));
}

// ---------------------------------------------------------------- issue + print
function issue() {
  if (!S.matter) return;
  if (!S.requestId) S.requestId = newRequestId();  // one visitor request = one key, kept across retries
  var body = { request_id: S.requestId, with_identity: !!(S.withIdentity && S.card) };
  if (S.matter.type === "bundle") body.bundle_id = S.matter.bundle.id; else body.item_ids = [S.matter.item.id];
  if (S.green) body.green_reason = S.green;
  if (S.phone) body.phone = S.phone;
  $("btn-issue").disabled = true;
  return api("POST", "/tickets", body).then(function (r) { stopRetry(); showResult(r); }, function (e) {
    if (e.code === "server_unreachable" || e.code === "agent_unreachable") { startRetry(issue, e.data.retry_after_s); return; }
    stopRetry(); handleError(e);
  }).then(function () { $("btn-issue").disabled = false; });
}
function startRetry(fn, seconds) {
  var every = Math.max(1, seconds || (S.state && S.state.retry_s) || 3);
  if (S.screen !== "paused") show("paused");
  S.pendingAction = fn;
  if (S.retryTimer) return;
  var left = every;
  $("paused-count").textContent = t("retry_in", { s: left });
  S.retryTimer = setInterval(function () {
    left -= 1;
    if (left <= 0) { left = every; if (S.pendingAction) S.pendingAction(); }
    $("paused-count").textContent = t("retry_in", { s: left });
  }, 1000);
}
function stopRetry() { if (S.retryTimer) { clearInterval(S.retryTimer); S.retryTimer = null; } S.pendingAction = null; }

function maskPhone(p) { return p ? p.slice(0, 3) + "****" + p.slice(-4) : ""; }

function showResult(r) {
  var tk = r.ticket;
  S.requestId = null;
  $("r-number").textContent = tk.number;
  var tag = $("r-tag");
  tag.classList.toggle("hidden", tk.priority_class === "ordinary");
  tag.textContent = tk.priority_class === "green" ? t("green_on", { r: t(tk.green_reason || "") }) : (tk.priority_class === "appointment" ? t("appt_priority") : "");
  var chosen = S.matter && (S.matter.type === "bundle" ? S.matter.bundle : S.matter.item);
  $("r-matter").textContent = (S.lang === "en" && chosen && chosen.name_en) || r.matter || (tk.bundle || (tk.items || []).join("、"));
  // Never "0 minutes" with people ahead; no number at all when no window serves the queue now.
  var mins = Math.max(1, Math.ceil((tk.estimated_wait_s || 0) / 60));
  // Issue 17: the server's range (wait_text, the one wording shared with the slip and the phone page).
  var ranged = tk.wait_text && tk.serving_windows !== 0;
  $("r-ahead").textContent = tk.people_ahead > 0 || (ranged && tk.wait_position > 0)
    ? t(tk.serving_windows === 0 ? "ahead_no_window" : ranged ? "ahead_range" : "ahead",
        { n: ranged ? tk.wait_position : tk.people_ahead, m: mins, w: tk.wait_text,
          lo: Math.floor((tk.wait_low_s || 0) / 60), hi: Math.ceil((tk.wait_high_s || 0) / 60) })
    : t(tk.serving_windows === 0 ? "now_no_window" : "ahead_now");  // first in line, but nobody to call it yet
  var where = whereText(r.wait_place, t);
  $("r-where").textContent = where;
  $("r-where").classList.toggle("hidden", !where);
  // The number left for the SMS is said back, masked, so a mistyped one is noticed here.
  $("r-phone").textContent = S.phone ? t("sms_back", { p: maskPhone(S.phone) }) : "";
  $("r-phone").classList.toggle("hidden", !S.phone);
  var idc = $("r-identity");
  idc.classList.toggle("hidden", !tk.masked_id && !tk.masked_name);
  if (tk.masked_id || tk.masked_name) idc.textContent = t("identity", { name: tk.masked_name || "", id: tk.masked_id || "" });
  var pr = $("r-print");
  pr.textContent = r.printed ? t("printed") : t("print_failed", { n: tk.number });
  pr.className = "msg" + (r.printed ? " ok" : "");
  document.querySelector("#s-result .ticket").classList.toggle("big-qr", !r.printed);
  var pages = $("r-pages");
  pages.textContent = r.pages_error ? t("pages_fail") : (r.pages_attached ? t("pages_ok", { n: r.pages_attached }) : "");
  if (r.late) pages.textContent = t("late") + " " + pages.textContent;
  $("r-qr").src = AGENT + "/qr.svg?path=" + encodeURIComponent(r.follow_path);
  show("result", { noHistory: true });
  speak(t("your_number") + " " + tk.number.split("").join(" ") + "。" + (where ? where + "。" : "") + (r.printed ? t("printed") : t("print_failed", { n: tk.number })));
}

function handleError(e) {
  if (e.code === "hall_closed" || e.code === "daily_cap_reached") {
    var cap = e.code === "daily_cap_reached";
    $("closed-title").textContent = t(cap ? "cap_title" : "closed_title");
    $("closed-text").textContent = t(cap ? "cap_text" : "closed_text");
    var url = e.data.book_url || (S.state && S.state.book_url) || "";
    $("closed-book").href = url;
    var path = url.replace(/^https?:\/\/[^/]+/, "");
    if (path) $("closed-qr").src = AGENT + "/qr.svg?path=" + encodeURIComponent(path);
    show("closed", { noHistory: true });
    speak(t(cap ? "cap_title" : "closed_title"));
    return;
  }
  if (e.code === "server_unreachable") { setBanner(t("server_down"), true); return; }
  // Stays until the visitor touches the screen again; a message not in the page's language is not shown raw.
  var m = (S.lang === "zh" ? (e.untranslated ? "" : e.message) : e.raw) || "";
  var zh = /[\u4e00-\u9fff]/.test(m);
  S.error = t("error", { m: (S.lang === "zh") === zh && m ? m : t("try_again") });
  setBanner(S.error, true);
}

// ---------------------------------------------------------------- ID card and appointments (004 §8.2: never required)
function setWalkinPrimary(on) {
  // With a booking today, checking in is the big primary action and walking in the plain one.
  $("card-walkin").classList.toggle("primary", on);
}
function loadAppointments() {
  var list = $("appt-list"); list.innerHTML = "";
  $("card-walkin").classList.remove("hidden"); setWalkinPrimary(true);
  api("GET", "/appointments").then(function (r) {
    var items = r.items || [];
    if (!items.length) { list.innerHTML = '<p class="sub">' + esc(t("no_appt")) + "</p>"; speak(t("no_appt")); return; }
    var h = document.createElement("h3"); h.textContent = t("appt_title"); list.appendChild(h);
    setWalkinPrimary(false);
    items.forEach(function (a) {
      var b = document.createElement("button"); b.className = "big primary appt"; b.setAttribute("data-appointment", a.id);
      var when = a.start ? (a.date + " " + a.start + (a.end ? "-" + a.end : "")) : "";
      b.innerHTML = "<b>" + esc(a.matter_name || a.matter || "") + "</b><span>" + esc(when) + "</span><span class=\"wait\">" + esc(t("appt_checkin")) + "</span>";
      b.onclick = function () { checkIn({ appointment_id: a.id }); };
      list.appendChild(b);
    });
  }).catch(function (e) { if (e.code !== "no_card") handleError(e); });
}
function checkIn(args) {
  if (!S.requestId) S.requestId = newRequestId();
  var body = Object.assign({ request_id: S.requestId }, args);
  var run = function () {
    return api("POST", "/checkin", body).then(function (r) { stopRetry(); showResult(r); }, function (e) {
      if (e.code === "server_unreachable") { startRetry(run, e.data.retry_after_s); return; }
      stopRetry(); S.requestId = null; handleError(e);
    });
  };
  return run();
}

// Without the card: the receipt's QR (the scanner types its URL into the focused field, then Enter) or the
// acceptance number typed on the keys. A wrong number and a result not ready yet get the same answer.
var pickupWho = null;
function pickupArgs() {
  var v = $("pickup-input").value.trim();
  if (!v) return null;
  return v.indexOf("/c/") >= 0 ? { code: v } : { acceptance_no: v.toUpperCase() };
}
function pickupEnter() {
  pickupWho = null; $("pickup-input").value = "";
  $("pickup-msg").classList.add("hidden"); $("pickup-found").classList.add("hidden");
  show("pickup"); $("pickup-input").focus();
}
function pickupFind() {
  var who = pickupArgs();
  $("pickup-msg").classList.add("hidden"); $("pickup-found").classList.add("hidden");
  if (!who) { $("pickup-input").focus(); return; }
  var q = Object.keys(who).map(function (k) { return k + "=" + encodeURIComponent(who[k]); }).join("&");
  if (who.code) $("pickup-input").value = "";  // the receipt's look-up code does not stay on the screen
  api("GET", "/pickup?" + q).then(function (r) {
    if (!r.count) {
      pickupWho = null;
      var key = r.already_taken ? "pickup_taken" : "pickup_none";
      var m = $("pickup-msg"); m.textContent = t(key); m.classList.remove("hidden"); speak(t(key));
      return;
    }
    pickupWho = who;
    $("pickup-found-count").textContent = t("pickup_n", { n: r.count });
    $("pickup-found").classList.remove("hidden");
    speak(t("pickup_n", { n: r.count }));
  }).catch(function (e) { if (!busyMessage(e, "pickup-msg")) handleError(e); });
}
// Typed numbers are limited per kiosk (429): the visitor reads why, in the page's language, where they typed.
function busyMessage(e, boxId) {
  if (e.status !== 429) return false;
  var m = $(boxId), text = S.lang === "zh" && !e.untranslated && /[\u4e00-\u9fff]/.test(e.message || "") ? e.message : t("try_again");
  m.textContent = text; m.classList.remove("hidden"); speak(text);
  return true;
}
function buildNumberKeys(keysId, inputId, typed) {
  var k = $(keysId); k.innerHTML = "";
  "1234567890ABCDEFGHIJKLMNOPQRSTUVWXYZ".split("").concat(["-", "⌫"]).forEach(function (ch) {
    var b = document.createElement("button"); b.textContent = ch; b.setAttribute("data-key", ch);
    b.onclick = function () {
      var input = $(inputId), v = input.value;
      input.value = ch === "⌫" ? v.slice(0, -1) : (v.length < 40 ? v + ch : v);
      typed(); input.focus();
    };
    k.appendChild(b);
  });
}
function buildPickupKeys() {
  buildNumberKeys("pickup-keys", "pickup-input", function () {
    pickupWho = null; $("pickup-found").classList.add("hidden"); $("pickup-msg").classList.add("hidden");
  });
}
$("pickup-input").addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); pickupFind(); } });
$("pickup-input").addEventListener("input", function () { pickupWho = null; $("pickup-found").classList.add("hidden"); });

// ---------------------------------------------------------------- 容缺 materials brought back (000 §9.3.6)
// Who: the card on the reader, the receipt's QR (the scanner types its URL), or a typed number *with* the card.
// What: the materials still owed, each scanned on the document camera, then handed in (pages kept with the case).
var supplyWho = null;
function supplyArgs() {
  var v = $("supply-input").value.trim();
  if (!v) return {};
  return v.indexOf("/c/") >= 0 ? { code: v } : { acceptance_no: v.toUpperCase() };
}
function supplyEnter(keepList) {
  show("supply");
  if (!keepList) {
    supplyWho = null; $("supply-input").value = ""; $("supply-list").innerHTML = "";
    ["supply-msg", "supply-done"].forEach(function (id) { $(id).classList.add("hidden"); });
    $("supply-ask").classList.remove("hidden"); $("supply-find").parentNode.classList.remove("hidden");
    if (S.card) supplyFind();
  }
  $("supply-input").focus();
}
function supplyMsg(key, vars) {
  var m = $("supply-msg"); m.textContent = t(key, vars); m.classList.remove("hidden"); speak(t(key, vars));
}
function supplyFind() {
  var who = supplyWho && !$("supply-input").value.trim() ? supplyWho : supplyArgs();
  $("supply-msg").classList.add("hidden");
  if (who.code) $("supply-input").value = "";  // the receipt's look-up code does not stay on the screen
  if (!who.code && !S.card) { supplyMsg(who.acceptance_no ? "supply_card" : "supply_hint"); return Promise.resolve(); }
  var q = Object.keys(who).map(function (k) { return k + "=" + encodeURIComponent(who[k]); }).join("&");
  return api("GET", "/supply" + (q ? "?" + q : "")).then(function (r) {
    supplyWho = who;
    renderSupply(r.cases || []);
    if (!r.count) {
      $("supply-done").classList.contains("hidden") ? supplyMsg("supply_none") : speak($("supply-done").textContent);
      return;
    }
    $("supply-ask").classList.add("hidden"); $("supply-find").parentNode.classList.add("hidden");
    speak(t("supply_n", { n: r.count }) + "。" + (r.cases || []).map(function (c) {
      return c.materials.map(function (m) { return m.name; }).join("，"); }).join("，"));
  }).catch(function (e) {
    if (e.code === "no_card") { supplyMsg("supply_card"); return; }
    handleError(e);
  });
}
function renderSupply(cases) {
  var box = $("supply-list"); box.innerHTML = "";
  cases.forEach(function (c) {
    var card = document.createElement("div"); card.className = "supply-case"; card.setAttribute("data-case", c.case_id);
    card.innerHTML = "<h3>" + esc(c.title) + "<small>" + esc(t("supply_no", { n: c.acceptance_no })) + "</small></h3>";
    c.materials.forEach(function (m) {
      var row = document.createElement("div"); row.className = "supply-row"; row.setAttribute("data-material", m.id);
      row.innerHTML = "<div><b>" + esc(m.name) + "</b><span class=\"" + (m.overdue ? "late" : "") + "\">" +
        esc(t(m.overdue ? "supply_late" : "supply_due", { d: m.due_on })) + "</span></div>";
      var b = document.createElement("button"); b.className = "big primary"; b.textContent = t("supply_scan");
      b.setAttribute("data-supply", m.id);
      b.onclick = function () { supplyScan(m); };
      row.appendChild(b); card.appendChild(row);
    });
    box.appendChild(card);
  });
}
function supplyScan(m) {
  S.supplyFor = { id: m.id, name: m.name }; S.requestId = null;
  $("supply-done").classList.add("hidden");
  scanEnter({ path: "/supply/scan/start", body: { material_id: m.id } });
}
function supplySubmit() {
  var m = S.supplyFor; if (!m) return;
  var pages = Math.max(thumbCount, 0);   // the pages kept, as the thumbnails show them
  if (!pages) { $("scan-status").textContent = t("supply_need_pages"); speak(t("supply_need_pages")); return; }
  if (!S.requestId) S.requestId = newRequestId();   // one press = one key, kept across retries
  var body = Object.assign({ request_id: S.requestId, material_id: m.id }, supplyWho && supplyWho.code ? { code: supplyWho.code } : {});
  $("scan-done").disabled = true;
  api("POST", "/supply", body).then(function (r) {
    S.requestId = null; S.supplyFor = null; scanLeave(false);
    S.history.pop(); show("supply", { noHistory: true });
    var done = $("supply-done"); done.textContent = t("supply_ok", { m: m.name, p: r.pages_sent || pages }); done.classList.remove("hidden");
    speak(done.textContent);
    return supplyFind().then(function () {
      if (!$("supply-list").children.length) { done.textContent += " " + t("supply_all"); $("supply-msg").classList.add("hidden"); }
    });
  }, function (e) {
    if (e.code !== "server_unreachable") S.requestId = null;
    handleError(e);
  }).then(function () { $("scan-done").disabled = false; });
}
$("supply-input").addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); supplyFind(); } });
// On the card screen: how many 容缺 materials the card holder still owes, and the way to them.
function loadSupplyCount() { cardBox("/supply", "supply", "supply_n"); }

// ---------------------------------------------------------------- keypads
function keypad(boxId, displayId, maxLen, getter, setter, mask) {
  var box = $(boxId); box.innerHTML = "";
  ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "✓"].forEach(function (k) {
    if (k === "✓") return;
    var b = document.createElement("button"); b.textContent = k; b.setAttribute("data-key", k);
    b.onclick = function () {
      var v = getter(); v = k === "⌫" ? v.slice(0, -1) : (v.length < maxLen ? v + k : v);
      setter(v); $(displayId).textContent = mask ? mask(v) : v;
    };
    box.appendChild(b);
  });
}
var phoneDraft = "", codeDraft = "";
keypad("phone-keys", "phone-display", 11, function () { return phoneDraft; }, function (v) { phoneDraft = v; });
keypad("code-keys", "code-display", 12, function () { return codeDraft; }, function (v) { codeDraft = v; });

// ---------------------------------------------------------------- scanning
var scanTimer = null;
function scanEnter(start) {
  start = start || { path: "/scan/start" };
  thumbCount = -1;
  // Scanning for a 容缺 material says which one, and its last button hands the pages in.
  var title = document.querySelector("#s-scan h2");
  title.textContent = S.supplyFor ? t("supply_scan_title", { m: S.supplyFor.name }) : t("scan_title");
  $("scan-done").textContent = t(S.supplyFor ? "supply_submit" : "scan_done");
  show("scan");
  api("POST", start.path, start.body).then(scanTick).catch(function (e) { $("scan-status").textContent = t("scan_error"); handleError(e); });
  if (!scanTimer) scanTimer = setInterval(scanTick, 400);
}
function scanLeave(stop) {
  if (scanTimer) { clearInterval(scanTimer); scanTimer = null; }
  if (stop !== false) api("POST", "/scan/stop").catch(function () {});
}
var lastScanStatus = null;
function scanTick() {
  if (S.screen !== "scan") { if (scanTimer) { clearInterval(scanTimer); scanTimer = null; } return; }
  api("GET", "/scan/state").then(function (st) {
    if (S.state) S.state.scan = st;
    $("scan-preview").src = AGENT + "/scan/preview.jpg?t=" + Date.now();
    var key = { no_page: "scan_no_page", incomplete: "scan_incomplete", moving: "scan_moving", blurry: "scan_blurry", confirm: "scan_confirm",
      done: "scan_done_page", captured: "scan_confirm", error: "scan_error" }[st.status] || "scan_lay";
    $("scan-status").textContent = t(key);
    if (st.status !== lastScanStatus) { lastScanStatus = st.status; if (st.status === "confirm" || st.status === "blurry" || st.status === "incomplete") speak(t(key)); }
    var confirmBox = $("scan-confirm");
    if (st.status === "confirm") {
      if (confirmBox.classList.contains("hidden")) $("scan-pending").src = AGENT + "/scan/pending.jpg?t=" + Date.now();
      confirmBox.classList.remove("hidden");
    } else confirmBox.classList.add("hidden");
    document.querySelector("#s-scan .scan").classList.toggle("confirming", st.status === "confirm");
    renderThumbs(st.pages);
  }).catch(function () {});
}
var thumbCount = -1;
function renderThumbs(n) {
  if (n === thumbCount) return;
  thumbCount = n;
  var box = $("scan-thumbs"); box.innerHTML = "";
  for (var i = 0; i < n; i++) {
    (function (idx) {
      var f = document.createElement("figure");
      f.innerHTML = '<img alt="page ' + (idx + 1) + '" src="' + AGENT + "/scan/pages/" + idx + ".jpg?t=" + Date.now() + '"><figcaption>' + (idx + 1) + "</figcaption>";
      var del = document.createElement("button"); del.className = "tool"; del.textContent = "✕";
      del.onclick = function () { api("POST", "/scan/pages/" + idx + "/delete").then(function (st) { renderThumbs(st.pages); }); };
      f.appendChild(del); box.appendChild(f);
    })(i);
  }
}
$("scan-ok").onclick = function () { api("POST", "/scan/confirm").then(function (st) { $("scan-confirm").classList.add("hidden"); renderThumbs(st.pages); scanTick(); }).catch(handleError); };
$("scan-retake").onclick = function () { api("POST", "/scan/retake").then(function () { $("scan-confirm").classList.add("hidden"); }).catch(handleError); };
$("scan-done").onclick = function () {
  if (S.supplyFor) { supplySubmit(); return; }
  scanLeave(); pollState(); back(); setTimeout(renderNotice, 300);
};
$("scan-back").onclick = function () { S.supplyFor = null; scanLeave(); back(); };

// ---------------------------------------------------------------- guides
function openGuide(m) {
  S.matter = m;
  var g = m.type === "item" ? (m.item.guide || {}) : { conditions: m.bundle.description };
  $("guide-title").innerHTML = nameHtml(m.type === "item" ? m.item : m.bundle);
  var rows = [["guide_conditions", g.conditions], ["guide_basis", g.legal_basis], ["guide_time", g.time_limit],
    ["guide_fees", g.fees], ["guide_process", g.process]].filter(function (r) { return r[1]; });
  var mats = materialsOf(m).map(function (x) { return esc(x.name) + "（" + esc(t(x.form || "copy")) + "）"; }).join("；");
  $("guide-text").innerHTML = "<dl>" + rows.map(function (r) { return "<dt>" + esc(t(r[0])) + "</dt><dd>" + esc(r[1]) + "</dd>"; }).join("") +
    "<dt>" + esc(t("guide_materials")) + "</dt><dd>" + mats + "</dd></dl>";
  var hallId = S.catalog.hall.id;
  var path = m.type === "item" ? "/guide/" + hallId + "/" + m.item.id : "/guide/" + hallId + "/bundle/" + m.bundle.id;
  $("guide-qr").src = AGENT + "/qr.svg?path=" + encodeURIComponent(path);
  show("guide");
}

// ---------------------------------------------------------------- wiring
document.querySelectorAll("[data-back]").forEach(function (b) { b.onclick = back; });
document.querySelectorAll("[data-home]").forEach(function (b) { b.onclick = idleReset; });
$("go-take").onclick = function () { S.green = null; enterBrowse("take"); };
$("go-bundles").onclick = function () {
  S.mode = "take";
  (S.catalog ? Promise.resolve() : loadCatalog()).then(function () { renderBundles(); show("bundles"); }).catch(handleError);
};
$("go-green").onclick = function () { show("green"); };
document.querySelectorAll("[data-green]").forEach(function (b) {
  b.onclick = function () { S.green = b.getAttribute("data-green"); enterBrowse("take"); };
});
$("go-guide").onclick = function () { enterBrowse("guide"); };
$("go-card").onclick = function () {
  show("card");
  if (S.card) onCard(S.card); else { $("card-wait").classList.remove("hidden"); $("card-identity").classList.add("hidden"); $("card-walkin").classList.add("hidden"); }
  pollState();
};
$("go-code").onclick = function () { codeDraft = ""; $("code-display").textContent = ""; show("code"); };
$("card-code").onclick = $("go-code").onclick;
$("card-walkin").onclick = function () { S.withIdentity = true; enterBrowse("take"); };
$("card-manual").onclick = function () { S.withIdentity = false; enterBrowse("take"); };
$("code-ok").onclick = function () { if (codeDraft) checkIn({ code: codeDraft }); };
$("pickup-take").onclick = function () { takePickup(); };
$("go-pickup").onclick = pickupEnter;
$("go-supply").onclick = function () { supplyEnter(false); };
$("supply-go").onclick = function () { supplyEnter(false); };
$("supply-find").onclick = supplyFind;
$("pickup-find").onclick = pickupFind;
$("pickup-found-take").onclick = function () { if (pickupWho) takePickup(pickupWho); };
$("btn-issue").onclick = issue;
$("btn-scan").onclick = function () { S.supplyFor = null; scanEnter(); };
$("btn-guide-item").onclick = function () { if (S.matter) openGuide(S.matter); };
$("guide-take").onclick = function () { if (S.matter) openNotice(S.matter); };
$("btn-phone").onclick = function () { phoneDraft = S.phone || ""; $("phone-display").textContent = phoneDraft; show("phone"); };
$("phone-ok").onclick = function () {
  // The full number leaves the page once taken: from here on it is only shown masked.
  if (/^1\d{10}$/.test(phoneDraft)) { S.phone = phoneDraft; phoneDraft = ""; $("phone-display").textContent = ""; back(); renderNotice(); }
  else { $("phone-display").textContent = phoneDraft + " ✗"; }
};
$("phone-none").onclick = function () { S.phone = null; back(); renderNotice(); };
$("r-done").onclick = idleReset;
$("paused-cancel").onclick = function () { stopRetry(); S.requestId = null; home(); };
$("btn-lang").onclick = function () { S.lang = S.lang === "zh" ? "en" : "zh"; applyText(); };
$("btn-elder").onclick = function () {
  setElder(!S.elder);
  speak(S.elder ? "已进入适老模式，字更大，会有语音提示。" : "");
};
$("elder-mode").onclick = function () {
  setElder(true); $("elder-mode").classList.add("hidden");
  speak(t("elder_offer", { n: S.elderAge }));
};
$("elder-green").onclick = function () { S.green = "elderly"; S.withIdentity = true; enterBrowse("take"); };
// demo drills: the simulated devices on this kiosk
$("sim-swipe").onclick = function () { api("POST", "/sim/swipe", { card: "resident" }).catch(handleError); };
$("sim-remove").onclick = function () { api("POST", "/sim/remove").catch(handleError); };
$("sim-bad").onclick = function () { api("POST", "/sim/bad-read").catch(handleError); };
$("sim-paper").onclick = function () { api("POST", "/sim/printer", { fault: "paper_out" }).then(pollState).catch(handleError); };
$("sim-paper-ok").onclick = function () { api("POST", "/sim/printer", { fault: null }).then(pollState).catch(handleError); };

// The hall's time, whatever zone the kiosk's own system is set to.
var hallZone = null;
function tickClock() {
  $("clock").textContent = hallClock(new Date().toISOString(), hallZone);
}
setInterval(tickClock, 10000); tickClock();

var idleAttr = document.body.getAttribute("data-idle");
if (idleAttr) S.idleMs = parseFloat(idleAttr) * 1000;
buildLetterKeys(); $("letter-keys").classList.add("hidden");
buildPickupKeys();
buildNumberKeys("supply-keys", "supply-input", function () {
  supplyWho = null; $("supply-msg").classList.add("hidden"); $("supply-list").innerHTML = "";
});
applyText();
pollState();
connectEvents();
loadCatalog().catch(function () {});
window.kiosk = { state: S, idleReset: idleReset };
