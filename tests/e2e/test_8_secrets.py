"""Issue item 8: no registration or login password anywhere it could be read.

The whole flow (playbooks/phones.yml on inventory/lab) runs at -vvv with --diff, with fresh
passwords for the six lab phones (-e @file overriding the vault's vault_phone_secrets, so that any
match is this run's doing): two phones are created (their rows were removed), four get both
passwords changed, and every config file on both servers changes. Then every secret, new and old,
is looked for in:

* stdout, stderr, the ansible log (ANSIBLE_LOG_PATH) and every task result the controller received
  (tests/e2e/callback_plugins/e2e_results.py writes them all);
* VICIdial's admin change log rows the run wrote;
* every world-readable file under /etc/asterisk, /tmp, /var/log and /var/lib/telephony-vicidial in
  the three containers, and the containers' console logs (Asterisk runs with -vvv);
* every world-readable file of the repository and of /tmp on the host (new secrets only: the old ones
  are the shared lab vault's, which other labs on this machine also use).

And: the role's config files are 0640 root:asterisk, so is any other file in /etc/asterisk that
holds a secret, and no backup file is world-readable.
"""

import os
import shlex
import tempfile

import e2e_lab as lab

SCAN_DIRS = "/etc/asterisk /tmp /var/log /var/lib/telephony-vicidial"


def _names(secrets, text):
    return sorted(name for name, value in secrets.items() if value in text)


def _scan_container(container, secrets):
    patterns = "\n".join(secrets.values()) + "\n"
    script = ("umask 077; cat > /root/.e2e-patterns; "
              "for d in %s; do [ -d \"$d\" ] && find \"$d\" -xdev -perm -o+r -type f -print0; done "
              "| xargs -0 -r grep -lF -f /root/.e2e-patterns; rm -f /root/.e2e-patterns; true") % SCAN_DIRS
    return lab.pexec(container, script, input=patterns).stdout.split()


def test_no_secret_in_output_logs_results_or_readable_files(known_state):
    extensions = [str(e["extension"]) for e in lab.lab_entries()]
    new = dict((ext, {"registration_password": lab.token(24), "phone_pass": lab.token(16)}) for ext in extensions)
    secrets = {}
    for ext in extensions:
        row = next(r for r in known_state.phones if r["extension"] == ext)
        secrets["%s registration_password (new)" % ext] = new[ext]["registration_password"]
        secrets["%s phone_pass (new)" % ext] = new[ext]["phone_pass"]
        secrets["%s registration_password (old)" % ext] = row["conf_secret"]
        secrets["%s phone_pass (old)" % ext] = row["pass"]
    new_only = dict((k, v) for k, v in secrets.items() if k.endswith("(new)"))
    assert all(len(v) >= 16 for v in secrets.values())

    lab.sql("DELETE FROM phones WHERE extension IN ('8001', '8006')")
    log_mark = lab.sql("SELECT COALESCE(MAX(admin_log_id), 0) AS m FROM vicidial_admin_log")[0]["m"]

    run = lab.playbook([{"vault_phone_secrets": new}], args=["--diff"], verbosity=3)
    assert run.rc == 0, "the run failed (output not shown: it may hold secrets); rc %s" % run.rc
    applied = run.task_results("Apply the phone entries", status="ok")[0]["result"]
    assert (applied["counts"]["created"], applied["counts"]["updated"]) == (2, 4), applied["counts"]
    # Each server's config step ran (whatever the role calls it): its result lists files and reloads.
    converged = set(r["host"] for r in run.results
                    if r["status"] == "ok" and "files" in (r["result"] or {}) and "reload" in (r["result"] or {}))
    assert converged == {"ast1", "ast2"}, converged
    # (no value comparison in asserts below: pytest would print the output, secrets and all)
    vvv = "<%s> PUT " % lab.AST1 in run.stdout and "<%s> RUN " % lab.AST2 in run.stdout
    assert vvv, "not a -vvv run"

    leaks = []
    for where, text in (("stdout", run.stdout), ("stderr", run.stderr), ("ansible log", run.log),
                        ("task results", run.raw_results)):
        found = _names(secrets, text)
        if found:
            leaks.append("%s: %s" % (where, ", ".join(found)))
    log_rows = lab.sql("SELECT event_sql, event_notes FROM vicidial_admin_log WHERE admin_log_id > %s", (log_mark,))
    assert log_rows
    found = _names(secrets, repr(log_rows))
    if found:
        leaks.append("vicidial_admin_log: %s" % ", ".join(found))

    for container in (lab.DB_CONTAINER,) + tuple(lab.AST.values()):
        files = _scan_container(container, secrets)
        if files:
            leaks.append("%s, world-readable: %s" % (container, " ".join(files)))
    for container in lab.AST.values():
        console = lab.run(["podman", "logs", container], check=False)
        found = _names(secrets, console.stdout + console.stderr)
        if found:
            leaks.append("%s console log: %s" % (container, ", ".join(found)))

    private = tempfile.mkdtemp(prefix="vicie2e-patterns-")
    patterns = os.path.join(private, "patterns")
    with os.fdopen(os.open(patterns, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
        handle.write("\n".join(new_only.values()) + "\n")
    try:
        host = lab.run(["sh", "-c", "find %s /tmp -xdev -perm -o+r -type f -print0 2>/dev/null "
                                    "| xargs -0 -r grep -lF -f %s; true"
                        % (shlex.quote(lab.REPO_ROOT), shlex.quote(patterns))], timeout=600)
    finally:
        os.unlink(patterns)
        os.rmdir(private)
    if host.stdout.split():
        leaks.append("host, world-readable: %s" % " ".join(host.stdout.split()))
    assert not leaks, "secrets found:\n" + "\n".join(leaks)

    # ---- permissions ---------------------------------------------------------------------------
    pattern_script = "umask 077; cat > /root/.e2e-patterns; grep -rlF -f /root/.e2e-patterns /etc/asterisk; " \
                     "rm -f /root/.e2e-patterns; true"
    for container in lab.AST.values():
        holders = lab.pexec(container, pattern_script, input="\n".join(secrets.values()) + "\n").stdout.split()
        role_files = ["/etc/asterisk/" + name for name in lab.ROLE_FILES]
        assert set(holders) >= set(role_files[:1]), holders
        stat = lab.pexec(container, "stat -c '%%a %%U %%G %%n' %s" % " ".join(sorted(set(holders + role_files))))
        bad = [line for line in stat.stdout.splitlines() if not line.startswith("640 root asterisk ")]
        assert not bad, "%s: config files with wrong permissions: %s" % (container, bad)
        backups = lab.pexec(container, "find /var/lib/telephony-vicidial -type f | wc -l; "
                                       "find /var/lib/telephony-vicidial -perm -o+r -type f").stdout.split("\n")
        assert int(backups[0]) > 0, "%s: no backup files to check" % container
        assert [b for b in backups[1:] if b] == [], "%s: world-readable backups: %s" % (container, backups[1:])
