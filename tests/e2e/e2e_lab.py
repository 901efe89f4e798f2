"""The end-to-end lab "vicie2e": naming, ansible-playbook runs, database and container helpers.

Everything here talks to the lab of ``scripts/lab`` named vicie2e on 10.89.23.0/24 (never the
user's vicilab, nor the vicitest/vicichg/vicibench labs): the MariaDB container at .10 and the
Asterisk 22 containers ast1 (.11) and ast2 (.12). A third "server" at .99 exists only as a
``servers`` row (no container): phones there are data the role must never touch.
"""

import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import time

import pymysql
import pymysql.cursors
import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
E2E_DIR = os.path.dirname(os.path.abspath(__file__))
VENV = os.environ.get("VICIDIAL_VENV") or os.path.join(REPO_ROOT, ".venv")
LAB_STATE = os.path.join(REPO_ROOT, ".lab")
sys.path.insert(0, os.path.join(REPO_ROOT, "lab"))

# E2E_LAB_NAME / E2E_LAB_PREFIX: a second e2e lab, for running two e2e sessions side by side while developing.
NAME = os.environ.get("E2E_LAB_NAME") or "vicie2e"
PREFIX = os.environ.get("E2E_LAB_PREFIX") or "10.89.23"
DB_IP = PREFIX + ".10"
AST1_IP = PREFIX + ".11"
AST2_IP = PREFIX + ".12"
GHOST_IP = PREFIX + ".99"
GHOST_ID = "e2eghost"
LAB_IPS = (AST1_IP, AST2_IP)
DB_CONTAINER = NAME + "-db"
AST = {AST1_IP: NAME + "-ast1", AST2_IP: NAME + "-ast2"}
AST1, AST2 = AST[AST1_IP], AST[AST2_IP]
LOCK_NAME = "telephony.vicidial.phones.asterisk"
ROLE_FILES = ("pjsip_wizard-ansible-phones.conf", "iax-ansible-phones.conf", "extensions-ansible-phones.conf")
ALNUM = string.ascii_letters + string.digits


def token(length):
    return "".join(secrets.choice(ALNUM) for _position in range(length))


