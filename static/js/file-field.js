// File pickers (templates/_file_field.html): show what was chosen under the big button.
// The words come from the page (data-many, the first text); only the file names are added here.

for (const field of document.querySelectorAll("[data-file-field]")) {
  const input = field.querySelector("input[type=file]");
  const out = field.querySelector("[data-file-name]");
  const none = out.textContent.trim();
  const show = () => {
    const files = Array.from(input.files || []);
    out.dataset.chosen = String(files.length);
    out.replaceChildren();
    if (files.length === 0) out.textContent = none;
    if (files.length > 1) out.append(out.dataset.many.replace("{n}", String(files.length)));
    for (const file of files) {
      const name = document.createElement("span");
      name.className = "file-name-item";
      name.textContent = file.name;
      out.append(name);
    }
  };
  input.addEventListener("change", show);
  show(); // a file the browser kept after going back
}
