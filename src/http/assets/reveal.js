// Progressive enhancement: a Show/Hide button beside each PIN and password field. The pages
// work without it (the buttons stay hidden).
document.querySelectorAll("button.reveal").forEach(function (button) {
  var input = document.getElementById(button.getAttribute("data-reveal"));
  if (!input) { return; }
  var show = button.textContent;
  var hide = button.getAttribute("data-hide") || show;
  button.hidden = false;
  button.addEventListener("click", function () {
    var hidden = input.type === "password";
    input.type = hidden ? "text" : "password";
    button.setAttribute("aria-pressed", hidden ? "true" : "false");
    button.textContent = hidden ? hide : show;
  });
});
// After a refused form, move the focus to the error summary so screen readers announce it.
var summary = document.getElementById("error-summary");
if (summary) { summary.focus(); }
