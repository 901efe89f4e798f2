"""Database fixtures for integration tests: a private MariaDB and VICIdial schemas.

``mariadb_server`` (session)
    Starts a private ``mariadbd`` in a temporary directory (unix socket there,
    TCP on 127.0.0.1 at a free port, MariaDB's default strict ``sql_mode``).
    A system MariaDB is never used or touched. If MariaDB is not installed
    the tests FAIL (they never skip): run ``scripts/bootstrap``.

``vicidial_db`` (function)
    A fresh database holding ``lab/sql/schema.sql`` plus seed rows: one
    ``system_settings`` row and the servers ast1 / ast2 / ast3 (see SERVERS).

``vicidial_full_db`` (function)
    The same seed rows on top of VICIdial's whole install schema
    (``<repo>/../shared/vicidial-schema/MySQL_AST_CREATE_tables.sql``);
    skipped when that file is absent.

Speed (2-CPU VM): ``schema.sql`` and the seed rows are loaded once per
session into a template database; each ``vicidial_db`` copies its seven
tables from there (CREATE TABLE ... LIKE, INSERT ... SELECT): about 8 ms
idle, 10-20 ms on a busy machine, against about 12 ms idle for a fresh load
with the CLI. The whole install schema (334 tables) costs about 0.4 s idle
whether loaded or copied, so it is loaded fresh each time. The server runs
with --debug-no-sync: without it every DDL statement waits for an fsync.
"""

import itertools
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

REPO_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA_SQL = os.path.join(REPO_ROOT, "lab", "sql", "schema.sql")
SHARED_SCHEMA_DIR = os.path.join(
    os.path.dirname(REPO_ROOT), "shared", "vicidial-schema")
FULL_INSTALL_SQL = os.path.join(SHARED_SCHEMA_DIR, "MySQL_AST_CREATE_tables.sql")

BOOTSTRAP_HINT = "run scripts/bootstrap to install it"

# The seven tables the collection touches; checksum() covers exactly these.
TABLES = (
    "phones",
    "phones_alias",
    "servers",
    "system_settings",
    "vicidial_admin_log",
    "vicidial_conf_templates",
    "vicidial_voicemail",
)

SYSTEM_SETTINGS = {
    "active_voicemail_server": "10.10.10.1",
    "require_password_length": 0,
}

_SERVER_FLAGS = {
    "active": "Y",
    "active_asterisk_server": "Y",
    "active_agent_login_server": "Y",
    "rebuild_conf_files": "N",
}
SERVERS = (
    dict(server_id="ast1", server_ip="10.10.10.1", generate_vicidial_conf="Y",
         server_description="fixture server 1", **_SERVER_FLAGS),
    dict(server_id="ast2", server_ip="10.10.10.2", generate_vicidial_conf="Y",
         server_description="fixture server 2", **_SERVER_FLAGS),
    dict(server_id="ast3", server_ip="10.10.10.3", generate_vicidial_conf="N",
         server_description="fixture server 3, conf not generated",
         **_SERVER_FLAGS),
)

_STARTUP_TIMEOUT = 60
_SHUTDOWN_TIMEOUT = 30
_db_counter = itertools.count(1)


def _pymysql():
    try:
        import pymysql
    except ImportError:
        pytest.fail("PyMySQL is not installed in this Python; " + BOOTSTRAP_HINT,
                    pytrace=False)
    return pymysql


def _find_program(*names):
    """First of names on PATH or in the sbin directories (not always on PATH)."""
    search = os.environ.get("PATH", "").split(os.pathsep)
    search += ["/usr/sbin", "/usr/local/sbin", "/sbin"]
    for name in names:
        found = shutil.which(name, path=os.pathsep.join(search))
        if found:
            return found
    pytest.fail(
        "MariaDB is not installed: none of %s found on PATH or in /usr/sbin. "
        "The integration tests need a real MariaDB server; %s "
        "(it installs mariadb-server and mariadb-client)."
        % (", ".join(names), BOOTSTRAP_HINT),
        pytrace=False,
    )


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path, lines=40):
    try:
        with open(path, errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])
    except OSError as exc:
        return "(cannot read %s: %s)" % (path, exc)


def _quote_ident(name):
    return "`" + name.replace("`", "``") + "`"