def lab_env(**extra):
    """Environment for scripts/lab and ansible-playbook, pinned to the vicie2e lab."""
    env = dict(os.environ)
    path = env.get("PATH", "")
    env.update(
        VICILAB_NAME=NAME,
        VICILAB_SUBNET_PREFIX=PREFIX,
        PATH=os.path.join(VENV, "bin") + os.pathsep + path,
        # E2E_COLLECTIONS_PATH: try a patched copy of the collection against these tests.
        ANSIBLE_COLLECTIONS_PATH=os.environ.get("E2E_COLLECTIONS_PATH") or os.path.join(VENV, "collections"),
        ANSIBLE_VAULT_PASSWORD_FILE=os.path.join(LAB_STATE, "vault-pass"),
        ANSIBLE_CONFIG=os.path.join(REPO_ROOT, "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_CALLBACK_PLUGINS=os.path.join(E2E_DIR, "callback_plugins"),
        ANSIBLE_CALLBACKS_ENABLED="e2e_results",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        PYTHONUNBUFFERED="1",
    )
    for key in ("VICILAB_DB_IP", "VICILAB_DB_PASSWORD_FILE", "ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_KEEP_REMOTE_FILES"):
        env.pop(key, None)
    env.update(extra)
    return env


def run(argv, timeout=120, check=True, input=None, env=None):
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input,
                          env=env or lab_env(), cwd=REPO_ROOT, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (rc %s):\n%s\n%s" % (
            " ".join(shlex.quote(a) for a in argv), proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc


# ------------------------------------------------------------------ ansible --
def lab_entries():
    """The lab inventory's phone entries, unrendered (templates resolve in the run)."""
    with open(os.path.join(REPO_ROOT, "inventory", "lab", "group_vars", "all", "phones.yml")) as handle:
        return yaml.safe_load(handle)["vicidial_phones_entries"]


def lab_entry(extension):
    return dict(next(e for e in lab_entries() if str(e["extension"]) == str(extension)))


def phone(extension, server_ip, **values):
    """A valid PJSIP entry with generated secrets (unique login e<extension>)."""
    entry = dict(extension=str(extension), server_ip=server_ip, dialplan_number=str(extension),
                 voicemail_id=str(extension), phone_login="e%s" % extension, phone_pass=token(16),
                 registration_password=token(24), phone_full_name="e2e %s" % extension)
    entry.update(values)
    return entry


class Run(object):
    """One finished ansible-playbook run: rc, stdout, stderr, the log and every task result."""

    def __init__(self, rc, stdout, stderr, log, results, seconds, workdir):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.log = log
        self.results = results
        self.seconds = seconds
        self.workdir = workdir

    @property
    def output(self):
        return self.stdout + self.stderr

    def failures(self, host=None):
        """Failed task results (host, task, result), items included."""
        return [r for r in self.results if r["status"] in ("failed", "unreachable")
                and (host is None or r["host"] == host)]

    def failure_text(self, host=None):
        """Every message of the failed results of host: msg, stderr and stdout."""
        parts = []
        for rec in self.failures(host):
            res = rec["result"] or {}
            for key in ("msg", "stderr", "stdout"):
                if res.get(key):
                    parts.append(str(res[key]))
        return "\n".join(parts)

    def task_results(self, name_part, host=None, status=None):
        return [r for r in self.results if name_part in (r["task"] or "")
                and (host is None or r["host"] == host) and (status is None or r["status"] == status)]

    def warnings(self):
        found = []
        for rec in self.results:
            found.extend(str(w) for w in (rec["result"] or {}).get("warnings") or [])
        return found

    def explain(self):
        return ("rc=%s after %.0fs (run dir %s, kept with E2E_KEEP_RUNS=1)\n--- stdout (tail) ---\n%s\n"
                "--- stderr (tail) ---\n%s" % (self.rc, self.seconds, self.workdir, self.stdout[-6000:],
                                               self.stderr[-3000:]))

    def __repr__(self):
        return "Run(rc=%s, %.0fs)" % (self.rc, self.seconds)


class Playbook(object):
    """ansible-playbook -i inventory/lab playbooks/phones.yml (or another), started in its own process group."""

    def __init__(self, extra_vars=(), args=(), verbosity=0, env=None, limit=None, playbook_path="playbooks/phones.yml"):
        self.workdir = tempfile.mkdtemp(prefix="vicie2e-run-")  # 0700
        self.log_path = os.path.join(self.workdir, "ansible.log")
        self.results_path = os.path.join(self.workdir, "results.jsonl")
        cmd = [os.path.join(VENV, "bin", "ansible-playbook"), "-i", "inventory/lab", playbook_path]
        for number, data in enumerate(extra_vars):
            path = os.path.join(self.workdir, "vars-%d.json" % number)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(data, handle)
            cmd += ["-e", "@" + path]
        if limit:
            cmd += ["--limit", limit]
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        cmd += list(args)
        self.cmd = cmd
        self.env = lab_env(ANSIBLE_LOG_PATH=self.log_path, E2E_RESULTS_FILE=self.results_path,
                           ANSIBLE_LOCAL_TEMP=os.path.join(self.workdir, "local-tmp"), **(env or {}))
        # The run's own records are private (0600), like the secrets they are checked for.
        self.out = _private(os.path.join(self.workdir, "stdout"))
        self.err = _private(os.path.join(self.workdir, "stderr"))
        _private(self.log_path).close()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.err,
                                     env=self.env, cwd=REPO_ROOT, start_new_session=True)

    def kill(self):
        """SIGKILL the whole run (ansible-playbook, its workers, their podman clients)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        # Ansible's workers call setsid(), so the process group misses them:
        # find every process whose environment names this run's directory.
        marker = self.workdir.encode()
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open("/proc/%s/environ" % pid, "rb") as handle:
                    if marker not in handle.read():
                        continue
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                continue

    def wait(self, timeout=600):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.proc.wait()
            raise AssertionError(
                "ansible-playbook did not finish within %ss: %s" % (timeout, self.read_output())) from None
        seconds = time.monotonic() - self.started
        stdout, stderr = self.read_output()
        log = ""
        if os.path.exists(self.log_path):
            with open(self.log_path, errors="replace") as handle:
                log = handle.read()
        raw_results = ""
        if os.path.exists(self.results_path):
            with open(self.results_path) as handle:
                raw_results = handle.read()
        results = [json.loads(line) for line in raw_results.splitlines() if line.strip()]
        self.out.close()
        self.err.close()
        if not os.environ.get("E2E_KEEP_RUNS"):
            shutil.rmtree(self.workdir, ignore_errors=True)
        run = Run(rc, stdout, stderr, log, results, seconds, self.workdir)
        run.raw_results = raw_results
        return run

    def read_output(self):
        texts = []
        for handle in (self.out, self.err):
            handle.flush()
            handle.seek(0)
            texts.append(handle.read())
        return texts[0], texts[1]


def _private(path):
    return os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600), "w+")


def playbook(extra_vars=(), args=(), verbosity=0, env=None, limit=None, timeout=600,
             playbook_path="playbooks/phones.yml"):
    return Playbook(extra_vars, args, verbosity, env, limit, playbook_path).wait(timeout)


def entries_vars(entries):
    return {"vicidial_phones_entries": entries}


# ----------------------------------------------------------------- database --
def db_password():
    with open(os.path.join(LAB_STATE, "db-password")) as handle:
        return handle.read().strip()


def db_connect(**kwargs):
    # read_timeout: a test that waits on the database fails with a message rather than hanging the suite.
    params = dict(host=DB_IP, port=3306, user="cron", password=db_password(), database="asterisk",
                  autocommit=True, charset="utf8mb4", cursorclass=pymysql.cursors.DictCursor, connect_timeout=10,
                  read_timeout=300, write_timeout=60)
    params.update(kwargs)
    return pymysql.connect(**params)


def sql(statement, args=None, conn=None):
    own = conn is None
    conn = conn or db_connect()
    try:
        with conn.cursor() as cur:
            cur.execute(statement, args)
            return list(cur.fetchall())
    finally:
        if own:
            conn.close()


def root_sql(statement):
    """One statement as the database's root (inside its container): what the cron user may not do."""
    return run(["podman", "exec", "-i", DB_CONTAINER, "mariadb", "asterisk"], input=statement + ";\n").stdout


