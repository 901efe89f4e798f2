"""The fixture schema (lab/sql/schema.sql) is faithful to VICIdial's own.

Both are loaded into the private MariaDB and compared through
information_schema, so the comparison is of what the server made of each
definition, not of the SQL text.
"""

import os

import pytest

REPO_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA_SQL = os.path.join(REPO_ROOT, "lab", "sql", "schema.sql")
SHARED_SCHEMA_DIR = os.path.join(
    os.path.dirname(REPO_ROOT), "shared", "vicidial-schema")

TABLES = ("phones", "phones_alias", "servers", "system_settings",
          "vicidial_admin_log", "vicidial_conf_templates", "vicidial_voicemail")

REAL_FILES = (
    "phones.sql",
    "phones_alias.sql",
    "servers.sql",
    "system_settings.sql",
    "vicidial_admin_log.sql",
    "vicidial_conf_templates.sql",
)

# Tables whose every column must match VICIdial's, in order.
EXACT_TABLES = ("phones", "phones_alias", "vicidial_admin_log",
                "vicidial_conf_templates")
# Tables the schema carries only in part; these columns at least.
SUBSET_TABLES = {
    "servers": (
        "server_id", "server_description", "server_ip", "active",
        "asterisk_version", "active_asterisk_server", "generate_vicidial_conf",
        "rebuild_conf_files", "sounds_update", "conf_secret", "conf_qualify",
        "external_server_ip", "web_socket_url", "external_web_socket_url",
        "active_agent_login_server", "ext_context", "custom_dialplan_entry",
        "conf_engine", "user_group",
    ),
    "system_settings": (
        "version", "db_schema_version", "default_phone_registration_password",
        "default_phone_login_password", "default_server_password",
        "default_local_gmt", "default_voicemail_timezone",
        "voicemail_timezones", "default_codecs", "allowed_sip_stacks",
        "phone_defaults_container", "require_password_length",
        "active_voicemail_server", "generate_cross_server_exten",
        "default_webphone", "default_external_server_ip", "webphone_url",
        "webphone_systemkey", "reload_timestamp", "level_8_disable_add",
        "allow_custom_dialplan", "custom_dialplan_entry",
        "allow_voicemail_greeting",
    ),
}

COLUMN_FACTS = ("COLUMN_TYPE", "IS_NULLABLE", "COLUMN_DEFAULT",
                "CHARACTER_SET_NAME", "COLLATION_NAME", "EXTRA")


def _columns(server, database, table):
    """{column: {fact: value}} plus ORDINAL_POSITION, in table order."""
    conn = server.connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT COLUMN_NAME, ORDINAL_POSITION, " + ", ".join(COLUMN_FACTS)
                + " FROM information_schema.COLUMNS"
                " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"
                " ORDER BY ORDINAL_POSITION", [database, table])
            names = ("ORDINAL_POSITION",) + COLUMN_FACTS
            return {row[0]: dict(zip(names, row[1:])) for row in cur.fetchall()}
    finally:
        conn.close()


def _indexes(server, database, table):
    rows = server.execute(
        "SELECT INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART,"
        " INDEX_TYPE FROM information_schema.STATISTICS"
        " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"
        " ORDER BY INDEX_NAME, SEQ_IN_INDEX", [database, table])
    return [tuple(row) for row in rows]


def _tables(server, database):
    rows = server.execute(
        "SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM information_schema.TABLES"
        " WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME", [database])
    return {row[0]: (row[1], row[2]) for row in rows}


@pytest.fixture(scope="module")
def ours(mariadb_server):
    name = mariadb_server.create_database("schema_ours")
    mariadb_server.load_file(name, SCHEMA_SQL)
    yield name
    mariadb_server.drop_database(name)


@pytest.fixture(scope="module")
def real(mariadb_server):
    paths = [os.path.join(SHARED_SCHEMA_DIR, f) for f in REAL_FILES]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        pytest.skip("VICIdial schema files not found: %s" % ", ".join(missing))
    name = mariadb_server.create_database("schema_real")
    for path in paths:
        mariadb_server.load_file(name, path)
    yield name
    mariadb_server.drop_database(name)


