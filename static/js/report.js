// Printable reports: the Print button opens the browser's print dialog (A4, print.css).

for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => self.print());
}
