/* The statistics page's charts, drawn by Apache ECharts (vendor/echarts, unmodified): lines over periods, a
   week × hour heat map and grouped bars per window. Counts get integer ticks, every chart a tooltip and a
   「保存为图片」 (PNG) button. The same three calls stats.js used with the earlier hand-drawn SVG. */
const Charts = (() => {
  const FONT = '"PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif';
  const INK = "#44505c";
  const charts = new Set();
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));

  /** One chart per box, reused when the page reloads its data. */
  function chartIn(box, fileName) {
    box.classList.add("echart");
    const chart = echarts.getInstanceByDom(box) || echarts.init(box, null, {renderer: "canvas", locale: "ZH"});
    charts.add(chart);
    box.dataset.file = fileName;
    return chart;
  }

  const toolbox = (name) => ({right: 8, top: 0, itemSize: 16, feature: {saveAsImage: {
    title: "保存为图片", name, type: "png", pixelRatio: 2, backgroundColor: "#fff"}}});
  const legend = {top: 0, left: 0, right: 40, textStyle: {color: INK, fontFamily: FONT}, itemWidth: 14, itemHeight: 8};
  // The plot starts below the legend and the save icon (about 26 px with its padding): a value at the top of the
  // axis (a rate of 100 %) is drawn clear of the icon.
  const PLOT_TOP = 44;
  const axisText = {color: INK, fontFamily: FONT, fontSize: 12};
  // Ticks by kind: whole numbers for counts, minutes with a unit, rates as whole percents.
  const KINDS = {
    count: {axis: {minInterval: 1, axisLabel: {...axisText, formatter: (v) => String(v)}}, fmt: (v) => `${v}`},
    minutes: {axis: {axisLabel: {...axisText, formatter: (v) => `${v}分`}},
              fmt: (v) => `${Math.round(v * 10) / 10} 分钟`},
    rate: {axis: {min: 0, max: 1, interval: 0.25, axisLabel: {...axisText, formatter: (v) => `${Math.round(v * 100)}%`}},
           fmt: (v) => `${(v * 100).toFixed(1)}%`},
  };
  const shortDay = (label) => /^\d{4}-\d{2}-\d{2}$/.test(label) ? label.slice(5) : label;
  const valueFmt = (fmt) => (v) => (v === null || v === undefined || Number.isNaN(v) ? "—" : fmt(v));

  /** Lines over periods: ``series`` = [{name, color, values}] (null values leave gaps); ``opts.kind``. */
  function lines(box, labels, series, opts = {}) {
    const kind = KINDS[opts.kind || "count"];
    chartIn(box, opts.file || "趋势").setOption({
      textStyle: {fontFamily: FONT}, color: series.map((s) => s.color), legend, toolbox: toolbox(opts.file || "趋势"),
      grid: {left: 8, right: 16, top: PLOT_TOP, bottom: 8, containLabel: true},
      tooltip: {trigger: "axis", valueFormatter: valueFmt(kind.fmt)},
      xAxis: {type: "category", data: labels, boundaryGap: false,
              axisLabel: {...axisText, formatter: shortDay, hideOverlap: true}},
      yAxis: {type: "value", ...kind.axis, splitLine: {lineStyle: {color: "#e3e8ee"}}},
      series: series.map((s) => ({name: s.name, type: "line", data: s.values, connectNulls: false,
                                  symbolSize: 6, lineStyle: {width: 2}})),
    }, true);
  }

  /** Tickets issued by weekday × hour. */
  function heatmap(box, rows, cols, counts, opts = {}) {
    const data = [];
    rows.forEach((_, i) => cols.forEach((_, j) => data.push([j, i, counts[i][j]])));
    const max = Math.max(1, ...counts.flat());
    chartIn(box, opts.file || "取号热力图").setOption({
      textStyle: {fontFamily: FONT}, toolbox: toolbox(opts.file || "取号热力图"),
      grid: {left: 8, right: 16, top: 28, bottom: 48, containLabel: true},
      tooltip: {formatter: (p) => `${rows[p.value[1]]} ${cols[p.value[0]]}时：取号 ${p.value[2]} 张`},
      xAxis: {type: "category", data: cols.map((h) => `${h}时`), splitArea: {show: true},
              axisLabel: {...axisText, hideOverlap: true}},
      yAxis: {type: "category", data: rows, inverse: true, splitArea: {show: true}, axisLabel: axisText},
      visualMap: {min: 0, max, precision: 0, calculable: false, orient: "horizontal", left: "center", bottom: 0,
                  itemHeight: 120, text: ["多", "少"], textStyle: axisText, inRange: {color: ["#eef2f6", "#0b4a8b"]}},
      series: [{name: "取号", type: "heatmap", data, itemStyle: {borderColor: "#fff", borderWidth: 1},
                emphasis: {itemStyle: {borderColor: "#1d2733", borderWidth: 1}}}],
    }, true);
  }

  /** Grouped bars per label: ``series`` = [{name, color, values, kind}] — counts on the left axis, minutes
   *  on the right, so a served count of 40 and a wait of 6 minutes are both readable. */
  function bars(box, labels, series, opts = {}) {
    const axisOf = (s) => (s.kind === "minutes" ? 1 : 0);
    chartIn(box, opts.file || "各窗口").setOption({
      textStyle: {fontFamily: FONT}, color: series.map((s) => s.color), legend, toolbox: toolbox(opts.file || "各窗口"),
      grid: {left: 8, right: 8, top: PLOT_TOP, bottom: 8, containLabel: true},
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
      xAxis: {type: "category", data: labels, axisLabel: {...axisText, interval: 0, rotate: labels.length > 8 ? 30 : 0}},
      // Units in the legend names and the tick labels ("12分"): axis names would sit under the legend.
      yAxis: [{type: "value", ...KINDS.count.axis, splitLine: {lineStyle: {color: "#e3e8ee"}}},
              {type: "value", ...KINDS.minutes.axis, splitLine: {show: false}}],
      series: series.map((s) => ({name: s.name, type: "bar", yAxisIndex: axisOf(s), data: s.values, barMaxWidth: 18,
                                  tooltip: {valueFormatter: valueFmt(KINDS[s.kind || "count"].fmt)}})),
    }, true);
  }

  return {lines, heatmap, bars};
})();
export { Charts };
