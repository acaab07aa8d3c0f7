// Interop client: the official TypeScript MCP SDK (`@modelcontextprotocol/sdk` 1.32, installed
// into .tools/mcp-js by scripts/provision) drives the built `cc-executor mcp` over stdio.
//
// Run by tests/it/interop.rs with Node 22:
//
//   node sdk_client.mjs <protocol> <sdk dir> <cc-executor> <fake claude> <root> <data dir> <record dir>
//
// <protocol> is 2025-11-25 (what the SDK offers, its newest) or 2025-06-18: then the SDK's
// initialize offers 2025-06-18, as an SDK of that version does, and speaks what is agreed
// (both are in its supported versions). The script lists the tools, calls EVERY
// tool with valid arguments (the SDK validates each structured result against the tool's
// output schema), sets the log level and checks that log messages and progress arrive, asks
// for completions, and reads the execution as a resource. It fails on any isError result, on
// any warning the SDK prints (console.warn/console.error), and on any tool it did not call.
// Prints one JSON line {"ok": true, ...} and exits 0; prints what went wrong and exits 1.

import path from "node:path";
import { pathToFileURL } from "node:url";

const [protocol, sdkDir, server, fakeClaude, root, dataDir, recordDir] = process.argv.slice(2);
const load = (rel) => import(pathToFileURL(path.join(sdkDir, "dist/esm", rel)).href);
const { Client } = await load("client/index.js");
const { StdioClientTransport } = await load("client/stdio.js");
const { LoggingMessageNotificationSchema } = await load("types.js");

// Anything the SDK complains about is a failure of this test.
const complaints = [];
for (const name of ["warn", "error"]) {
  console[name] = (...args) => complaints.push(`console.${name}: ${args.join(" ")}`);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const transport = new StdioClientTransport({
  command: server,
  args: ["--claude-bin", fakeClaude, "--data-dir", dataDir, "--allowed-root", root, "mcp"],
  cwd: root,
  env: {
    PATH: process.env.PATH ?? "",
    HOME: root,
    XDG_CONFIG_HOME: path.join(root, ".config-none"),
    FAKE_CLAUDE_RECORD_DIR: recordDir,
    RUST_LOG: "warn",
  },
  stderr: "inherit",
});
// The offered version, and the agreed one as the server answers it.
let initializeId;
let negotiated;
const send = transport.send.bind(transport);
transport.send = (message, options) => {
  if (message.method === "initialize") {
    initializeId = message.id;
    message = { ...message, params: { ...message.params, protocolVersion: protocol } };
  }
  return send(message, options);
};
// Progress and responses in the order they arrived on the wire. The SDK runs notification
// handlers (progress included) in a microtask but settles responses at once, so progress that
// arrives in the same read as its response reaches `onprogress` after the handler is gone; on a
// loaded machine that happens. What the server controls, and what is checked, is the wire
// order: every progress notification of a call comes before its response.
const wire = [];
const start = transport.start.bind(transport);
transport.start = async () => {
  const onmessage = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if (message.id === initializeId && message.result) negotiated = message.result.protocolVersion;
    if (message.method === "notifications/progress") {
      wire.push({ progress: message.params.progressToken, message: message.params.message });
    } else if (message.id !== undefined && (message.result || message.error)) {
      wire.push({ response: message.id });
    }
    onmessage?.(message, extra);
  };
  return start();
};
const client = new Client({ name: "cc-executor-interop-ts", version: "1.0.0" });
const logs = [];
client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params));

