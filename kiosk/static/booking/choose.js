// Filter the list as the visitor types (name, code or pinyin initials); the page works without it.
const q = document.getElementById("q");
q.addEventListener("input", () => {
  const term = q.value.trim().toLowerCase();
  let shown = 0;
  document.querySelectorAll("[data-group]").forEach((g) => {
    let any = false;
    g.querySelectorAll(".matter").forEach((a) => {
      const hit = !term || a.dataset.name.toLowerCase().includes(term);
      a.hidden = !hit; any = any || hit; shown += hit;
    });
    g.hidden = !any;
  });
  document.getElementById("none").hidden = shown > 0;
});
