// Gongxin console: the only script. It polls a job's progress and reloads the page once
// the job has finished (the server then renders the result). Pages work without it.
(function () {
  "use strict";

  function pollJob(box) {
    var url = box.getAttribute("data-progress-url");
    var bar = document.getElementById("job-progress");
    var count = document.getElementById("job-count");
    var state = document.getElementById("job-state");
    var stage = document.getElementById("job-stage");
    var stages = {};
    try { stages = JSON.parse(box.getAttribute("data-stage-names") || "{}"); } catch (e) { stages = {}; }

    function tick() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (job) {
          if (job.state !== "running" && job.state !== "queued") { window.location.reload(); return; }
          if (bar) {
            if (job.percent === null || job.percent === undefined) { bar.removeAttribute("value"); }
            else { bar.value = job.percent; }
          }
          if (count) { count.textContent = job.total ? job.done + " / " + job.total : (job.done ? String(job.done) : ""); }
          if (stage && job.stage) { stage.textContent = stages[job.stage] || job.stage; }
          window.setTimeout(tick, 1000);
        })
        .catch(function () {
          if (state) { state.textContent = state.textContent + " …"; }
          window.setTimeout(tick, 3000);
        });
    }
    window.setTimeout(tick, 700);
  }

  document.documentElement.classList.add("js");

  function foldMenu() {
    var button = document.getElementById("menu-button");
    var top = button ? button.closest(".top") : null;
    if (!button || !top) { return; }
    button.addEventListener("click", function () {
      var open = top.classList.toggle("open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    foldMenu();
    var box = document.getElementById("job");
    var polled = box ? box.getAttribute("data-state") : null;
    if (polled === "running" || polled === "queued") { pollJob(box); }
  });
})();
