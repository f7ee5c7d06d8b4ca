// The review queue: "select all on this page" for bulk approval, and a count on the button.

const all = document.getElementById("select-all");
const boxes = () => [...document.querySelectorAll(".queue-check")];
const button = document.querySelector("[data-testid=bulk-approve]");
const label = button ? button.textContent : "";

function refresh() {
  const ticked = boxes().filter((b) => b.checked).length;
  if (button) {
    button.textContent = ticked ? `${label} (${ticked})` : label;
    button.disabled = ticked === 0;
  }
  if (all) {
    all.checked = ticked > 0 && ticked === boxes().length;
    all.indeterminate = ticked > 0 && ticked < boxes().length;
  }
}

if (all) {
  all.addEventListener("change", () => {
    for (const box of boxes()) box.checked = all.checked;
    refresh();
  });
}
for (const box of boxes()) box.addEventListener("change", refresh);
refresh();
