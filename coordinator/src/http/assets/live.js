// Live updates: while the page's subject is in progress, fetch its main part again every two
// seconds and swap it in. The server renders (and escapes) every fragment; nothing here
// builds markup from data.
(function () {
  "use strict";
  var main = document.getElementById("live");
  if (!main || main.dataset.live !== "1") {
    return;
  }
  var timer = setInterval(function () {
    fetch(window.location.href, { headers: { "X-Randori-Fragment": "1" } })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("HTTP " + r.status);
        }
        return r.text().then(function (html) {
          if (html !== main.innerHTML) {
            main.innerHTML = html;
          }
          if (r.headers.get("X-Randori-Live") !== "1") {
            clearInterval(timer);
          }
        });
      })
      .catch(function () {
        // The coordinator may be restarting: keep the page and try again.
      });
  }, 2000);
})();
