// The templates' own compiler (src/app/templates/compiler.ts) against Nunjucks' compiler: every
// template of the repository and a corpus of tricky cases render to the same text (or fail with the
// same message) both ways. The "stock" environment is the same TemplateEnvironment with the marker
// that selects the own compiler turned off.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { PHIAL_ENV } from "../../src/app/templates/compiler.ts";
import { markSafe, type TemplateContext, TemplateEnvironment } from "../../src/app/templates/environment.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Two environments over the same folders: the own compiler, and Nunjucks' (the reference). */
function pair(folders: readonly string[]): { fast: TemplateEnvironment; stock: TemplateEnvironment } {
  const make = () => {
    const t = new TemplateEnvironment({ searchPath: folders });
    // The demo's filter, so its templates render rather than fail alike.
    t.addFilter("filesize", ((n: number) => `${n} B`) as (...a: never[]) => unknown);
    t.addFilter("shout", ((s: string) => markSafe(`<b>${String(s).toUpperCase()}</b>`)) as (
      ...a: never[]
    ) => unknown);
    // An async filter: loops using it are compiled as Nunjucks' async loops.
    t.addFilter(
      "later",
      ((s: unknown, cb: (e: Error | null, r: string) => void) => setTimeout(() => cb(null, `~${s}~`), 1)) as (
        ...a: never[]
      ) => unknown,
      { async: true },
    );
    return t;
  };
  const fast = make();
  const stock = make();
  (stock.nunjucks as unknown as Record<symbol, boolean>)[PHIAL_ENV] = false;
  return { fast, stock };
}

async function outcome(env: TemplateEnvironment, name: string, ctx: TemplateContext): Promise<string> {
  try {
    return `ok:${await env.render(name, ctx)}`;
  } catch (e) {
    return `error:${(e as Error).message}`;
  }
}

/** The compiled code of a template, to know which compiler made it. */
function compiledCode(env: TemplateEnvironment, name: string): string {
  const tmpl = (
    env.nunjucks as unknown as { getTemplate(n: string, eager: boolean): { rootRenderFunc: () => void } }
  ).getTemplate(name, true);
  return tmpl.rootRenderFunc.toString();
}

/** A context with the names the repository's templates use, lists included, so loops run. */
function richContext(): TemplateContext {
  const urlFor = (...args: unknown[]) => `/${args.map((a) => JSON.stringify(a)).join("/")}`;
  const flashes = (...args: unknown[]) =>
    args.length > 0
      ? [
          ["info", "saved <ok>"],
          ["error", "bad & worse"],
        ]
      : ["one <msg>", "two 'msg'"];
  return {
    title: 'Title <with> & "quotes"',
    name: "Ada <admin>",
    username: "ada",
    error: "It's <bad>",
    next: "/next?a=1&b=2",
    description: "a \\ backslash",
    code: 404,
    userCount: 1,
    fileCount: 2,
    maxFiles: 10,
    max_upload: 1024,
    totalSize: 2048,
    user: { id: 7, nickname: "<nick>", username: "ada", created: "2026-12-07T15:00:00.000Z" },
    files: [
      { name: "a<b>.txt", sizeText: "1 KB", modified: "today" },
      { name: "c&d.txt", sizeText: "2 KB", modified: "yesterday" },
    ],
    items: [
      { name: "Item <0>", price: "9.99", tags: ["a&b", "t0"] },
      { name: "Item 1", price: "11.24", tags: [] },
    ],
    session: { user: "ada" },
    request: { endpoint: "files", blueprint: "seed" },
    config: { sessionCookieName: "session" },
    url_for: urlFor,
    urlFor,
    get_flashed_messages: flashes,
    getFlashedMessages: flashes,
    csrf_token: () => "tok<en>",
  };
}

function templatesUnder(folder: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(folder, p).split("\\").join("/"));
    }
  };
  walk(folder);
  return out;
}

