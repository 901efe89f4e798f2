#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vicidial_phone_config
short_description: Converge one VICIdial telephony server's phone config, reload it, verify it, or roll it back
version_added: 0.1.0
description:
  - Runs on a telephony server, once per run, as the one owner of that server's phone config. It reads the
    server's phone entries from VICIdial's database (whoever created them), gets the Asterisk config written,
    reloads only what changed (once each), verifies what Asterisk loaded, and reports what it did.
  - "Two writers are supported, chosen per server with O(writer):"
  - "C(ansible): this module renders the config VICIdial's own generator would write for the same rows (default,
    template and override stanzas, codecs, caller ID, mailbox, context, and the C([vicidial-auto-phones]) dial plan)
    into files of its own (C(pjsip_wizard-<suffix>.conf), C(iax-<suffix>.conf), C(extensions-<suffix>.conf), and
    C(sip-<suffix>.conf) where chan_sip exists), and adds their C(#include) lines to Asterisk's main configs."
  - "C(vicidial) (coexist): VICIdial's generator keeps writing all of its config; this module runs it once right
    away (O(generator_command)) instead of waiting for cron, then reloads what it changed and verifies."
  - "Taking over a server where VICIdial generates (O(take_over_generation)) also takes the phones out of VICIdial's
    frozen C(*-vicidial.conf) files, so that no endpoint or dial plan number is defined twice, and sets
    C(generate_vicidial_conf=N) last, once every check passed. RV(not_regenerated) names what VICIdial stops
    regenerating there."
  - Verification proves content, not only existence. Every active phone whose config changed must be loaded on its
    declared protocol and on no other, with its declared registration secret where Asterisk can tell (PJSIP auth
    objects; compared on the host, never shown), and its dial plan number must ring the declared channel. With the
    C(ansible) writer every active phone must be loaded.
  - When any step fails, every file it wrote (rendered files, C(#include) lines, VICIdial's files), and the
    C(generate_vicidial_conf) flag it changed, are put back byte for byte, the same modules are reloaded, and the
    module fails saying why (RV(rolled_back)).
  - Refuses, before writing anything, active SIP phones where Asterisk has no chan_sip (Asterisk 21 and later) and
    PJSIP phones whose override or template holds settings the PJSIP wizard cannot load (chan_sip leftovers).
extends_documentation_fragment:
  - telephony.vicidial.db
options:
  server_ip:
    description:
      - VICIdial server IP of this host (C(servers.server_ip)).
      - Defaults to C(VARserver_ip) from O(astguiclient_conf).
    type: str
  writer:
    description:
      - Who writes this server's phone config.
      - C(auto) is C(vicidial) where the server's C(generate_vicidial_conf) is C(Y) (unless O(take_over_generation)),
        else C(ansible).
    type: str
    choices: [auto, ansible, vicidial]
    default: auto
  take_over_generation:
    description:
      - On a server whose C(generate_vicidial_conf) is C(Y), let this collection write the phone config instead of
        VICIdial's generator; see the description for what it does. Without it, O(writer=ansible) on such a server
        is an error (every endpoint would be defined twice).
    type: bool
    default: false
  generator_command:
    description: VICIdial's generator, run once by the C(vicidial) writer when the server has a rebuild pending.
    type: str
    default: /usr/share/astguiclient/ADMIN_keepalive_ALL.pl
  run_generator:
    description:
      - With the C(vicidial) writer, when to run O(generator_command). C(auto) runs it when the server's
        C(rebuild_conf_files) is C(Y), as M(telephony.vicidial.vicidial_phones) sets it when its phones change.
    type: str
    choices: [auto, always, never]
    default: auto
  generator_sleeps:
    description:
      - VICIdial's generator sleeps one second after each reload it types into a C(screen) session. This module
        reloads with Asterisk's CLI itself, so by default those sleeps are skipped (the generator's code runs
        unchanged). Set to true to run it exactly as cron does.
    type: bool
    default: false
  config_dir:
    description: Asterisk's configuration directory.
    type: path
    default: /etc/asterisk
  file_suffix:
    description:
      - The C(ansible) writer's files are named C(pjsip_wizard-<suffix>.conf), C(iax-<suffix>.conf),
        C(sip-<suffix>.conf) and C(extensions-<suffix>.conf) in O(config_dir).
      - Letters, digits, C(_), C(.) and C(-) only.
    type: str
    default: ansible-phones
  chan_sip:
    description:
      - Whether this Asterisk has chan_sip. When not set, Asterisk is asked; if it does not answer, the module fails
        before writing anything.
    type: bool
  asterisk_command:
    description: The asterisk binary, used as C(asterisk -rx) when the control socket cannot be used.
    type: str
    default: asterisk
  asterisk_socket:
    description:
      - Asterisk's control socket (what C(asterisk -rx) connects to). Questions go over it directly, one connection
        each, which is much cheaper than a process per question. Falls back to O(asterisk_command).
    type: path
    default: /var/run/asterisk/asterisk.ctl
  reload:
    description:
      - Reload what changed, verify, and roll back on failure. With false, files are written and RV(reload) lists
        the commands someone else must run; nothing is verified.
    type: bool
    default: true
  verify:
    description: Verify what Asterisk loaded (see the description). Without it a reload that Asterisk accepts is
      taken as success.
    type: bool
    default: true
    aliases: [verify_unchanged]
  verify_timeout:
    description: Seconds to keep asking Asterisk until it has loaded everything as declared, after a reload.
    type: int
    default: 20
  manage_includes:
    description:
      - Make sure Asterisk's main configs (C(pjsip_wizard.conf), C(iax.conf), C(extensions.conf), and C(sip.conf)
        when chan_sip is there) C(#include) the rendered files. A line is appended in the file's own line ending
        style, through a symlink, with the file's mode and owner kept.
    type: bool
    default: true
  backup_dir:
    description: Where a copy of each file's previous version is kept (directory 0700, files 0600).
    type: path
    default: /var/lib/telephony-vicidial/backup
  backup_keep:
    description: How many previous versions to keep per file; each one is a copy of registration secrets.
    type: int
    default: 5
  owner:
    description: Owner of the written files.
    type: str
    default: root
  group:
    description: Group of the written files (Asterisk reads them as this group).
    type: str
    default: asterisk
  mode:
    description:
      - Mode of the written files, as an octal string (C('0640')); an unquoted YAML number is read the way Ansible's
        file modules read it. They hold registration passwords, so a mode that lets others read them is refused.
    type: raw
    default: "0640"
  lock_timeout:
    description: Seconds to wait for a concurrent run's database lock before reading the phones.
    type: int
    default: 300
  pending:
    description:
      - Planned row changes not yet in the database, as returned by
        M(telephony.vicidial.vicidial_phones) in check mode (RV(telephony.vicidial.vicidial_phones#module:pending)).
      - Only meaningful in check mode, where they are laid over the database so that the plan shows the config
        the apply would write. Ignored outside check mode.
    type: list
    elements: dict
attributes:
  check_mode:
    support: full
    description: Reports which files would change and which reloads would run, without writing or reloading.
  diff_mode:
    support: full
    description: Before and after of each changed file, with every secret masked.
  idempotent:
    support: full
    description: Output is deterministic; an unchanged database writes and reloads nothing.
seealso:
  - ref: ansible_collections.telephony.vicidial.vicidial_phones_role
    description: The role telephony.vicidial.vicidial_phones, which runs this module on every Asterisk server.
author:
  - telephony.vicidial contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Converge this server's phone config (render, reload, verify, roll back on failure)
  telephony.vicidial.vicidial_phone_config:
  register: phone_config

- name: Take over a server where VICIdial's generator writes the config
  telephony.vicidial.vicidial_phone_config:
    take_over_generation: true

- name: Let VICIdial's generator write it, right now instead of within a minute
  telephony.vicidial.vicidial_phone_config:
    writer: vicidial
"""

RETURN = r"""
writer:
  description: Who wrote the config, C(ansible) or C(vicidial).
  returned: always
  type: str
files:
  description: Each file the writer owns or edited, with whether it changed.
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "pjsip_wizard", "path": "/etc/asterisk/pjsip_wizard-ansible-phones.conf", "changed": true,
            "writer": "ansible"}]
reload:
  description: Asterisk CLI commands run (or, in check mode, that would run), once each.
  returned: always
  type: list
  elements: str
  sample: ["pjsip reload", "dialplan reload"]
verified:
  description: How many objects verification found as declared.
  returned: success
  type: dict
  sample: {"pjsip": 500, "iax2": 0, "sip": 0, "dialplan": 500, "secrets": 1}
includes_added:
  description: Main configs that got an C(#include) line for a rendered file.
  returned: always
  type: list
  elements: str
chan_sip:
  description: Whether chan_sip was taken to be there (given, or asked of Asterisk).
  returned: always
  type: bool
backups:
  description: For each file changed, where a copy of its previous version is (null when it did not exist).
  returned: always
  type: list
  elements: dict
generation_taken_over:
  description: Whether C(generate_vicidial_conf) was set to C(N) by this run.
  returned: always
  type: bool
not_regenerated:
  description: After a take-over, what VICIdial's generator no longer writes on this server (with counts).
  returned: always
  type: list
  elements: str
  sample: ["carriers (2)", "inter-server IAX trunks (1)", "call menus (4)"]
generator_ran:
  description: Whether VICIdial's generator was run (or, in check mode, would run).
  returned: always
  type: bool
permissions_repaired:
  description: Unchanged files whose mode or ownership had drifted and were put back (no reload needed).
  returned: always
  type: list
  elements: str
rolled_back:
  description: On failure, true when the files and flags were put back; the message says why.
  returned: failure
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.telephony.vicidial.plugins.module_utils import _asterisk, _conffiles, _server
from ansible_collections.telephony.vicidial.plugins.module_utils._db import DatabaseError, db_argument_spec
from ansible_collections.telephony.vicidial.plugins.module_utils._runner import connect


def main():
    argument_spec = db_argument_spec()
    argument_spec.update(
        server_ip=dict(type="str"),
        writer=dict(type="str", default="auto", choices=["auto", "ansible", "vicidial"]),
        take_over_generation=dict(type="bool", default=False),
        generator_command=dict(type="str", default="/usr/share/astguiclient/ADMIN_keepalive_ALL.pl"),
        run_generator=dict(type="str", default="auto", choices=["auto", "always", "never"]),
        generator_sleeps=dict(type="bool", default=False),
        config_dir=dict(type="path", default="/etc/asterisk"),
        file_suffix=dict(type="str", default="ansible-phones"),
        chan_sip=dict(type="bool"),
        asterisk_command=dict(type="str", default="asterisk"),
        asterisk_socket=dict(type="path", default=_asterisk.DEFAULT_SOCKET),
        reload=dict(type="bool", default=True),
        verify=dict(type="bool", default=True, aliases=["verify_unchanged"]),
        verify_timeout=dict(type="int", default=20),
        manage_includes=dict(type="bool", default=True),
        backup_dir=dict(type="path", default="/var/lib/telephony-vicidial/backup"),
        backup_keep=dict(type="int", default=5),
        owner=dict(type="str", default="root"),
        group=dict(type="str", default="asterisk"),
        mode=dict(type="raw", default="0640"),
        lock_timeout=dict(type="int", default=300),
        pending=dict(type="list", elements="dict"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    problem = _conffiles.suffix_problem(params["file_suffix"])
    if problem:
        module.fail_json(msg=problem)
    params["mode"], problem = _conffiles.parse_mode(params["mode"])
    if problem:
        module.fail_json(msg=problem)

    conn, settings = connect(module)
    params["server_ip"] = params["server_ip"] or settings.get("server_ip")
    if not params["server_ip"]:
        module.fail_json(msg="server_ip is not set and %s has no VARserver_ip" % params["astguiclient_conf"])
    run = _server.ServerRun(module, conn, settings)
    try:
        run.run()
    except (_server.Failed, DatabaseError, _asterisk.AsteriskError) as exc:
        module.fail_json(msg=str(exc), rolled_back=getattr(run, "rolled_back", False))
    finally:
        conn.close()
    for warning in run.warnings:
        module.warn(warning)
    result = run.result()
    if module._diff:
        result["diff"] = run.diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