def sql_many(statement, rows, conn=None):
    own = conn is None
    conn = conn or db_connect()
    try:
        with conn.cursor() as cur:
            cur.executemany(statement, rows)
    finally:
        if own:
            conn.close()


def wait_for_db(seconds=90):
    deadline = time.monotonic() + seconds
    while True:
        try:
            sql("SELECT 1")
            return
        except pymysql.err.MySQLError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


_REACH_DB = """
import socket, sys, time
deadline = time.time() + float(sys.argv[1])
while True:
    try:
        socket.create_connection((%r, 3306), timeout=2).close()
        break
    except OSError as exc:
        if time.time() > deadline:
            sys.exit("cannot reach the database: %%s" %% exc)
        time.sleep(0.3)
""" % DB_IP


def db_reachable_from(container, seconds):
    """Whether container opens a TCP connection to the database within seconds."""
    proc = run(["podman", "exec", container, "python3", "-c", _REACH_DB, str(seconds)], check=False,
               timeout=seconds + 60)
    return proc.returncode == 0


def network_view(container):
    """For failure messages: container's neighbour table and the database container's MAC."""
    neigh = run(["podman", "exec", container, "ip", "neigh"], check=False).stdout
    mac = run(["podman", "inspect", "-f", "{{(index .NetworkSettings.Networks \"%s\").MacAddress}}" % NAME,
               DB_CONTAINER], check=False).stdout
    return "%s ip neigh:\n%s%s MAC now: %s" % (container, neigh, DB_CONTAINER, mac)


def checksums(*tables):
    rows = sql("CHECKSUM TABLE " + ", ".join(tables) + " EXTENDED")
    return dict((r["Table"], r["Checksum"]) for r in rows)


def phones_rows(where="1", args=None):
    rows = sql("SELECT * FROM phones WHERE %s ORDER BY server_ip, extension" % where, args)
    return dict(((r["extension"], r["server_ip"]), r) for r in rows)


def add_ghost_server():
    """A servers row for an IP with no host: phones there are outside the role's scope."""
    sql("INSERT IGNORE INTO servers (server_id, server_description, server_ip, active, asterisk_version, "
        "active_asterisk_server, active_agent_login_server, generate_vicidial_conf, rebuild_conf_files) "
        "VALUES (%s, 'e2e: a server with no host', %s, 'Y', '22.10.1', 'Y', 'Y', 'N', 'N')", (GHOST_ID, GHOST_IP))


