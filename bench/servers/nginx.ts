// nginx serving the static scenario's file: the anchor users know for static files. One process
// (`master_process off`), pinned to the server core with this wrapper (nginx inherits its affinity),
// with the settings a static site uses (sendfile, open_file_cache, keep-alive, no access log). Other
// scenarios have no nginx equivalent here ("—"). Skipped when nginx is not installed.

import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// The tests' nginx helpers: where the binary is, a free port, waiting until it listens.
import { freePort, NGINX, waitForPort } from "../../test/nginx-support.ts";
import { externalServer, type Running, serve } from "./common.ts";
import { ensureStaticFile, STATIC_DIR } from "./fixtures.ts";

serve(async (scenario): Promise<Running | null> => {
  if (scenario !== "static" || NGINX === undefined) return null;
  ensureStaticFile();
  const dir = mkdtempSync(join(tmpdir(), "phial-bench-nginx-"));
  const port = await freePort();
  writeFileSync(
    join(dir, "nginx.conf"),
    `daemon off;
master_process off;
worker_processes 1;
error_log ${dir}/error.log error;
pid ${dir}/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  open_file_cache max=1000 inactive=20s;
  open_file_cache_valid 1s;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  types { text/plain txt; }
  server {
    listen 127.0.0.1:${port};
    location /static/ { alias ${STATIC_DIR}/; }
  }
}
`,
  );
  const child = spawn(NGINX, ["-p", dir, "-c", join(dir, "nginx.conf")], { stdio: "ignore" });
  await waitForPort(port, child);
  return externalServer(child, port, dir, "SIGQUIT");
});
