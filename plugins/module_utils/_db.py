# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Database connection shared by every module. Private to the collection.

Connection options fall back to /etc/astguiclient.conf (VICIdial's own
settings file, VARDB_*), so on a VICIdial server a task needs none.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

try:
    import pymysql
    import pymysql.cursors
    HAS_PYMYSQL = True
    PYMYSQL_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the target host
    HAS_PYMYSQL = False
    PYMYSQL_IMPORT_ERROR = exc

DEFAULT_ASTGUICLIENT_CONF = "/etc/astguiclient.conf"
LOCK_NAME = "telephony.vicidial.phones"


def db_argument_spec():
    """Connection options, documented once in the telephony.vicidial.db fragment."""
    return dict(
        db_host=dict(type="str"),
        db_port=dict(type="int"),
        db_unix_socket=dict(type="str"),
        db_user=dict(type="str"),
        db_password=dict(type="str", no_log=True),
        db_name=dict(type="str"),
        db_connect_timeout=dict(type="int", default=10),
        astguiclient_conf=dict(type="path", default=DEFAULT_ASTGUICLIENT_CONF),
    )


class DatabaseError(Exception):
    """A database problem worth one clear line to the user."""


def read_astguiclient_conf(path):
    """Parse VICIdial's ``KEY => value`` settings file; {} when it is absent."""
    values = {}
    if not path or not os.path.isfile(path):
        return values
    with open(path, "r") as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#") or "=>" not in line:
                continue
            key, _sep, value = line.partition("=>")
            values[key.strip()] = value.strip()
    return values


def connection_settings(params):
    """Resolve connection settings: task options first, then astguiclient.conf."""
    conf = read_astguiclient_conf(params.get("astguiclient_conf"))
    port = params.get("db_port") or conf.get("VARDB_port") or 3306
    try:
        port = int(port)
    except ValueError:
        raise DatabaseError("VARDB_port in %s is not a number" % params.get("astguiclient_conf")) from None
    return dict(
        host=params.get("db_host") or conf.get("VARDB_server") or "localhost",
        port=port,
        unix_socket=params.get("db_unix_socket"),
        user=params.get("db_user") or conf.get("VARDB_user") or "cron",
        password=params.get("db_password") if params.get("db_password") is not None else conf.get("VARDB_pass", ""),
        database=params.get("db_name") or conf.get("VARDB_database") or "asterisk",
        connect_timeout=params.get("db_connect_timeout") or 10,
        server_ip=conf.get("VARserver_ip"),
    )


def connect(settings):
    """Open a PyMySQL connection; raise DatabaseError with a one-line reason."""
    where = settings["unix_socket"] or "%s:%s" % (settings["host"], settings["port"])
    kwargs = dict(
        user=settings["user"],
        password=settings["password"] or "",
        database=settings["database"],
        connect_timeout=settings["connect_timeout"],
        charset="utf8mb4",
        autocommit=True,
        cursorclass=pymysql.cursors.DictCursor,
    )
    if settings["unix_socket"]:
        kwargs["unix_socket"] = settings["unix_socket"]
    else:
        kwargs["host"] = settings["host"]
        kwargs["port"] = settings["port"]
    try:
        return pymysql.connect(**kwargs)
    except pymysql.err.OperationalError as exc:
        code = exc.args[0] if exc.args else None
        if code == 1045:
            raise DatabaseError(
                "database refused the credentials of user '%s' at %s (wrong user or password)"
                % (settings["user"], where)) from None
        if code == 1049:
            raise DatabaseError("database '%s' does not exist at %s" % (settings["database"], where)) from None
        if code in (2002, 2003, 2005, 2006, 2013):
            raise DatabaseError("cannot reach the database server at %s: %s" % (where, _reason(exc))) from None
        raise DatabaseError("cannot connect to the database at %s: %s" % (where, _reason(exc))) from None
    except pymysql.err.MySQLError as exc:
        raise DatabaseError("cannot connect to the database at %s: %s" % (where, _reason(exc))) from None


def _reason(exc):
    if len(exc.args) >= 2:
        return str(exc.args[1]).splitlines()[0]
    return str(exc).splitlines()[0]


def query(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


class NamedLock:
    """A MariaDB named lock so that two runs against one database never interleave.

    phones is MyISAM: there are no transactions to isolate runs, so runs are
    serialised instead. The lock is released on exit or when the connection
    drops (a killed run cannot leave it held).
    """

    def __init__(self, conn, database, timeout):
        self.conn = conn
        self.name = "%s.%s" % (LOCK_NAME, database)
        self.timeout = timeout
        self.waited = 0.0

    def __enter__(self):
        start = time.time()
        got = query(self.conn, "SELECT GET_LOCK(%s, %s) AS got", (self.name, self.timeout))[0]["got"]
        self.waited = time.time() - start
        if got != 1:
            raise DatabaseError(
                "another run holds the lock '%s' and did not finish within %s seconds (lock_timeout)"
                % (self.name, self.timeout))
        return self

    def __exit__(self, *exc):
        try:
            query(self.conn, "SELECT RELEASE_LOCK(%s)", (self.name,))
        except Exception:  # the connection may be gone; the lock went with it
            pass
        return False
