// The demo behind `npm start`: a small real site on Phial. The seed tutorial's pages (under /seed), plus
// what a site needs beyond them: sign-up and sign-in with scrypt-hashed passwords (users.ts) and a
// signed session (never the password in a cookie), templates with a base layout, flash messages, CSRF
// tokens on every form, sign-in and sign-up throttled (429 with Retry-After), a per-user file area
// (upload, list, download, delete; uploads checked for sign-in, CSRF and a disk quota before their body
// is read), a JSON API (its user list for signed-in users only) whose inputs
// and answers are checked by zod schemas and documented by OpenAPI (/api/docs), a live chat over a
// WebSocket (/chat/, chat.ts), static assets, security headers and friendly error pages.
//
//   npm start                       http://127.0.0.1:5000 (HOST and PORT override)
//   PHIAL_DEMO_DATA=/tmp/d npm start   keep users, files and the session key elsewhere than ./data
//
// Everything lives in one data folder it creates: users.json, secret_key (0600) and uploads/<user>/.

import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, readdir, stat, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  abort,
  Blueprint,
  type Broker,
  flash,
  type Handler,
  HTTPException,
  Limiter,
  type Logger,
  MemoryStore,
  makeResponse,
  Phial,
  RedisBroker,
  type RedisLike,
  RedisSessionInterface,
  RedisStore,
  type Request,
  RequestEntityTooLarge,
  redirect,
  renderTemplate,
  roomsBus,
  safeRedirect,
  secureFilename,
  sendFromDirectory,
  serveOpenAPI,
  urlFor,
  ValidationError,
} from "phial";
import type { RedisClientType } from "redis";
import { z } from "zod";
import { addChat } from "./chat.ts";
import { SignupError, UserStore } from "./users.ts";

export interface DemoOptions {
  /** Where users, uploads and the session key live. Default `$PHIAL_DEMO_DATA`, else `<repo>/data`. */
  dataDir?: string;
  /** Signs the session cookie. Default `$PHIAL_SECRET_KEY`, else a key generated once into the data folder. */
  secretKey?: string;
  /** Largest uploaded file, in bytes. Default 5 MiB. */
  maxUploadBytes?: number;
  /** Most files one user may keep. Default 50. */
  maxFilesPerUser?: number;
  /** Where the app logs (default: the console). */
  logger?: Logger;
  /** Debug mode: request log and stack-trace pages for this machine. Default `$PHIAL_DEBUG`, else off. */
  debug?: boolean;
  /**
   * A connected Redis client, for running several instances: sessions then live in Redis (the cookie
   * holds a signed id) and the sign-in limit counts in Redis, so it holds across instances. `createApp()`
   * connects to `$REDIS_URL` when it is set. Default: signed-cookie sessions, limits in this process.
   */
  redis?: RedisLike;
  /**
   * Carries the chat's messages between instances (a `RedisBroker`; `createApp()` makes one with
   * `$REDIS_URL`). Default: the chat reaches the users of this process only.
   */
  broker?: Broker;
  /** Sign-in attempts allowed per client address. Default "10 per minute". */
  signinLimitPerAddress?: string;
  /** Sign-in attempts allowed per account (whatever the address). Default "5 per minute". */
  signinLimitPerUser?: string;
  /** Sign-ups (the form and `POST /api/users` together) allowed per client address. Default "10 per hour". */
  signupLimitPerAddress?: string;
  /** Bytes of files one user may keep. Default 50 MiB. */
  quotaBytesPerUser?: number;
}

export interface Demo {
  app: Phial;
  users: UserStore;
  dataDir: string;
}

/** The data folder when none is given: `$PHIAL_DEMO_DATA`, else `data/` at the repository's root. */
export function defaultDataDir(): string {
  const env = process.env.PHIAL_DEMO_DATA;
  return env !== undefined && env !== "" ? resolve(env) : fileURLToPath(new URL("../data", import.meta.url));
}

/**
 * The session key: `$PHIAL_SECRET_KEY`, else `<dataDir>/secret_key`, created (32 random bytes, mode
 * 0600) on first start so sessions survive restarts. Whoever reads it can sign in as anyone: keep it out
 * of backups you share, and delete it to sign everybody out.
 */
