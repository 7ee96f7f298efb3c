// Gatehouse hosted pages: passkey sign-in and live password feedback. The pages work
// without this script, except the passkey button, which it reveals.
"use strict";
(function () {
  function b64u(buf) {
    var s = "", b = new Uint8Array(buf);
    for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64u(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), b = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
    return b.buffer;
  }
  function alertMsg(msg) {
    var a = document.getElementById("form-alert");
    if (a) { a.textContent = msg; a.hidden = false; }
  }
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (!r.ok) {
            var wait = r.headers.get("Retry-After");
            var e = new Error(r.status === 429 && wait ? "Too many attempts. Try again in " + wait + " seconds." : "Sign-in with a passkey did not work. Try again, or use your password.");
            throw e;
          }
          return j;
        });
      });
  }
  var pk = document.getElementById("passkey-login");
  if (pk && window.PublicKeyCredential && navigator.credentials) {
    pk.hidden = false;
    pk.addEventListener("click", function () {
      pk.disabled = true;
      post("/v1/login/passkey/begin", {}).then(function (opts) {
        var o = opts.publicKey;
        o.challenge = unb64u(o.challenge);
        (o.allowCredentials || []).forEach(function (c) { c.id = unb64u(c.id); });
        return navigator.credentials.get({publicKey: o});
      }).then(function (c) {
        var r = c.response;
        var cred = {id: c.id, rawId: b64u(c.rawId), type: c.type, response: {
          clientDataJSON: b64u(r.clientDataJSON), authenticatorData: b64u(r.authenticatorData),
          signature: b64u(r.signature), userHandle: r.userHandle ? b64u(r.userHandle) : null}};
        return post("/v1/login/passkey/finish", {credential: cred, delivery: "cookie"});
      }).then(function () {
        // data-return-to was checked by the server; empty means the account page.
        window.location.assign(pk.getAttribute("data-return-to") || "/ui/account");
      }).catch(function (e) {
        pk.disabled = false;
        alertMsg(e && e.name === "NotAllowedError" ? "Sign-in with a passkey was cancelled." : (e && e.message) || "Sign-in with a passkey did not work.");
      });
    });
  }
  // Live feedback on the sign-up password; the server decides.
  var pw = document.querySelector("input[data-policy]"), hint = document.getElementById("password-policy");
  if (pw && hint) {
    var initial = hint.textContent;
    pw.addEventListener("input", function () {
      var n = Array.from(pw.value).length;
      if (n === 0) { hint.textContent = initial; hint.className = "gh-hint"; }
      else if (n < 8) { hint.textContent = (8 - n) + " more character" + (8 - n === 1 ? "" : "s") + " needed."; hint.className = "gh-hint"; }
      else if (n > 256) { hint.textContent = "Too long: at most 256 characters."; hint.className = "gh-hint"; }
      else { hint.textContent = "Length is fine."; hint.className = "gh-hint gh-ok"; }
    });
  }
})();