test("every template of the repository renders the same with the own compiler as with Nunjucks'", async () => {
  const folders = [
    "demo/templates",
    "scaffold/full/templates",
    "examples/04-flask/templates",
    "docs/snippets/templates",
    "bench/servers/templates",
  ].map((f) => join(ROOT, f));
  let rendered = 0;
  for (const folder of folders) {
    assert.ok(statSync(folder).isDirectory(), `${folder} is missing: update this test's list`);
    const { fast, stock } = pair([folder]);
    for (const name of templatesUnder(folder)) {
      const ctx = richContext();
      const got = await outcome(fast, name, ctx);
      const want = await outcome(stock, name, ctx);
      assert.equal(got, want, `${relative(ROOT, join(folder, name))} renders differently`);
      if (got.startsWith("ok:")) rendered++;
    }
  }
  // Most of them render (a few need what only their app gives); a loop ran in some.
  assert.ok(rendered >= 15, `only ${rendered} templates rendered`);
});

/** name → source; `.txt` names are not autoescaped. */
const CORPUS: Record<string, string> = {
  "escape.html": "{{ s }}|{{ n }}|{{ nothing }}|{{ none }}|{{ t }}|{{ f }}|{{ obj }}|{{ arr }}",
  "escape.txt": "{{ s }}|{{ n }}|{{ nothing }}|{{ obj }}",
  "escape-weird.html": "{{ weird }}",
  "safe.html":
    "{{ s | safe }}|{{ trusted }}|{{ s | escape }}|{{ s | e | safe }}|{{ data | tojson }}|{{ s | shout }}|{{ s | upper }}",
  "loop-all.html":
    "{% for x in xs %}[{{ x }} {{ loop.index }} {{ loop.index0 }} {{ loop.revindex }} {{ loop.revindex0 }} " +
    "{{ loop.first }} {{ loop.last }} {{ loop.length }} {{ loop['index'] }}]{% endfor %}",
  "loop-nested.html":
    "{% for x in xs %}{% for y in ys %}{{ loop.index }}.{% else %}none{{ loop.index }}{% endfor %}" +
    "{{ loop.index }}:{{ x }};{% endfor %}",
  "loop-outer-set.html":
    "{% for x in xs %}{% set outer = loop %}{% for y in ys %}{{ outer.index }}-{{ loop.index }} {% endfor %}{% endfor %}",
  "loop-else.html":
    "{% for x in empty %}{{ x }}{% else %}empty {{ loop.index }}{% endfor %}" +
    "{% for x in xs %}{% for y in empty %}{% else %}({{ loop.index }}){% endfor %}{% endfor %}",
  "loop-other-members.html": "{% for x in xs %}{{ loop.cycle }}{{ loop.depth }}{{ loop }}{% endfor %}",
  "loop-pairs.html":
    "{% for k, v in obj %}{{ k }}={{ v }} {{ loop.index }}/{{ loop.length }} {% endfor %}" +
    "{% for a, b in pairs %}{{ a }}{{ b }}{{ loop.last }}{% endfor %}" +
    "{% for k, v in obj.items() %}{{ k }}{{ v }}{% endfor %}{% for k, v in map %}{{ k }}{{ v }}{{ loop.first }}{% endfor %}",
  "loop-string.html":
    "{% for c in word %}{{ c }}{{ loop.revindex }}{% endfor %}{% for x in nothing %}x{% endfor %}",
  "loop-set.html":
    "{% set total = 0 %}{% for i in ns %}{% set total = total + i %}{% set inner = loop.index %}{% endfor %}" +
    "{{ total }} {{ inner }}{% for i in ns %}{% set i = i * 10 %}{{ i }}{% endfor %}",
  "loop-named-loop.html":
    "{% for loop in xs %}{{ loop }}{% endfor %}{% set loop = 5 %}{% for x in xs %}{{ loop.index }}{% endfor %}",
  "loop-reassign.html": "{% for x in xs %}{% set loop = 'mine' %}{{ loop }}{% endfor %}",
  "loop-if.html":
    "{% for x in xs %}{% if loop.first %}<ul>{% endif %}<li class=\"{{ 'even' if loop.index0 % 2 == 0 else 'odd' }}\">" +
    "{{ x }}</li>{% if loop.last %}</ul>{% endif %}{% endfor %}",
  "macro.html":
    "{% macro row(x) %}{% for i in x %}<{{ loop.index }}:{{ i }}>{% endfor %}{% endmacro %}" +
    "{% for x in xs %}{{ row(ys) }}{{ loop.index }}{% endfor %}",
  "caller.html":
    "{% macro each(list) %}{% for i in list %}[{{ caller(i) }}|{{ loop.index }}]{% endfor %}{% endmacro %}" +
    "{% call(v) each(xs) %}{{ v }}<{{ loop.index }}>{% endcall %}" +
    "{% for x in ys %}{% call(v) each(xs) %}{{ v }}{{ loop.index }}{% endcall %}{% endfor %}",
  "base.html":
    "<title>{% block title %}Base {{ s }}{% endblock %}</title>" +
    "{% block body %}{% for x in xs %}{{ loop.index }}{{ x }}{% endfor %}{% endblock %}",
  "child.html":
    '{% extends "base.html" %}{% block title %}Child - {{ super() }}{% endblock %}' +
    "{% block body %}{{ super() }}|{% for y in ys %}{{ loop.revindex }}{{ y }}{% endfor %}{% endblock %}",
  "whitespace.html": "<ul>\n  {%- for x in xs -%}\n  <li>{{- x -}}</li>\n  {%- endfor %}\n</ul>\n  {{- s }}",
  "part.html": "({{ x }}#{{ loop.index }}/{{ loop.length }}{{ s }})",
  "include.html": '{% for x in xs %}{% include "part.html" %}{% endfor %}{% include "part.html" %}',
  "with.html":
    "{% for x in xs %}{% with a = loop.index, b = x %}{{ a }}{{ b }}{{ loop.index }}{% endwith %}{% endfor %}",
  "filters.html":
    "{% for x in xs | reverse %}{{ x | upper }}{{ loop.index }}{% endfor %}{{ xs | join(', ') }}{{ xs | length }}" +
    "{% for x in xs | sort %}{{ loop.last }}{% endfor %}",
  "capture.html": "{% for x in xs %}{% set c %}{{ loop.index }}{{ x }}{% endset %}{{ c }}{% endfor %}",
  "error-in-loop.html": "line one\n{% for x in xs %}\n{{ x }}{{ nope() }}\n{% endfor %}",
  "error-filter.html": "{% for x in xs %}{{ x | nosuchfilter }}{% endfor %}",
  "syntax-error.html": "{% for x in xs %}{{ loop.index }",
  "outside.html": "{{ loop.index }}{{ loop }}",
  "async-filter.html":
    "{% for x in xs %}{{ x | later }}{{ loop.index }}{% for y in ys %}{{ loop.index }}{% endfor %}{% endfor %}" +
    "{% for x in ys %}{{ loop.revindex }}{% endfor %}",
  "dict-methods.html":
    "{% for k in obj.keys() %}{{ k }}{{ obj.get(k) }}{{ obj.get('zz', 'dflt') }}{% endfor %}",
};

