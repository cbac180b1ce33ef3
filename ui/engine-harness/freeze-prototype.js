// What Tauri's `freezePrototype: true` does to the app's window, before any other script runs.
// Also records Content-Security-Policy violations, so the suite can assert there were none.
"use strict";
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push({ directive: event.violatedDirective, blocked: event.blockedURI });
});
Object.freeze(Object.prototype);
