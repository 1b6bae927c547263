// Templates: Jinja syntax through Nunjucks, with Flask's behaviour where it matters to a porter.
//
// - One loader searches the app's template folder, then each blueprint's, in order. Names are
//   `/`-separated paths inside those folders; `..`, `\`, NUL and absolute names are refused.
// - Autoescape is decided per template by its extension, as Flask does (.html .htm .xml .xhtml .svg
//   on; anything else off; template strings on). Nunjucks only knows one switch per environment,
//   so each loaded template is bound to an escaping or a non-escaping view of one environment.
// - Compiled templates are cached (compiled by compiler.ts: Nunjucks' compiler with faster code for
//   loops and output, the same text); with `autoReload` (debug) a template whose file changed is
//   compiled again on its next use (checked by mtime and size, as Jinja does). Without it, a render
//   checks no file.
// - A missing template is a `TemplateNotFound` naming the template and every folder searched.
// - Never render a template *source* that came from a user: Nunjucks templates run JavaScript.

import { readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { extname, join, posix } from "node:path";
import type * as Nunjucks from "nunjucks";
import { installCompiler, PHIAL_ENV } from "./compiler.ts";

let loaded: typeof Nunjucks | undefined;

/** Nunjucks, loaded on first use: it costs ~70 ms at start-up, which apps without templates shouldn't pay. */
function nj(): typeof Nunjucks {
  if (loaded === undefined) {
    const require = createRequire(import.meta.url);
    loaded = require("nunjucks") as typeof Nunjucks;
    installDictMethods(loaded);
    installCompiler(loaded, require("nunjucks/src/transformer.js"));
    // Its SafeString is made with Object.create(String.prototype), which V8 answers by turning
    // String.prototype into a slow dictionary, unless it was marked fast first: the wire did that as
    // it loaded (src/http/fast-prototypes.ts), before any app could get here.
  }
  return loaded;
}

/** A template name is missing from every folder searched. */
export class TemplateNotFound extends Error {
  /** The name (or names) asked for. */
  readonly templateName: string;
  /** The folders searched, in order. */
  readonly searched: readonly string[];
  constructor(name: string | readonly string[], searched: readonly string[], reason?: string) {
    const names = typeof name === "string" ? [name] : name;
    const shown = names.map((n) => JSON.stringify(n)).join(", ");
    const where =
      searched.length === 0
        ? "no template folder is configured"
        : `searched:\n${searched.map((f) => `  ${f}${isDir(f) ? "" : " (does not exist)"}`).join("\n")}`;
    super(
      `Template ${shown} not found${reason === undefined ? "" : ` (${reason})`}; ${where}\n` +
        "Put the file in the app's templates/ folder (or a blueprint's templateFolder), or pass `templateFolder` to the app.",
    );
    this.name = "TemplateNotFound";
    this.templateName = names.join(", ");
    this.searched = searched;
  }
}

/** Flask's rule: autoescape for HTML/XML-like names and for template strings (no name). */
export function selectAutoescape(name: string | undefined): boolean {
  if (name === undefined) return true;
  const ext = extname(name).toLowerCase();
  return ext === ".html" || ext === ".htm" || ext === ".xml" || ext === ".xhtml" || ext === ".svg";
}

/** A string that is inserted without escaping (Jinja's `Markup`). Only wrap text you trust or escaped. */
export type SafeString = Nunjucks.runtime.SafeString;

/** Marks trusted HTML so templates don't escape it. */
export function markSafe(html: string): SafeString {
  return new (nj().runtime.SafeString)(html);
}

/**
 * JSON safe to put inside HTML, `<script>` included (Flask's `tojson`): `<`, `>`, `&` and `'` are
 * written as `\u003c`-style escapes, so the text can't close a tag or an attribute.
 */
export function htmlSafeJson(value: unknown, indent?: number): string {
  const json = JSON.stringify(value, null, indent) ?? "null";
  let out = "";
  let last = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x3c || c === 0x3e || c === 0x26 || c === 0x27) {
      out += `${json.slice(last, i)}\\u00${c.toString(16)}`;
      last = i + 1;
    }
  }
  return last === 0 ? json : out + json.slice(last);
}

// ---- Python's dict methods on plain objects --------------------------------------------------
//
// Jinja templates call `d.items()`, `d.keys()`, `d.values()`, `d.get(k, default)` on dicts all the
// time. Nunjucks has no hook per environment for member lookup, and its own `installJinjaCompat()`
// is too broad (it shadows `get`/`keys` of every object, our session and MultiDicts included). So the
// lookup is extended narrowly, process-wide: only plain objects and Maps, only names they don't
// have themselves. Where this applies, stock Nunjucks would have returned undefined.

