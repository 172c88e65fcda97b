// The visitor's words the kiosk and the phone pages share (where to wait, what to bring), in Chinese and
// English; each page's own table adds the rest (withVisitorText).
export const VISITOR_TEXT = {
  zh: {
    your_number: "您的号码", wait_at: "请到{w}等候", wait_windows: "{n}号窗口", sep: "、",
    original: "原件", copy: "复印件", original_and_copy: "原件及复印件", deferrable: "可后补",
  },
  en: {
    your_number: "Your number", wait_at: "Please wait near {w}", wait_windows: "window {n}", sep: ", ",
    original: "original", copy: "copy", original_and_copy: "original and copy", deferrable: "may follow later",
  },
};

/** A page's {zh, en} table with the shared visitor words under it (the page's own win). */
export function withVisitorText(table) {
  return { zh: { ...VISITOR_TEXT.zh, ...table.zh }, en: { ...VISITOR_TEXT.en, ...table.en } };
}
