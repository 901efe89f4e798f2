# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One telephony server's phone config, end to end: the one owner of it.

Private to the collection; vicidial_phone_config is its module.  A run reads
the server's phones from the database, gets the config written (by this
collection, or by VICIdial's own generator), reloads what changed once each,
verifies what Asterisk loaded, and puts everything back (files, #include
lines, the servers flag it changed) when any step fails.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import shlex
import time

from ansible_collections.telephony.vicidial.plugins.module_utils import _asterisk, _conffiles, _render
from ansible_collections.telephony.vicidial.plugins.module_utils._db import NamedLock, query

# Our files: (kind, main config = file name prefix, reload command).
OWN_FILES = (
    ("iax", "iax", "iax2 reload"),
    ("sip", "sip", "sip reload"),
    ("pjsip_wizard", "pjsip_wizard", "pjsip reload"),
    ("extensions", "extensions", "dialplan reload"),
)
RELOAD_ORDER = ("pjsip reload", "iax2 reload", "sip reload", "dialplan reload", "module reload app_voicemail.so",
                "moh reload", "module reload app_meetme.so", "module reload app_confbridge.so")
PHONE_CONTEXT = "vicidial-auto-phones"

# What VICIdial's generator keeps regenerating besides phones, and the table behind it.
# (what, how many the database holds: SQL taking this server's IP, or None).
GENERATED_ELSEWHERE = (
    ("carriers", "SELECT COUNT(*) AS n FROM vicidial_server_carriers WHERE active='Y' "
                 "AND server_ip IN (%s, '0.0.0.0')"),
    ("inter-server IAX trunks", "SELECT COUNT(*) AS n FROM servers WHERE active_asterisk_server='Y' "
                                "AND server_ip<>%s"),
    ("call menus", "SELECT COUNT(*) AS n FROM vicidial_call_menu"),
    ("conferences", "SELECT COUNT(*) AS n FROM vicidial_conferences WHERE server_ip=%s"),
    ("music on hold", "SELECT COUNT(*) AS n FROM vicidial_music_on_hold WHERE active='Y'"),
    ("voicemail boxes (voicemail.conf)", "SELECT COUNT(*) AS n FROM vicidial_voicemail WHERE active='Y'"),
    ("custom dial plan", None),
)


class Failed(Exception):
    """A step failed: the message says which and why (never a secret)."""


def _sorted_reloads(commands):
    return sorted(set(commands), key=lambda c: RELOAD_ORDER.index(c) if c in RELOAD_ORDER else len(RELOAD_ORDER))


