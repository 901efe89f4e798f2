#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vicidial_phones_export
short_description: Write today's VICIdial phones as inventory entries, with their passwords in Ansible Vault
version_added: 0.1.0
description:
  - Reads the C(phones) rows of the servers in O(server_ip) and writes two files on the controller, ready
    for a C(group_vars) directory.
  - O(dest), the phone entries (C(vicidial_phones_entries)) with the option names of
    M(telephony.vicidial.vicidial_phones), sorted by server and extension. Each entry holds its identity,
    protocol, dial plan number, voicemail box, login and passwords, and every other option whose stored value
    differs from what a create would store (the schema's column defaults, what vicidial_phones writes on
    create, and O(defaults)).
  - O(vault_dest), encrypted with Ansible Vault, the mapping named O(vault_var) from C(extension@server_ip)
    to that phone's secrets (C(phone_pass), C(registration_password), the legacy secret columns when they
    are not VICIdial's defaults, and a C(conf_override) that carries secrets). The entries reference it with
    Jinja expressions such as C(vault_phone_secrets['8001@10.0.0.11'].phone_pass).
  - The vault password is the one Ansible was given (C(--vault-password-file), C(ANSIBLE_VAULT_PASSWORD_FILE),
    C(--vault-id)); the plaintext of the secrets never reaches a disk.
  - Before writing, the entries are planned by the planner of M(telephony.vicidial.vicidial_phones) against the
    rows they were read from. An option that module would refuse or write differently (a login that is also a
    phone alias id, a template that no longer exists, ...) is left out
    of the entry, so that it is not managed and keeps its stored value, and is listed in RV(notes); a phone
    that cannot be an entry at all (a SIP phone on Asterisk 21 or later, a server missing from C(servers)) is
    left out and listed in RV(skipped). So applying the export straight away changes nothing.
  - Weak stored passwords (VICIdial's default C(test), short ones) are exported as they are and listed in
    RV(weak_passwords). An unchanged password is never judged, so the round trip keeps them; the inventory
    does not set C(allow_weak_passwords), so a re-create from it, or a change of such a password, is refused
    until a strong one is set.
  - A file is rewritten only when its content changes (the vault file is decrypted and compared).
extends_documentation_fragment:
  - telephony.vicidial.db
options:
  server_ip:
    description: The servers whose phones are exported.
    type: list
    elements: str
    required: true
  dest:
    description: File (on the controller) to write the entries to, as C(vicidial_phones_entries).
    type: path
    required: true
  vault_dest:
    description: File (on the controller) to write the secrets to, encrypted with Ansible Vault.
    type: path
    required: true
  vault_var:
    description: Name of the variable in O(vault_dest) that holds the secrets.
    type: str
    default: vault_phone_secrets
  vault_id:
    description: Vault identity to encrypt with, when Ansible was given several.
    type: str
  defaults:
    description:
      - The options the inventory applies to every entry (its C(vicidial_phones_defaults)). A value equal to
        them is left out of an entry; a value that differs is written into the entry.
    type: dict
    default: {}
attributes:
  action:
    support: full
    description: Runs the module where the database is reachable, writes the files on the controller.
  check_mode:
    support: full
    description: Reads and plans, writes no file, and says which files would change.
  diff_mode:
    support: none
    description: The files' content is not shown (the vault file holds secrets).
  idempotent:
    support: full
    description: A second export of unchanged rows rewrites no file.
seealso:
  - module: telephony.vicidial.vicidial_phones
author:
  - telephony.vicidial contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Export the phones of two servers into the production inventory
  telephony.vicidial.vicidial_phones_export:
    server_ip: [10.0.0.11, 10.0.0.12]
    dest: inventory/production/group_vars/all/phones.yml
    vault_dest: inventory/production/group_vars/all/vault_phones.yml
  run_once: true
"""

RETURN = r"""
counts:
  description: How many phones were exported, left out, and have weak passwords; how many options were left out.
  returned: always
  type: dict
  sample: {"exported": 118, "skipped": 1, "options_left_out": 2, "weak_passwords": 40}
notes:
  description: Options left out of an entry (not managed, the stored value stays), and why.
  returned: always
  type: list
  elements: dict
  sample: [{"phone": "8001@10.0.0.11", "field": "conf_override", "reason": "left out, not managed ..."}]
skipped:
  description: Phones that could not become entries, and why. They stay as they are; do not purge their servers.
  returned: always
  type: list
  elements: dict
weak_passwords:
  description: Phones whose stored passwords the collection would refuse on create; values are never shown.
  returned: always
  type: list
  elements: dict
  sample: [{"phone": "7001@10.0.0.11", "fields": ["phone_pass", "registration_password"]}]
files:
  description: The two files, and whether each was (or in check mode would be) rewritten.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "inventory/production/group_vars/all/phones.yml", "changed": false}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.telephony.vicidial.plugins.module_utils import _db, _export
from ansible_collections.telephony.vicidial.plugins.module_utils._runner import connect


def main():
    argument_spec = _db.db_argument_spec()
    argument_spec.update(
        server_ip=dict(type="list", elements="str", required=True),
        dest=dict(type="path", required=True),
        vault_dest=dict(type="path", required=True),
        vault_var=dict(type="str", default=_export.DEFAULT_VAULT_VAR, no_log=False),
        vault_id=dict(type="str"),
        defaults=dict(type="dict", default={}),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not module.params["server_ip"]:
        module.fail_json(msg="server_ip must name at least one server")
    conn, _settings = connect(module)
    try:
        rows, ctx, schema = _export.read(conn, module.params["server_ip"])
        missing = sorted(set(module.params["server_ip"]) - set(ctx["servers"]))
        if missing:
            module.fail_json(msg="not VICIdial servers (servers table): %s" % ", ".join(missing))
        export = _export.Export(rows, ctx["settings"], schema, module.params["defaults"], module.params["vault_var"])
        export.settle(ctx)
        entries = export.entries()
        secrets = export.secrets()
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # a database error: one line, no traceback
        module.fail_json(msg="database error: %s" % exc)
    finally:
        conn.close()
    # The secrets are the point of this result (the action plugin encrypts them and drops
    # them): they must not be scrubbed against db_password, which would corrupt them.
    params = dict(module.params)
    if params.get("db_password") is not None:
        params["db_password"] = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    module.no_log_values.clear()
    module.exit_json(
        changed=False,
        entries=entries,
        secrets=secrets,
        notes=export.notes,
        skipped=export.skipped,
        weak_passwords=export.weak,
        counts=dict(exported=len(entries), skipped=len(export.skipped), options_left_out=len(export.notes),
                    weak_passwords=len(export.weak)),
        invocation=dict(module_args=params),
    )


if __name__ == "__main__":
    main()
