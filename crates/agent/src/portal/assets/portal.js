"use strict";
(function () {
  var form = document.getElementById("connect");
  var out = document.getElementById("outcome");
  var list = document.getElementById("networks");
  var pw = document.getElementById("password");
  var show = document.getElementById("show");
  var csrf = form.elements.csrf.value;
  document.getElementById("show-wrap").hidden = false;
  show.addEventListener("change", function () { pw.type = show.checked ? "text" : "password"; });

  function say(status) {
    out.textContent = status.message || "";
    out.className = "outcome " + ({ joined: "ok", failed: "bad", joining: "busy" }[status.state] || "");
  }

  function bars(n) { return "\u2582\u2584\u2586\u2588".slice(0, n) || "\u00b7"; }

  function render(nets) {
    var picked = form.querySelector("input[name=ssid]:checked");
    var keep = picked ? picked.value : null;
    list.textContent = "";
    nets.forEach(function (n) {
      var label = document.createElement("label");
      label.className = "net";
      var radio = document.createElement("input");
      radio.type = "radio"; radio.name = "ssid"; radio.value = n.ssid;
      radio.checked = n.ssid === keep;
      var name = document.createElement("span");
      name.textContent = n.ssid;
      var info = document.createElement("small");
      info.textContent = bars(n.bars) + " " + n.rssi + " dBm \u00b7 " + n.security;
      label.append(radio, " ", name, info);
      list.appendChild(label);
    });
  }

  function api(method, path, body) {
    return fetch(path, {
      method: method,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) { return r.json(); });
  }

  document.getElementById("rescan-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var b = document.getElementById("rescan");
    b.disabled = true; b.textContent = "Scanning\u2026";
    api("POST", "/api/rescan").then(function (r) { if (r.networks) render(r.networks); })
      .finally(function () { b.disabled = false; b.textContent = "Scan again"; });
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var picked = form.querySelector("input[name=ssid]:checked");
    var ssid = picked && picked.value ? picked.value : form.elements.hidden_ssid.value;
    if (!ssid) { say({ state: "failed", message: "Pick a network or type the name of a hidden one." }); out.focus(); return; }
    var button = document.getElementById("submit");
    button.disabled = true;
    say({ state: "joining", message: "Joining " + ssid + "\u2026" });
    api("POST", "/api/connect", { ssid: ssid, password: pw.value })
      .then(function (status) {
        say(status.message ? status : { state: "failed", message: status.error || "Something went wrong \u2014 try again." });
        if (status.state === "failed") { pw.value = ""; }
      })
      .catch(function () { say({ state: "failed", message: "The device did not answer \u2014 try again." }); })
      .finally(function () { button.disabled = false; out.focus(); });
  });

  if (window.EventSource) {
    new EventSource("/api/events").addEventListener("status", function (e) { say(JSON.parse(e.data)); });
  }
})();