export function loadSecretKey(dataDir: string): string {
  const env = process.env.PHIAL_SECRET_KEY;
  if (env !== undefined && env !== "") return env;
  const file = join(dataDir, "secret_key");
  try {
    return readExistingKey(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const key = randomBytes(32).toString("hex");
  try {
    // "wx": never replace a key another process wrote a moment ago.
    writeFileSync(file, `${key}\n`, { mode: 0o600, flag: "wx" });
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return readExistingKey(file);
    throw err;
  }
}

function readExistingKey(file: string): string {
  const key = readFileSync(file, "utf8").trim();
  if (key.length < 32) {
    throw new Error(`${file} holds no usable key (under 32 characters): delete it and start again`);
  }
  return key;
}

/** `1536` → `1.5 KB`. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let n = bytes / 1024;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n < 10 ? n.toFixed(1).replace(/\.0$/, "") : Math.round(n)} ${units[i]}`;
}

/** What the error pages say, by status; the rest get the exception's own description. */
const ERROR_TEXT: Readonly<Record<number, string>> = {
  400: "The request could not be understood. If you sent a form, reload the page and try again.",
  404: "There is nothing at this address. It may have moved, or the link has a typo.",
  405: "This address exists, but not for that kind of request.",
  413: "That was more than this site accepts in one request.",
  500: "Something went wrong on our side. It has been logged; please try again in a moment.",
};

/** An upload that would take its user over the disk quota: a 413 whose text says so. */
class QuotaExceeded extends RequestEntityTooLarge {}

interface FileEntry {
  name: string;
  size: number;
  sizeText: string;
  modified: string;
}

/**
 * Builds the demo: the app, its user store and its data folder. Nothing listens until you call
 * `app.run()` (or serve `app` another way).
 */
export function createDemo(options: DemoOptions = {}): Demo {
  const dataDir = resolve(options.dataDir ?? defaultDataDir());
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const uploadsDir = join(dataDir, "uploads");
  const maxUpload = options.maxUploadBytes ?? 5 * 1024 * 1024;
  const maxFiles = options.maxFilesPerUser ?? 50;
  const quota = options.quotaBytesPerUser ?? 50 * 1024 * 1024;
  const users = new UserStore(dataDir);

  const app = new Phial(import.meta.url, { name: "demo" }); // templates/ and static/ next to this file
  if (options.logger !== undefined) app.logger = options.logger;
  if (options.debug !== undefined) app.config.debug = options.debug;
  app.config.secretKey = options.secretKey ?? loadSecretKey(dataDir);
  if (options.redis !== undefined) {
    // Several instances: the session and the limits are shared through Redis (docs/deployment.md).
    app.sessionInterface = new RedisSessionInterface({ client: options.redis, userKey: "user" });
  }
  // The whole request (file, fields, multipart framing) may be a little more than the file itself.
  app.config.maxContentLength = maxUpload + 64 * 1024;
  app.config.maxFileSize = maxUpload;
  app.config.maxFormFiles = 1;
  app.templates.addFilter("filesize", (n: number) => formatSize(n));
  app.templates.addGlobal("max_upload", formatSize(maxUpload));
  app.templates.addGlobal("quota", formatSize(quota));

  // ---- sessions, sign-in and CSRF -------------------------------------------------------------------

  /** The signed-in user's name, from the signed session (a forged or stale cookie reads as nobody). */
  function currentUser(req: Request): string | undefined {
    const u = req.session.get("user");
    return typeof u === "string" ? u : undefined;
  }

  /**
   * The signed-in user, else a redirect to the sign-in form that comes back here afterwards. A session
   * whose account is gone (the data folder was reset) is ended.
   */
  async function requireUser(req: Request): Promise<string> {
    const user = currentUser(req);
    if (user !== undefined && (await users.exists(user))) return user;
    if (user !== undefined) req.session.clear();
    flash("Please sign in to see that page.", "warning");
    const here = req.queryString === "" ? req.path : `${req.path}?${req.queryString}`;
    abort(redirect(urlFor("signin_form", { next: here })));
  }

  /**
   * Starts a fresh session for `user`: nothing from before survives a sign-in, and a server-side
   * session gets a new id (session fixation).
   */
  function signInAs(req: Request, user: string): void {
    req.session.clear();
    req.session.regenerate();
    req.session.set("user", user);
  }

  // CSRF is Phial's own: Sec-Fetch-Site / Origin are checked by default, and with csrfTokenRequired every
  // form post must also bring back the session's `csrf_token()`, as with Flask-WTF.
  app.config.csrfTokenRequired = true;
  // The JSON API passes: a cross-site page cannot send `Content-Type: application/json` without a CORS
  // preflight, which this app never grants. /seed/login only shows a response tuple (it changes
  // nothing), so it is exempt (`csrf: false`).

  // Sign-in attempts are limited per client address (behind a trusted proxy, the forwarded one) and per
  // account, so guessing passwords is slow from one address and from many. Counted after the CSRF check
  // (a request without the form's token is refused anyway).
  const limiter = new Limiter(app, {
    store: options.redis !== undefined ? new RedisStore(options.redis) : new MemoryStore(),
  });
  // Sign-ups too, per address, the form and the API counting together: an account costs a scrypt hash
  // and a line in users.json.
  const signupLimit = limiter.limit(options.signupLimitPerAddress ?? "10 per hour", { scope: "signup" });
  const signinLimits = [
    limiter.limit(options.signinLimitPerAddress ?? "10 per minute"),
    limiter.limit(options.signinLimitPerUser ?? "5 per minute", {
      key: (req) => `account:${(req.form.get("username") ?? "").trim().toLowerCase()}`,
    }),
  ];

  // Security headers on every response, error pages included.
  // The API docs page (Swagger UI, served from here) and the chat run scripts, all our own.
  app.afterRequest((res, req) => {
    res.headers.set("X-Content-Type-Options", "nosniff");
    res.headers.set("Referrer-Policy", "same-origin");
    res.headers.set("X-Frame-Options", "DENY");
    const docs = req.endpoint === "openapi_docs";
    const scripts = docs || req.endpoint === "chat.room"; // chat.js opens the chat's WebSocket ('self')
    res.headers.set(
      "Content-Security-Policy",
      `default-src 'self'; img-src 'self' data:; style-src 'self'${docs ? " 'unsafe-inline'" : ""}; ` +
        `script-src ${scripts ? "'self'" : "'none'"}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    );
    return res;
  });

  // ---- pages ----------------------------------------------------------------------------------------

  app.get("/", async function home() {
    return renderTemplate("index.html", { userCount: (await users.list()).length });
  });

  app.get("/signup", function signup_form(req) {
    if (currentUser(req) !== undefined) return redirect(urlFor("profile"));
    return renderTemplate("signup.html", { username: "" });
  });

  app.post(
    "/signup",
    signupLimit(async function signup(req) {
      const username = (req.form.get("username") ?? "").trim();
      const password = req.form.get("password") ?? "";
      if (password !== (req.form.get("confirm") ?? "")) {
        return [await renderTemplate("signup.html", { username, error: "The two passwords differ." }), 400];
      }
      try {
        await users.create(username, password);
      } catch (err) {
        if (!(err instanceof SignupError)) throw err;
        return [await renderTemplate("signup.html", { username, error: err.message }), 400];
      }
      signInAs(req, username);
      flash(`Welcome, ${username}! Your account is ready.`, "success");
      return redirect(urlFor("profile"));
    }),
  );

  app.get("/signin", function signin_form(req) {
    const next = req.args.get("next") ?? "";
    if (currentUser(req) !== undefined) return safeRedirect(next, { fallback: urlFor("profile") });
    return renderTemplate("signin.html", { username: "", next });
  });

  const signin: Handler = async function signin(req) {
    const username = (req.form.get("username") ?? "").trim();
    const next = req.form.get("next") ?? "";
    const user = await users.verify(username, req.form.get("password") ?? "");
    if (user === undefined) {
      // One message for both cases: whether the name exists is nobody's business (and users.verify
      // takes as long either way).
      const html = await renderTemplate("signin.html", {
        username,
        next,
        error: "Wrong username or password.",
      });
      return [html, 401];
    }
    signInAs(req, user);
    flash(`Welcome back, ${user}!`, "success");
    // `next` came from the query string: safeRedirect refuses other sites (?next=//evil.example).
    return safeRedirect(next, { fallback: urlFor("profile") });
  };
  app.post(
    "/signin",
    signinLimits.reduce((h, limit) => limit(h), signin),
  );

  app.post("/signout", function signout(req) {
    req.session.clear();
    req.session.regenerate(); // a server-side session: the old id is deleted, a copy of it opens nothing
    flash("You are signed out.", "info");
    return redirect(urlFor("home"));
  });

  app.get("/profile", async function profile(req) {
    const user = await requireUser(req);
    const files = await listFiles(user);
    return renderTemplate("profile.html", {
      user: await users.get(user),
      fileCount: files.length,
      totalSize: files.reduce((n, f) => n + f.size, 0),
    });
  });

  // ---- files ----------------------------------------------------------------------------------------

  /** The user's upload folder. Names are checked by the store ([A-Za-z0-9_.-], never leading a dot). */
  function userDir(user: string): string {
    const key = user.toLowerCase();
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(key)) throw new Error(`Unexpected user name ${JSON.stringify(user)}`);
    return join(uploadsDir, key);
  }

  async function listFiles(user: string): Promise<FileEntry[]> {
    let names: string[];
    try {
      names = await readdir(userDir(user));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const out: FileEntry[] = [];
    for (const name of names.sort()) {
      const s = await stat(join(userDir(user), name)).catch(() => undefined);
      if (s === undefined || !s.isFile()) continue;
      out.push({
        name,
        size: s.size,
        sizeText: formatSize(s.size),
        modified: s.mtime.toISOString().slice(0, 16).replace("T", " "),
      });
    }
    return out;
  }

  /** The quota's message: what the upload needs, what is left, what to do. */
  function quotaText(needed: number, left: number): string {
    return (
      `Not enough space: this upload needs ${formatSize(needed)} and you have ${formatSize(Math.max(0, left))} ` +
      `left of your ${formatSize(quota)}. Delete some files first.`
    );
  }

  // An upload is checked before its body is read (Phial reads a body only after the beforeRequest hooks,
  // and checks Origin / Sec-Fetch-Site before any hook): a visitor who is not signed in, or whose
  // declared upload cannot fit in the quota, is answered without parsing a byte of it or writing a temp
  // file. The form's CSRF token (a field of the multipart body) is verified once the body is read,
  // before the view.
  app.beforeRequest(async function upload_guard(req) {
    if (req.endpoint !== "upload") return;
    const user = await requireUser(req);
    const declared = req.contentLength;
    if (declared === undefined) return; // chunked: the view checks the quota on what came
    const existing = await listFiles(user);
    const used = existing.reduce((n, f) => n + f.size, 0);
    // A same-named upload replaces its file: count the largest one as free. The form's fields and the
    // multipart framing take a little more than the file.
    const replaceable = existing.reduce((n, f) => Math.max(n, f.size), 0);
    const framing = 16 * 1024;
    if (declared - framing > quota - used + replaceable) {
      throw new QuotaExceeded(quotaText(declared - framing, quota - used));
    }
  });

  app.get("/files", async function files(req) {
    const user = await requireUser(req);
    return renderTemplate("files.html", { files: await listFiles(user), maxFiles });
  });

  app.post("/files", async function upload(req) {
    const user = await requireUser(req);
    const file = req.files.get("file");
    if (file === undefined || file.filename === "") {
      flash("Choose a file to upload first.", "error");
      return redirect(urlFor("files"));
    }
    // The client's name may be "../../etc/passwd" or "C:\\x": secureFilename keeps a safe plain name.
    const name = secureFilename(file.filename) || `upload-${Date.now()}`;
    const existing = await listFiles(user);
    if (existing.length >= maxFiles && !existing.some((f) => f.name === name)) {
      flash(`You already keep ${maxFiles} files: delete one first.`, "error");
      return redirect(urlFor("files"));
    }
    const used = existing.reduce((n, f) => n + (f.name === name ? 0 : f.size), 0);
    if (used + file.size > quota) {
      flash(quotaText(file.size, quota - used), "error");
      return redirect(urlFor("files"));
    }
    await mkdir(userDir(user), { recursive: true, mode: 0o700 });
    await file.save(join(userDir(user), name));
    const replaced = existing.some((f) => f.name === name);
    flash(`${replaced ? "Replaced" : "Uploaded"} ${name} (${formatSize(file.size)}).`, "success");
    return redirect(urlFor("files"));
  });

  app.get("/files/<name>", async function download(req) {
    const user = await requireUser(req);
    // sendFromDirectory refuses anything outside the folder (.., absolute paths, symlinks out): a 404.
    return sendFromDirectory(userDir(user), req.params.name, { asAttachment: true });
  });

  app.post("/files/<name>/delete", async function delete_file(req) {
    const user = await requireUser(req);
    const name = req.params.name;
    if (secureFilename(name) !== name) abort(404);
    try {
      await unlink(join(userDir(user), name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") abort(404);
      throw err;
    }
    flash(`Deleted ${name}.`, "info");
    return redirect(urlFor("files"));
  });

  // ---- the JSON API ---------------------------------------------------------------------------------

  /** The signed-in user for the API: a 401 (JSON, no redirect) without one. */
  async function requireApiUser(req: Request, what = "the API's user list is for members"): Promise<string> {
    const user = currentUser(req);
    if (user === undefined || !(await users.exists(user))) abort(401, `Sign in first: ${what}.`);
    return user;
  }

  app.get("/api", function api_index() {
    return {
      name: "Phial demo API",
      endpoints: {
        users: urlFor("api_users"),
        user: urlFor("api_user", { id: 1 }),
        files: urlFor("api_files"),
        echo: urlFor("api_echo"),
      },
      openapi: urlFor("openapi_document"),
      docs: urlFor("openapi_docs"),
    };
  });

  // The API's inputs and answers are zod schemas: one declaration types `req.valid`, checks the request
  // (a 422 problem+json listing each bad field), drops anything the answer schema doesn't declare, and
  // documents the route in /api/openapi.json.
  const User = z.object({
    id: z.number().int(),
    username: z.string(),
    created: z.string().describe("ISO 8601 time of sign-up"),
    url: z.string(),
  });
  const Page = z.object({
    limit: z.number().int().min(1).max(100).default(20).describe("At most this many users"),
    offset: z.number().int().min(0).default(0),
  });
  const NewUser = z.object({
    username: z.string().min(3).max(32),
    password: z.string().min(8).max(1024),
  });
  const userOut = (u: { id: number; username: string; created: string }) => ({
    ...u,
    url: urlFor("api_user", { id: u.id }),
  });

  app.get(
    "/api/users",
    {
      query: Page,
      response: z.object({ count: z.number().int(), users: z.array(User) }),
      summary: "List the users",
      tags: ["users"],
    },
    async function api_users(req) {
      await requireApiUser(req);
      const { limit, offset } = req.valid.query;
      const list = await users.list();
      return { count: list.length, users: list.slice(offset, offset + limit).map(userOut) };
    },
  );

  // Signing up needs no account (it makes one), but counts against the sign-up limit with the form.
  app.post(
    "/api/users",
    { json: NewUser, response: User, status: 201, summary: "Sign up", tags: ["users"] },
    signupLimit(async function api_signup(req) {
      const { username, password } = req.valid.json;
      try {
        await users.create(username, password);
      } catch (e) {
        if (e instanceof SignupError) abort(409, e.message);
        throw e;
      }
      const u = await users.get(username);
      if (u === undefined) abort(500);
      return [userOut(u), 201, { Location: urlFor("api_user", { id: u.id }) }];
    }),
  );

  // <int:id> matches digits only (/api/users/abc is a 404) and gives a number: req.params.id is typed
  // `number` from the rule itself.
  app.get(
    "/api/users/<int:id>",
    { response: User, summary: "One user", tags: ["users"] },
    async function api_user(req) {
      await requireApiUser(req);
      const id: number = req.params.id;
      const user = (await users.list()).find((u) => u.id === id);
      if (user === undefined) abort(404, `No user has the id ${id}.`);
      return userOut(user);
    },
  );

  app.get("/api/files", async function api_files(req) {
    const user = await requireApiUser(req, "this lists the signed-in user's files");
    const files = await listFiles(user);
    return {
      user,
      files: files.map((f) => ({
        name: f.name,
        size: f.size,
        modified: f.modified,
        url: urlFor("download", { name: f.name }),
      })),
    };
  });

  // req.json is the parsed body: a body that is not JSON is a 400, another content type a 415. It reads
  // nothing but JSON and changes nothing, so it is exempt from CSRF (a text/plain post gets its 415).
  app.post("/api/echo", { csrf: false }, function api_echo(req) {
    return { method: req.method, args: req.args.toDict(), json: req.json as unknown };
  });

  // ---- chat: live messages between signed-in users, over a WebSocket -----------------------------

  if (options.broker !== undefined) app.websockets.rooms.pubsub = roomsBus(options.broker);
  addChat(app, currentUser, (req) => {
    flash("Please sign in to chat.", "warning");
    return redirect(urlFor("signin_form", { next: req.path }));
  });

  // ---- the seed tutorial's pages, as a blueprint --------------------------------------------------

  const seed = new Blueprint("seed", { urlPrefix: "/seed" });
  seed.get("/", function index() {
    return renderTemplate("seed/index.html");
  });
  seed.get("/hello", function hello(req) {
    // render_template("index.html", user={'nickname': ...}): the signed-in user, else the seed's Miguel.
    return renderTemplate("seed/hello.html", { user: { nickname: currentUser(req) ?? "Miguel" } });
  });
  seed.route("/login", { methods: ["GET", "POST"], csrf: false }, function login() {
    // return '成功', 200, [("token", "123456"), ("City", "深圳")] — with the city percent-encoded: a header
    // value must be Latin-1 (raw 深圳 throws a TypeError naming the header).
    return makeResponse("成功", 200, [
      ["token", "123456"],
      ["City", encodeURIComponent("深圳")],
    ]);
  });
  seed.get("/redirect", function go() {
    return redirect(urlFor(".index"));
  });
  app.registerBlueprint(seed);

  // The OpenAPI document of the API and its interactive page.
  serveOpenAPI(app, {
    title: "Phial demo API",
    version: "1.0.0",
    path: "/api/openapi.json",
    docs: "/api/docs",
    include: (r) => r.rule.startsWith("/api/"),
  });

  // ---- error pages ----------------------------------------------------------------------------------

  // A request that fails the API's schemas keeps its RFC 9457 answer (application/problem+json).
  app.errorHandler(ValidationError, (e) => e.getResponse());

  // Every HTTP error (404, 405, 413, the 500 of an unhandled exception, …) gets the site's layout, or JSON
  // under /api. Headers the error carries (Allow on a 405) are kept.
  app.errorHandler(HTTPException, async (e, req) => {
    const headers = e.headers ?? [];
    const description = e.status >= 500 ? ERROR_TEXT[500]! : e.description;
    if (req.path === "/api" || req.path.startsWith("/api/")) {
      return [{ error: e.title, status: e.status, description }, e.status, headers];
    }
    const html = await renderTemplate("error.html", {
      code: e.status,
      title: e.title,
      description:
        e instanceof QuotaExceeded
          ? e.description
          : e.status === 413
            ? `${ERROR_TEXT[413]} Files may be up to ${formatSize(maxUpload)}.`
            : e.description === (e.constructor as typeof HTTPException).defaultDescription
              ? (ERROR_TEXT[e.status] ?? description)
              : description,
    });
    return [html, e.status, headers];
  });

  return { app, users, dataDir };
}

/**
 * The demo's app alone: what `phial run demo/main.ts` serves (it calls an exported `createApp`). With
 * `$REDIS_URL` set, it connects to that Redis first and shares sessions and limits through it.
 */
export async function createApp(options: DemoOptions = {}): Promise<Phial> {
  const url = process.env.REDIS_URL;
  if (options.redis === undefined && url !== undefined && url !== "") {
    options = { ...options, ...(await connectShared(url)) };
  }
  return createDemo(options).app;
}

/**
 * What several instances share, on the Redis at `url`: a client for sessions and limits, and a broker
 * for the chat (on a second connection, in subscriber mode, as Redis requires).
 */
export async function connectShared(url: string): Promise<{ redis: RedisLike; broker: Broker }> {
  const redis = await connectRedis(url);
  const subscriber = (redis as RedisClientType).duplicate();
  subscriber.on("error", () => {}); // the first client reports Redis errors already
  await subscriber.connect();
  return { redis, broker: new RedisBroker({ publisher: redis, subscriber }) };
}

/**
 * A node-redis client as docs/deployment.md sets it up: commands fail at once while Redis is away (a 503,
 * not a request that hangs), each waits at most a second, and the client reconnects by itself.
 */
export async function connectRedis(url: string): Promise<RedisLike> {
  const { createClient } = await import("redis");
  const client = createClient({
    url,
    disableOfflineQueue: true,
    commandOptions: { timeout: 1000, rejectInFlight: true },
    socket: { connectTimeout: 2000, reconnectStrategy: (n: number) => Math.min(50 * 2 ** n, 2000) },
  });
  let last = 0;
  client.on("error", (err: Error) => {
    const now = Date.now();
    if (now - last > 10_000) console.error(`Redis: ${err.message} (reconnecting)`);
    last = now;
  });
  await client.connect();
  return client;
}

// `npm start` (or `tsx demo/main.ts`): serve on 127.0.0.1:5000.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const port = Number(process.env.PORT ?? 5000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a number from 0 to 65535, not ${JSON.stringify(process.env.PORT)}`);
  }
  const url = process.env.REDIS_URL;
  const shared = url !== undefined && url !== "" ? await connectShared(url) : undefined;
  const { app, dataDir } = createDemo({ ...shared });
  app.logger.info(
    ` * Data folder: ${dataDir}${shared === undefined ? "" : `; sessions, limits and chat through ${url}`}`,
  );
  await app.run({ host: process.env.HOST ?? "127.0.0.1", port });
}