interface NjRuntime {
  memberLookup(obj: unknown, val: unknown): unknown;
  __phialDictMethods?: true;
}

function dictMethod(obj: object, name: string): ((...args: unknown[]) => unknown) | undefined {
  if (obj instanceof Map) {
    return name === "items" ? () => [...obj.entries()] : undefined;
  }
  const proto = Object.getPrototypeOf(obj) as unknown;
  if (proto !== Object.prototype && proto !== null) return undefined;
  const o = obj as Record<string, unknown>;
  switch (name) {
    case "items":
      return () => Object.entries(o);
    case "keys":
      return () => Object.keys(o);
    case "values":
      return () => Object.values(o);
    case "get":
      return (key: unknown, fallback: unknown = null) => {
        const k = String(key);
        return Object.hasOwn(o, k) && o[k] !== undefined ? o[k] : fallback;
      };
    default:
      return undefined;
  }
}

function installDictMethods(lib: typeof Nunjucks): void {
  const runtime = (lib as unknown as { runtime: NjRuntime }).runtime;
  if (runtime.__phialDictMethods) return;
  const original = runtime.memberLookup;
  runtime.memberLookup = function memberLookup(obj: unknown, val: unknown): unknown {
    if (obj === undefined || obj === null) return undefined;
    // Nunjucks' answer for a present value that isn't a function is the value: given at once.
    const v = (obj as Record<PropertyKey, unknown>)[val as PropertyKey];
    if (v !== undefined) return typeof v === "function" ? original.call(this, obj, val) : v;
    if (typeof obj === "object" && typeof val === "string" && !(val in obj)) {
      const m = dictMethod(obj, val);
      if (m !== undefined) return m;
    }
    return undefined;
  };
  runtime.__phialDictMethods = true;
}

/**
 * Values given to a render: any object, whose own enumerable properties become template variables (an
 * interface-typed value works, as does a plain record). Later sources win: globals, then context
 * processors, then the call's context.
 */
export type TemplateContext = object;

export interface TemplateEnvironmentOptions {
  /** Folders searched in order. A function is asked again on each load (blueprints may be added later). */
  searchPath: readonly string[] | (() => readonly string[]);
  /** Recompile templates whose file changed (debug). A function is asked on each render. Default false. */
  autoReload?: boolean | (() => boolean);
  /** Whether a template is autoescaped, by name (undefined for template strings). Default `selectAutoescape`. */
  autoescape?: (name: string | undefined) => boolean;
  /** Jinja's `trim_blocks` / `lstrip_blocks`. */
  trimBlocks?: boolean;
  lstripBlocks?: boolean;
  /** Most compiled template strings kept (`renderString`). Default 100. */
  stringCacheSize?: number;
}

/** What one loaded file was, to notice edits. */
interface FileStamp {
  path: string;
  mtimeMs: number;
  size: number;
}

/** The narrow part of Nunjucks' untyped internals this file relies on. */
interface NjTemplate {
  env: NjEnv;
  path: string | undefined;
  render(ctx: object, parentFrame: object, cb: (err: Error | null, res: string | null) => void): void;
}
interface NjExporting {
  getExported(
    ctx: object,
    frame: null,
    cb: (err: Error | null, exported?: Record<string, unknown>) => void,
  ): void;
}
type GetTemplateCb = (err: Error | null, tmpl?: NjTemplate) => void;
interface NjEnv {
  opts: { autoescape: boolean; dev?: boolean };
  globals: Record<string, unknown>;
  loaders: FolderLoader[];
  getTemplate(
    name: unknown,
    eagerCompile: unknown,
    parentName?: unknown,
    ignoreMissing?: unknown,
    cb?: GetTemplateCb,
  ): NjTemplate | undefined;
  resolveTemplate(loader: FolderLoader, parentName: string | null | undefined, name: string): string;
  addFilter(name: string, fn: (...args: never[]) => unknown, async?: boolean): void;
  addTest(name: string, fn: (...args: never[]) => unknown): void;
  addGlobal(name: string, value: unknown): void;
}

