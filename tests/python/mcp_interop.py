"""Cross-ecosystem smoke test: the Python MCP SDK drives the cc-executor MCP server.

Run by `tests/python_mcp.rs` with the venv of `scripts/provision` (`mcp==2.3.0`):

    python mcp_smoke.py --server target/debug/cc-executor --fake-claude target/debug/examples/fake_claude \
        --root DIR --data-dir DIR [--record-dir DIR]

Starts `cc-executor mcp` over stdio (`StdioServerParameters`), lists the tools, calls
`cc_execute` with the fake claude's `success` scenario and checks the structured result (which
the SDK also validates against the tool's output schema). Prints `OK` and exits 0 on success;
prints what went wrong and exits 1 on any failure.
"""

import argparse
import os
import sys
import traceback

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client

TEXT = "from-python"


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


async def smoke(args):
    env = {
        # The server's tasks run here, and it must not pick up a user config file.
        "XDG_CONFIG_HOME": args.root + "/.config-none",
        "RUST_LOG": "warn",
    }
    if args.record_dir:
        env["FAKE_CLAUDE_RECORD_DIR"] = args.record_dir
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
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            print(f"server: {init.server_info.name} {init.server_info.version}")
            check(init.server_info.name == "cc-executor", f"server name {init.server_info.name!r}")

            tools = await session.list_tools()
            names = [t.name for t in tools.tools]
            print(f"tools: {names}")
            check("cc_execute" in names, f"cc_execute not listed: {names}")
            tool = next(t for t in tools.tools if t.name == "cc_execute")
            check("task" in (tool.input_schema or {}).get("required", []), f"input schema {tool.input_schema}")
            check(tool.output_schema is not None, "cc_execute has no output schema")

            task = f"@fake success text={TEXT}\nReply with the agreed text, please."
            result = await session.call_tool("cc_execute", {"task": task}, read_timeout_seconds=20)
            print(f"is_error: {result.is_error}")
            print(f"structured: {result.structured_content}")
            check(not result.is_error, f"cc_execute reported an error: {result.content}")
            sc = result.structured_content
            check(isinstance(sc, dict), f"no structured content: {result}")
            check(sc.get("status") == "succeeded", f"status {sc.get('status')!r}")
            check(sc.get("result") == TEXT, f"result {sc.get('result')!r}")
            check(bool(sc.get("execution_id")), "no execution_id")
            texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
            check(any(TEXT in t for t in texts), f"text content {texts}")


def check_failures(exc):
    """The `Failure`s in `exc`, looking inside the exception groups task groups raise."""
    if isinstance(exc, Failure):
        yield exc
    elif isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from check_failures(inner)


async def bounded(args):
    with anyio.fail_after(25):
        await smoke(args)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--fake-claude", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--record-dir")
    args = parser.parse_args()
    # The server runs with cwd=root: make every path absolute first.
    for name in ("server", "fake_claude", "root", "data_dir", "record_dir"):
        if getattr(args, name):
            setattr(args, name, os.path.abspath(getattr(args, name)))
    try:
        anyio.run(bounded, args)
    except BaseException as e:  # noqa: BLE001 - any failure, including exception groups and timeouts
        failures = list(check_failures(e))
        if failures:
            for f in failures:
                print(f"FAIL: {f}", file=sys.stderr)
        else:
            traceback.print_exc()
            print(f"FAIL: unexpected {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
