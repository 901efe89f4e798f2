# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options shared by every module of the collection.
    DOCUMENTATION = r"""
options:
  db_host:
    description:
      - Host of VICIdial's MariaDB/MySQL database.
      - Defaults to C(VARDB_server) from O(astguiclient_conf), then C(localhost).
    type: str
  db_port:
    description:
      - TCP port of the database.
      - Defaults to C(VARDB_port) from O(astguiclient_conf), then C(3306).
    type: int
  db_unix_socket:
    description:
      - Unix socket of a local database; used instead of O(db_host) and O(db_port) when set.
    type: str
  db_user:
    description:
      - Database user.
      - Defaults to C(VARDB_user) from O(astguiclient_conf), then C(cron).
    type: str
  db_password:
    description:
      - Password of O(db_user).
      - Defaults to C(VARDB_pass) from O(astguiclient_conf).
    type: str
  db_name:
    description:
      - Name of VICIdial's database.
      - Defaults to C(VARDB_database) from O(astguiclient_conf), then C(asterisk).
    type: str
  db_connect_timeout:
    description:
      - Seconds to wait for the database connection.
    type: int
    default: 10
  astguiclient_conf:
    description:
      - VICIdial's settings file. When it exists, its C(VARDB_*) values are the defaults of the
        connection options, so on a VICIdial server a task needs no connection options at all.
    type: path
    default: /etc/astguiclient.conf
requirements:
  - PyMySQL on the host that runs the module.
notes:
  - The database user needs SELECT, INSERT, UPDATE and DELETE on C(phones), SELECT on C(servers),
    C(system_settings), C(phones_alias), C(vicidial_voicemail) and C(vicidial_conf_templates),
    UPDATE on C(servers) and INSERT on C(vicidial_admin_log).
"""

    # Options that govern how entries are written (vicidial_phone, vicidial_phones).
    POLICY = r"""
options:
  update_password:
    description:
      - V(always) writes C(phone_pass) and C(registration_password) whenever they differ from the database.
      - V(on_create) writes them only when the phone is created, so agents' and devices' passwords may drift.
    type: str
    default: always
    choices: [always, on_create]
  allow_weak_passwords:
    description:
      - Accept VICIdial's shipped default password C(test) and passwords shorter than
        O(registration_password_min_length) or O(phone_pass_min_length).
      - C(system_settings.require_password_length) is enforced on the registration password regardless.
    type: bool
    default: false
  registration_password_min_length:
    description:
      - Shortest registration password accepted, unless O(allow_weak_passwords).
    type: int
    default: 12
  phone_pass_min_length:
    description:
      - Shortest phone login password accepted, unless O(allow_weak_passwords).
    type: int
    default: 8
  admin_user:
    description:
      - User recorded in C(vicidial_admin_log) for each change, shown on VICIdial's admin change log.
      - At most 20 characters (the width of C(vicidial_admin_log.user)); checked before anything is written.
    type: str
    default: ansible
  lock_timeout:
    description:
      - Seconds to wait for another run holding the database lock before failing.
      - Runs against one database never interleave.
    type: int
    default: 300
"""
