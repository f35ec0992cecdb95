/* Passkeys (WebAuthn) for forms marked data-passkey="create" or "get".
 *
 * On submit: POST the form to its data-options URL (CSRF token included) for the options,
 * ask the browser for the passkey, put its answer as JSON in the form's hidden "credential"
 * field, and send the form as usual. The panel checks everything; this only carries bytes.
 * Served as a file: the panel's Content-Security-Policy allows no inline script.
 */
(function () {
  "use strict";

  function fromB64url(value) {
    var b64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return { type: d.type, id: fromB64url(d.id), transports: d.transports };
    });
  }

  function creationOptions(o) {
    o.challenge = fromB64url(o.challenge);
    o.user.id = fromB64url(o.user.id);
    o.excludeCredentials = descriptors(o.excludeCredentials);
    return o;
  }

  function requestOptions(o) {
    o.challenge = fromB64url(o.challenge);
    o.allowCredentials = descriptors(o.allowCredentials);
    return o;
  }

  function answer(credential) {
    var r = credential.response, out = {
      id: credential.id, rawId: toB64url(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toB64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      out.response.userHandle = r.userHandle ? toB64url(r.userHandle) : null;
    }
    return JSON.stringify(out);
  }

  function say(form, text) {
    var status = form.querySelector("[data-passkey-status]");
    if (status) { status.textContent = text; }
  }

  function start(form, event) {
    if (form.dataset.ready === "1") { return; }  // the answer is in: send the form
    event.preventDefault();
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say(form, "This browser cannot use passkeys.");
      return;
    }
    var create = form.dataset.passkey === "create";
    if (create) {
      var name = form.querySelector("input[name=name]");
      if (name && !name.value.trim()) { form.dataset.ready = "1"; form.submit(); return; }
    }
    say(form, "");
    fetch(form.dataset.options, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) { throw new Error(body.error || "The panel could not start. Reload the page and try again."); }
        return body;
      });
    }).then(function (options) {
      return create ? navigator.credentials.create({ publicKey: creationOptions(options) })
                    : navigator.credentials.get({ publicKey: requestOptions(options) });
    }).then(function (credential) {
      form.querySelector("input[name=credential]").value = answer(credential);
      form.dataset.ready = "1";
      form.submit();
    }).catch(function (error) {
      if (error && error.name === "NotAllowedError") {
        say(form, "The passkey request was cancelled or timed out. Try again.");
      } else if (error && error.name === "InvalidStateError") {
        say(form, "This device already holds a passkey for your account.");
      } else {
        say(form, (error && error.message) || "The passkey could not be used. Try again.");
      }
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.passkey) { start(form, event); }
  });
})();
