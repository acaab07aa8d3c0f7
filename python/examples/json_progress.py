"""json_mode: the whole structured result; progress as it happens, the model's text included."""

from typing import Any, Dict

from cc_executor import cc_execute


def show(event: Dict[str, Any]) -> None:
    if event["kind"] == "text":
        print("model:", event["text"])
    else:
        print(f"[{event['seq']}] {event['message']}")


result = cc_execute(
    "Create hello.py that prints 'hello', then run it.",
    json_mode=True,
    allowed_tools=["Bash(python3 hello.py)"],
    progress_callback=show,
)
assert isinstance(result, dict)
print(result["status"], result["files_written"], result["total_cost_usd"])
