"""A client of the predecessor's WebSocket JSON-RPC protocol, on the `websockets` library
(pinned in `scripts/provision`), against `cc-executor serve`'s `/ws/mcp`.

Run by `tests/it/serve_ws/python.rs`: one scenario per run (`--scenario NAME`), tasks played
by the fake claude (`@fake ...` prompts). A scenario checks what it can see on the wire and
prints one JSON line (`RESULT {...}`) with what the Rust test checks further (execution ids,
statuses); any failed check exits 1 with the reason and the messages seen so far.
"""

import argparse
import asyncio
import json
import os
import re
import sys
import time

import websockets
from websockets.exceptions import InvalidStatus

TIMEOUT = 60  # seconds any one wait may take before the scenario fails (never a timing check)


class Failed(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failed(message)


def when(text):
    """An RFC 3339 UTC time as a sortable tuple (any number of fraction digits)."""
    m = re.match(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(?:\.(\d+))?Z$", text)
    check(m, f"not an RFC 3339 UTC time: {text!r}")
    fraction = (m.group(7) or "").ljust(9, "0")[:9]
    return tuple(int(g) for g in m.groups()[:6]) + (int(fraction),)


class Client:
    """One connection: sends requests, collects every message it reads (in order)."""

    def __init__(self, ws):
        self.ws = ws
        self.seen = []
        self.next_id = 1

    @classmethod
    async def open(cls, args, **kwargs):
        headers = {"Authorization": f"Bearer {args.token}"}
        ws = await websockets.connect(args.url, additional_headers=headers, **kwargs)
        client = cls(ws)
        hello = await client.read()
        check(hello.get("method") == "connected", f"first message is not `connected`: {hello}")
        p = hello["params"]
        check(p["capabilities"] == ["execute", "control", "stream", "reattach"], f"{p}")
        check(p["session_id"] and p["version"], f"{p}")
        return client

    async def read(self):
        text = await asyncio.wait_for(self.ws.recv(), TIMEOUT)
        message = json.loads(text)
        self.seen.append(message)
        return message

    async def request(self, method, params):
        rid = self.next_id
        self.next_id += 1
        await self.ws.send(json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}))
        return rid

    async def answer(self, rid):
        """The response to `rid` (other messages are kept in `seen`)."""
        return await self.until(lambda m: m.get("id") == rid and ("result" in m or "error" in m))

    async def until(self, pred):
        for m in self.seen:
            if pred(m):
                return m
        while True:
            m = await self.read()
            if pred(m):
                return m

    async def execute(self, params):
        rid = await self.request("execute", params)
        m = await self.answer(rid)
        check("result" in m, f"execute failed: {m}")
        check(m["result"]["status"] == "started", f"{m}")
        return m["result"]["execution_id"]

    def of(self, eid, method=None):
        return [
            m for m in self.seen
            if m.get("method") and m["params"].get("execution_id") == eid
            and (method is None or m["method"] == method)
        ]

    async def completed(self, eid):
        return await self.until(
            lambda m: m.get("method") == "process.completed" and m["params"]["execution_id"] == eid
        )

    def drop(self):
        """A dropped connection: the TCP connection cut, no close handshake."""
        self.ws.transport.abort()


def seqs(messages):
    """The distinct seq numbers of one execution's notifications, in wire order."""
    out = []
    for m in messages:
        s = m["params"].get("seq")
        if s is not None and (not out or out[-1] != s):
            out.append(s)
    return out


def assert_in_order(messages, what):
    s = seqs(messages)
    check(s == sorted(s) and len(s) == len(set(s)), f"{what}: seq out of order: {s}")