const CORPUS_CONTEXT = (): TemplateContext => ({
  s: `<a href="x">&'\\ "q"`,
  n: 42,
  none: null,
  t: true,
  f: false,
  obj: { a: "<1>", b: 2 },
  weird: { toString: undefined },
  arr: [1, "<2>"],
  trusted: markSafe("<i>trusted</i>"),
  data: { html: "</script><b>", n: 1 },
  xs: ["b<", "a&", "c'"],
  ys: [1, 2],
  empty: [],
  ns: [1, 2, 3],
  pairs: [
    ["p", "<q>"],
    ["r", "s"],
  ],
  map: new Map<string, unknown>([
    ["m1", "<v1>"],
    ["m2", 2],
  ]),
  word: "héllo",
});

test("a corpus of tricky templates renders the same with the own compiler as with Nunjucks'", async () => {
  const dir = mkdtempSync(join(tmpdir(), "phial-tmplc-"));
  dirs.push(dir);
  for (const [name, src] of Object.entries(CORPUS)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), src);
  }
  writeFileSync(join(dir, "escape-copy.txt"), CORPUS["escape.html"]!);
  const { fast, stock } = pair([dir]);
  const ctx = CORPUS_CONTEXT();
  const outcomes: Record<string, string> = {};
  for (const name of [...Object.keys(CORPUS), "escape-copy.txt"]) {
    const got = await outcome(fast, name, ctx);
    const want = await outcome(stock, name, ctx);
    assert.equal(got, want, `${name} renders differently`);
    outcomes[name] = got;
  }
  // What the comparison covered: escaping on and off, loops, errors naming file and line.
  assert.equal(outcomes["escape.txt"], `ok:<a href="x">&'\\ "q"|42||[object Object]`);
  assert.equal(
    outcomes["escape.html"],
    "ok:&lt;a href=&quot;x&quot;&gt;&amp;&#39;&#92; &quot;q&quot;|42|||true|false|[object Object]|1,&lt;2&gt;",
  );
  assert.match(outcomes["escape-weird.html"]!, /^error:.*escape-weird\.html.*toString is not a function/s);
  assert.equal(outcomes["caller.html"]!.slice(0, 20), "ok:[b&lt;<1>|1][a&am");
  assert.equal(outcomes["async-filter.html"], "ok:~b&lt;~112~a&amp;~212~c&#39;~31221");
  assert.equal(
    outcomes["loop-all.html"],
    "ok:[b&lt; 1 0 3 2 true false 3 1][a&amp; 2 1 2 1 false false 3 2][c&#39; 3 2 1 0 false true 3 3]",
  );
  assert.equal(outcomes["loop-nested.html"], "ok:1.2.1:b&lt;;1.2.2:a&amp;;1.2.3:c&#39;;");
  assert.equal(
    outcomes["include.html"],
    "ok:(b&lt;#1/3&lt;a href=&quot;x&quot;&gt;&amp;&#39;&#92; &quot;q&quot;)".concat(
      "(a&amp;#2/3&lt;a href=&quot;x&quot;&gt;&amp;&#39;&#92; &quot;q&quot;)",
      "(c&#39;#3/3&lt;a href=&quot;x&quot;&gt;&amp;&#39;&#92; &quot;q&quot;)",
      "(#/&lt;a href=&quot;x&quot;&gt;&amp;&#39;&#92; &quot;q&quot;)",
    ),
  );
  assert.match(
    outcomes["error-in-loop.html"]!,
    /^error:.*error-in-loop\.html\) \[Line 2, Column 14\].*Unable to call `nope`/s,
  );
  assert.match(outcomes["syntax-error.html"]!, /^error:.*syntax-error\.html/s);
});

test("the own compiler is the one used, and templates it cannot speed up keep Nunjucks' frame bindings", () => {
  const dir = mkdtempSync(join(tmpdir(), "phial-tmplc-"));
  dirs.push(dir);
  for (const name of ["loop-all.html", "include.html", "part.html", "caller.html"]) {
    writeFileSync(join(dir, name), CORPUS[name]!);
  }
  const { fast, stock } = pair([dir]);
  const fastLoop = compiledCode(fast, "loop-all.html");
  assert.match(fastLoop, /runtime\.phialOutput\(/);
  assert.doesNotMatch(fastLoop, /frame\.set\("loop\./, "loop.* are expressions, not frame writes");
  assert.match(compiledCode(stock, "loop-all.html"), /frame\.set\("loop\.index"/);
  // An include sees the loop through the frame: there the bindings stay.
  assert.match(compiledCode(fast, "include.html"), /frame\.set\("loop\.index"/);
  assert.match(compiledCode(fast, "caller.html"), /frame\.set\("loop\.index"/);
});
