# Benchmark callback (bench/bench.py enables it for every play; not part of the collection).
#
# Appends one JSON line per result of the role's config task
# (telephony.vicidial.vicidial_phone_config) to the file named by
# VICIBENCH_RESULTS_FILE: the host, the task, and what the module says it did
# (reload, files, verified, writer, generator_ran, changed, failed). Nothing
# else is recorded, so the callback costs nothing measurable, and the stdout
# callback (with profile_tasks) stays the default one.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: bench_results
    type: aggregate
    short_description: JSON lines of the config module's results, for bench/bench.py
    description: Writes host, reload, files, verified of each vicidial_phone_config result to VICIBENCH_RESULTS_FILE.
    requirements: [enabled in callbacks_enabled]
"""

WATCHED = ("vicidial_phone_config",)
KEYS = ("reload", "files", "verified", "writer", "generator_ran", "changed", "failed", "msg", "rolled_back")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.path = os.environ.get("VICIBENCH_RESULTS_FILE")

    def _record(self, result, status):
        if not self.path:
            return
        task = getattr(result, "task", None) or result._task
        action = getattr(task, "resolved_action", None) or task.action or ""
        if not action.endswith(WATCHED):
            return
        data = getattr(result, "result", None)
        if data is None:
            data = result._result
        host = getattr(result, "host", None) or result._host
        line = dict(host=host.get_name(), task=task.get_name(), action=action, status=status)
        for key in KEYS:
            if key in data:
                line[key] = data[key]
        with open(self.path, "a") as handle:
            handle.write(json.dumps(line, sort_keys=True, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")
