// Faster code for Nunjucks templates, same output. Nunjucks compiles a template to JavaScript; this is
// its own compiler with three of its methods replaced, for the environments of this framework only
// (an environment marked with PHIAL_ENV): every other node is compiled by Nunjucks itself.
//
// Where the render time went (CPU profile of bench/servers/templates/page.html, 20 rows of a table):
// half in `frame.set("loop.index", …)` (7 per loop iteration, each splitting the name on "."), a sixth
// in the escaping (a regex replace with a callback per character found), then `memberLookup`.
//
// - `{% for %}`: the `loop.index`, `loop.first`, … of a loop are JavaScript expressions of its
//   counter when every use of `loop` in the body is such a lookup and nothing in the body can read
//   the frame by name at run time (includes, macros, calls to `caller`, blocks, extensions: then the
//   loop is compiled as Nunjucks does). The loop variable itself is still put in the frame (a `set`
//   inside the loop looks it up there).
// - `{{ x }}`: strings are escaped by a scan of their characters, not a regex with a callback; the
//   same six characters as Nunjucks' escape (`& " ' < > \`), the same entities.
// - `a.b`: `runtime.memberLookup` is left as is (environment.ts makes it fast for plain values).

import type * as Nunjucks from "nunjucks";

/** Set on an environment whose templates this compiler compiles. */
export const PHIAL_ENV = Symbol("phial.templates.environment");

/** The names of `loop.*` Nunjucks binds, and their value from the counter `i` and length `n`. */
const LOOP_VALUES: Record<string, (i: string, n: string) => string> = {
  index: (i) => `(${i} + 1)`,
  index0: (i) => i,
  revindex: (i, n) => `(${n} - ${i})`,
  revindex0: (i, n) => `(${n} - ${i} - 1)`,
  first: (i) => `(${i} === 0)`,
  last: (i, n) => `(${i} === ${n} - 1)`,
  length: (_i, n) => n,
};

/**
 * Node types that cannot read a variable by name from the frame at run time (their variables are
 * resolved while compiling, or they only compute values). A loop body made only of these may have
 * its `loop.*` compiled to expressions.
 */
const FRAME_BLIND = new Set([
  "NodeList",
  "Output",
  "TemplateData",
  "Literal",
  "Symbol",
  "Group",
  "Array",
  "Dict",
  "Pair",
  "InlineIf",
  "In",
  "Is",
  "Or",
  "And",
  "Not",
  "Add",
  "Concat",
  "Sub",
  "Mul",
  "Div",
  "FloorDiv",
  "Mod",
  "Pow",
  "Neg",
  "Pos",
  "Compare",
  "CompareOperand",
  "LookupVal",
  "Filter",
  "FunCall",
  "KeywordArgs",
  "If",
  "For",
  "Set",
]);

interface NjNode {
  typename: string;
  fields: readonly string[];
  lineno: number;
  colno: number;
  [field: string]: unknown;
}

function isNode(v: unknown): v is NjNode {
  return v !== null && typeof v === "object" && typeof (v as { typename?: unknown }).typename === "string";
}

/** The node's child nodes (its fields, and the items of a list node). */
function childNodes(node: NjNode): NjNode[] {
  const out: NjNode[] = [];
  for (const f of node.fields) {
    const v = node[f];
    if (isNode(v)) out.push(v);
    else if (Array.isArray(v)) for (const c of v) if (isNode(c)) out.push(c);
  }
  return out;
}

/** True when the tree has a node of that type. */
function contains(node: NjNode, typename: string): boolean {
  if (node.typename === typename) return true;
  for (const c of childNodes(node)) if (contains(c, typename)) return true;
  return false;
}

/** `loop.<name>` with a name Nunjucks binds: the name; otherwise undefined. */
function loopMember(node: NjNode): string | undefined {
  if (node.typename !== "LookupVal") return undefined;
  const target = node.target as NjNode;
  const val = node.val as NjNode;
  if (target.typename !== "Symbol" || target.value !== "loop") return undefined;
  if (val.typename !== "Literal" || typeof val.value !== "string") return undefined;
  return Object.hasOwn(LOOP_VALUES, val.value) ? val.value : undefined;
}

/**
 * True when `loop` can be compiled to expressions in this loop body: only frame-blind nodes, `loop`
 * used only as `loop.<name>` (in nested loops' bodies `loop` is theirs), and nothing assigns `loop`.
 */
function loopIsStatic(body: NjNode, inNested = false): boolean {
  if (!FRAME_BLIND.has(body.typename)) return false;
  if (!inNested && body.typename === "Symbol" && body.value === "loop") return false;
  if (body.typename === "Set") {
    for (const t of (body.targets as NjNode[]) ?? []) if (t.value === "loop") return false;
  }
  if (!inNested && loopMember(body) !== undefined) return true;
  if (body.typename === "For") {
    const name = body.name as NjNode;
    if (name.typename === "Symbol" && name.value === "loop") return false;
    if (name.typename === "Array") {
      for (const c of childNodes(name)) if (c.value === "loop") return false;
    }
    if (!loopIsStatic(body.arr as NjNode, inNested)) return false;
    if (!loopIsStatic(body.body as NjNode, true)) return false;
    return body.else_ == null || loopIsStatic(body.else_ as NjNode, inNested);
  }
  for (const c of childNodes(body)) if (!loopIsStatic(c, inNested)) return false;
  return true;
}

