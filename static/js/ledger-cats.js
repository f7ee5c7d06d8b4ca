// Category chips (one choice) of the ledger forms.

/** Wire a chips group; return a function giving the chosen category code. */
export function categoryChips(group, onPick = () => {}) {
  group.addEventListener("click", (ev) => {
    const chip = ev.target.closest(".chip");
    if (!chip) return;
    for (const c of group.querySelectorAll(".chip")) {
      c.classList.toggle("is-active", c === chip);
      c.setAttribute("aria-checked", String(c === chip));
    }
    onPick(chip.dataset.category);
  });
  return () => {
    const active = group.querySelector(".chip.is-active");
    return active ? active.dataset.category : "other";
  };
}