/** Loads templates from the folders, in order. Synchronous, so includes inside `for` loops work. */
class FolderLoader {
  /** Nunjucks keeps compiled templates here (name → template). */
  cache: Record<string, NjTemplate | null> = {};
  /** name → the file it came from, for reload checks. */
  readonly stamps = new Map<string, FileStamp>();
  /** file → name (Nunjucks gives the including template's file, not its name, to `resolve`). */
  readonly names = new Map<string, string>();
  constructor(readonly searchPath: () => readonly string[]) {}

  getSource(name: string): { src: string; path: string; noCache: boolean } | null {
    const segments = splitName(name);
    if (segments === undefined) return null;
    for (const folder of this.searchPath()) {
      const full = join(folder, ...segments);
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(full);
      } catch {
        continue;
      }
      if (!st.isFile()) continue;
      const src = dropTrailingNewline(readFileSync(full, "utf8"));
      this.stamps.set(name, { path: full, mtimeMs: st.mtimeMs, size: st.size });
      this.names.set(full, name);
      return { src, path: full, noCache: false };
    }
    return null;
  }

  /** True when a name exists in some folder. */
  has(name: string): boolean {
    const segments = splitName(name);
    if (segments === undefined) return false;
    return this.searchPath().some((f) => isFile(join(f, ...segments)));
  }

  /** Drops the compiled template when its file changed or vanished. */
  refresh(name: string): void {
    const stamp = this.stamps.get(name);
    if (stamp === undefined || this.cache[name] == null) return;
    let changed = true;
    try {
      const st = statSync(stamp.path);
      changed = st.mtimeMs !== stamp.mtimeMs || st.size !== stamp.size;
    } catch {
      // vanished: load again (and fail clearly if it is gone everywhere)
    }
    if (changed) {
      this.cache[name] = null;
      this.stamps.delete(name);
    }
  }

  isRelative(name: string): boolean {
    return name.startsWith("./") || name.startsWith("../");
  }

  /** `{% include "./part.html" %}` relative to the including template's name, never above the folder. */
  resolve(from: string, to: string): string {
    const fromName = this.names.get(from) ?? from;
    const joined = posix.normalize(posix.join(posix.dirname(fromName), to));
    return joined.startsWith("../") || joined === ".." ? to : joined;
  }
}