interface CompilerInternals {
  _emit(code: string): void;
  _emitLine(code: string): void;
  _compileExpression(node: NjNode, frame: CompileFrame): void;
  compile(node: NjNode, frame: CompileFrame): void;
  compileLiteral(node: NjNode, frame: CompileFrame): void;
  buffer: string;
  throwOnUndefined: boolean;
}
interface CompileFrame {
  lookup(name: string): string | undefined;
}

interface StaticLoop {
  /** The counter and the length variables of the generated loop. */
  i: string;
  len: string;
}

type NjModules = {
  compiler: { Compiler: new (name: string, throwOnUndefined: boolean) => CompilerInternals };
  parser: { parse(src: string, extensions: unknown, opts: unknown): NjNode };
  transformer: { transform(ast: NjNode, asyncFilters: unknown, name: string): NjNode };
  nodes: Record<string, new (...args: never[]) => NjNode>;
};

/**
 * Makes the `compile(src, asyncFilters, extensions, name, opts)` of Nunjucks' compiler module, with
 * this file's faster code for the nodes it knows.
 */
export function makeCompile(
  lib: typeof Nunjucks,
  transformer: NjModules["transformer"],
): (
  src: string,
  asyncFilters: unknown,
  extensions: unknown,
  name: string,
  opts: { throwOnUndefined?: boolean },
) => string {
  const m = lib as unknown as NjModules;
  const Base = m.compiler.Compiler;
  const baseFor = (Base.prototype as unknown as Record<string, (...a: unknown[]) => void>).compileFor!;
  const baseLoopBindings = (Base.prototype as unknown as Record<string, (...a: unknown[]) => void>)
    ._emitLoopBindings!;
  const proto = Base.prototype as unknown as Record<string, (...a: unknown[]) => void>;
  const baseLookupVal = proto.compileLookupVal!;
  const baseCompile = proto.compile!;
  const baseAsyncLoop = proto._compileAsyncLoop!;

  class PhialCompiler extends (Base as unknown as new (name: string, throwOnUndefined: boolean) => object) {
    /**
     * The template has a `{% call %}`: its body runs inside the macro it is given to, in the frame the
     * macro's code has at that moment (Nunjucks' generated functions share their `frame` variable),
     * so it may read the `loop` of any loop that calls a function. Then every loop keeps its bindings.
     */
    hasCaller = false;
    /** The loops being compiled, innermost last: their counters, or null when `loop` is in the frame. */
    loops: (StaticLoop | null)[] = [];
    /** The For nodes being compiled, innermost last, with the depth of `loops` when each began. */
    fors: { node: NjNode; base: number }[] = [];

    compileFor(this: PhialCompiler & CompilerInternals, node: NjNode, frame: CompileFrame): void {
      const base = this.loops.length;
      this.fors.push({ node, base });
      try {
        baseFor.call(this, node, frame);
      } finally {
        this.fors.pop();
        this.loops.length = base;
      }
    }

    /** Nunjucks' compileFor calls this just before compiling the body (twice for `for k, v in x`). */
    _emitLoopBindings(
      this: PhialCompiler & CompilerInternals,
      node: NjNode,
      arr: string,
      i: string,
      len: string,
    ): void {
      const current = this.fors[this.fors.length - 1];
      if (current === undefined || current.node !== node) {
        // An async loop (`asyncEach`/`asyncAll`, when an async filter is used): Nunjucks' bindings.
        this.loops.push(null);
        baseLoopBindings.call(this, node, arr, i, len);
        return;
      }
      this.loops.length = current.base;
      if (!this.hasCaller && loopIsStatic(current.node.body as NjNode)) {
        this.loops.push({ i, len });
        return;
      }
      this.loops.push(null);
      baseLoopBindings.call(this, node, arr, i, len);
    }

    _compileAsyncLoop(this: PhialCompiler & CompilerInternals, ...args: unknown[]): void {
      const base = this.loops.length;
      try {
        baseAsyncLoop.apply(this, args);
      } finally {
        this.loops.length = base;
      }
    }

    compile(this: PhialCompiler & CompilerInternals, node: NjNode, frame: CompileFrame): void {
      const current = this.fors[this.fors.length - 1];
      if (current !== undefined && node === current.node.else_) {
        // `{% else %}` of a loop runs outside of it: `loop` is the outer loop's there.
        this.loops.length = current.base;
      }
      baseCompile.call(this, node, frame);
    }

    compileLookupVal(this: PhialCompiler & CompilerInternals, node: NjNode, frame: CompileFrame): void {
      const member = loopMember(node);
      const top = this.loops[this.loops.length - 1];
      if (member !== undefined && top !== undefined && top !== null && !frame.lookup("loop")) {
        this._emit(LOOP_VALUES[member]!(top.i, top.len));
        return;
      }
      baseLookupVal.call(this, node, frame);
    }

    compileOutput(this: PhialCompiler & CompilerInternals, node: NjNode, frame: CompileFrame): void {
      for (const child of node.children as NjNode[]) {
        if (child.typename === "TemplateData") {
          if (child.value) {
            this._emit(`${this.buffer} += `);
            this.compileLiteral(child, frame);
            this._emitLine(";");
          }
          continue;
        }
        this._emit(`${this.buffer} += runtime.phialOutput(`);
        if (this.throwOnUndefined) this._emit("runtime.ensureDefined(");
        this.compile(child, frame);
        if (this.throwOnUndefined) this._emit(`,${node.lineno},${node.colno})`);
        this._emit(", env.opts.autoescape);\n");
      }
    }
  }
  void m;
  return (src, asyncFilters, extensions, name, opts) => {
    const c = new PhialCompiler(name, opts.throwOnUndefined === true) as unknown as CompilerInternals & {
      getCode(): string;
    };
    const pre = ((extensions as { preprocess?: (s: string) => string }[] | undefined) ?? [])
      .map((e) => e.preprocess)
      .filter((f): f is (s: string) => string => typeof f === "function");
    const processed = pre.reduce((s, f) => f(s), src);
    const ast = transformer.transform(m.parser.parse(processed, extensions, opts), asyncFilters, name);
    (c as unknown as PhialCompiler).hasCaller = contains(ast, "Caller");
    c.compile(ast, undefined as never);
    return c.getCode();
  };
}