async def scenario_execute(args):
    c = await Client.open(args)
    eid = await c.execute({"task": "@fake tools pace_ms=20\nws-execute", "timeout": 120})
    done = await c.completed(eid)
    p = done["params"]
    check(p["status"] == "succeeded", f"{p['status']}: {p}")
    check(p["exit_code"] == 0 and p["execution_time"] >= 0, f"{p}")
    check(p["result"]["execution_id"] == eid and "Done!" in p["result"]["result"], f"{p}")
    check(p["result"]["timeout_secs"] == 120, "the predecessor's `timeout` became timeout_secs")
    mine = c.of(eid)
    started = c.of(eid, "process.started")
    check(len(started) == 1 and started[0]["params"]["attempt"] == 1, f"{started}")
    outputs = c.of(eid, "process.output")
    kinds = [o["params"]["event"]["kind"] for o in outputs]
    check("tool_use" in kinds and "text" in kinds, f"kinds {kinds}")
    texts = [o["params"]["data"] for o in outputs if o["params"]["event"]["kind"] == "text"]
    check(any("Done!" in t for t in texts), f"the model's text streams: {texts}")
    for o in outputs:
        q = o["params"]
        check(q["type"] == "stdout" and q["chunk_index"] is None and q["total_chunks"] is None, f"{q}")
    check(mine.index(started[0]) < mine.index(done), "process.started before process.completed")
    assert_in_order(mine, "execute")
    check(seqs(mine) == list(range(1, len(seqs(mine)) + 1)), f"seq from 1 without gaps: {seqs(mine)}")
    rid = await c.request("status", {"execution_id": eid})
    st = await c.answer(rid)
    check(st["result"]["phase"] == "finished" and st["result"]["status"] == "succeeded", f"{st}")
    rid = await c.request("hook_status", {})
    hs = await c.answer(rid)
    check("result" in hs and "builtin" in hs["result"], f"{hs}")
    rid = await c.request("ping", {})
    check((await c.answer(rid))["result"] == "pong", "ping -> pong")
    await c.ws.send(json.dumps({"jsonrpc": "2.0", "method": "ping"}))
    await c.until(lambda m: m.get("method") == "pong")
    await c.ws.close()
    return {"execution_id": eid}


async def scenario_two(args):
    c = await Client.open(args)
    # Both requests written before any answer: they queue in the order they were read.
    first = await c.request("execute", {"task": "@fake slow secs=1 text=first-answer\nws-first"})
    second = await c.request("execute", {"task": "@fake success text=second-answer\nws-second"})
    a = (await c.answer(first))["result"]["execution_id"]
    b = (await c.answer(second))["result"]["execution_id"]
    check(a != b, "two executions")
    done_a = await c.completed(a)
    done_b = await c.completed(b)
    check(done_a["params"]["result"]["result"] == "first-answer", f"{done_a}")
    check(done_b["params"]["result"]["result"] == "second-answer", f"{done_b}")
    # FIFO: the second's claude started only after the first had finished.
    b_started = c.of(b, "process.started")[0]["params"]["event"]["at"]
    a_finished = done_a["params"]["result"]["finished_at"]
    check(when(b_started) >= when(a_finished), f"second started {b_started} before first finished {a_finished}")
    for eid in (a, b):
        assert_in_order(c.of(eid), eid)
        check(all(m["params"]["execution_id"] == eid for m in c.of(eid)), "addressed by execution_id")
    await c.ws.close()
    return {"first": a, "second": b}


async def scenario_cancel(args):
    c = await Client.open(args)
    eid = await c.execute({"task": "@fake hang\nws-cancel"})
    await c.until(lambda m: m.get("method") == "process.started")
    # The connection's only live execution: no id needed.
    rid = await c.request("control", {"type": "cancel"})
    ans = await c.answer(rid)
    check(ans.get("result", {}).get("status") == "canceled", f"{ans}")
    check(ans["result"]["execution_id"] == eid, f"{ans}")
    await c.until(lambda m: m.get("method") == "process.canceled")
    done = await c.completed(eid)
    check(done["params"]["status"] == "cancelled", f"{done}")
    # Cancelling it again: it has finished.
    rid = await c.request("control", {"type": "CANCEL", "execution_id": eid})
    again = await c.answer(rid)
    check(again.get("error", {}).get("code") == -32002, f"{again}")
    # Without an id and nothing live: told to name one.
    rid = await c.request("control", {"type": "CANCEL"})
    none = await c.answer(rid)
    check(none.get("error", {}).get("code") == -32602, f"{none}")
    await c.ws.close()
    return {"execution_id": eid}


