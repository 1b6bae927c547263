// npm's `prepare`: builds dist/ when it is missing. npm runs it after `npm install` in a clone and, what
// it is for, when a project installs Phial from a git URL (npm prepares git dependencies with `prepare`
// only, not `prepack`; `npm pack` runs `prepack`, which always rebuilds).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

if (!existsSync("dist/index.js")) {
  const r = spawnSync("npm", ["run", "build"], { stdio: "inherit", shell: process.platform === "win32" });
  process.exit(r.status ?? 1);
}
