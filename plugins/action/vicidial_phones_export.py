# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of telephony.vicidial.vicidial_phones_export: writes the two files on the controller.

The module reads and plans where the database is; this plugin turns its
result into the entries file and the Ansible Vault file. The secrets are
encrypted in memory with the vault secrets Ansible was given, and only the
ciphertext is written; they are then dropped from the task's result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

import yaml
from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.parsing.vault import AnsibleVaultError, VaultLib, is_encrypted, match_encrypt_secret
from ansible.plugins.action import ActionBase

HEADER = """---
# Written by telephony.vicidial.vicidial_phones_export from the phones of %(servers)s.
# Each entry holds what VICIdial needs to create the phone, its protocol, and every option whose
# stored value differs from what a create would store; the passwords are in %(vault)s (Ansible Vault).
# Applying this file as it is changes nothing. Review it, then manage the phones from here.
"""


class _Unsafe(str):
    """A string Ansible must not template (written with the !unsafe tag)."""


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key (yamllint's default)."""

    def increase_indent(self, flow=False, indentless=False):
        return super(_Dumper, self).increase_indent(flow, False)


def _represent_unsafe(dumper, value):
    style = "|" if "\n" in value else "'"
    return dumper.represent_scalar("!unsafe", str(value), style=style)


def _represent_str(dumper, value):
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if value in ("Y", "N", "y", "n") or ("'" in value and '"' not in value and "\\" not in value):
        # Y/N read as booleans to some YAML readers; references read better in double quotes.
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(_Unsafe, _represent_unsafe)
_Dumper.add_representer(str, _represent_str)


def _plain(value):
    """Exact builtin types (ansible-core 2.19 tags strings with subclasses PyYAML cannot dump)."""
    if isinstance(value, dict):
        return dict((_plain(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return "".join([value])  # an exact str, whatever subclass value is
    return value


def _templated_looking(value):
    return any(mark in value for mark in ("{{", "{%", "{#"))


def entries_text(entries, notes, skipped, servers, vault_path):
    """The entries file: stable (same rows, same bytes), comments saying what was left out."""
    safe = []
    for entry in entries:
        item = {}
        for key, value in entry.items():
            if isinstance(value, str) and _templated_looking(value) and not _is_reference(value):
                value = _Unsafe(value)
            item[key] = value
        safe.append(item)
    text = HEADER % dict(servers=", ".join(servers), vault=os.path.basename(vault_path))
    if notes:
        text += "#\n# Options left out (not managed; the stored value stays):\n"
        text += "".join("#   %s: %s: %s\n" % (n["phone"], n["field"], n["reason"]) for n in notes)
    if skipped:
        text += "#\n# Phones left out (they stay as they are; do not purge their servers until they are entries):\n"
        text += "".join("#   %s: %s\n" % (s["phone"], s["reason"]) for s in skipped)
    body = yaml.dump({"vicidial_phones_entries": safe}, Dumper=_Dumper, default_flow_style=False, sort_keys=False,
                     allow_unicode=True, width=1000, indent=2)
    return text + body


def _is_reference(value):
    return value.startswith("{{ ") and value.endswith(" }}") and "\n" not in value and value.count("{{") == 1


def secrets_text(secrets, vault_var):
    data = {}
    for label in sorted(secrets):
        data[label] = dict((k, _Unsafe(v)) for k, v in sorted(secrets[label].items()))
    return "---\n" + yaml.dump({vault_var: data}, Dumper=_Dumper, default_flow_style=False, sort_keys=False,
                               allow_unicode=True, width=1000)


def _write(path, data, mode):
    """Atomic write: a temporary file in the same directory, then rename."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(prefix=".export-", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        for required in ("dest", "vault_dest"):
            if not args.get(required):
                raise AnsibleActionFail("%s is required" % required)
        dest = os.path.expanduser(args["dest"])
        vault_dest = os.path.expanduser(args["vault_dest"])
        if os.path.abspath(dest) == os.path.abspath(vault_dest):
            raise AnsibleActionFail("dest and vault_dest must be different files")
        vault = VaultLib(self._loader._vault.secrets or [])
        if not vault.secrets:
            raise AnsibleActionFail("no vault password: give --vault-password-file (or ANSIBLE_VAULT_PASSWORD_FILE, "
                                    "--vault-id); the secrets are written only encrypted")
        try:
            vault_id, secret = match_encrypt_secret(vault.secrets, args.get("vault_id"))
        except AnsibleVaultError as exc:
            raise AnsibleActionFail("vault_id: %s" % to_native(exc)) from None

        module = self._execute_module(module_name="telephony.vicidial.vicidial_phones_export", module_args=args,
                                      task_vars=task_vars)
        self._remove_tmp_path(self._connection._shell.tmpdir)
        secrets = module.pop("secrets", None) or {}
        entries = module.pop("entries", None)
        if module.get("failed") or entries is None:
            module.pop("invocation", None)
            result.update(module)
            result["failed"] = True
            return result

        vault_var = _plain(args.get("vault_var") or "vault_phone_secrets")
        entries_data = to_bytes(entries_text(_plain(entries), _plain(module.get("notes") or []),
                                             _plain(module.get("skipped") or []), _plain(list(args["server_ip"])),
                                             vault_dest))
        plaintext = to_bytes(secrets_text(_plain(secrets), vault_var))
        files = []
        changed_entries = self._differs(dest, entries_data, None)
        changed_vault = self._differs(vault_dest, plaintext, vault)
        if not self._task.check_mode:
            if changed_entries:
                _write(dest, entries_data, 0o644)
            if changed_vault:
                _write(vault_dest, vault.encrypt(plaintext, secret=secret, vault_id=vault_id), 0o600)
        files.append(dict(path=dest, changed=changed_entries))
        files.append(dict(path=vault_dest, changed=changed_vault))
        del plaintext, secrets
        for key in ("notes", "skipped", "weak_passwords", "counts"):
            result[key] = module.get(key)
        result["files"] = files
        result["changed"] = changed_entries or changed_vault
        for warning in module.get("warnings") or []:
            result.setdefault("warnings", []).append(warning)
        if module.get("skipped"):
            result.setdefault("warnings", []).append(
                "%d phone(s) could not be exported (see skipped); do not purge their servers yet"
                % len(module["skipped"]))
        return result

    @staticmethod
    def _differs(path, data, vault):
        """Whether path's content (decrypted, for the vault file) is not data."""
        if not os.path.exists(path):
            return True
        with open(path, "rb") as handle:
            current = handle.read()
        if vault is None:
            return current != data
        if not is_encrypted(current):
            return True
        try:
            return vault.decrypt(current) != data
        except AnsibleVaultError:
            # Encrypted with another password: it is replaced.
            return True