async function main() {
  await client.connect(transport);
  check(negotiated === protocol, `negotiated ${negotiated}, not ${protocol}`);
  const caps = client.getServerCapabilities();
  check(caps?.logging && caps?.completions && caps?.tools, `capabilities ${JSON.stringify(caps)}`);

  const { tools } = await client.listTools();
  const listed = tools.map((t) => t.name).sort();

  const called = new Set();
  const call = async (name, args, options) => {
    const result = await client.callTool({ name, arguments: args }, undefined, options);
    called.add(name);
    check(!result.isError, `${name} is an error: ${JSON.stringify(result.content)}`);
    check(result.structuredContent, `${name}: no structured content`);
    return result.structuredContent;
  };

  await client.setLoggingLevel("info");
  const progress = [];
  const exec = await call(
    "cc_execute",
    { task: "@fake success text=TS-ONE\ninterop marker ts-one" },
    { onprogress: (p) => progress.push(p.message) },
  );
  check(exec.status === "succeeded" && exec.result === "TS-ONE", `cc_execute ${JSON.stringify(exec)}`);
  const responseAt = (token) => wire.findIndex((w) => w.response === token);
  const started = wire.findIndex((w) => w.progress !== undefined && w.message?.startsWith("started"));
  check(started >= 0, `progress on the wire ${JSON.stringify(wire)}`);
  const token = wire[started].progress;
  check(responseAt(token) > started, `progress after the response: ${JSON.stringify(wire)}`);
  check(
    wire.every((w, i) => w.progress !== token || i < responseAt(token)),
    `progress after the response: ${JSON.stringify(wire)}`,
  );
  // What the SDK handed to onprogress is a prefix of what was sent (see `wire` above).
  const sent = wire.filter((w) => w.progress === token).map((w) => w.message);
  check(
    progress.every((m, i) => m === sent[i]),
    `onprogress ${JSON.stringify(progress)} vs wire ${JSON.stringify(sent)}`,
  );
  check(
    logs.some((l) => l.level === "info" && String(l.data).startsWith("started")),
    `log messages ${JSON.stringify(logs)}`,
  );
  const id = exec.execution_id;

  const run = await call("cc_execute_list", {
    tasks: ["@fake success text=TS-LIST\ninterop marker ts-list"],
    wait: true,
  });
  check(run.state === "succeeded", `cc_execute_list ${JSON.stringify(run)}`);

  const monitored = await call("monitor_execution", { execution_id: id });
  check(monitored.executions?.[0]?.status === "succeeded", `monitor ${JSON.stringify(monitored)}`);
  const runStatus = await call("monitor_execution", { run_id: run.run_id });
  check(runStatus.runs?.[0]?.run?.state === "succeeded", `monitor run ${JSON.stringify(runStatus)}`);
  const cancelled = await call("cancel_execution", { execution_id: id });
  check(cancelled.outcome === "already_finished", `cancel ${JSON.stringify(cancelled)}`);
  const paused = await call("pause_execution", { execution_id: id });
  check(paused.outcome === "already_finished", `pause ${JSON.stringify(paused)}`);
  const health = await call("check_websocket_status", {});
  check(health.status === "ok", `health ${JSON.stringify(health)}`);
  const history = await call("get_execution_history", { limit: 5 });
  check(history.executions?.length === 2, `history ${JSON.stringify(history).slice(0, 500)}`);
  await call("get_task_complexity", { task: "Refactor the parser module and add tests" });
  const valid = await call("validate_task_list", { tasks: ["Write the parser", "Test the parser"] });
  check(valid.valid === true, `validate ${JSON.stringify(valid)}`);
  await call("suggest_execution_strategy", { tasks: ["Write the parser", "Test the parser"] });
  const verified = await call("verify_execution", { execution_id: id });
  check(verified.reports?.length === 1 || verified.verdict, `verify ${JSON.stringify(verified).slice(0, 500)}`);
  await call("get_hook_status", {});

  const missing = listed.filter((n) => !called.has(n));
  check(missing.length === 0, `tools not called: ${missing.join(", ")}`);

  const completion = await client.complete({
    ref: { type: "ref/resource", uri: "cc-executor://executions/{id}" },
    argument: { name: "id", value: id.slice(0, 6) },
  });
  check(completion.completion.values.includes(id), `completion ${JSON.stringify(completion)}`);
  const resource = await client.readResource({ uri: `cc-executor://executions/${id}` });
  check(resource.contents?.[0]?.text?.includes(id), "resource read");

  await client.close();
  check(complaints.length === 0, `the SDK complained:\n${complaints.join("\n")}`);
  process.stdout.write(
    JSON.stringify({ ok: true, protocol: negotiated, tools: [...called].sort(), logs: logs.length }) + "\n",
  );
}

try {
  await main();
  process.exit(0);
} catch (e) {
  process.stdout.write(`FAIL: ${e?.stack ?? e}\n`);
  if (complaints.length) process.stdout.write(`SDK complaints:\n${complaints.join("\n")}\n`);
  try {
    await client.close();
  } catch {}
  process.exit(1);
}
