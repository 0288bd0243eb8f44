"""Run a command and write its CPU seconds (user+sys), peak RSS and exit status, as JSON, to a file
descriptor: `python bench/launch.py FD CPU COMMAND...` (CPU: the one CPU it runs on, or - for any),
for bench/run.py's measure().

Why a separate small process: Linux starts a child's ru_maxrss at the RSS of the process that
spawned it (the exec'd-over memory counts as the child's), and the benchmark's own process holds
the fixture server's pages (gzipped, 40 MB for 2,000 articles, 200 MB for 10,000). Spawned from
here, a command's peak RSS is its own, give or take this script's ~10 MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def main() -> int:
    report_fd, cpu, command = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    if cpu != "-":
        os.sched_setaffinity(0, {int(cpu)})  # the command inherits it
    process = subprocess.Popen(command, pass_fds=())
    _, status, usage = os.wait4(process.pid, 0)
    report = {"cpu": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss,
              "returncode": os.waitstatus_to_exitcode(status)}
    with os.fdopen(report_fd, "w") as out:
        out.write(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