async def scenario_reattach(args):
    c = await Client.open(args)
    eid = await c.execute({"task": "@fake tools pace_ms=300\nws-reattach"})
    # Read a few events, then lose the connection.
    await c.until(lambda m: m.get("method") == "process.output" and m["params"]["event"]["kind"] == "tool_use")
    before = seqs(c.of(eid))
    last = before[-1]
    c.drop()
    d = await Client.open(args)
    rid = await d.request("attach", {"execution_id": eid, "after_seq": last})
    ans = await d.answer(rid)
    check(ans.get("result", {}).get("status") == "attached", f"{ans}")
    done = await d.completed(eid)
    check(done["params"]["status"] == "succeeded", f"the drop did not cancel it: {done}")
    after = seqs(d.of(eid))
    check(after and after[0] == last + 1, f"reattached after {last}: {after}")
    whole = before + after
    check(whole == list(range(1, whole[-1] + 1)), f"nothing missed, nothing twice: {before} + {after}")
    # Attaching once more from the start replays the log (a finished execution included).
    rid = await d.request("attach", {"execution_id": eid})
    await d.answer(rid)
    await d.until(lambda m: m.get("method") == "process.output" and m["params"]["seq"] == 1)
    await d.ws.close()
    return {"execution_id": eid, "before": before, "after": after}


async def scenario_command(args):
    c = await Client.open(args)
    rid = await c.request("execute", {"command": "ls -la"})
    ans = await c.answer(rid)
    err = ans.get("error", {})
    check(err.get("code") == -32602, f"{ans}")
    check('{"task": "<prompt>"}' in err["message"] and "never runs shell commands" in err["message"], f"{err}")
    # A task the policy refuses gets the policy's words, as over MCP.
    rid = await c.request("execute", {"task": "x", "cwd": "/"})
    ans = await c.answer(rid)
    check(ans.get("error", {}).get("code") == -32602 and "cwd" in ans["error"]["message"], f"{ans}")
    await c.ws.close()
    return {"message": err["message"]}


async def scenario_auth(args):
    try:
        await websockets.connect(args.url)
        raise Failed("connected without a token")
    except InvalidStatus as e:
        check(e.response.status_code == 401, f"no token: {e.response.status_code}")
    try:
        await websockets.connect(args.url, additional_headers={"Authorization": "Bearer wrong-token-0123456789"})
        raise Failed("connected with a wrong token")
    except InvalidStatus as e:
        check(e.response.status_code == 401, f"wrong token: {e.response.status_code}")
    try:
        await Client.open(args, origin="http://evil.example.com")
        raise Failed("connected from a foreign origin")
    except InvalidStatus as e:
        check(e.response.status_code == 403, f"bad origin: {e.response.status_code}")
    # A page on this machine may connect; a browser passes the token as a subprotocol.
    ok = await Client.open(args, origin="http://localhost:5173")
    await ok.ws.close()
    ws = await websockets.connect(
        args.url, subprotocols=["jsonrpc", f"bearer.{args.token}"], origin="http://127.0.0.1:3000"
    )
    check(ws.subprotocol == "jsonrpc", f"selected {ws.subprotocol!r}")
    hello = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    check(hello["method"] == "connected", f"{hello}")
    await ws.close()
    # The alias.
    alias = args.url.replace("/ws/mcp", "/ws")
    ws = await websockets.connect(alias, additional_headers={"Authorization": f"Bearer {args.token}"})
    check(json.loads(await ws.recv())["method"] == "connected", "alias /ws")
    await ws.close()
    return {}


async def scenario_disconnect(args, cancel):
    c = await Client.open(args)
    task = "@fake hang\nws-cod-true" if cancel else "@fake slow secs=2 text=kept\nws-cod-false"
    eid = await c.execute({"task": task, "cancel_on_disconnect": cancel})
    await c.until(lambda m: m.get("method") == "process.started")
    c.drop()
    d = await Client.open(args)
    rid = await d.request("attach", {"execution_id": eid})
    ans = await d.answer(rid)
    check("result" in ans, f"{ans}")
    done = await d.completed(eid)
    want = "cancelled" if cancel else "succeeded"
    check(done["params"]["status"] == want, f"cancel_on_disconnect={cancel}: {done['params']['status']}")
    await d.ws.close()
    return {"execution_id": eid, "status": done["params"]["status"]}


