/* Complaint page: reveal the complainant's contact for a call-back (the API records the reveal). */
import { api } from "/static/ov/api.js";

document.getElementById("reveal")?.addEventListener("click", async (ev) => {
  const btn = ev.currentTarget;
  try {
    const d = await api("POST", `/api/v1/complaints/${btn.dataset.id}/contact`);
    document.getElementById("contact").textContent = d.contact;
    btn.remove();
  } catch (e) {
    btn.textContent = "失败：" + e.message;
  }
});
