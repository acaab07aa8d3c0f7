"""Interop client: the official Python MCP SDK drives the cc-executor MCP server.

Run by `tests/it/python_mcp.rs` with the venv of `scripts/provision` (`mcp==2.3.0`):

    python mcp_interop.py --protocol 2025-06-18|2025-11-25|2026-07-28 \
        --server target/debug/cc-executor --fake-claude target/debug/examples/fake_claude \
        --root DIR --data-dir DIR --record-dir DIR

Starts `cc-executor mcp` over stdio (`StdioServerParameters`) and connects at the asked
protocol version, as the SDK speaks it:

- 2025-11-25: `initialize()` (the SDK's newest handshake version);
- 2025-06-18: the same handshake offering 2025-06-18, then `adopt()` of the result (the SDK's
  public API for a negotiated result; it then speaks that version);
- 2026-07-28: `discover()`, then every request carries its own `_meta` envelope.

Then it lists the tools and calls EVERY tool with valid arguments (the SDK validates each
structured result against the tool's output schema), checks that log messages arrive at the
level asked for (`logging/setLevel` on the 2025 versions, the per-request `_meta` level on
2026-07-28) and that progress arrives, asks for a completion and reads the execution as a
resource. Any isError result, any warning from the SDK (Python warnings or `logging`
records at WARNING and above), or any tool not called is a failure. Prints `OK` and a JSON
summary and exits 0; prints what went wrong and exits 1.
"""

import argparse
import json
import logging
import os
import sys
import traceback
import warnings

import anyio
from mcp import ClientSession, MCPDeprecationWarning, StdioServerParameters, stdio_client
from mcp import types

