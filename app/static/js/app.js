// Progressive enhancement only: every page works without this script.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // The language menu submits itself when changed; its button stays for keyboard and no-JS users.
  const select = document.getElementById("language-select");
  if (select && select.form) {
    select.addEventListener("change", () => select.form.submit());
  }
});