/**
 * Nunjucks' escape (`lib.escape`), without its regex and callback: the same six characters, the
 * same entities.
 */
export function escapeHtml(s: string): string {
  let out = "";
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    let entity: string;
    switch (s.charCodeAt(i)) {
      case 0x26:
        entity = "&amp;";
        break;
      case 0x22:
        entity = "&quot;";
        break;
      case 0x27:
        entity = "&#39;";
        break;
      case 0x3c:
        entity = "&lt;";
        break;
      case 0x3e:
        entity = "&gt;";
        break;
      case 0x5c:
        entity = "&#92;";
        break;
      default:
        continue;
    }
    out += s.slice(last, i) + entity;
    last = i + 1;
  }
  return last === 0 ? s : out + s.slice(last);
}

interface NjTemplateInternals {
  env: Record<PropertyKey, unknown> & { asyncFilters: unknown; extensionsList: unknown; opts: object };
  tmplStr: string;
  tmplProps: unknown;
  path: string;
  blocks: unknown;
  rootRenderFunc: unknown;
  compiled: boolean;
  _getBlocks(props: unknown): unknown;
}

/**
 * Makes the templates of environments marked with PHIAL_ENV compile with this file's compiler. Other
 * environments in the process (an app's own Nunjucks) keep Nunjucks' compiler. Idempotent.
 */
export function installCompiler(lib: typeof Nunjucks, transformer: NjModules["transformer"]): void {
  const runtime = lib.runtime as unknown as Record<string, unknown>;
  if (runtime.phialOutput !== undefined) return;
  const SafeString = lib.runtime.SafeString;
  // Nunjucks' suppressValue, with escapeHtml.
  runtime.phialOutput = function phialOutput(val: unknown, autoescape: boolean): unknown {
    if (typeof val === "string") return autoescape ? escapeHtml(val) : val;
    if (val === undefined || val === null) return "";
    if (autoescape && !(val instanceof SafeString)) return escapeHtml(String((val as object).toString()));
    return val;
  };
  // `frame.set(name, value)` splits every name on "." to allow `a.b`; a loop sets its variable so
  // on each iteration. Without a dot and without `resolveUp`, the split changes nothing: skipped.
  const frameProto = (lib.runtime as unknown as { Frame: { prototype: unknown } }).Frame.prototype as {
    set(name: string, val: unknown, resolveUp?: boolean): void;
    variables: Record<string, unknown>;
  };
  const frameSet = frameProto.set;
  frameProto.set = function set(this: typeof frameProto, name, val, resolveUp) {
    if (resolveUp || name.indexOf(".") !== -1) frameSet.call(this, name, val, resolveUp);
    else this.variables[name] = val;
  };
  const compile = makeCompile(lib, transformer);
  const proto = lib.Template.prototype as unknown as NjTemplateInternals & { _compile(): void };
  const original = proto._compile;
  proto._compile = function _compile(this: NjTemplateInternals): void {
    if (this.tmplProps || this.env[PHIAL_ENV] !== true) {
      original.call(this);
      return;
    }
    let source: string;
    try {
      source = compile(
        this.tmplStr,
        this.env.asyncFilters,
        this.env.extensionsList,
        this.path,
        this.env.opts,
      );
    } catch {
      // A syntax error (Nunjucks' compiler throws the same one, with its message), or a template this
      // compiler gets wrong: either way Nunjucks' own compiler decides.
      original.call(this);
      return;
    }
    // Nunjucks' own way to load the code compiled from a template (its Template._compile).
    const props = new Function(source)() as unknown;
    this.blocks = this._getBlocks(props);
    this.rootRenderFunc = (props as { root: unknown }).root;
    this.compiled = true;
  };
}
