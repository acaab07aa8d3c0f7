"""One task, its answer as text."""

from cc_executor import cc_execute

answer = cc_execute("What is 2 + 2? Answer with the number only.", timeout=120)
print(answer)
