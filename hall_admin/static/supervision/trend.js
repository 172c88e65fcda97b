/* One place where the supervision pages draw a trend line: through the statistics page's charts
   (manage/charts.js, Apache ECharts). */
import { Charts } from "/admin/manage/static/charts.js";

const Trend = (() => {
  /** Draw ``values`` (null = nothing to count that month) over ``labels`` into ``box``; ``opts.kind`` is one of
      the charts' kinds ("rate": a 0–1 share, its axis and tooltip in per cent; default "count"). */
  function line(box, labels, values, opts = {}) {
    if (!values.some((v) => v !== null && v !== undefined)) {
      box.replaceChildren(Object.assign(document.createElement("p"), {className: "muted", textContent: "所选月份暂无数据"}));
      return;
    }
    Charts.lines(box, labels, [{name: opts.name || "", color: opts.color || "#0b4a8b", values}],
                 {file: opts.name, kind: opts.kind});
  }
  return {line};
})();
export { Trend };
