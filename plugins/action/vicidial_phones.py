# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of telephony.vicidial.vicidial_phones: O(phones_from) reads the entries from a variable.

With ``phones: "{{ vicidial_phones_entries }}"`` the templated entries are the task's own
arguments. ansible-core sends a task's arguments back from the worker to the main process with
every result (pickled), and thousands of entries make that cost seconds. With
``phones_from: vicidial_phones_entries`` the task's arguments hold the variable's name only: this
plugin resolves the variable in the worker and hands the entries to the module, whose own
argument ``phones`` they become. ``phones:`` given inline is passed on unchanged.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleActionFail, AnsibleUndefinedVariable
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

# A variable name, or a dotted path into one (vars.entries): what the option accepts.
_VARIABLE_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def _resolve(self, name):
        """The value of the variable `name`, templated (secrets from Vault decrypted) as a task argument would be."""
        if not isinstance(name, str) or not _VARIABLE_PATH.match(name):
            raise AnsibleActionFail(
                "phones_from must be a variable name (for example vicidial_phones_entries), not %r" % (name,)
            )
        try:
            if hasattr(self._templar, "resolve_variable_expression"):  # ansible-core 2.19 and later
                return self._templar.resolve_variable_expression(name)
            return self._templar.template("{{ %s }}" % name, fail_on_undefined=True)  # name checked above
        except AnsibleUndefinedVariable as exc:
            raise AnsibleActionFail("phones_from: variable %s is not defined (%s)" % (name, to_native(exc))) from exc

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect

        module_args = dict(self._task.args)
        name = module_args.pop("phones_from", None)
        if name is not None:
            if module_args.get("phones") is not None:
                raise AnsibleActionFail("phones and phones_from are mutually exclusive: give one of them")
            phones = self._resolve(name)
            if not isinstance(phones, (list, tuple)):
                raise AnsibleActionFail(
                    "phones_from: variable %s is a %s, not a list of phone entries" % (name, type(phones).__name__)
                )
            module_args["phones"] = list(phones)

        result = merge_hash(result, self._execute_module(module_args=module_args, task_vars=task_vars))
        self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
