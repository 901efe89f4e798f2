#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vicidial_phone_config
short_description: Render the Asterisk config of a VICIdial server's phones from the database
version_added: 0.1.0
description:
  - Runs on a telephony server. Reads every phone entry of O(server_ip) from VICIdial's database, whoever
    created it, and writes the Asterisk config VICIdial's own generator would write for the same rows
    (default, template and override stanzas, codecs, caller ID, mailbox, context, and the
    C([vicidial-auto-phones]) dialplan), into files of its own. It never writes VICIdial's C(*-vicidial.conf).
  - PJSIP phones become pjsip_wizard objects; IAX2 and SIP phones are written as VICIdial writes them;
    active PJSIP webphones get a WebRTC-capable endpoint.
  - Files are written only when their content changes, atomically, owned by O(owner):O(group) with O(mode),
    and the previous version is kept in O(backup_dir) so that a failed reload can be rolled back.
  - Refuses a server whose C(generate_vicidial_conf) is C(Y) (two writers would define every endpoint twice)
    unless O(take_over_generation) is set, and refuses active SIP phones when O(chan_sip) is false
    (Asterisk 21 and later have no chan_sip).
  - Returns the Asterisk commands that reload what changed and the objects Asterisk should then have loaded;
    it does not reload anything itself.
extends_documentation_fragment:
  - telephony.vicidial.db
options:
  server_ip:
    description:
      - VICIdial server IP of this host (C(servers.server_ip)).
      - Defaults to C(VARserver_ip) from O(astguiclient_conf).
    type: str
  config_dir:
    description: Asterisk's configuration directory.
    type: path
    default: /etc/asterisk
  file_suffix:
    description:
      - Files are named C(pjsip_wizard-<suffix>.conf), C(iax-<suffix>.conf), C(sip-<suffix>.conf) and
        C(extensions-<suffix>.conf) in O(config_dir).
    type: str
    default: ansible-phones
  chan_sip:
    description:
      - Whether this Asterisk has chan_sip. When false, no C(sip-*) file is written and an active SIP phone is an
        error naming the phone.
      - When not set, Asterisk is asked (C(module show like chan_sip) through O(asterisk_command)); if it does
        not answer, the module fails before writing anything.
    type: bool
  asterisk_command:
    description: The asterisk binary, used as C(asterisk -rx) to ask whether chan_sip is loaded.
    type: str
    default: asterisk
  verify_unchanged:
    description:
      - When no file changed (nothing to reload), ask Asterisk whether every active phone of this server is
        loaded and report the ones that are not in RV(not_loaded). It costs one C(asterisk -rx) per question
        inside this task instead of a task of its own.
      - After a reload, the role verifies with a task of its own.
    type: bool
    default: true
  manage_includes:
    description:
      - Make sure Asterisk's main configs (C(pjsip_wizard.conf), C(iax.conf), C(extensions.conf), and C(sip.conf)
        when chan_sip is there) C(#include) the rendered files, adding the line where it is missing. A main
        config that gains the line also needs its module reloaded, and RV(reload) says so.
    type: bool
    default: true
  take_over_generation:
    description:
      - When this server's C(generate_vicidial_conf) is C(Y), set it to C(N) so that VICIdial's generator stops
        writing phone config here. Without it such a server is an error.
    type: bool
    default: false
  backup_dir:
    description: Where the previous version of each changed file is kept, for rollback.
    type: path
    default: /var/lib/telephony-vicidial/backup
  owner:
    description: Owner of the written files.
    type: str
    default: root
  group:
    description: Group of the written files (Asterisk reads them as this group).
    type: str
    default: asterisk
  mode:
    description: Mode of the written files. They hold registration passwords, so keep them unreadable by others.
    type: str
    default: "0640"
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
    description: Reports which files would change, without writing.
  diff_mode:
    support: full
    description: Before and after of each changed file, with every secret masked.
  idempotent:
    support: full
    description: Output is deterministic; an unchanged database writes nothing.
seealso:
  - ref: ansible_collections.telephony.vicidial.vicidial_phones_role
    description: The role telephony.vicidial.vicidial_phones, which runs this module on every Asterisk server.
author:
  - telephony.vicidial contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Render this server's phones
  telephony.vicidial.vicidial_phone_config:
    chan_sip: false
  register: phone_config

- name: Reload what changed
  ansible.builtin.command: asterisk -rx "{{ item }}"
  loop: "{{ phone_config.reload }}"
  changed_when: true
"""

RETURN = r"""
files:
  description: Each rendered file with its path and whether it changed.
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "pjsip_wizard", "path": "/etc/asterisk/pjsip_wizard-ansible-phones.conf", "changed": true}]
reload:
  description: Asterisk CLI commands that load what changed, once each.
  returned: always
  type: list
  elements: str
  sample: ["pjsip reload", "dialplan reload"]