def test_schema_has_the_seven_tables_all_myisam(mariadb_server, ours):
    tables = _tables(mariadb_server, ours)
    assert sorted(tables) == sorted(TABLES)
    assert {engine for engine, _collation in tables.values()} == {"MyISAM"}


def test_tables_take_the_server_default_collation(mariadb_server, ours, real):
    ours_t, real_t = _tables(mariadb_server, ours), _tables(mariadb_server, real)
    for table in real_t:
        assert ours_t[table] == real_t[table], table


@pytest.mark.parametrize("table", EXACT_TABLES)
def test_columns_match_vicidial_exactly(mariadb_server, ours, real, table):
    ours_c = _columns(mariadb_server, ours, table)
    real_c = _columns(mariadb_server, real, table)
    assert real_c, "no columns for %s in VICIdial's files" % table
    assert list(ours_c) == list(real_c)  # same names, same order
    for column, facts in real_c.items():
        assert ours_c[column] == facts, column


@pytest.mark.parametrize("table", sorted(SUBSET_TABLES))
def test_subset_columns_match_vicidial(mariadb_server, ours, real, table):
    ours_c = _columns(mariadb_server, ours, table)
    real_c = _columns(mariadb_server, real, table)
    missing = set(SUBSET_TABLES[table]) - set(ours_c)
    assert not missing, "required columns missing from schema.sql"
    unknown = set(ours_c) - set(real_c)
    assert not unknown, "columns VICIdial does not have"
    for column, facts in ours_c.items():
        want = dict(real_c[column], ORDINAL_POSITION=None)
        assert dict(facts, ORDINAL_POSITION=None) == want, column
    # Same relative order as VICIdial's table.
    positions = [real_c[c]["ORDINAL_POSITION"] for c in ours_c]
    assert positions == sorted(positions)


def test_phones_indexes_match_vicidial(mariadb_server, ours, real):
    ours_i = _indexes(mariadb_server, ours, "phones")
    assert ours_i == _indexes(mariadb_server, real, "phones")
    assert ("extenserver", 0, 1, "extension", None, "BTREE") in ours_i
    assert ("extenserver", 0, 2, "server_ip", None, "BTREE") in ours_i


@pytest.mark.parametrize("table", EXACT_TABLES + tuple(sorted(SUBSET_TABLES)))
def test_other_indexes_match_vicidial(mariadb_server, ours, real, table):
    real_i = _indexes(mariadb_server, real, table)
    if table in SUBSET_TABLES:  # only VICIdial's indexes on columns we carry
        ours_c = _columns(mariadb_server, ours, table)
        names = {i[0] for i in real_i if i[3] not in ours_c}
        real_i = [i for i in real_i if i[0] not in names]
    assert _indexes(mariadb_server, ours, table) == real_i


def test_conf_template_seed_rows_match_vicidial(mariadb_server, ours, real):
    sql = "SELECT * FROM vicidial_conf_templates ORDER BY template_id"
    rows = mariadb_server.execute(sql, database=ours)
    assert [r[0] for r in rows] == ["IAX_generic", "SIP_generic"]
    assert rows == mariadb_server.execute(sql, database=real)
    assert "\ncanreinvite=no\n" in rows[1][2]


def test_vicidial_voicemail_matches_the_install_schema(
        mariadb_server, ours, vicidial_full_db):
    """vicidial_voicemail has no per-table file; compare with the install."""
    full = vicidial_full_db.database
    assert (_columns(mariadb_server, ours, "vicidial_voicemail")
            == _columns(mariadb_server, full, "vicidial_voicemail"))
    assert (_indexes(mariadb_server, ours, "vicidial_voicemail")
            == _indexes(mariadb_server, full, "vicidial_voicemail"))


def test_schema_loads_twice_without_error(mariadb_server):
    name = mariadb_server.create_database("schema_twice")
    try:
        mariadb_server.load_file(name, SCHEMA_SQL)
        first = _tables(mariadb_server, name)
        mariadb_server.load_file(name, SCHEMA_SQL)  # raises on any error
        assert _tables(mariadb_server, name) == first
        rows = mariadb_server.execute(
            "SELECT COUNT(*) FROM vicidial_conf_templates", database=name)
        assert rows[0][0] == 2
    finally:
        mariadb_server.drop_database(name)


