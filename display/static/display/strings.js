// What the hall and window screens say, in Chinese and English. ?lang=en on a screen's URL shows English;
// ?lang=bi a bilingual hall (every line and heading in Chinese, then a smaller English line); without it (or
// ?lang=zh) everything is Chinese — visitors of a Chinese screen see no English captions.
import { createI18n, pageLang } from "/static/ov/i18n.js";

const TEXT = {
  zh: {
    now_calling: "正在呼叫", windows: "窗口", missed: "过号", waiting_head: "排队情况", notices: "公告",
    watch: "请留意叫号", many_calls: "请以下号码到对应窗口办理", go_window: "请到 {w} 号窗口", window_n: "{w} 号窗口",
    tile_window: "{w}号窗口", closed: "暂停开放", go_cover: "请到{w}号", no_clerk: "暂无人员", paused: "暂停服务",
    idle: "等候叫号", calling: "呼叫中", serving: "办理中", none: "暂无", missed_hint: "请到原窗口咨询",
    people_waiting: " 人等候", no_window: "暂无窗口办理", about_min: "约 {m} 分钟", no_wait: "无需等候",
    cover_line: "{w}号窗口由{c}号窗口顶岗，请到{c}号窗口办理",
    // the window screen
    l_calling: "正在呼叫", l_serving: "正在办理", l_ready: "空闲", l_paused: "暂停服务", l_closed: "本窗口已关闭",
    l_covered: "顶岗", l_empty: "暂无工作人员", come_here: "请 {n} 号到本窗口办理", please_wait: "请稍候",
    pause_big: "暂停", reason: "原因：{r}", go_other: "请到其他窗口办理", covered_by: "{w}号窗口由{c}号窗口顶岗",
    empty_big: "空岗", ask_staff: "请咨询大厅工作人员", also: "同时办理{w}窗口业务（顶岗）", also_n: "{n}号", sep: "、",
    post_A: "A岗", post_B: "B岗", at_service: "{p} 为您服务", window_suffix: "号窗口",
  },
  en: {
    now_calling: "Now calling", windows: "Windows", missed: "Missed", waiting_head: "Waiting", notices: "Notice",
    watch: "Please watch for your number", many_calls: "Please go to the windows shown", go_window: "Please go to window {w}",
    window_n: "Window {w}", tile_window: "Window {w}", closed: "Closed", go_cover: "Go to {w}", no_clerk: "No clerk",
    paused: "Paused", idle: "Ready", calling: "Calling", serving: "Serving", none: "None",
    missed_hint: "Ask at your window", people_waiting: " waiting", no_window: "No window serving now",
    about_min: "About {m} min", no_wait: "No wait", cover_line: "Window {w} is served at window {c}; please go to window {c}",
    l_calling: "Calling", l_serving: "Serving", l_ready: "Ready", l_paused: "Paused", l_closed: "Closed",
    l_covered: "Covered", l_empty: "No clerk", come_here: "Number {n}, please come to this window", please_wait: "Please wait",
    pause_big: "Paused", reason: "Reason: {r}", go_other: "Please go to another window", covered_by: "Window {w} is served at window {c}",
    empty_big: "Empty", ask_staff: "Ask the hall staff", also: "Also serving window {w}", also_n: "{n}", sep: ", ",
    post_A: "Post A", post_B: "Post B", at_service: "{p} at your service", window_suffix: "",
  },
};

export const lang = pageLang({ allowed: ["zh", "en", "bi"] });
const i18n = createI18n(TEXT, lang);
i18n.sep = "\n";  // bilingual: the English under the Chinese, smaller (show())
document.body.classList.add(`lang-${lang}`);

/** A sentence or value in the screen's language. */
export const t = i18n.t;
/** A heading: bilingual only on a ?lang=bi screen. */
export const label = (key, vars) => (lang === "bi" ? i18n.both(key, vars, "\n") : i18n.t(key, vars));
/** A queue's or item's name (English when it has one). */
export const nameOf = i18n.nameOf;
/** The locale for dates and times on the clock. */
export const locale = lang === "en" ? "en-GB" : "zh-CN";

/** Put a text on screen; a bilingual "中文\nEnglish" shows its English as a smaller line under the Chinese. */
export function show(node, text) {
  const [zh, en] = String(text ?? "").split("\n");
  node.textContent = zh;
  if (en) {
    const small = document.createElement("small");
    small.className = "en";
    small.textContent = en;
    node.append(small);
  }
  return node;
}

/** A bilingual heading: the Chinese, then its English as a small caption on the same line. */
function caption(node, key) {
  const [zh, en] = i18n.both(key, undefined, "\n").split("\n");
  node.textContent = en ? `${zh} ` : zh;
  if (en) {
    const small = document.createElement("small");
    small.textContent = en;
    node.append(small);
  }
}

/** Headings and fixed lines of the markup, for ?lang=en and ?lang=bi (Chinese mode keeps the markup). */
export function applyMarkup() {
  if (lang === "zh") return;
  document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
  document.querySelectorAll("[data-t]").forEach((n) => {
    const key = n.dataset.t;
    if (lang === "en") n.textContent = i18n.t(key);
    else if (n.matches(".label, .missed-tag")) caption(n, key);
    else show(n, i18n.both(key, undefined, "\n"));
  });
}