class ServerRun(object):
    """One run of vicidial_phone_config on one server."""

    def __init__(self, module, conn, settings):
        self.module = module
        self.params = module.params
        self.conn = conn
        self.db_settings = settings
        self.check = module.check_mode
        self.cli = _asterisk.Cli(module.run_command, self.params["asterisk_command"], self.params["asterisk_socket"])
        self.files = []
        self.reloads = []
        self.includes = []
        self.diffs = []
        self.repaired = []
        self.warnings = []
        self.flag_changed = None
        self.not_regenerated = []
        self.generator_ran = False
        self.verified = {}
        self.wizard_stanzas = {}
        self.tx = None

    # ------------------------------------------------------------ state ----
    def read_state(self, server_ip):
        with NamedLock(self.conn, self.db_settings["database"], self.params["lock_timeout"]):
            # Under the same lock as vicidial_phones: never a half-applied set.
            servers = query(self.conn, "SELECT * FROM servers WHERE server_ip=%s", (server_ip,))
            if not servers:
                raise Failed("no VICIdial server has server_ip %s (servers table)" % server_ip)
            self.server = servers[0]
            self.system = (query(self.conn, "SELECT * FROM system_settings LIMIT 1") or [{}])[0]
            self.phones = query(self.conn, "SELECT * FROM phones WHERE server_ip=%s", (server_ip,))
            self.templates = dict((r["template_id"], r["template_contents"] or "") for r in query(
                self.conn, "SELECT template_id, template_contents FROM vicidial_conf_templates"))
            self.remote_phones, self.remote_servers = [], []
            if str(self.system.get("generate_cross_server_exten") or "0") == "1":
                self.remote_servers = query(
                    self.conn, "SELECT * FROM servers WHERE server_ip<>%s AND active_asterisk_server='Y'",
                    (server_ip,))
                self.remote_phones = query(
                    self.conn, "SELECT * FROM phones WHERE server_ip<>%s AND active='Y' "
                               "AND protocol IN ('SIP','IAX2')", (server_ip,))
        self.server_ip = server_ip

    def overlay(self, pending):
        """Lay a check-mode plan's row changes over this server's rows."""
        defaults = column_defaults(self.conn)
        rows = dict(((r["extension"], r["server_ip"]), dict(r)) for r in self.phones)
        for change in pending or []:
            key = (change.get("extension"), change.get("server_ip"))
            if key[1] != self.server_ip:
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
        self.phones = list(rows.values())

    def writer(self):
        """ansible (this collection writes), vicidial (VICIdial's generator writes), and whether we take over."""
        wanted = self.params["writer"]
        generating = self.server.get("generate_vicidial_conf") == "Y"
        take_over = self.params["take_over_generation"]
        if wanted == "auto":
            wanted = "ansible" if (not generating or take_over) else "vicidial"
        if wanted == "ansible" and generating and not take_over:
            raise Failed(
                "server %s has generate_vicidial_conf='Y': VICIdial's generator also writes its phones, and every "
                "endpoint would be defined twice. Either let VICIdial keep writing (writer: vicidial, the default "
                "there; role variable vicidial_phones_config_writer: auto), or take over (take_over_generation: "
                "true; role variable vicidial_phones_take_over_generation: true)." % self.server_ip)
        if wanted == "vicidial" and not generating:
            raise Failed(
                "server %s has generate_vicidial_conf='N': VICIdial's generator writes nothing there, so writer "
                "'vicidial' would never load a phone. Use writer 'ansible' (or 'auto')." % self.server_ip)
        return wanted, generating and wanted == "ansible"

    # ------------------------------------------------------------- checks ----
    def active(self, protocol=None):
        return [r for r in self.phones
                if r.get("active") == "Y" and (protocol is None or r.get("protocol") == protocol)]

    def label(self, row):
        return "%s@%s" % (row.get("extension"), self.server_ip)

    def check_rows(self, chan_sip, strict):
        """What Asterisk could never load, found before anything is written."""
        for label, reason in _render.unsafe_rows(self.phones, self.server_ip):
            # Only direct SQL or another tool writes such a row: one of them must not block every phone here.
            self.warnings.append("%s is not rendered: %s. Fix the row (it was not written by admin.php or "
                                 "this collection)." % (label, reason))
        problems = []
        if not chan_sip:
            sip = sorted(self.label(r) for r in self.active("SIP"))
            if sip:
                problems.append(
                    "%d active SIP phone(s) on %s, but this Asterisk has no chan_sip (removed in Asterisk 21): %s. "
                    "They could never register; change their protocol to PJSIP." % (len(sip), self.server_ip,
                                                                                    ", ".join(sip)))
        for row in sorted(self.active("PJSIP"), key=lambda r: r.get("extension") or ""):
            for field, keys in pjsip_row_problems(row, self.templates):
                problems.append(
                    "%s: protocol is PJSIP, but its %s has settings Asterisk's PJSIP wizard cannot load (%s). "
                    "Rewrite them as wizard keys (endpoint/..., aor/..., inbound_auth/...) or clear %s."
                    % (self.label(row), field, ", ".join(keys), field))
        if problems and strict:
            raise Failed("; ".join(problems) + " Nothing was written.")
        self.warnings.extend(problems)

    # --------------------------------------------------------- the writers ----
    def owner_ids(self):
        try:
            return pwd.getpwnam(self.params["owner"]).pw_uid, grp.getgrnam(self.params["group"]).gr_gid
        except KeyError as exc:
            raise Failed("unknown owner or group for the config files: %s" % exc) from None

    def plan_own_files(self, chan_sip):
        """Render; return [(path, new bytes, reload)] of files whose content differs, and the old texts."""
        try:
            rendered = _render.render_server_config(
                self.phones, self.templates, self.system, self.server, chan_sip=chan_sip,
                remote_phones=self.remote_phones, remote_servers=self.remote_servers)
        except ValueError as exc:
            raise Failed(str(exc)) from None
        uid, gid = self.owner_ids()
        mode = self.params["mode"]
        changes, before = [], {}
        for kind, prefix, command in OWN_FILES:
            if kind not in rendered:
                continue
            path = os.path.join(self.params["config_dir"], "%s-%s.conf" % (prefix, self.params["file_suffix"]))
            new = _conffiles.to_bytes(rendered[kind])
            old = _conffiles.read_bytes(path)
            before[kind] = _conffiles.to_text(old or b"")
            changed = old != new
            self.files.append(dict(kind=kind, path=path, changed=changed, writer="ansible"))
            if changed:
                changes.append((path, new, command))
                self.diff(path, old, new)
            elif self.fix_permissions(path, mode, uid, gid):
                self.repaired.append(path)
        return rendered, before, changes

    def fix_permissions(self, path, mode, uid, gid):
        # The files hold registration passwords: a hand chmod must not survive a run.
        st = os.stat(path)
        if (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (mode, uid, gid):
            return False
        if not self.check:
            os.chown(path, uid, gid)
            os.chmod(path, mode)
        return True

    def plan_includes(self, chan_sip):
        changes = []
        for kind, prefix, command in OWN_FILES:
            if kind == "sip" and not chan_sip:
                continue
            main = os.path.join(self.params["config_dir"], "%s.conf" % prefix)
            name = "%s-%s.conf" % (prefix, self.params["file_suffix"])
            data = _conffiles.read_bytes(os.path.realpath(main))
            if _conffiles.has_include(data, name):
                continue
            changes.append((main, _conffiles.add_include(data, name), command))
            self.includes.append(main)
        return changes

    def plan_take_over(self, chan_sip):
        """Edits that take the phones out of VICIdial's frozen files."""
        suffix = self.params["file_suffix"]
        names = [r.get("extension") or "" for r in self.phones]
        edits = []
        for name, command, strip in (
                ("pjsip_wizard-vicidial.conf", "pjsip reload",
                 lambda t: _conffiles.strip_wizard_phones(t, "pjsip_wizard-%s.conf" % suffix)),
                ("iax-vicidial.conf", "iax2 reload",
                 lambda t: _conffiles.strip_phone_sections(t, names, "iax-%s.conf" % suffix)),
                ("sip-vicidial.conf", "sip reload",
                 lambda t: _conffiles.strip_phone_sections(
                     t, names, ("sip-%s.conf" % suffix) if chan_sip else
                     "; phones: none here any more, this Asterisk has no chan_sip (SIP phones move to PJSIP); "
                     "VICIdial's generator is off on this server")),
                ("extensions-vicidial.conf", "dialplan reload",
                 lambda t: _conffiles.strip_dialplan_phones(t, "extensions-%s.conf" % suffix))):
            path = os.path.join(self.params["config_dir"], name)
            old = _conffiles.read_bytes(os.path.realpath(path))
            if old is None:
                continue
            text, removed = strip(_conffiles.to_text(old))
            if not removed:
                continue
            new = _conffiles.to_bytes(text)
            self.files.append(dict(kind=name.split("-vicidial", maxsplit=1)[0], path=path, changed=True,
                                   writer="vicidial", phones_removed=len(removed)))
            self.diff(path, old, new)
            if command == "sip reload" and not chan_sip:
                command = None
            edits.append((path, new, command))
        return edits

    def diff(self, path, old, new):
        if self.module._diff:
            self.diffs.append(dict(before_header=path, after_header=path,
                                   before=_render.mask_secrets(_conffiles.to_text(old or b"")),
                                   after=_render.mask_secrets(_conffiles.to_text(new or b""))))

    def not_regenerated_any_more(self):
        """Name what VICIdial's generator stops writing here once generate_vicidial_conf is N."""
        named = []
        for what, sql in GENERATED_ELSEWHERE:
            count = None
            if sql:
                try:
                    count = query(self.conn, sql, (self.server_ip,) if "%s" in sql else None)[0]["n"]
                except Exception:  # a table this VICIdial version lacks
                    count = None
            named.append("%s (%s)" % (what, count) if count is not None else what)
        return named

    # ---------------------------------------------------------- generator ----
    def generator_argv(self):
        """The generator's command line, or Failed before anything is touched when it is not there."""
        command = self.params["generator_command"]
        argv = shlex.split(command)
        if not argv or not os.path.isfile(argv[0]):
            raise Failed("VICIdial's generator is not at %s on %s (generator_command): while this server's "
                         "generate_vicidial_conf is Y, it is what writes the phone config (writer 'vicidial'). "
                         "Install it, point generator_command at it, or take the server over "
                         "(take_over_generation). Nothing was written." % (argv[0] if argv else "''", self.server_ip))
        if not self.params["generator_sleeps"] and argv[0].endswith(".pl"):
            # The generator sleeps 1 s after each reload it types into a screen
            # session; this module reloads with the CLI itself, so the sleeps
            # only cost time. Its own code runs unchanged.
            argv = ["perl", "-e", "BEGIN { *CORE::GLOBAL::sleep = sub { 0 } } $0 = shift @ARGV; "
                                  "do $0; die $@ if $@;"] + argv
        return argv

    def run_generator(self, argv):
        """Run VICIdial's generator once."""
        command = self.params["generator_command"]
        rc, out, err = self.module.run_command(argv, cwd="/")
        self.generator_ran = True
        if rc != 0:
            last = ((err or out).strip().splitlines() or ["no output"])[-1]
            raise Failed("VICIdial's generator (%s) failed with exit code %s: %s" % (command, rc, last))

    def vicidial_files(self, chan_sip):
        found = []
        for name, command, needs_sip in _conffiles.VICIDIAL_FILES:
            if needs_sip and not chan_sip:
                command = None
            found.append((os.path.join(self.params["config_dir"], name), command))
        return found

    # ------------------------------------------------------------- verify ----
    def verify(self, changed, all_must_load):
        """Ask Asterisk until every phone is loaded as declared, or the deadline passes.

        changed: extensions whose config changed (their secret is checked too).
        Returns the problems, never a secret.
        """
        if not self.params["verify"]:
            return []
        deadline = time.time() + self.params["verify_timeout"]
        while True:
            problems, stats = self.loaded_problems(changed, all_must_load)
            if not problems or time.time() >= deadline:
                self.verified = stats
                return problems
            # Asterisk applies a reload asynchronously on a busy server: ask again.
            time.sleep(0.25)

    def loaded_problems(self, changed, all_must_load):
        chan_sip = self.chan_sip
        endpoints = _asterisk.parse_endpoints(self.cli.ask("pjsip show endpoints"))
        iax2 = set(_asterisk.parse_iax2_peers(self.cli.ask("iax2 show peers")))
        sip = set(_asterisk.parse_sip_peers(self.cli.ask("sip show peers"))) if chan_sip else set()
        dialplan = _asterisk.parse_dialplan(self.cli.ask("dialplan show %s" % PHONE_CONTEXT)) or {}
        loaded_on = dict(PJSIP=set(endpoints), IAX2=iax2, SIP=sip)
        problems, stats = [], dict(pjsip=0, iax2=0, sip=0, dialplan=0, secrets=0)
        numbers_seen = set()
        selected = _render._select(self.phones)
        for proto in _render.PROTOCOLS:
            for row in selected[proto]:
                ext = row.get("extension") or ""
                number = row.get("dialplan_number") or ""
                must = all_must_load or ext in changed
                first_for_number = number not in numbers_seen
                numbers_seen.add(number)
                if proto == "SIP" and not chan_sip:
                    continue
                where = "%s@%s" % (ext, self.server_ip)
                found = []
                if ext in loaded_on[proto]:
                    stats[proto.lower()] += 1
                elif must:
                    found.append("%s/%s is not loaded" % (proto, ext))
                for other in ("PJSIP", "IAX2", "SIP"):
                    if other != proto and ext in loaded_on[other] and must:
                        found.append("%s is also loaded as %s/%s (defined twice)" % (ext, other, ext))
                if first_for_number and must:
                    prio = (dialplan.get(number) or {}).get(1)
                    channel = _asterisk.dialled_channel(prio[0]) if prio else None
                    if channel is None:
                        found.append("dial plan number %s does not ring it (not in [%s])" % (number, PHONE_CONTEXT))
                    elif channel != (proto, ext):
                        found.append("dial plan number %s rings %s/%s instead of %s/%s (from %s)"
                                     % (number, channel[0], channel[1], proto, ext, prio[1]))
                    else:
                        stats["dialplan"] += 1
                if proto == "PJSIP" and ext in changed and ext in endpoints:
                    found.extend(self.pjsip_content_problems(row, ext, stats))
                problems.extend("%s: %s" % (where, f) for f in found)
        return problems, stats

    def pjsip_content_problems(self, row, ext, stats):
        """A changed PJSIP phone: the secret and the endpoint options Asterisk loaded are the ones written."""
        found = []
        if secret_in_config(row, self.templates):
            auth = _asterisk.parse_auth(self.cli.ask("pjsip show auth %s-iauth" % ext))
            if auth is None or auth.get("password") != (row.get("conf_secret") or ""):
                # Compared here, never shown.
                found.append("PJSIP/%s is loaded with another registration secret than declared" % ext)
            else:
                stats["secrets"] += 1
        written = _asterisk.wizard_endpoint_options(self.wizard_stanzas.get(ext))
        if written:
            loaded = _asterisk.parse_object(self.cli.ask("pjsip show endpoint %s" % ext)) or {}
            stale = _asterisk.endpoint_mismatches(written, loaded)
            if stale:
                found.append("PJSIP/%s is loaded with %s other than written (%s): Asterisk refused the new object "
                             "and kept the previous one; its log says why"
                             % (ext, ", ".join(o for o, _v in stale), ", ".join("%s=%s" % ov for ov in stale)))
            else:
                stats["endpoints_as_written"] = stats.get("endpoints_as_written", 0) + 1
        return found

    # ------------------------------------------------------------ reload ----
    def reload(self, commands):
        for command in _sorted_reloads(c for c in commands if c):
            self.cli.reload(command)
            if command not in self.reloads:
                self.reloads.append(command)

    # --------------------------------------------------------------- run ----
    def run(self):
        params = self.params
        server_ip = params["server_ip"]
        self.read_state(server_ip)
        if self.check and params["pending"]:
            self.overlay(params["pending"])
        writer, take_over = self.writer()
        self.writer_used = writer
        self.take_over = take_over
        if _render._dial_style(self.server.get("asterisk_version"))[0]:
            self.warnings.append(
                "servers.asterisk_version of %s is %r, so the dial plan uses the pre-1.6 syntax "
                "(Dial(PROTO/ext|timeout|)) exactly as VICIdial's generator would; Asterisk 1.6 and later cannot "
                "run it. Set servers.asterisk_version to this server's real version (e.g. 22.10.1)."
                % (server_ip, self.server.get("asterisk_version") or ""))
        self.chan_sip = params["chan_sip"]
        if self.chan_sip is None:
            try:
                self.chan_sip = self.cli.has_module("chan_sip.so")
            except _asterisk.AsteriskError as exc:
                raise Failed("cannot ask Asterisk whether chan_sip is loaded: %s; nothing was written" % exc) from None
        if writer == "ansible":
            return self.run_ansible()
        return self.run_vicidial()

    def run_ansible(self):
        self.check_rows(self.chan_sip, strict=True)
        rendered, before, own = self.plan_own_files(self.chan_sip)
        edits = self.plan_take_over(self.chan_sip) if self.take_over else []
        includes = self.plan_includes(self.chan_sip) if self.params["manage_includes"] else []
        if self.take_over:
            self.not_regenerated = self.not_regenerated_any_more()
            self.warnings.append(
                "%s: this collection now writes the phone config here and VICIdial's generator is turned off "
                "(generate_vicidial_conf=N), so VICIdial no longer regenerates on this server: %s. Their last "
                "generated files stay as they are." % (self.server_ip, ", ".join(self.not_regenerated)))
        changes = own + edits + includes
        planned = _sorted_reloads(c for _p, _d, c in changes if c)
        changed = changed_phones(self.phones, before, rendered)
        self.wizard_stanzas = _conffiles.sections(rendered.get("pjsip_wizard", ""))
        if self.check:
            self.reloads = planned
            return
        if not self.params["reload"]:
            # Someone else reloads and verifies: nothing here can prove the config, so nothing is rolled back.
            self.apply_files(changes)
            if self.take_over:
                self.set_generate_flag("N")
            self.reloads = []
            self.planned_reloads = planned
            return
        self.transaction(changes, planned, changed, all_must_load=True)

    def run_vicidial(self):
        self.check_rows(self.chan_sip, strict=False)
        files = self.vicidial_files(self.chan_sip)
        rebuild = self.server.get("rebuild_conf_files") == "Y"
        mode = self.params["run_generator"]
        run_it = mode == "always" or (mode == "auto" and (rebuild or bool(self.params["pending"] and self.check)))
        for path, _command in files:
            self.files.append(dict(kind=os.path.basename(path).replace(".conf", ""), path=path, changed=False,
                                   writer="vicidial"))
        if self.check:
            self.reloads = []
            self.generator_would_run = run_it
            return
        argv = self.generator_argv() if run_it else None
        self.tx = _conffiles.FileTransaction(self.params["backup_dir"], self.params["backup_keep"])
        before = {}
        for path, _command in files:
            self.tx.remember(path)
            before[path] = _conffiles.read_bytes(os.path.realpath(path))
        try:
            if run_it:
                self.run_generator(argv)
            commands, changed = [], set()
            for entry, (path, command) in zip(self.files, files):
                after = _conffiles.read_bytes(os.path.realpath(path))
                if after != before[path]:
                    entry["changed"] = True
                    self.diff(path, before[path], after)
                    if command:
                        commands.append(command)
                    changed |= changed_in_vicidial_file(path, before[path], after)
            wizard = os.path.join(self.params["config_dir"], "pjsip_wizard-vicidial.conf")
            self.wizard_stanzas = _conffiles.sections(
                _conffiles.to_text(_conffiles.read_bytes(os.path.realpath(wizard)) or b""))
            self.reload(commands)
            problems = self.verify(changed, all_must_load=False)
            if problems:
                raise Failed("after VICIdial's generator ran, Asterisk does not have the phones as declared: "
                             + "; ".join(problems[:20]) + (" (and %d more)" % (len(problems) - 20)
                                                           if len(problems) > 20 else ""))
        except (Failed, _asterisk.AsteriskError, EnvironmentError) as exc:
            self.rollback(str(exc), note=(
                " The database keeps the change: VICIdial's generator will write it again at its next rebuild, "
                "so fix or revert the entry."))

    def apply_files(self, changes):
        uid, gid = self.owner_ids()
        self.tx = _conffiles.FileTransaction(self.params["backup_dir"], self.params["backup_keep"])
        for path, data, _command in changes:
            own = os.path.basename(path).endswith("-%s.conf" % self.params["file_suffix"])
            if own:
                self.tx.write(path, data, self.params["mode"], uid, gid)
            else:
                # A main config or one of VICIdial's files keeps its own mode and owner.
                self.tx.write(path, data, None if os.path.exists(path) else self.params["mode"],
                              None if os.path.exists(path) else uid, None if os.path.exists(path) else gid)

    def transaction(self, changes, planned, changed, all_must_load):
        """Write, reload, verify, flip the flag; on any failure put all of it back."""
        try:
            self.apply_files(changes)
            self.reload(planned)
            problems = self.verify(changed, all_must_load=all_must_load)
            if problems:
                raise Failed("Asterisk did not load the phones as declared: " + "; ".join(problems[:20])
                             + (" (and %d more)" % (len(problems) - 20) if len(problems) > 20 else ""))
            if self.take_over:
                # Last, once every check passed: from now on VICIdial's generator stays off here.
                self.set_generate_flag("N")
                self.check_frozen_files(changes)
        except (Failed, _asterisk.AsteriskError, EnvironmentError) as exc:
            self.rollback(str(exc))
        except BaseException as exc:  # a bug or an interrupt: still never leave a half-applied server
            self.rollback("%s: %s" % (type(exc).__name__, exc))

    def check_frozen_files(self, changes):
        # A generator run that started before the flag changed could have rewritten VICIdial's files.
        for path, data, _command in changes:
            if path.endswith("-vicidial.conf") and _conffiles.read_bytes(os.path.realpath(path)) != data:
                raise Failed("VICIdial's generator rewrote %s during the take-over; run again" % path)

    def set_generate_flag(self, value):
        with self.conn.cursor() as cur:
            cur.execute("UPDATE servers SET generate_vicidial_conf=%s WHERE server_ip=%s", (value, self.server_ip))
        self.flag_changed = value

    def rollback(self, reason, note=""):
        """Put back every file and the flag, reload what was reloaded, and fail saying why."""
        problems = []
        if self.tx is not None:
            problems.extend(self.tx.restore())
        if self.flag_changed is not None:
            try:
                self.set_generate_flag("Y")
                self.flag_changed = None
            except Exception as exc:
                problems.append("servers.generate_vicidial_conf could not be set back to Y: %s" % exc)
        reloaded_again = []
        for command in list(self.reloads):
            try:
                self.cli.reload(command)
                reloaded_again.append(command)
            except _asterisk.AsteriskError as exc:
                problems.append(str(exc))
        self.rolled_back = True
        self.rollback_reason = reason
        restored = "the previous files" + (", #include lines" if self.includes else "") + (
            " and servers.generate_vicidial_conf" if self.take_over else "") + " were restored"
        if reloaded_again:
            restored += " and reloaded (%s)" % ", ".join(reloaded_again)
        msg = "%s: %s. Rolled back: %s.%s" % (self.server_ip, reason, restored, note)
        if problems:
            msg += " The rollback itself hit problems: %s" % "; ".join(problems)
        raise Failed(msg)

    def result(self):
        return dict(
            changed=bool(self.reloads or getattr(self, "planned_reloads", None) or self.repaired
                         or any(f["changed"] for f in self.files) or self.includes or self.flag_changed
                         or getattr(self, "generator_would_run", False)),
            server_ip=self.server_ip,
            writer=self.writer_used,
            chan_sip=self.chan_sip,
            files=self.files,
            reload=self.reloads or getattr(self, "planned_reloads", []),
            includes_added=self.includes,
            verified=self.verified,
            permissions_repaired=self.repaired,
            backups=self.tx.backups if self.tx else [],
            generation_taken_over=self.flag_changed == "N",
            not_regenerated=self.not_regenerated,
            generator_ran=self.generator_ran or bool(getattr(self, "generator_would_run", False)),
            rolled_back=False,
        )


def secret_in_config(row, templates):
    """Whether the stanza carries conf_secret as inbound_auth/password (default and template modes)."""
    override = row.get("conf_override") or ""
    template = _render._find_template(templates, row.get("template_id") or "")
    return template is not None or len(override) <= 10


def pjsip_row_problems(row, templates):
    """[(field, keys)] of a PJSIP row whose override or template the wizard cannot load."""
    found = []
    template = _render._find_template(templates, row.get("template_id") or "")
    override = row.get("conf_override") or ""
    if template is not None:
        keys = _render.pjsip_config_problems(template)
        if keys:
            found.append(("template %s" % row.get("template_id"), keys))
    if len(override) > 10:
        keys = _render.pjsip_config_problems(override, own_stanza=template is None)
        if keys:
            found.append(("conf_override", keys))
    return found


def changed_phones(phones, before, rendered):
    """Extensions whose stanza or dial plan entry differs between the old files and the render."""
    changed = set()
    for kind in ("iax", "sip", "pjsip_wizard"):
        old = _conffiles.sections(before.get(kind, ""))
        new = _conffiles.sections(rendered.get(kind, ""))
        for name in set(old) | set(new):
            if old.get(name) != new.get(name):
                changed.add(name)
    old_dial = _conffiles.dialplan_entries(before.get("extensions", ""))
    new_dial = _conffiles.dialplan_entries(rendered.get("extensions", ""))
    by_number = {}
    for row in phones:
        by_number.setdefault(row.get("dialplan_number") or "", []).append(row.get("extension") or "")
    for number in set(old_dial) | set(new_dial):
        if old_dial.get(number) != new_dial.get(number):
            changed.update(by_number.get(number, []))
    return changed


def changed_in_vicidial_file(path, old, new):
    """Extensions (or dial plan numbers' phones) whose text differs in one of VICIdial's files."""
    old_text, new_text = _conffiles.to_text(old or b""), _conffiles.to_text(new or b"")
    if path.endswith("extensions-vicidial.conf"):
        old_dial, new_dial = _conffiles.dialplan_entries(old_text), _conffiles.dialplan_entries(new_text)
        names = set()
        for number in set(old_dial) | set(new_dial):
            if old_dial.get(number) != new_dial.get(number):
                for line in (new_dial.get(number) or "").splitlines():
                    channel = _asterisk.dialled_channel(line.split(",", 2)[-1] if ",1," in line else "")
                    if channel:
                        names.add(channel[1])
        return names
    old_s, new_s = _conffiles.sections(old_text), _conffiles.sections(new_text)
    return set(n for n in set(old_s) | set(new_s) if old_s.get(n) != new_s.get(n))


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
