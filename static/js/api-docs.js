// Swagger UI for /api/docs, set up from this file because the CSP forbids inline scripts.
const target = document.getElementById("swagger-ui");
window.SwaggerUIBundle({
  url: target.dataset.specUrl,
  domNode: target,
  // Deep links put an <a> inside each operation's toggle button (nested interactive controls).
  deepLinking: false,
  // The public validator badge would call another site; the spec is checked by our own tests.
  validatorUrl: null,
  persistAuthorization: false,
  tryItOutEnabled: true,
});

// Swagger UI leaves the request body's editor without a label: name it for screen readers.
const bodyLabel = target.dataset.bodyLabel;
new MutationObserver(() => {
  for (const area of target.querySelectorAll("textarea:not([aria-label]):not([id])")) {
    area.setAttribute("aria-label", bodyLabel);
  }
}).observe(target, { childList: true, subtree: true });
