// Snippets of docs/config.md.

import { Phial } from "phial";

// #region basic
const app = new Phial(import.meta.url, { config: { maxContentLength: 1024 * 1024 } });
app.config.secretKey = process.env.SECRET_KEY; // or PHIAL_SECRET_KEY=... in the environment
app.config.fromObject({ SESSION_COOKIE_SECURE: true, myApiUrl: "https://api.example" }); // Flask's names work
// #endregion

// #region read
app.get("/limits", () => ({
  maxContentLength: app.config.maxContentLength, // 1048576
  secure: app.config.sessionCookieSecure, // true
  api: app.config.myApiUrl, // your own keys are `unknown`
}));

// #endregion

export { app };
