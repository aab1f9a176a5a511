// Swagger UI for /api/docs, set up from this file because the CSP forbids inline scripts.
const target = document.getElementById("swagger-ui");
window.SwaggerUIBundle({
  url: target.dataset.specUrl,
  domNode: target,
  deepLinking: true,
  // The public validator badge would call another site; the spec is checked by our own tests.
  validatorUrl: null,
  persistAuthorization: false,
  tryItOutEnabled: true,
});
