// HTTP client: the official TypeScript MCP SDK's StreamableHTTPClientTransport against
// `cc-executor serve` (`/mcp`, bearer token).
//
// Run by tests/it/serve/clients.rs with Node 22:
//
//   node http_client.mjs <sdk dir> <url> <token> <marker>
//
// Connects (initialize, a session), calls `cc_execute` (the fake claude answers <marker>) with a
// progress callback, checks the structured result and that progress arrived, and that
// `check_websocket_status` reports the service running here; closes the session (DELETE). Fails
// on any isError result and on any warning the SDK prints. Prints one JSON line {"ok": true, ...}
// and exits 0; prints what went wrong and exits 1.

import path from "node:path";
import { pathToFileURL } from "node:url";

const [sdkDir, url, token, marker] = process.argv.slice(2);
const load = (rel) => import(pathToFileURL(path.join(sdkDir, "dist/esm", rel)).href);
const { Client } = await load("client/index.js");
const { StreamableHTTPClientTransport } = await load("client/streamableHttp.js");

const complaints = [];
for (const name of ["warn", "error"]) {
  console[name] = (...args) => complaints.push(`console.${name}: ${args.join(" ")}`);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "cc-executor-http-ts", version: "1.0.0" });
try {
  await client.connect(transport);
  check(transport.sessionId, "no session id");
  const progress = [];
  const result = await client.callTool(
    { name: "cc_execute", arguments: { task: `@fake success text=${marker}\nhttp marker ${marker}` } },
    undefined,
    { onprogress: (p) => progress.push(p.message), timeout: 30000 },
  );
  check(!result.isError, `cc_execute is an error: ${JSON.stringify(result.content)}`);
  const sc = result.structuredContent;
  check(sc.status === "succeeded" && sc.result === marker, `cc_execute ${JSON.stringify(sc)}`);
  check(progress.some((m) => (m ?? "").startsWith("started")), `progress ${JSON.stringify(progress)}`);
  const health = await client.callTool({ name: "check_websocket_status", arguments: {} });
  const service = health.structuredContent.service;
  check(service.state === "running" && service.surfaces.includes("mcp"), `service ${JSON.stringify(service)}`);
  await transport.terminateSession();
  await client.close();
  check(complaints.length === 0, `the SDK complained: ${complaints.join("; ")}`);
  console.log(JSON.stringify({ ok: true, protocol: client.getServerVersion() && transport.protocolVersion, progress: progress.length, service }));
  process.exit(0);
} catch (e) {
  process.stdout.write(`FAILED: ${e.stack ?? e}\n${complaints.join("\n")}\n`);
  process.exit(1);
}
