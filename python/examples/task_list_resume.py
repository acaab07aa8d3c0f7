"""A task list as one durable run; stop it with Ctrl-C and resume it without redoing work."""

import sys
from typing import Any, Dict, List

from cc_executor import cc_execute_list, resume_run

run_ids: List[str] = []


def progress(event: Dict[str, Any]) -> None:
    run_ids.append(event["run_id"])
    print(event["message"])


tasks: List[Dict[str, Any]] = [
    {"id": "schema", "task": "Write schema.sql for a users table (id, email, created_at)."},
    {"id": "model", "task": "Write models.py with a User dataclass matching:\n{{tasks.schema.result}}"},
    {"id": "tests", "task": "Write test_models.py for models.py.", "depends_on": ["model"]},
]
try:
    run = cc_execute_list(tasks, budget_usd=2.0, progress_callback=progress)
except KeyboardInterrupt:
    # The current task's process tree is stopped and the run saved as cancelled.
    if not run_ids:
        sys.exit(1)
    run = resume_run(run_ids[-1], progress_callback=progress)
print(run["state"], [(t["id"], t["state"]) for t in run["run"]["tasks"]])