def states_of(eid):
    """The state letters of the processes that carry this execution's id in their environment."""
    want = f"CC_EXECUTOR_EXECUTION_ID={eid}".encode()
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if want not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            out.append(stat[stat.rfind(")") + 2])
        except OSError:
            continue
    return out


async def scenario_pause(args):
    c = await Client.open(args)
    eid = await c.execute({"task": "@fake slow secs=2 text=resumed-answer\nws-pause"})
    await c.until(lambda m: m.get("method") == "process.started")
    rid = await c.request("control", {"type": "PAUSE"})
    ans = await c.answer(rid)
    check(ans.get("result", {}).get("status") == "paused", f"{ans}")
    await c.until(lambda m: m.get("method") == "process.paused")
    check(ans["result"]["settled"] is True and ans["result"]["change"] == "paused", f"{ans}")
    # SIGSTOP has been sent; a sleeping process shows `T` once the kernel has run it to the
    # stop, which on a busy machine may take a moment after the answer.
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while True:
        states = states_of(eid)
        if states and all(s == "T" for s in states):
            break
        check(asyncio.get_running_loop().time() < deadline, f"the tree is stopped while paused: {states}")
        await asyncio.sleep(0.05)
    rid = await c.request("status", {"execution_id": eid})
    st = await c.answer(rid)
    check(st["result"]["phase"] == "paused", f"{st}")
    rid = await c.request("control", {"type": "resume", "execution_id": eid})
    ans = await c.answer(rid)
    check(ans.get("result", {}).get("status") == "resumed", f"{ans}")
    await c.until(lambda m: m.get("method") == "process.resumed")
    done = await c.completed(eid)
    check(done["params"]["status"] == "succeeded", f"{done}")
    check(done["params"]["result"]["result"] == "resumed-answer", f"{done}")
    await c.ws.close()
    return {"execution_id": eid}


async def scenario_rate_limits(args):
    """A usage limit that resets in a moment is waited out; a 429 is retried: each is also an
    `error.rate_limit_exceeded`, the usage limit with its reset time in epoch seconds."""
    c = await Client.open(args)
    usage = await c.execute({"task": "@fake flaky fail=1 fail_with=usage_limit resets_in=1 key=wsul\nws-usage"})
    done = await c.completed(usage)
    check(done["params"]["status"] == "succeeded", f"{done}")
    limits = c.of(usage, "error.rate_limit_exceeded")
    check(len(limits) == 1, f"{limits}")
    p = limits[0]["params"]
    check(p["error_type"] == "usage_limit" and isinstance(p["reset_timestamp"], int), f"{p}")
    waiting = [o for o in c.of(usage, "process.output") if o["params"]["seq"] == p["seq"]]
    check(waiting and waiting[0]["params"]["event"]["kind"] == "waiting_for_usage_reset", f"{waiting}")
    resets_at = waiting[0]["params"]["event"]["resets_at"]
    check(when(resets_at)[:6] == tuple(time.gmtime(p["reset_timestamp"])[:6]), f"{resets_at} vs {p}")
    too_many = await c.execute({"task": "@fake flaky fail=1 status=429 key=ws429\nws-429"})
    done = await c.completed(too_many)
    check(done["params"]["status"] == "succeeded", f"{done}")
    limits = c.of(too_many, "error.rate_limit_exceeded")
    check(limits and limits[0]["params"]["error_type"] == "rate_limit_429", f"{limits}")
    check(limits[0]["params"]["reset_timestamp"] is None, f"{limits}")
    await c.ws.close()
    return {}


SCENARIOS = {
    "execute": scenario_execute,
    "two": scenario_two,
    "cancel": scenario_cancel,
    "reattach": scenario_reattach,
    "command": scenario_command,
    "auth": scenario_auth,
    "cod_true": lambda a: scenario_disconnect(a, True),
    "cod_false": lambda a: scenario_disconnect(a, False),
    "pause": scenario_pause,
    "rate_limits": scenario_rate_limits,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    args = ap.parse_args()
    try:
        out = asyncio.run(SCENARIOS[args.scenario](args))
    except (Failed, Exception) as e:  # noqa: BLE001 - every failure is reported the same way
        print(f"FAILED {args.scenario}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print("RESULT " + json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
