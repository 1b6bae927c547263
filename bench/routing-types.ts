// Type-check cost of ParamsOf (LESSONS 21): generates 200 routes with 5 typed params each, runs tsc
// with --extendedDiagnostics and prints the instantiation count and check time. Run:
//   npx tsx bench/routing-types.ts

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const dir = mkdtempSync(join(tmpdir(), "phial-types-"));
try {
  const types = join(root, "src/app/routing/types.ts");
  const head = [
    `import type { ParamsOf } from ${JSON.stringify(types)};`,
    "declare function route<R extends string>(rule: R, h: (p: ParamsOf<R>) => unknown): void;",
  ];
  const body: string[] = [];
  for (let i = 0; i < 200; i++) {
    body.push(
      `route("/r${i}/<int:id>/<any(a, b, c):tab>/<slug>/<float(signed=True):x>/<path:rest>", ` +
        "(p) => p.id + p.x + p.slug.length + p.tab.length + p.rest.length);",
    );
  }
  const run = (name: string, lines: string[]) => {
    writeFileSync(join(dir, `${name}.ts`), `${lines.join("\n")}\n`);
    writeFileSync(
      join(dir, `tsconfig.${name}.json`),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: "NodeNext",
          moduleResolution: "NodeNext",
          allowImportingTsExtensions: true,
          skipLibCheck: true,
          types: [],
        },
        files: [`${name}.ts`],
      }),
    );
    const out = execFileSync(
      process.execPath,
      [
        join(root, "node_modules/typescript/bin/tsc"),
        "-p",
        join(dir, `tsconfig.${name}.json`),
        "--extendedDiagnostics",
      ],
      { encoding: "utf8" },
    );
    const pick = (k: string) => out.match(new RegExp(`${k}:\\s+(\\S+)`))?.[1] ?? "?";
    return { instantiations: Number(pick("Instantiations")), check: pick("Check time") };
  };
  const base = run("base", head);
  const full = run("routes", [...head, ...body]);
  console.log(`200 routes x 5 params: ${full.instantiations - base.instantiations} instantiations`);
  console.log(`check time ${full.check} (an empty file: ${base.check})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