def insert_phones(rows):
    """Insert phones rows directly (as another tool would), bypassing the collection."""
    if not rows:
        return
    cols = sorted(rows[0])
    sql_many("INSERT INTO phones (%s) VALUES (%s)" % (",".join(cols), ",".join(["%s"] * len(cols))),
             [[r[c] for c in cols] for r in rows])


def raw_phone(extension, server_ip, **values):
    row = dict(extension=str(extension), server_ip=server_ip, dialplan_number=str(extension),
               voicemail_id=str(extension), login="r%s" % extension, protocol="PJSIP", active="Y",
               conf_secret=token(24), fullname="raw %s" % extension, template_id="--NONE--")
    row.update(values)
    return row


# --------------------------------------------------------------- containers --
def pexec(container, script, input=None, check=True, timeout=120):
    return run(["podman", "exec", "-i", container, "sh", "-c", script], check=check, input=input, timeout=timeout)


def asterisk(container, command, check=True):
    return run(["podman", "exec", container, "asterisk", "-rx", command], check=check).stdout


_LOADED_SCRIPT = "; ".join(
    "echo '@@ %s'; asterisk -rx '%s'" % (c, c)
    for c in ("pjsip list endpoints", "pjsip list aors", "pjsip list auths", "iax2 show peers",
              "dialplan show vicidial-auto-phones"))


def loaded(container):
    """What Asterisk has loaded: PJSIP endpoints, AORs, auths, IAX2 peers, phone dial plan numbers."""
    out = pexec(container, _LOADED_SCRIPT).stdout
    sections = dict((m.group(1), m.group(2)) for m in re.finditer(r"(?ms)^@@ ([^\n]+)\n(.*?)(?=^@@ |\Z)", out))

    def names(text, pattern):
        return sorted(set(n for n in re.findall(pattern, text) if not n.startswith("<")))

    return dict(
        endpoints=names(sections["pjsip list endpoints"], r"(?m)^\s*Endpoint:\s+(\S+)"),
        aors=names(sections["pjsip list aors"], r"(?m)^\s*Aor:\s+(\S+)"),
        auths=names(sections["pjsip list auths"], r"(?m)^\s*Auth:\s+(\S+)"),
        iax2=sorted(set(m.split("/")[0] for m in re.findall(r"(?m)^(\S+/\S+)\s", sections["iax2 show peers"])
                        if not m.startswith("Name/"))),
        dialplan=sorted(set(re.findall(r"(?m)^\s*'([^']+)' =>", sections["dialplan show vicidial-auto-phones"]))
                        - {"h"}),
    )


def conf_state(container, directory="/etc/asterisk"):
    """Every file under directory: sha256, mode, owner, group (byte-level identity of the config)."""
    script = ("cd %s && find . -type f -printf '%%p\\t%%m\\t%%u\\t%%g\\n' | sort && echo '@@' && "
              "find . -type f -print0 | sort -z | xargs -0 sha256sum") % shlex.quote(directory)
    out = pexec(container, script).stdout
    meta, sums = out.split("@@\n", 1)
    state = {}
    for line in meta.splitlines():
        path, mode, owner, group = line.split("\t")
        state[path] = [None, mode, owner, group]
    for line in sums.splitlines():
        digest, path = line.split("  ", 1)
        state[path][0] = digest
    return dict((k, tuple(v)) for k, v in state.items())


def read_file(container, path):
    return run(["podman", "exec", container, "cat", path]).stdout


def role_files(container):
    return dict((name, read_file(container, "/etc/asterisk/" + name)) for name in ROLE_FILES)


def write_file(container, path, content, owner="root", group="asterisk", mode="0640"):
    pexec(container, "umask 077; cat > %(p)s.e2e && chown %(o)s:%(g)s %(p)s.e2e && chmod %(m)s %(p)s.e2e "
                     "&& mv %(p)s.e2e %(p)s" % dict(p=shlex.quote(path), o=owner, g=group, m=mode), input=content)


def diff_state(before, after):
    """Readable differences between two conf_state() results."""
    lines = []
    for path in sorted(set(before) | set(after)):
        if before.get(path) != after.get(path):
            lines.append("%s: %s -> %s" % (path, before.get(path), after.get(path)))
    return "\n".join(lines)


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def register(extension, server_ip, password):
    import sipreg
    return sipreg.register(server_ip, str(extension), password, expires=60, unregister=True, timeout=30.0)
