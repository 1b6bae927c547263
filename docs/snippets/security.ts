// Snippets of docs/security.md.

import { Blueprint, CSRFError, Phial } from "phial";

export function corsApp() {
  // #region cors
  const app = new Phial(import.meta.url);
  const api = new Blueprint("api", { urlPrefix: "/api" });
  // Every route of the blueprint: these origins may read responses and send cookies.
  api.cors({ origins: ["https://app.example.com", /https:\/\/[a-z]+\.example\.com/], credentials: true });
  api.get("/me", (req) => ({ user: req.session.get("user") ?? null }));
  // One route: anyone may read it (no credentials with "*").
  app.get("/status", { cors: { origins: "*", maxAge: 3600 } }, () => ({ ok: true }));
  app.registerBlueprint(api);
  // #endregion
  return app;
}

export function csrfApp() {
  // #region csrf
  const app = new Phial(import.meta.url, { config: { secretKey: "change me" } });
  app.config.csrfTokenRequired = true; // as Flask-WTF: every form post brings the session's token
  app.config.csrfTrustedOrigins = ["https://admin.example.com"]; // its forms may post here

  app.get("/transfer", () =>
    app.renderTemplateString(`<form method="post">
      <input type="hidden" name="csrf_token" value="{{ csrfToken() }}">
      <input name="amount"> <button>Send</button></form>`),
  );
  app.post("/transfer", (req) => `sent ${req.form.get("amount")}`);
  app.post("/webhooks/billing", { csrf: false }, () => "ok"); // checked by its own signature
  app.errorHandler(CSRFError, (e) => [`Please reload the form (${e.reason}).`, 400]);
  // #endregion
  return app;
}

export function headersApp() {
  // #region headers
  const app = new Phial(import.meta.url);
  app.config.securityHeaders = {
    csp: "default-src 'self'; script-src 'self' 'nonce-{nonce}'", // {nonce}: new for each response
    frameOptions: "DENY",
  };
  app.config.compression = true; // gzip, br (and zstd where Node has it) by Accept-Encoding
  app.get("/", () => app.renderTemplateString(`<script nonce="{{ cspNonce() }}">console.log("hi")</script>`));
  // #endregion
  return app;
}
