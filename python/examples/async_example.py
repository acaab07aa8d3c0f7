"""asyncio: the same calls as coroutines; cancelling one kills its process tree."""

import asyncio

from cc_executor import ExecutionResult
from cc_executor import aio


async def main() -> None:
    result: ExecutionResult = await aio.execute("Summarize README.md in one sentence.")
    print(result.status.value, result.result)

    slow = asyncio.create_task(aio.cc_execute("Refactor the whole code base."))
    await asyncio.sleep(5)
    slow.cancel()  # the task's processes are gone before CancelledError arrives
    try:
        await slow
    except asyncio.CancelledError:
        print("cancelled")

    history = await aio.get_execution_history(limit=2)
    print([e["status"] for e in history["executions"]])


asyncio.run(main())