def test_vicidial_db_is_strict(vicidial_db):
    mode = vicidial_db.query("SELECT @@SESSION.sql_mode AS m")[0]["m"]
    assert "STRICT_TRANS_TABLES" in mode.split(",")
    conn = vicidial_db.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT @@GLOBAL.sql_mode")
        assert "STRICT_TRANS_TABLES" in cur.fetchone()[0].split(",")


def test_insert_without_template_id_fails(vicidial_db):
    """VICIdial's API add_phone omits template_id and fails the same way."""
    import pymysql

    before = vicidial_db.checksum()
    with pytest.raises(pymysql.err.OperationalError) as err:
        vicidial_db.query(
            "INSERT INTO phones (extension, dialplan_number, voicemail_id,"
            " server_ip, login, pass, status, active, protocol)"
            " VALUES ('1001', '1001', '1001', '10.10.10.1', 'l1001', 'pw',"
            " 'ACTIVE', 'Y', 'SIP')")
    assert err.value.args[0] == 1364  # ER_NO_DEFAULT_FOR_FIELD
    assert "template_id" in err.value.args[1]
    assert vicidial_db.checksum() == before


def test_vicidial_db_seed_rows(vicidial_db):
    servers = vicidial_db.query(
        "SELECT server_id, server_ip, generate_vicidial_conf,"
        " active_asterisk_server, active_agent_login_server, rebuild_conf_files"
        " FROM servers ORDER BY server_id")
    assert servers == [
        {"server_id": sid, "server_ip": ip, "generate_vicidial_conf": gen,
         "active_asterisk_server": "Y", "active_agent_login_server": "Y",
         "rebuild_conf_files": "N"}
        for sid, ip, gen in (("ast1", "10.10.10.1", "Y"),
                             ("ast2", "10.10.10.2", "Y"),
                             ("ast3", "10.10.10.3", "N"))]
    settings = vicidial_db.query(
        "SELECT active_voicemail_server, require_password_length"
        " FROM system_settings")
    assert settings == [{"active_voicemail_server": "10.10.10.1",
                         "require_password_length": 0}]
    assert vicidial_db.query("SELECT COUNT(*) AS n FROM phones") == [{"n": 0}]
    checksum = vicidial_db.checksum()
    assert sorted(checksum) == sorted(TABLES)
    assert checksum["phones"] == 0 and checksum["servers"] != 0


def test_vicidial_db_over_tcp(vicidial_db):
    conn = vicidial_db.connect(unix_socket=None, host=vicidial_db.host,
                               port=vicidial_db.port)
    with conn.cursor() as cur:
        cur.execute("SELECT DATABASE(), COUNT(*) FROM servers")
        assert cur.fetchone() == (vicidial_db.database, 3)
    assert vicidial_db["database"] == vicidial_db.database


def test_vicidial_full_db_is_seeded_and_strict(vicidial_full_db):
    db = vicidial_full_db
    tables = db.query(
        "SELECT COUNT(*) AS n FROM information_schema.TABLES"
        " WHERE TABLE_SCHEMA = %s", [db.database])
    assert tables[0]["n"] == 334
    settings = db.query(
        "SELECT db_schema_version, active_voicemail_server,"
        " require_password_length FROM system_settings")
    assert settings == [{"db_schema_version": 1728,
                         "active_voicemail_server": "10.10.10.1",
                         "require_password_length": 0}]
    servers = db.query("SELECT server_id, server_ip, generate_vicidial_conf"
                       " FROM servers ORDER BY server_id")
    assert [(s["server_id"], s["server_ip"], s["generate_vicidial_conf"])
            for s in servers] == [("ast1", "10.10.10.1", "Y"),
                                  ("ast2", "10.10.10.2", "Y"),
                                  ("ast3", "10.10.10.3", "N")]
    mode = db.query("SELECT @@SESSION.sql_mode AS m")[0]["m"]
    assert "STRICT_TRANS_TABLES" in mode.split(",")
    assert sorted(db.checksum()) == sorted(TABLES)
