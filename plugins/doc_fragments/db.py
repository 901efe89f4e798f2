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
    C(system_settings), C(phones_alias), C(vicidial_voicemail) and C(vicidial_conf_templates) (and on
    C(vicidial_settings_containers) when C(system_settings.phone_defaults_container) names a container),
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

    # What a create takes from VICIdial's PHONE_DEFAULTS settings container (vicidial_phone, vicidial_phones).
    PHONE_DEFAULTS = r"""
options: {}
notes:
  - On create, VICIdial's C(PHONE_DEFAULTS) settings container is applied the way admin.php's ADD applies it, when
    C(system_settings.phone_defaults_container) names one (not C(---DISABLED---)); its C(key => value) lines give
    the new row's columns, except those the ADD form carries itself (C(active), C(local_gmt), C(conf_secret),
    C(outbound_cid), C(pass), C(phone_type), C(protocol), C(server_ip), C(status), C(voicemail_id),
    C(user_group), and the other columns of admin.php's INSERT such as C(template_id)). Its C(voicemail_timezone)
    line wins over C(system_settings.default_voicemail_timezone), which is used when the line is empty.
  - What the entry declares (or the defaults declare) wins over the container. A container key that is not a phone
    column this collection manages is skipped with a warning naming it; a value its column cannot hold is an
    error. Updates never apply the container, and the columns it set are not compared later unless an entry
    declares them, so a second run changes nothing. Check mode and the diff show the values a create would write.
"""
