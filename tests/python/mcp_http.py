"""HTTP client: the official Python MCP SDK's Streamable HTTP client against `cc-executor serve`.

Run by `tests/it/serve/clients.rs` with the venv of `scripts/provision`:

    python mcp_http.py --url http://127.0.0.1:PORT/mcp --token TOKEN \
        --protocol 2025-11-25|2026-07-28 --marker TEXT

Connects with `Authorization: Bearer TOKEN` (2025-11-25: `initialize` and a session;
2026-07-28: `discover` and stateless requests), calls `cc_execute` (the fake claude answers
TEXT) with a progress callback, checks the structured result and that progress arrived, and
that `check_websocket_status` reports the service as running here. Any isError, any SDK
warning, is a failure. Prints `OK` and a JSON summary and exits 0; else what went wrong, 1.
"""

import argparse
import json
import logging
import sys
import traceback
import warnings

import anyio
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class Complaints(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(f"{record.name}: {record.getMessage()}")


async def run(args):
    client = create_mcp_http_client(headers={"Authorization": f"Bearer {args.token}"})
    async with client:
        async with streamable_http_client(args.url, http_client=client) as (read, write):
            async with ClientSession(read, write) as session:
                if args.protocol == "2026-07-28":
                    result = await session.discover()
                    check(args.protocol in result.supported_versions, f"discover {result}")
                else:
                    await session.initialize()
                check(
                    session.protocol_version == args.protocol,
                    f"negotiated {session.protocol_version!r}, not {args.protocol}",
                )
                progress = []

                async def on_progress(p, total, message):
                    progress.append(message)

                result = await session.call_tool(
                    "cc_execute",
                    {"task": f"@fake success text={args.marker}\nhttp marker {args.marker}"},
                    read_timeout_seconds=30,
                    progress_callback=on_progress,
                )
                check(not result.is_error, f"cc_execute is an error: {result.content}")
                sc = result.structured_content
                check(sc.get("status") == "succeeded" and sc.get("result") == args.marker, f"cc_execute {sc}")
                check(any((m or "").startswith("started") for m in progress), f"progress {progress}")
                h = await session.call_tool("check_websocket_status", {}, read_timeout_seconds=30)
                service = h.structured_content.get("service", {})
                check(service.get("state") == "running", f"service {service}")
                check("mcp" in service.get("surfaces", []), f"service {service}")
                return {"protocol": session.protocol_version, "progress": len(progress), "service": service}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--protocol", required=True)
    parser.add_argument("--marker", required=True)
    args = parser.parse_args()
    complaints = Complaints()
    logging.getLogger().addHandler(complaints)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            summary = anyio.run(run, args)
        problems = [str(w.message) for w in caught] + complaints.records
        check(not problems, f"warnings: {problems}")
    except Exception:
        traceback.print_exc()
        return 1
    print("OK")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
