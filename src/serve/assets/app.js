// bmad serve: the live views. The run list redraws its table; a run's page says which run
// it shows and the last event it was drawn with, and new events come as server-sent events:
// each is added to the latest events, and one that moves a story moves its card to its new
// column; an approval asked or answered redraws the approvals.
"use strict";
// The run list: its table redrawn every 2 s while the page is shown, so new runs appear
// and statuses change without a reload.
(function () {
  const runs = document.getElementById("runs");
  if (!runs || !window.fetch) {
    return;
  }
  let last = runs.innerHTML;
  setInterval(function () {
    if (document.hidden) {
      return;
    }
    fetch("/parts/runs", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null && html !== last) {
          last = html;
          runs.innerHTML = html;
        }
      })
      .catch(function () {});
  }, 2000);
})();
(function () {
  const run = document.getElementById("run");
  if (!run || !window.EventSource) {
    return;
  }
  const id = run.dataset.run;
  const url = "/runs/" + encodeURIComponent(id) + "/events?after=" + run.dataset.after;
  const source = new EventSource(url);

  function counts() {
    for (const column of document.querySelectorAll("#board .column")) {
      const count = column.querySelector(".count");
      if (count) {
        count.textContent = column.querySelectorAll(".card").length;
      }
    }
  }

  function move(story, to) {
    const column = document.querySelector('#board .column[data-column="' + CSS.escape(to) + '"]');
    if (!column) {
      return;
    }
    let card = document.querySelector('#board .card[data-story="' + CSS.escape(story) + '"]');
    if (!card) {
      card = document.createElement("div");
      card.className = "card";
      card.dataset.story = story;
      const name = document.createElement("strong");
      name.textContent = story;
      card.appendChild(name);
    }
    column.appendChild(card);
    card.classList.add("moved");
    setTimeout(function () { card.classList.remove("moved"); }, 1500);
    counts();
  }

  // The workflow's graph and the timeline, redrawn by the server at most every 2 s while
  // tasks start and end.
  let redraw = null;
  function parts() {
    redraw = null;
    for (const name of ["flow", "timeline"]) {
      const part = document.getElementById("part-" + name);
      if (!part) {
        continue;
      }
      fetch("/runs/" + encodeURIComponent(id) + "/parts/" + name, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html !== null) {
            part.innerHTML = html;
          }
        })
        .catch(function () {});
    }
  }
  function soon() {
    if (redraw === null) {
      redraw = setTimeout(parts, 2000);
    }
  }

  function log(e) {
    const list = document.getElementById("log");
    if (!list) {
      return;
    }
    const item = document.createElement("li");
    item.dataset.seq = e.seq;
    const at = document.createElement("span");
    at.className = "at";
    at.textContent = "[" + e.at + "]";
    item.appendChild(at);
    item.appendChild(document.createTextNode(" " + e.text));
    list.insertBefore(item, list.firstChild);
    while (list.children.length > 200) {
      list.removeChild(list.lastChild);
    }
  }

  // The approvals, redrawn by the server as soon as one is asked or answered (with their
  // forms, when the view has a token).
  function approvals() {
    const part = document.getElementById("part-approvals");
    if (!part) {
      return;
    }
    fetch("/runs/" + encodeURIComponent(id) + "/parts/approvals", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null) {
          part.innerHTML = html;
        }
      })
      .catch(function () {});
  }

  source.addEventListener("log", function (m) {
    const e = JSON.parse(m.data);
    run.dataset.after = e.seq;
    log(e);
    if (e.story && e.moved) {
      move(e.story, e.moved);
    }
    if (e.kind === "task_started" || e.kind === "task_finished") {
      soon();
    }
    if (e.kind === "approval_asked" || e.kind === "approval_answered") {
      approvals();
    }
  });
  source.addEventListener("run", function (m) {
    const r = JSON.parse(m.data);
    const status = document.getElementById("run-status");
    if (status) {
      status.textContent = r.status;
      status.className = "status " + r.status;
    }
    const events = document.getElementById("events");
    if (events) {
      events.textContent = r.events;
    }
    run.dataset.live = r.live;
  });
  source.addEventListener("end", function () {
    source.close();
    if (redraw !== null) {
      clearTimeout(redraw);
      parts();
    }
  });
  source.addEventListener("failed", function () {
    source.close();
  });
})();
