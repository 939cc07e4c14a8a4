// Live updates: while the page's subject is in progress, fetch its main part again two
// seconds after the last answer and swap it in. Waiting for the answer first keeps a page
// that takes long to draw (a large sweep's figures) from piling requests on the
// coordinator. The server renders (and escapes) every fragment; nothing here builds markup
// from data.
(function () {
  "use strict";
  var main = document.getElementById("live");
  if (!main || main.dataset.live !== "1") {
    return;
  }
  var PERIOD_MS = 2000;
  // The last fragment swapped in, as the server sent it (the browser's own serialization of
  // the page never equals it): an unchanged page is not rebuilt.
  var shown = null;
  // A form the reader has changed but not sent (the compare page's picks) is not replaced.
  function editing() {
    return Array.prototype.some.call(main.querySelectorAll("input"), function (i) {
      return i.checked !== i.defaultChecked || i.value !== i.defaultValue;
    });
  }
  function refresh() {
    fetch(window.location.href, { headers: { "X-Randori-Fragment": "1" } })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("HTTP " + r.status);
        }
        return r.text().then(function (html) {
          if (html !== shown && !editing()) {
            shown = html;
            // What the reader opened (a task's figures) stays open in the new content.
            var open = Array.prototype.map.call(
              main.querySelectorAll("details[open][id]"),
              function (d) { return d.id; }
            );
            main.innerHTML = html;
            open.forEach(function (id) {
              var d = document.getElementById(id);
              if (d) {
                d.open = true;
              }
            });
          }
          if (r.headers.get("X-Randori-Live") === "1") {
            setTimeout(refresh, PERIOD_MS);
          }
        });
      })
      .catch(function () {
        // The coordinator may be restarting: keep the page and try again.
        setTimeout(refresh, PERIOD_MS);
      });
  }
  setTimeout(refresh, PERIOD_MS);
})();
