// Gatehouse hosted pages: passkeys, email-link tokens and live password feedback. The pages work
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
  // "Use a passkey" on the second-step page: options bound to the form's mfa_token, then the
  // assertion as the second factor (cookie delivery, as the password step used).
  var pm = document.getElementById("passkey-mfa");
  if (pm && window.PublicKeyCredential && navigator.credentials) {
    pm.hidden = false;
    pm.addEventListener("click", function () {
      var token = pm.form.elements.mfa_token.value;
      pm.disabled = true;
      post("/v1/login/mfa/passkey/begin", {mfa_token: token}).then(function (opts) {
        var o = opts.publicKey;
        o.challenge = unb64u(o.challenge);
        (o.allowCredentials || []).forEach(function (c) { c.id = unb64u(c.id); });
        return navigator.credentials.get({publicKey: o});
      }).then(function (c) {
        var r = c.response;
        var cred = {id: c.id, rawId: b64u(c.rawId), type: c.type, response: {
          clientDataJSON: b64u(r.clientDataJSON), authenticatorData: b64u(r.authenticatorData),
          signature: b64u(r.signature), userHandle: r.userHandle ? b64u(r.userHandle) : null}};
        return post("/v1/login/mfa", {mfa_token: token, credential: cred});
      }).then(function () {
        window.location.assign(pm.getAttribute("data-return-to") || "/ui/account");
      }).catch(function (e) {
        pm.disabled = false;
        alertMsg(e && e.name === "NotAllowedError" ? "Using the passkey was cancelled." : "The passkey did not work. Try again, or start over.");
      });
    });
  }
  // Email links carry their token in the fragment (never sent to a server): copy it into the
  // form's hidden field and take it out of the address bar. The form still has to be posted.
  var tf = document.querySelectorAll("form[data-fragment-token] input[name=token]");
  var m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (tf.length && m) {
    tf.forEach(function (i) { if (!i.value) i.value = decodeURIComponent(m[1]); });
    history.replaceState(null, "", window.location.pathname);
  }
  // "Add a passkey" on the account page: the JSON registration routes, then reload.
  var add = document.getElementById("passkey-add");
  if (add && window.PublicKeyCredential && navigator.credentials) {
    add.hidden = false;
    add.addEventListener("click", function () {
      add.disabled = true;
      fetch("/v1/passkeys/register/begin", {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"}, body: "{}"})
        .then(function (r) {
          if (r.status === 403) throw new Error("For your safety, sign in again (or confirm it's you above), then add the passkey.");
          if (!r.ok) throw new Error("Adding a passkey did not work. Try again.");
          return r.json();
        }).then(function (opts) {
          var o = opts.publicKey;
          o.challenge = unb64u(o.challenge);
          o.user.id = unb64u(o.user.id);
          (o.excludeCredentials || []).forEach(function (c) { c.id = unb64u(c.id); });
          return navigator.credentials.create({publicKey: o});
        }).then(function (c) {
          var r = c.response;
          var cred = {id: c.id, rawId: b64u(c.rawId), type: c.type, response: {
            clientDataJSON: b64u(r.clientDataJSON), attestationObject: b64u(r.attestationObject),
            transports: r.getTransports ? r.getTransports() : []}};
          return fetch("/v1/passkeys/register/finish", {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"}, body: JSON.stringify(cred)});
        }).then(function (r) {
          if (!r.ok) throw new Error("The passkey could not be added. Try again.");
          window.location.assign("/ui/account?done=passkey_added");
        }).catch(function (e) {
          add.disabled = false;
          alertMsg(e && e.name === "NotAllowedError" ? "Adding a passkey was cancelled." : (e && e.message) || "Adding a passkey did not work.");
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