class MariaDBServer:
    """A private mariadbd; every statement goes through its admin account."""

    host = "127.0.0.1"

    def __init__(self):
        self.mariadbd = _find_program("mariadbd", "mysqld")
        self.install_db = _find_program("mariadb-install-db", "mysql_install_db")
        self.client = _find_program("mariadb", "mysql")
        base = tempfile.gettempdir()
        if len(base) > 60:  # keep the socket path under the 107-byte limit
            base = "/tmp"
        self.tmpdir = tempfile.mkdtemp(prefix="vicidial-mariadb-", dir=base)
        self.datadir = os.path.join(self.tmpdir, "data")
        self.unix_socket = os.path.join(self.tmpdir, "mariadb.sock")
        self.log = os.path.join(self.tmpdir, "mariadbd.err")
        self.user = "vicidial_test"
        self.password = secrets.token_hex(12)
        self.port = None
        self.proc = None
        self._run_as = []
        if os.geteuid() == 0:  # mariadbd refuses to run as root
            try:
                pw = pwd.getpwnam("mysql")
            except KeyError:
                pytest.fail("running as root but there is no 'mysql' system "
                            "user to run mariadbd as; " + BOOTSTRAP_HINT,
                            pytrace=False)
            self._run_as = ["--user=mysql"]
            os.chown(self.tmpdir, pw.pw_uid, pw.pw_gid)

    # -- lifecycle --------------------------------------------------------

    def start(self):
        self._install()
        init_sql = os.path.join(self.tmpdir, "init.sql")
        with open(init_sql, "w") as fh:
            for host in ("localhost", "127.0.0.1"):
                fh.write(
                    "CREATE USER IF NOT EXISTS '%s'@'%s' IDENTIFIED BY '%s';\n"
                    "GRANT ALL PRIVILEGES ON *.* TO '%s'@'%s' WITH GRANT OPTION;\n"
                    % (self.user, host, self.password, self.user, host))
        os.chmod(init_sql, 0o644)
        self._client_cnf()
        for attempt in range(3):  # the free port can be taken meanwhile
            self.port = _free_port()
            self._spawn(init_sql)
            if self._wait_ready():
                return
            log = _tail(self.log)
            self.stop(remove=False)
            if "Address already in use" not in log or attempt == 2:
                pytest.fail("private mariadbd did not start (log %s):\n%s"
                            % (self.log, log), pytrace=False)

    def _install(self):
        cmd = [self.install_db, "--no-defaults", "--datadir=" + self.datadir,
               "--auth-root-authentication-method=socket", "--skip-test-db",
               "--debug-no-sync"] + self._run_as
        res = subprocess.run(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, check=False)
        if res.returncode != 0:
            pytest.fail("mariadb-install-db failed:\n%s" % res.stdout[-4000:],
                        pytrace=False)

    def _client_cnf(self):
        # Keeps the password off command lines; used by the mariadb CLI.
        self.client_cnf = os.path.join(self.tmpdir, "client.cnf")
        fd = os.open(self.client_cnf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("[client]\nuser=%s\npassword=%s\nsocket=%s\n"
                     % (self.user, self.password, self.unix_socket))

    def _spawn(self, init_sql):
        cmd = [
            self.mariadbd,
            "--no-defaults",  # never read /etc/mysql: no system instance
            "--datadir=" + self.datadir,
            "--socket=" + self.unix_socket,
            "--pid-file=" + os.path.join(self.tmpdir, "mariadbd.pid"),
            "--log-error=" + self.log,
            "--port=%d" % self.port,
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--init-file=" + init_sql,
            # VICIdial names no charset, so tables take the server default.
            # Pin the one Debian's packaged MariaDB ships (50-server.cnf),
            # instead of the compiled-in latin1 that --no-defaults would give.
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
            # Test data is throw-away: skip durability work. --debug-no-sync
            # (no fsync at all) matters most: every CREATE/DROP TABLE syncs
            # the DDL log, which costs 10-100 ms on a busy disk.
            "--debug-no-sync",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-doublewrite=0",
            "--innodb-buffer-pool-size=32M",
            # sql_mode is deliberately NOT set: MariaDB's strict default.
        ] + self._run_as
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def _wait_ready(self):
        pymysql = _pymysql()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                conn = pymysql.connect(host=self.host, port=self.port,
                                       user=self.user, password=self.password,
                                       connect_timeout=2, ssl_disabled=True)
            except pymysql.err.OperationalError:
                time.sleep(0.05)
                continue
            conn.close()
            return True
        return False

    def stop(self, remove=True):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(_SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if remove:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    # -- helpers ----------------------------------------------------------

    def connect(self, database=None, **kwargs):
        """PyMySQL connection (unix socket, admin account, autocommit).

        ssl_disabled: the private server has no TLS, and PyMySQL >= 1.2
        would otherwise build a TLS context per connection (about 40 ms).
        """
        params = dict(unix_socket=self.unix_socket, user=self.user,
                      password=self.password, database=database,
                      autocommit=True, charset="utf8mb4", ssl_disabled=True)
        params.update(kwargs)
        return _pymysql().connect(**params)

    def execute(self, sql, args=None, database=None):
        conn = self.connect(database)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return cur.fetchall()
        finally:
            conn.close()

    def create_database(self, prefix):
        name = "%s_%d_%s" % (prefix, next(_db_counter), secrets.token_hex(4))
        self.execute("CREATE DATABASE " + _quote_ident(name))
        return name

    def drop_database(self, name):
        self.execute("DROP DATABASE IF EXISTS " + _quote_ident(name))

    def load_sql(self, database, sql):
        """Run SQL text through the mariadb CLI; raise with its stderr."""
        res = subprocess.run(
            [self.client, "--defaults-file=" + self.client_cnf, "--batch",
             "--database=" + database],
            input=sql, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            check=False)
        if res.returncode != 0:
            raise RuntimeError("mariadb CLI failed loading into %s: %s"
                               % (database, res.stderr.strip()))
        return res.stdout

    def load_file(self, database, path):
        with open(path) as fh:
            return self.load_sql(database, fh.read())


class VicidialDB:
    """What the vicidial_db fixtures yield (attributes also readable as keys)."""

    def __init__(self, server, database):
        self.server = server
        self.unix_socket = server.unix_socket
        self.host = server.host
        self.port = server.port
        self.user = server.user
        self.password = server.password
        self.database = database
        self._conns = []
        self._query_conn = None

    def __getitem__(self, key):
        return getattr(self, key)

    def connect(self, **kwargs):
        """New PyMySQL connection to this database (unix socket, autocommit).

        Keyword arguments override the connection parameters, e.g.
        ``connect(unix_socket=None, host=db.host, port=db.port)`` for TCP.
        Closed by the fixture at teardown if the test did not.
        """
        conn = self.server.connect(self.database, **kwargs)
        self._conns.append(conn)
        return conn

    def query(self, sql, args=None):
        """Run one statement; return its rows as a list of dicts."""
        pymysql = _pymysql()
        if self._query_conn is None or not self._query_conn.open:
            self._query_conn = self.connect()
        with self._query_conn.cursor(pymysql.cursors.DictCursor) as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def checksum(self):
        """{table: CHECKSUM TABLE value} for the seven tables."""
        rows = self.query("CHECKSUM TABLE " + ", ".join(
            _quote_ident(t) for t in TABLES))
        return {row["Table"].split(".", 1)[1]: row["Checksum"] for row in rows}

    def close(self):
        for conn in self._conns:
            if conn.open:
                conn.close()
        self._conns = []
        self._query_conn = None


def _seed_sql(update_system_settings):
    """Statements that put the fixture's rows in; returns [(sql, args)]."""
    stmts = []
    cols = sorted(SYSTEM_SETTINGS)
    if update_system_settings:
        stmts.append(("UPDATE system_settings SET "
                      + ", ".join("%s = %%s" % c for c in cols),
                      [SYSTEM_SETTINGS[c] for c in cols]))
    else:
        stmts.append(("INSERT INTO system_settings (version, db_schema_version, "
                      + ", ".join(cols) + ") VALUES (%s, %s"
                      + ", %s" * len(cols) + ")",
                      ["2.14b0.5", 1728] + [SYSTEM_SETTINGS[c] for c in cols]))
    for server in SERVERS:
        scols = sorted(server)
        stmts.append(("INSERT INTO servers (" + ", ".join(scols) + ") VALUES ("
                      + ", ".join(["%s"] * len(scols)) + ")",
                      [server[c] for c in scols]))
    return stmts


def _seed(server, database, update_system_settings):
    conn = server.connect(database)
    try:
        with conn.cursor() as cur:
            if update_system_settings:
                cur.execute("SELECT COUNT(*) FROM system_settings")
                count = cur.fetchone()[0]
                assert count == 1, (
                    "expected the install's single system_settings row, found %d"
                    % count)
            for sql, args in _seed_sql(update_system_settings):
                cur.execute(sql, args)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def mariadb_server():
    """Private mariadbd for the test session; yields a MariaDBServer.

    Attributes: unix_socket, host ('127.0.0.1'), port, user, password (an
    admin account with every privilege, for socket and TCP), datadir, log.
    Methods: connect(database=None, **kw), execute(sql, args, database),
    create_database(prefix), drop_database(name), load_sql(db, text),
    load_file(db, path).
    """
    server = MariaDBServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _vicidial_template(mariadb_server):
    """Database holding schema.sql plus the seed rows, copied per test."""
    name = mariadb_server.create_database("vicidial_template")
    mariadb_server.load_file(name, SCHEMA_SQL)
    _seed(mariadb_server, name, update_system_settings=False)
    tables = [row[0] for row in mariadb_server.execute(
        "SELECT TABLE_NAME FROM information_schema.TABLES"
        " WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME", [name])]
    assert sorted(tables) == sorted(TABLES), tables
    yield name, tables
    mariadb_server.drop_database(name)


@pytest.fixture
def vicidial_db(mariadb_server, _vicidial_template):
    """Fresh database with lab/sql/schema.sql and the seed rows.

    Yields a VicidialDB: unix_socket, host, port, user, password, database,
    connect(), query(sql, args=None) -> [dict], checksum() -> {table: int}.
    """
    template, tables = _vicidial_template
    name = mariadb_server.create_database("vicidial")
    conn = mariadb_server.connect(name)
    try:
        with conn.cursor() as cur:
            for table in tables:
                src = "%s.%s" % (_quote_ident(template), _quote_ident(table))
                cur.execute("CREATE TABLE %s LIKE %s" % (_quote_ident(table), src))
                cur.execute("INSERT INTO %s SELECT * FROM %s"
                            % (_quote_ident(table), src))
    finally:
        conn.close()
    db = VicidialDB(mariadb_server, name)
    try:
        yield db
    finally:
        db.close()
        mariadb_server.drop_database(name)


def _install_schema_sql():
    """VICIdial's install file, minus its account statements.

    Everything in it loads unchanged under MariaDB's strict default sql_mode,
    so the load runs in strict mode too. Only its two
    ``GRANT RELOAD ON *.* TO cron@...`` lines and ``flush privileges`` are
    left out: they are server-wide account changes, not schema, and under
    the default NO_AUTO_CREATE_USER they fail because the ``cron`` account
    does not exist (a real install creates it beforehand).
    """
    with open(FULL_INSTALL_SQL) as fh:
        lines = fh.read().splitlines(keepends=True)
    account = re.compile(r"^\s*(GRANT\s|FLUSH\s+PRIVILEGES\s*;)", re.IGNORECASE)
    kept = [line for line in lines if not account.match(line)]
    assert len(lines) - len(kept) == 3, "unexpected account lines in install file"
    return "".join(kept)


@pytest.fixture
def vicidial_full_db(mariadb_server):
    """Fresh database with VICIdial's whole install schema and the seed rows.

    The install's own system_settings row is updated (not duplicated) and the
    three servers are added. Yields a VicidialDB like vicidial_db.
    """
    if not os.path.isfile(FULL_INSTALL_SQL):
        pytest.skip("VICIdial install schema not found at %s" % FULL_INSTALL_SQL)
    name = mariadb_server.create_database("vicidial_full")
    db = VicidialDB(mariadb_server, name)
    try:
        mariadb_server.load_sql(name, _install_schema_sql())
        _seed(mariadb_server, name, update_system_settings=True)
        yield db
    finally:
        db.close()
        mariadb_server.drop_database(name)
