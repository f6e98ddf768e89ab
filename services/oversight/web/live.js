// Keeps a scope page's figures current without a reload: after each commit that changes them the
// server sends the figures again (server-sent events). EventSource reconnects by itself, so a
// page heals after the server restarts; on reconnecting the server sends the figures afresh.
// Without JavaScript the page is a plain page of the figures when it was loaded.
(function () {
  "use strict";
  var figures = document.getElementById("figures");
  if (!figures || !figures.getAttribute("data-live") || !window.EventSource) {
    return;
  }
  var status = document.getElementById("figures-status");
  var source = new EventSource(figures.getAttribute("data-live"));
  source.addEventListener("figures", function (event) {
    figures.innerHTML = event.data;
    var seq = figures.querySelector('[data-field="seq"]');
    if (seq) {
      figures.setAttribute("data-seq", seq.textContent);
      if (status) {
        status.textContent = "Figures updated after log entry " + seq.textContent + ".";
      }
    }
  });
})();
