// The open-loop generator in its own (pinned) process, so that its CPU use stays off the server's core.
// argv[2] is the OpenLoopOptions JSON; prints one BENCH_JSON line with the OpenLoopResult.

import { type OpenLoopOptions, openLoop } from "./open-loop.ts";

const o = JSON.parse(process.argv[2] ?? "{}") as OpenLoopOptions;
const result = await openLoop(o);
console.log(`BENCH_JSON ${JSON.stringify(result)}`);
process.exit(0);
