# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: every task result the controller receives, as JSON lines.

Enabled by tests/e2e (ANSIBLE_CALLBACK_PLUGINS + ANSIBLE_CALLBACKS_ENABLED) and
written to $E2E_RESULTS_FILE (mode 0600). The end-to-end tests read it to
assert on failure messages and warnings, and grep it for secrets: it holds
exactly what modules returned, after their own no_log scrubbing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: e2e_results
type: aggregate
short_description: Writes every task result as a JSON line (tests only)
description: Writes every task result to the file named by E2E_RESULTS_FILE.
requirements: [enabled in configuration]
"""

import json
import os

from ansible.plugins.callback import CallbackBase


def _get(obj, public, private):
    value = getattr(obj, public, None)
    return value if value is not None else getattr(obj, private, None)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "e2e_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._path = os.environ.get("E2E_RESULTS_FILE")

    def _write(self, status, result, item=False):
        if not self._path:
            return
        host = _get(result, "host", "_host")
        task = _get(result, "task", "_task")
        record = dict(
            status=status,
            item=item,
            host=host.get_name() if host is not None else None,
            task=task.get_name() if task is not None else None,
            result=_get(result, "result", "_result"),
        )
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as handle:
            handle.write(json.dumps(record, default=str, sort_keys=True) + "\n")

    def v2_runner_on_ok(self, result):
        self._write("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write("ignored" if ignore_errors else "failed", result)

    def v2_runner_on_skipped(self, result):
        self._write("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._write("unreachable", result)

    def v2_runner_item_on_ok(self, result):
        self._write("ok", result, item=True)

    def v2_runner_item_on_failed(self, result):
        self._write("failed", result, item=True)

    def v2_runner_item_on_skipped(self, result):
        self._write("skipped", result, item=True)