not_loaded:
  description:
    - With O(verify_unchanged) and nothing to reload, the active phones Asterisk does not have, as
      C(PJSIP/<ext>), C(IAX2/<ext>), C(SIP/<ext>) or C(dial plan number <n>). Empty otherwise.
  returned: always
  type: list
  elements: str
includes_added:
  description: Main configs that got an C(#include) line for a rendered file.
  returned: always
  type: list
  elements: str
chan_sip:
  description: Whether chan_sip was taken to be there (given, or asked of Asterisk).
  returned: always
  type: bool
expected:
  description: What Asterisk should have loaded after the reload.
  returned: always
  type: dict
  sample: {"pjsip": ["8001"], "iax2": ["8002"], "sip": [], "dialplan": ["8001", "8002"]}
backups:
  description: For each changed file, where its previous version is (null when it did not exist).
  returned: always
  type: list
  elements: dict
generation_taken_over:
  description: Whether C(generate_vicidial_conf) was set to C(N) by this run.
  returned: always
  type: bool
permissions_repaired:
  description: Unchanged files whose mode or ownership had drifted and were put back (no reload needed).
  returned: always
  type: list
  elements: str
"""

import grp
import os
import pwd
import re
import shutil
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.telephony.vicidial.plugins.module_utils import _render
from ansible_collections.telephony.vicidial.plugins.module_utils._db import db_argument_spec, query
from ansible_collections.telephony.vicidial.plugins.module_utils._runner import connect

FILES = (
    # (kind, file name prefix = main config name, reload command)
    ("iax", "iax", "iax2 reload"),
    ("sip", "sip", "sip reload"),
    ("pjsip_wizard", "pjsip_wizard", "pjsip reload"),
    ("extensions", "extensions", "dialplan reload"),
)


def has_chan_sip(module):
    """Ask the running Asterisk whether chan_sip is loaded (gone in Asterisk 21)."""
    cmd = [module.params["asterisk_command"], "-rx", "module show like chan_sip"]
    rc, out, err = module.run_command(cmd)
    if rc != 0 or "Unable to connect" in out + err:
        module.fail_json(msg="cannot ask Asterisk whether chan_sip is loaded (%s): %s; nothing was written"
                         % (" ".join(cmd), (err or out).strip().splitlines()[-1:] or "no output"))
    return "chan_sip.so" in out


LOADED_PATTERNS = {
    "pjsip": ("pjsip show endpoints", re.compile(r"^\s*Endpoint:\s+([^/\s<]+)", re.M), "PJSIP/%s"),
    "iax2": ("iax2 show peers", re.compile(r"^([^/\s]+)", re.M), "IAX2/%s"),
    "sip": ("sip show peers", re.compile(r"^([^/\s]+)", re.M), "SIP/%s"),
    "dialplan": ("dialplan show vicidial-auto-phones", re.compile(r"'([^']+)' =>"), "dial plan number %s"),
}


def not_loaded(module, expected):
    """What Asterisk lacks of the expected objects (same questions as the role's verify task)."""
    missing = []
    for kind in ("pjsip", "iax2", "sip", "dialplan"):
        wanted = expected.get(kind) or []
        if not wanted:
            continue
        question, pattern, label = LOADED_PATTERNS[kind]
        rc, out, err = module.run_command([module.params["asterisk_command"], "-rx", question])
        loaded = set(pattern.findall(out)) if rc == 0 else set()
        missing.extend(label % name for name in wanted if name not in loaded)
    return missing


def ensure_include(module, main_path, line):
    """Add the #include line to a main config that lacks it. True when added."""
    current = ""
    if os.path.exists(main_path):
        with open(main_path) as handle:
            current = handle.read()
        if any(existing.strip() == line for existing in current.splitlines()):
            return False
    if module.check_mode:
        return True
    text = current + ("" if current.endswith("\n") or not current else "\n") + line + "\n"
    if os.path.exists(main_path):
        st = os.stat(main_path)
        mode, uid, gid = st.st_mode & 0o7777, st.st_uid, st.st_gid
    else:
        uid, gid = owner_ids(module, main_path)
        mode = int(module.params["mode"], 8)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(main_path), prefix=".%s." % os.path.basename(main_path))
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.chown(tmp, uid, gid)
    os.replace(tmp, main_path)
    return True


def read_state(module, conn, server_ip):
    servers = query(conn, "SELECT * FROM servers WHERE server_ip=%s", (server_ip,))
    if not servers:
        module.fail_json(msg="no VICIdial server has server_ip %s (servers table)" % server_ip)
    server = servers[0]
    settings = (query(conn, "SELECT * FROM system_settings LIMIT 1") or [{}])[0]
    phones = query(conn, "SELECT * FROM phones WHERE server_ip=%s", (server_ip,))
    templates = dict((r["template_id"], r["template_contents"] or "") for r in query(
        conn, "SELECT template_id, template_contents FROM vicidial_conf_templates"))
    remote_phones, remote_servers = [], []
    if str(settings.get("generate_cross_server_exten") or "0") == "1":
        remote_servers = query(conn, "SELECT * FROM servers WHERE server_ip<>%s AND active_asterisk_server='Y'",
                               (server_ip,))
        remote_phones = query(conn, "SELECT * FROM phones WHERE server_ip<>%s AND active='Y' "
                                    "AND protocol IN ('SIP','IAX2')", (server_ip,))
    return server, settings, phones, templates, remote_phones, remote_servers


def column_defaults(conn):
    """Defaults of the phones columns, for rows a check-mode plan would create."""
    defaults = {}
    for row in query(conn, "SELECT COLUMN_NAME AS name, COLUMN_DEFAULT AS value FROM information_schema.COLUMNS "
                           "WHERE TABLE_SCHEMA=DATABASE() AND TABLE_NAME='phones'"):
        value = row["value"]
        if value is None or value == "NULL":
            value = None
        elif value.startswith("'") and value.endswith("'"):
            value = value[1:-1].replace("''", "'")
        defaults[row["name"]] = value
    return defaults


def overlay(phones, pending, server_ip, defaults):
    """Lay a check-mode plan's row changes over this server's rows."""
    rows = dict(((r["extension"], r["server_ip"]), dict(r)) for r in phones)
    for change in pending or []:
        key = (change.get("extension"), change.get("server_ip"))
        if key[1] != server_ip:
            continue
        action = change.get("action")
        if action == "delete":
            rows.pop(key, None)
        elif action == "update" and key in rows:
            rows[key].update(change.get("values") or {})
        elif action == "create":
            row = dict(defaults)
            row.update(change.get("values") or {})
            rows[key] = row
    return list(rows.values())


def take_over(module, conn, server):
    """Refuse two writers, or stop VICIdial's generator for this server when asked."""
    if server.get("generate_vicidial_conf") != "Y":
        return False
    if not module.params["take_over_generation"]:
        module.fail_json(msg=(
            "server %s has generate_vicidial_conf='Y': VICIdial's generator also writes its phones, and every "
            "endpoint would be defined twice. Either let this collection own the phone config here "
            "(set generate_vicidial_conf to N in Admin > Servers, or set take_over_generation, role variable "
            "vicidial_phones_take_over_generation: true), or leave it to VICIdial (role variable "
            "vicidial_phones_config_writer: vicidial)." % server["server_ip"]))
    if not module.check_mode:
        with conn.cursor() as cur:
            cur.execute("UPDATE servers SET generate_vicidial_conf='N' WHERE server_ip=%s", (server["server_ip"],))
    return True


def owner_ids(module, path):
    params = module.params
    try:
        return pwd.getpwnam(params["owner"]).pw_uid, grp.getgrnam(params["group"]).gr_gid
    except KeyError as exc:
        module.fail_json(msg="unknown owner or group for %s: %s" % (path, exc))


def fix_permissions(module, path):
    """Put back mode and ownership of an unchanged file; True when they were off.

    The files hold registration passwords: a hand chmod must not survive a run.
    """
    uid, gid = owner_ids(module, path)
    mode = int(module.params["mode"], 8)
    st = os.stat(path)
    if (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (mode, uid, gid):
        return False
    if not module.check_mode:
        os.chown(path, uid, gid)
        os.chmod(path, mode)
    return True


def write_file(module, path, content, backup_dir):
    """Atomically replace path; keep the old version. Returns the backup path or None."""
    params = module.params
    uid, gid = owner_ids(module, path)
    backup = None
    if os.path.exists(path):
        if not os.path.isdir(backup_dir):
            os.makedirs(backup_dir, 0o700)
        backup = os.path.join(backup_dir, "%s.%d.%d" % (os.path.basename(path), int(time.time()), os.getpid()))
        shutil.copy2(path, backup)
        os.chmod(backup, 0o600)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".%s." % os.path.basename(path))
    try:
        # Permissions are set before any secret is written.
        os.fchmod(fd, int(params["mode"], 8))
        os.fchown(fd, uid, gid)
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return backup


def main():
    argument_spec = db_argument_spec()
    argument_spec.update(
        server_ip=dict(type="str"),
        config_dir=dict(type="path", default="/etc/asterisk"),
        file_suffix=dict(type="str", default="ansible-phones"),
        chan_sip=dict(type="bool"),
        asterisk_command=dict(type="str", default="asterisk"),
        manage_includes=dict(type="bool", default=True),
        verify_unchanged=dict(type="bool", default=True),
        take_over_generation=dict(type="bool", default=False),
        backup_dir=dict(type="path", default="/var/lib/telephony-vicidial/backup"),
        owner=dict(type="str", default="root"),
        group=dict(type="str", default="asterisk"),
        mode=dict(type="str", default="0640"),
        pending=dict(type="list", elements="dict"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params

    conn, settings = connect(module)
    server_ip = params["server_ip"] or settings.get("server_ip")
    if not server_ip:
        module.fail_json(msg="server_ip is not set and %s has no VARserver_ip" % params["astguiclient_conf"])
    try:
        server, system, phones, templates, remote_phones, remote_servers = read_state(module, conn, server_ip)
        if module.check_mode and params["pending"]:
            phones = overlay(phones, params["pending"], server_ip, column_defaults(conn))
        taken_over = take_over(module, conn, server)
    finally:
        conn.close()

    # Secrets of this server's phones never appear in output, diff included.
    for row in phones:
        for column in ("conf_secret", "pass"):
            if row.get(column):
                module.no_log_values.add(str(row[column]))

    if _render._dial_style(server.get("asterisk_version"))[0]:
        # VICIdial's generator does the same, so the output stays faithful,
        # but such a dial plan cannot ring a phone on Asterisk 1.6 or later.
        module.warn(
            "servers.asterisk_version of %s is %r, so the dial plan uses the pre-1.6 syntax "
            "(Dial(PROTO/ext|timeout|)) exactly as VICIdial's generator would; Asterisk 1.6 and later cannot "
            "run it. Set servers.asterisk_version to this server's real version (e.g. 22.10.1)."
            % (server_ip, server.get("asterisk_version") or ""))

    chan_sip = params["chan_sip"]
    if chan_sip is None:
        chan_sip = has_chan_sip(module)

    if not chan_sip:
        sip = sorted("%s@%s" % (r["extension"], server_ip) for r in phones
                     if r.get("protocol") == "SIP" and r.get("active") == "Y")
        if sip:
            module.fail_json(msg=(
                "%d active SIP phone(s) on %s, but this Asterisk has no chan_sip (removed in Asterisk 21): %s. "
                "They could never register; change their protocol to PJSIP." % (len(sip), server_ip, ", ".join(sip))))

    try:
        rendered = _render.render_server_config(
            phones, templates, system, server, chan_sip=chan_sip,
            remote_phones=remote_phones, remote_servers=remote_servers)
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    files, reload_cmds, backups, diffs, repaired, includes = [], [], [], [], [], []
    for kind, prefix, command in FILES:
        if kind not in rendered:
            continue
        path = os.path.join(params["config_dir"], "%s-%s.conf" % (prefix, params["file_suffix"]))
        content = rendered[kind]
        current = None
        if os.path.exists(path):
            with open(path) as handle:
                current = handle.read()
        changed = current != content
        files.append(dict(kind=kind, path=path, changed=changed))
        if not changed:
            # Same content, so no reload; but permissions are still ours to keep.
            if fix_permissions(module, path):
                repaired.append(path)
            continue
        if command not in reload_cmds:
            reload_cmds.append(command)
        if module._diff:
            diffs.append(dict(before_header=path, after_header=path,
                              before=_render.mask_secrets(current or ""), after=_render.mask_secrets(content)))
        if not module.check_mode:
            backups.append(dict(path=path, backup=write_file(module, path, content, params["backup_dir"])))

    if params["manage_includes"]:
        for kind, prefix, command in FILES:
            if kind not in rendered:
                continue
            main = os.path.join(params["config_dir"], "%s.conf" % prefix)
            if ensure_include(module, main, '#include "%s-%s.conf"' % (prefix, params["file_suffix"])):
                includes.append(main)
                if command not in reload_cmds:
                    reload_cmds.append(command)

    expected = _render.expected_objects(phones, chan_sip=chan_sip)
    missing = []
    if params["verify_unchanged"] and not reload_cmds and not module.check_mode:
        missing = not_loaded(module, expected)
    result = dict(
        not_loaded=missing,
        changed=bool(reload_cmds) or taken_over or bool(repaired),
        includes_added=includes,
        chan_sip=chan_sip,
        permissions_repaired=repaired,
        files=files,
        reload=reload_cmds,
        expected=expected,
        backups=backups,
        generation_taken_over=taken_over,
        server_ip=server_ip,
    )
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