VERSIONS = ("2025-06-18", "2025-11-25", "2026-07-28")


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class Complaints(logging.Handler):
    """Every `logging` record at WARNING and above, from any library."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(f"{record.name}: {record.getMessage()}")


async def connect(session, protocol):
    if protocol == "2026-07-28":
        result = await session.discover()
        check(protocol in result.supported_versions, f"discover: {result.supported_versions}")
    elif protocol == "2025-11-25":
        await session.initialize()
    else:
        result = await session.send_request(
            types.InitializeRequest(
                params=types.InitializeRequestParams(
                    protocol_version=protocol,
                    capabilities=types.ClientCapabilities(),
                    client_info=types.Implementation(name="cc-executor-interop-py", version="1.0"),
                )
            ),
            types.InitializeResult,
        )
        session.adopt(result)
        await session.send_notification(types.InitializedNotification())
    check(session.protocol_version == protocol, f"negotiated {session.protocol_version!r}, not {protocol}")


async def interop(args):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": args.root,
        # The server's tasks run here, and it must not pick up a user config file.
        "XDG_CONFIG_HOME": args.root + "/.config-none",
        "FAKE_CLAUDE_RECORD_DIR": args.record_dir,
        "RUST_LOG": "warn",
    }
    params = StdioServerParameters(
        command=args.server,
        args=[
            "--claude-bin",
            args.fake_claude,
            "--data-dir",
            args.data_dir,
            "--allowed-root",
            args.root,
            "mcp",
        ],
        env=env,
        cwd=args.root,
    )
    modern = args.protocol == "2026-07-28"
    logs = []

    async def on_log(p):
        logs.append((p.level, p.data))

    async with stdio_client(params) as (read, write):
        # 2026-07-28: log messages are asked for per request (the SDK stamps the level on each).
        async with ClientSession(
            read, write, logging_callback=on_log, log_level="info" if modern else None
        ) as session:
            await connect(session, args.protocol)
            caps = session.server_capabilities
            check(caps.tools and caps.completions and caps.logging, f"capabilities {caps}")
            if not modern:
                with warnings.catch_warnings():
                    # The spec method of these versions; the SDK flags it as deprecated by
                    # 2026-07-28 (SEP-2577) whatever the version.
                    warnings.simplefilter("ignore", MCPDeprecationWarning)
                    await session.set_logging_level("info")

            tools = await session.list_tools()
            listed = sorted(t.name for t in tools.tools)
            called = set()

            async def call(name, arguments, **kw):
                result = await session.call_tool(name, arguments, read_timeout_seconds=20, **kw)
                called.add(name)
                check(not result.is_error, f"{name} is an error: {result.content}")
                check(isinstance(result.structured_content, dict), f"{name}: no structured content")
                return result.structured_content

            progress = []

            async def on_progress(p, total, message):
                progress.append(message)

            text = f"PY-{args.protocol}"
            sc = await call(
                "cc_execute",
                {"task": f"@fake success text={text}\ninterop marker py-one"},
                progress_callback=on_progress,
            )
            check(sc.get("status") == "succeeded" and sc.get("result") == text, f"cc_execute {sc}")
            check(any((m or "").startswith("started") for m in progress), f"progress {progress}")
            check(
                any(level == "info" and str(data).startswith("started") for level, data in logs),
                f"log messages {logs}",
            )
            execution = sc["execution_id"]

            run = await call(
                "cc_execute_list",
                {"tasks": ["@fake success text=PY-LIST\ninterop marker py-list"], "wait": True},
            )
            check(run.get("state") == "succeeded", f"cc_execute_list {run}")
            m = await call("monitor_execution", {"execution_id": execution})
            check(m["executions"][0]["status"] == "succeeded", f"monitor {m}")
            m = await call("monitor_execution", {"run_id": run["run_id"]})
            check(m["runs"][0]["run"]["state"] == "succeeded", f"monitor run {m}")
            c = await call("cancel_execution", {"execution_id": execution})
            check(c.get("outcome") == "already_finished", f"cancel {c}")
            p = await call("pause_execution", {"execution_id": execution})
            check(p.get("outcome") == "already_finished", f"pause {p}")
            h = await call("check_websocket_status", {})
            check(h.get("status") == "ok", f"health {h}")
            h = await call("get_execution_history", {"limit": 5})
            check(len(h["executions"]) == 2, f"history {h}")
            await call("get_task_complexity", {"task": "Refactor the parser module and add tests"})
            v = await call("validate_task_list", {"tasks": ["Write the parser", "Test the parser"]})
            check(v.get("valid") is True, f"validate {v}")
            await call("suggest_execution_strategy", {"tasks": ["Write the parser", "Test the parser"]})
            await call("verify_execution", {"execution_id": execution})
            await call("get_hook_status", {})
            missing = [n for n in listed if n not in called]
            check(not missing, f"tools not called: {missing}")

            done = await session.complete(
                types.ResourceTemplateReference(uri="cc-executor://executions/{id}"),
                {"name": "id", "value": execution[:6]},
            )
            check(execution in done.completion.values, f"completion {done}")
            r = await session.read_resource(f"cc-executor://executions/{execution}")
            check(execution in r.contents[0].text, "resource read")
            return {"protocol": session.protocol_version, "tools": sorted(called), "logs": len(logs)}


def check_failures(exc):
    """The `Failure`s in `exc`, looking inside the exception groups task groups raise."""
    if isinstance(exc, Failure):
        yield exc
    elif isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from check_failures(inner)


async def bounded(args):
    with anyio.fail_after(40):
        return await interop(args)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--protocol", required=True, choices=VERSIONS)
    parser.add_argument("--server", required=True)
    parser.add_argument("--fake-claude", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--record-dir", required=True)
    args = parser.parse_args()
    # The server runs with cwd=root: make every path absolute first.
    for name in ("server", "fake_claude", "root", "data_dir", "record_dir"):
        setattr(args, name, os.path.abspath(getattr(args, name)))
    complaints = Complaints()
    logging.getLogger().addHandler(complaints)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            summary = anyio.run(bounded, args)
        complained = [f"{w.category.__name__}: {w.message}" for w in caught] + complaints.records
        check(not complained, "the SDK warned:\n" + "\n".join(complained))
    except BaseException as e:  # noqa: BLE001 - any failure, including exception groups and timeouts
        failures = list(check_failures(e))
        if failures:
            for f in failures:
                print(f"FAIL: {f}", file=sys.stderr)
        else:
            traceback.print_exc()
            print(f"FAIL: unexpected {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print("OK " + json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