/** `a/b.html` → ["a", "b.html"]; undefined for names that could leave the folder. */
function splitName(name: string): string[] | undefined {
  if (typeof name !== "string" || name.length === 0 || name.length > 1024) return undefined;
  if (name.includes("\\") || name.includes("\0") || name.startsWith("/") || /^[A-Za-z]:/.test(name))
    return undefined;
  const out: string[] = [];
  for (const seg of name.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") return undefined;
    out.push(seg);
  }
  return out.length === 0 ? undefined : out;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Nunjucks passes keyword arguments (`f(a, b=1)`) as a last object flagged `__keywords`. */
export function splitKeywords(args: readonly unknown[]): [unknown[], Record<string, unknown>] {
  const last = args[args.length - 1] as Record<string, unknown> | undefined;
  if (last !== null && typeof last === "object" && last.__keywords === true) {
    const { __keywords: _k, ...kw } = last;
    return [args.slice(0, -1), kw];
  }
  return [[...args], {}];
}

/** What Jinja's `{% with %}` needs of Nunjucks' parser (its extension API is untyped). */
interface NjParser {
  nextToken(): { value: string; lineno: number; colno: number };
  peekToken(): { type: string; value: string };
  skip(type: string): boolean;
  skipValue(type: string, value: string): boolean;
  parsePrimary(): { value: string; lineno: number; colno: number };
  parseExpression(): unknown;
  parseUntilBlocks(...names: string[]): { children: unknown[] };
  advanceAfterBlockEnd(name?: string): void;
  fail(message: string, lineno?: number, colno?: number): never;
}
type NjNodeClass = new (
  lineno: number,
  colno: number,
  ...rest: unknown[]
) => {
  children: unknown[];
  addChild(n: unknown): void;
};

/**
 * Jinja's `{% with a = 1, b = x %}…{% endwith %}` (and bare `{% with %}`): a scope of its own. The
 * values are all evaluated outside it first, as in Jinja; `set` inside stays inside. Made of a loop
 * over one tuple (Nunjucks' only node with a scope), which keeps an outer `loop` visible.
 */
const withExtension = {
  tags: ["with"],
  parse(parser: NjParser, nodes: Record<string, NjNodeClass>, lexer: Record<string, string>): unknown {
    const tok = parser.nextToken();
    const Sym = nodes.Symbol!;
    // Nunjucks compiles a loop with several names for objects too, which takes two at least.
    const names = [
      new Sym(tok.lineno, tok.colno, "__phial_outer_loop"),
      new Sym(tok.lineno, tok.colno, "__phial_with"),
    ];
    const tuple = new nodes.Array!(tok.lineno, tok.colno);
    tuple.addChild(new Sym(tok.lineno, tok.colno, "loop"));
    tuple.addChild(new nodes.Literal!(tok.lineno, tok.colno, null));
    while (!parser.skip(lexer.TOKEN_BLOCK_END!)) {
      if (names.length > 2 && !parser.skip(lexer.TOKEN_COMMA!)) {
        parser.fail("with: expected `,` or the end of the tag", tok.lineno, tok.colno);
      }
      const target = parser.parsePrimary();
      if (!(target instanceof Sym)) parser.fail("with: expected a variable name", tok.lineno, tok.colno);
      if (!parser.skipValue(lexer.TOKEN_OPERATOR!, "=")) {
        parser.fail(`with: expected = after ${target.value}`, tok.lineno, tok.colno);
      }
      names.push(target as InstanceType<NjNodeClass> & { value: string } as never);
      tuple.addChild(parser.parseExpression());
    }
    const body = parser.parseUntilBlocks("endwith");
    parser.advanceAfterBlockEnd();
    const restore = new nodes.Set!(tok.lineno, tok.colno, [new Sym(tok.lineno, tok.colno, "loop")]);
    (restore as unknown as { value: unknown }).value = new Sym(tok.lineno, tok.colno, "__phial_outer_loop");
    body.children.unshift(restore);
    const nameList = new nodes.Array!(tok.lineno, tok.colno);
    for (const n of names) nameList.addChild(n);
    const one = new nodes.Array!(tok.lineno, tok.colno);
    one.addChild(tuple);
    return new nodes.For!(tok.lineno, tok.colno, one, nameList, body, null);
  },
};

/** Jinja's default `keep_trailing_newline=False`: one final newline of a template's source is dropped. */
function dropTrailingNewline(src: string): string {
  const n = src.length;
  if (n === 0 || src.charCodeAt(n - 1) !== 0x0a) return src;
  return src.slice(0, n >= 2 && src.charCodeAt(n - 2) === 0x0d ? n - 2 : n - 1);
}

/**
 * The template engine of an app (`app.templates`): Nunjucks with Flask's loading, escaping and
 * reloading rules. `render` and `renderString` resolve to the rendered text.
 */
export class TemplateEnvironment {
  /** The Nunjucks environment (escaping view), for extensions. */
  readonly nunjucks: Nunjucks.Environment;
  private readonly env: NjEnv;
  private readonly rawEnv: NjEnv;
  private readonly loader: FolderLoader;
  private readonly searchPath: () => readonly string[];
  private readonly autoReload: () => boolean;
  private readonly autoescape: (name: string | undefined) => boolean;
  private readonly processors: (() => TemplateContext)[] = [];
  private readonly strings = new Map<string, NjTemplate>();
  private readonly stringCacheSize: number;

  constructor(options: TemplateEnvironmentOptions) {
    const sp = options.searchPath;
    this.searchPath = typeof sp === "function" ? sp : () => sp;
    const ar = options.autoReload ?? false;
    this.autoReload = typeof ar === "function" ? ar : () => ar;
    this.autoescape = options.autoescape ?? selectAutoescape;
    this.stringCacheSize = options.stringCacheSize ?? 100;
    this.loader = new FolderLoader(this.searchPath);
    const env = new (nj().Environment)(this.loader as unknown as Nunjucks.ILoader, {
      autoescape: true,
      // Keep the original error as `cause` (so `abort()` in a template still answers its status).
      dev: true,
      trimBlocks: options.trimBlocks ?? false,
      lstripBlocks: options.lstripBlocks ?? false,
    });
    this.nunjucks = env;
    this.env = env as unknown as NjEnv;
    (env as unknown as Record<symbol, boolean>)[PHIAL_ENV] = true;
    // The other options stay shared (inherited), only `autoescape` differs.
    const rawOpts = Object.create(this.env.opts, {
      autoescape: { value: false, enumerable: true },
    }) as NjEnv["opts"];
    this.rawEnv = Object.create(env, { opts: { value: rawOpts, enumerable: true } }) as NjEnv;
    this.installGetTemplate();
    this.installJinjaBits();
  }

  /**
   * Wraps Nunjucks' lookup: refresh changed files (debug), bind each template to the escaping or
   * non-escaping view by its name, and turn "template not found" into `TemplateNotFound`.
   */
  private installGetTemplate(): void {
    const original = nj().Environment.prototype.getTemplate as unknown as NjEnv["getTemplate"];
    const self = this;
    const loader = this.loader;
    // An own property of the main environment, so the raw view (whose prototype it is) uses it too.
    this.env.getTemplate = function getTemplate(
      this: NjEnv,
      name,
      eagerCompile,
      parentName,
      ignoreMissing,
      cb,
    ) {
      if (typeof parentName === "function") {
        cb = parentName as GetTemplateCb;
        parentName = null;
      }
      if (typeof eagerCompile === "function") {
        cb = eagerCompile as GetTemplateCb;
        eagerCompile = false;
      }
      if (typeof name === "string" && self.autoReload()) {
        loader.refresh(this.resolveTemplate(loader, parentName as string | null, name));
      }
      const bind = (tmpl: NjTemplate): NjTemplate => {
        if (tmpl.path !== undefined && tmpl.path !== "") {
          const templateName = loader.names.get(tmpl.path) ?? tmpl.path;
          tmpl.env = self.autoescape(templateName) ? self.env : self.rawEnv;
        }
        return tmpl;
      };
      const wrapped: GetTemplateCb = (err, tmpl) => {
        if (err !== null && err !== undefined) {
          const prefix = "template not found: ";
          if (!(err instanceof TemplateNotFound) && err.message.startsWith(prefix)) {
            const missing = err.message.slice(prefix.length);
            const reason = splitName(missing) === undefined ? "not a valid template name" : undefined;
            err = new TemplateNotFound(missing, self.searchPath(), reason);
          }
          cb!(err);
          return;
        }
        cb!(null, bind(tmpl!));
      };
      if (cb === undefined) {
        // Nunjucks' synchronous form (not used by us; kept working for extensions).
        let out: NjTemplate | undefined;
        let error: Error | null = null;
        original.call(this, name, eagerCompile, parentName, ignoreMissing, (e, t) => {
          error = e;
          out = t;
        });
        if (error !== null) throw error;
        return out === undefined ? undefined : bind(out);
      }
      return original.call(this, name, eagerCompile, parentName, ignoreMissing, wrapped);
    };
  }

  private installJinjaBits(): void {
    const env = this.env;
    this.nunjucks.addExtension("JinjaWith", withExtension);
    env.addFilter("tojson", (value: unknown, indent?: number) =>
      markSafe(htmlSafeJson(value, typeof indent === "number" ? indent : undefined)),
    );
    // Jinja's `items`: pairs of a mapping (Map or object), for `{% for k, v in d|items %}`.
    env.addFilter("items", (value: unknown) => {
      if (value === null || value === undefined) return [];
      if (value instanceof Map) return [...value.entries()];
      if (typeof (value as { entries?: unknown }).entries === "function") {
        return [...(value as { entries(): Iterable<unknown> }).entries()];
      }
      return Object.entries(value as object);
    });
    env.addGlobal("True", true);
    env.addGlobal("False", false);
    env.addGlobal("None", null);
    // Jinja's `dict(a=1, b=2)`.
    env.addGlobal("dict", (...args: unknown[]) => {
      const [pos, kw] = splitKeywords(args);
      const out: Record<string, unknown> = {};
      for (const p of pos) if (p !== null && typeof p === "object") Object.assign(out, p);
      return Object.assign(out, kw);
    });
  }

  /** Adds a filter: `{{ x | name(arg) }}`. An async filter takes a callback as its last argument. */
  addFilter(name: string, fn: (...args: never[]) => unknown, options: { async?: boolean } = {}): this {
    this.env.addFilter(name, fn, options.async === true);
    return this;
  }

  /** Adds a test: `{% if x is name %}`. */
  addTest(name: string, fn: (...args: never[]) => boolean): this {
    this.env.addTest(name, fn);
    return this;
  }

  /** Adds a value or function every template sees (Flask's `template_global`). */
  addGlobal(name: string, value: unknown): this {
    this.env.addGlobal(name, value);
    return this;
  }

  /** Adds values to every render's context (Flask's `context_processor`); the render's own context wins. */
  contextProcessor(fn: () => TemplateContext): this {
    this.processors.push(fn);
    return this;
  }

  /** Forgets every compiled template. */
  clearCache(): void {
    for (const k of Object.keys(this.loader.cache)) this.loader.cache[k] = null;
    this.loader.stamps.clear();
    this.strings.clear();
  }

  /** True when a template of that name exists in one of the folders. */
  hasTemplate(name: string): boolean {
    return this.loader.has(name);
  }

  /** The folders searched, in order. */
  get folders(): readonly string[] {
    return this.searchPath();
  }

  private fullContext(context: TemplateContext | undefined): TemplateContext {
    const out: TemplateContext = {};
    for (const p of this.processors) Object.assign(out, p());
    if (context !== undefined) Object.assign(out, context);
    return out;
  }

  /**
   * Renders the template `name` (or the first existing one of a list) with `context`.
   * Rejects with `TemplateNotFound` when it is missing, or the template's error.
   */
  /**
   * A macro or top-level variable a template exports (Flask's `get_template_attribute`): a macro comes
   * back as a function returning its output (`(await getAttribute("_macros.html", "hello"))("ada")`).
   */
  getAttribute(name: string, attribute: string): Promise<unknown> {
    const ctx = this.fullContext(undefined);
    return new Promise<unknown>((resolve, reject) => {
      this.env.getTemplate(name, false, null, false, (err, tmpl) => {
        if (err !== null && err !== undefined) return reject(err);
        (tmpl as unknown as NjExporting).getExported(ctx, null, (e, exported) => {
          if (e !== null && e !== undefined) return reject(unwrap(e));
          if (!Object.hasOwn(exported!, attribute)) {
            return reject(
              new TypeError(`The template "${name}" has no macro or top-level variable "${attribute}"`),
            );
          }
          const v = exported![attribute];
          // A macro returns Nunjucks' SafeString: give plain text, as Jinja's Markup is a str.
          resolve(
            typeof v === "function"
              ? (...args: unknown[]) => String((v as (...a: unknown[]) => unknown)(...args))
              : v,
          );
        });
      });
    });
  }

  render(name: string | readonly string[], context?: TemplateContext): Promise<string> {
    let chosen: string;
    if (typeof name === "string") chosen = name;
    else {
      const found = name.find((n) => this.loader.has(n));
      if (found === undefined) return Promise.reject(new TemplateNotFound(name, this.searchPath()));
      chosen = found;
    }
    const ctx = this.fullContext(context);
    // Compiled and not watched for changes (production): straight to it, no lookup through Nunjucks'
    // loaders and this file's wrapper of them.
    const cached = this.loader.cache[chosen];
    if (cached != null && !this.autoReload()) return renderCompiled(cached, ctx);
    return new Promise<string>((resolve, reject) => {
      this.env.getTemplate(chosen, false, null, false, (err, tmpl) => {
        if (err !== null && err !== undefined) return reject(err);
        renderCompiled(tmpl!, ctx).then(resolve, reject);
      });
    });
  }

  /** Renders template source (autoescaped). Compiled sources are cached. Never pass source from users. */
  renderString(source: string, context?: TemplateContext): Promise<string> {
    let tmpl = this.strings.get(source);
    if (tmpl === undefined) {
      tmpl = new (nj().Template)(dropTrailingNewline(source), this.nunjucks) as unknown as NjTemplate;
      if (!this.autoescape(undefined)) tmpl.env = this.rawEnv;
      if (this.strings.size >= this.stringCacheSize) {
        const oldest = this.strings.keys().next().value;
        if (oldest !== undefined) this.strings.delete(oldest);
      }
      this.strings.set(source, tmpl);
    }
    return renderCompiled(tmpl, this.fullContext(context));
  }
}

/**
 * Renders a template with Nunjucks' own `render`, given an empty parent frame: the render's top frame
 * is then a child of it that writes nothing upwards, which makes no difference to a template, and
 * Nunjucks calls back at once instead of deferring the answer to a later turn of the event loop (its
 * `asap`, by `setImmediate`, meant for a call from code that expects a callback later).
 */
function renderCompiled(tmpl: NjTemplate, ctx: object): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    tmpl.render(ctx, new (nj().runtime as unknown as { Frame: new () => object }).Frame(), (e, out) =>
      e === null ? resolve(out ?? "") : reject(unwrap(e)),
    );
  });
}

/**
 * Nunjucks wraps every error raised while rendering in a "Template render error" that names the
 * template and line. HTTP errors (`abort()` in a template) are passed through as themselves.
 */
function unwrap(err: Error): Error {
  let inner: unknown = err;
  for (let i = 0; i < 10 && inner instanceof Error && inner.cause !== undefined; i++) inner = inner.cause;
  if (inner instanceof Error && typeof (inner as { status?: unknown }).status === "number") return inner;
  return err;
}
