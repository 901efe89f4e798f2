-- Fixture schema for telephony.vicidial tests and the lab database.
--
-- The tables the collection reads or writes, written by this project from
-- the column facts in ../shared/reference/vicidial-phones.md section 1
-- (VICIdial trunk r3939, db_schema_version 1728). It is not a copy of
-- VICIdial's install file; tests/integration/test_schema.py proves that it
-- matches VICIdial's own definitions column by column.
--
-- Rules kept from VICIdial:
--   * every table is MyISAM (no transactions, no foreign keys);
--   * no table or database character set is named: VICIdial takes the
--     server default, except phones.peer_status, which VICIdial declares
--     with COLLATE utf8_unicode_ci (stored as utf8mb3_unicode_ci);
--   * nullability and defaults are VICIdial's, including the surprises:
--     phones.template_id is NOT NULL with no default, and phones.active /
--     phones.status have no default at all.
--
-- phones is complete (all 107 columns, in VICIdial's order). servers and
-- system_settings hold only the columns that matter for phones; each one
-- has VICIdial's exact type and default.
--
-- Loads under MariaDB's default strict sql_mode and is idempotent: loading
-- it a second time changes nothing and raises no error.

CREATE TABLE IF NOT EXISTS `phones` (
  `extension` varchar(100) NULL DEFAULT NULL,
  `dialplan_number` varchar(20) NULL DEFAULT NULL,
  `voicemail_id` varchar(10) NULL DEFAULT NULL,
  `phone_ip` varchar(15) NULL DEFAULT NULL,
  `computer_ip` varchar(15) NULL DEFAULT NULL,
  `server_ip` varchar(15) NULL DEFAULT NULL,
  `login` varchar(15) NULL DEFAULT NULL,
  `pass` varchar(100) NULL DEFAULT NULL,
  `status` varchar(10) NULL DEFAULT NULL,
  `active` enum('Y','N') NULL DEFAULT NULL,
  `phone_type` varchar(50) NULL DEFAULT NULL,
  `fullname` varchar(50) NULL DEFAULT NULL,
  `company` varchar(10) NULL DEFAULT NULL,
  `picture` varchar(19) NULL DEFAULT NULL,
  `messages` int(4) NULL DEFAULT NULL,
  `old_messages` int(4) NULL DEFAULT NULL,
  `protocol` enum('SIP','PJSIP','Zap','IAX2','EXTERNAL') NULL DEFAULT 'SIP',
  `local_gmt` varchar(6) NULL DEFAULT '-5.00',
  `ASTmgrUSERNAME` varchar(20) NULL DEFAULT 'cron',
  `ASTmgrSECRET` varchar(20) NULL DEFAULT '1234',
  `login_user` varchar(20) NULL DEFAULT NULL,
  `login_pass` varchar(100) NULL DEFAULT NULL,
  `login_campaign` varchar(10) NULL DEFAULT NULL,
  `park_on_extension` varchar(10) NULL DEFAULT '8301',
  `conf_on_extension` varchar(10) NULL DEFAULT '8302',
  `VICIDIAL_park_on_extension` varchar(10) NULL DEFAULT '8301',
  `VICIDIAL_park_on_filename` varchar(10) NULL DEFAULT 'park',
  `monitor_prefix` varchar(10) NULL DEFAULT '8612',
  `recording_exten` varchar(10) NULL DEFAULT '8309',
  `voicemail_exten` varchar(10) NULL DEFAULT '8501',
  `voicemail_dump_exten` varchar(20) NULL DEFAULT '85026666666666',
  `ext_context` varchar(20) NULL DEFAULT 'default',
  `dtmf_send_extension` varchar(100) NULL DEFAULT 'local/8500998@default',
  `call_out_number_group` varchar(100) NULL DEFAULT 'Zap/g2/',
  `client_browser` varchar(100) NULL DEFAULT '/usr/bin/mozilla',
  `install_directory` varchar(100) NULL DEFAULT '/usr/local/perl_TK',
  `local_web_callerID_URL` varchar(255) NULL
    DEFAULT 'http://www.vicidial.org/test_callerid_output.php',
  `VICIDIAL_web_URL` varchar(255) NULL
    DEFAULT 'http://www.vicidial.org/test_VICIDIAL_output.php',
  -- legacy astGUIclient / agent screen switches
  `AGI_call_logging_enabled` enum('0','1') NULL DEFAULT '1',
  `user_switching_enabled` enum('0','1') NULL DEFAULT '1',
  `conferencing_enabled` enum('0','1') NULL DEFAULT '1',
  `admin_hangup_enabled` enum('0','1') NULL DEFAULT '0',
  `admin_hijack_enabled` enum('0','1') NULL DEFAULT '0',
  `admin_monitor_enabled` enum('0','1') NULL DEFAULT '1',
  `call_parking_enabled` enum('0','1') NULL DEFAULT '1',
  `updater_check_enabled` enum('0','1') NULL DEFAULT '1',
  `AFLogging_enabled` enum('0','1') NULL DEFAULT '1',
  `QUEUE_ACTION_enabled` enum('0','1') NULL DEFAULT '1',
  `CallerID_popup_enabled` enum('0','1') NULL DEFAULT '1',
  `voicemail_button_enabled` enum('0','1') NULL DEFAULT '1',
  `enable_fast_refresh` enum('0','1') NULL DEFAULT '0',
  `fast_refresh_rate` int(5) NULL DEFAULT 1000,
  `enable_persistant_mysql` enum('0','1') NULL DEFAULT '0',
  `auto_dial_next_number` enum('0','1') NULL DEFAULT '1',
  `VDstop_rec_after_each_call` enum('0','1') NULL DEFAULT '1',
  -- unused legacy database-connection fields
  `DBX_server` varchar(15) NULL DEFAULT NULL,
  `DBX_database` varchar(15) NULL DEFAULT 'asterisk',
  `DBX_user` varchar(15) NULL DEFAULT 'cron',
  `DBX_pass` varchar(15) NULL DEFAULT '1234',
  `DBX_port` int(6) NULL DEFAULT 3306,
  `DBY_server` varchar(15) NULL DEFAULT NULL,
  `DBY_database` varchar(15) NULL DEFAULT 'asterisk',
  `DBY_user` varchar(15) NULL DEFAULT 'cron',
  `DBY_pass` varchar(15) NULL DEFAULT '1234',
  `DBY_port` int(6) NULL DEFAULT 3306,
  `outbound_cid` varchar(20) NULL DEFAULT NULL,
  `enable_sipsak_messages` enum('0','1') NULL DEFAULT '0',
  `email` varchar(100) NULL DEFAULT NULL,
  `template_id` varchar(15) NOT NULL,
  `conf_override` text NULL DEFAULT NULL,
  `phone_context` varchar(20) NULL DEFAULT 'default',
  `phone_ring_timeout` smallint(3) NULL DEFAULT 60,
  `conf_secret` varchar(100) NULL DEFAULT 'test',
  `delete_vm_after_email` enum('N','Y') NULL DEFAULT 'N',
  `is_webphone` enum('Y','N','Y_API_LAUNCH') NULL DEFAULT 'N',
  `use_external_server_ip` enum('Y','N') NULL DEFAULT 'N',
  `codecs_list` varchar(100) NULL DEFAULT '',
  `codecs_with_template` enum('0','1') NULL DEFAULT '0',
  `webphone_dialpad` enum('Y','N','TOGGLE','TOGGLE_OFF') NULL DEFAULT 'Y',
  `on_hook_agent` enum('Y','N') NULL DEFAULT 'N',
  `webphone_auto_answer` enum('Y','N') NULL DEFAULT 'Y',
  `voicemail_timezone` varchar(30) NULL DEFAULT 'eastern',
  `voicemail_options` varchar(255) NULL DEFAULT '',
  `user_group` varchar(20) NULL DEFAULT '---ALL---',
  `voicemail_greeting` varchar(100) NULL DEFAULT '',
  `voicemail_dump_exten_no_inst` varchar(20) NULL DEFAULT '85026666666667',
  `voicemail_instructions` enum('Y','N') NULL DEFAULT 'Y',
  `on_login_report` enum('Y','N') NOT NULL DEFAULT 'N',
  `unavail_dialplan_fwd_exten` varchar(40) NULL DEFAULT '',
  `unavail_dialplan_fwd_context` varchar(100) NULL DEFAULT '',
  -- non-VICIdial-agent (NVA) call URL feature
  `nva_call_url` text NULL DEFAULT NULL,
  `nva_search_method` varchar(40) NULL DEFAULT 'NONE',
  `nva_error_filename` varchar(255) NULL DEFAULT '',
  `nva_new_list_id` bigint(14) unsigned NULL DEFAULT 995,
  `nva_new_phone_code` varchar(10) NULL DEFAULT '1',
  `nva_new_status` varchar(6) NULL DEFAULT 'NVAINS',
  `webphone_dialbox` enum('Y','N') NULL DEFAULT 'Y',
  `webphone_mute` enum('Y','N') NULL DEFAULT 'Y',
  `webphone_volume` enum('Y','N') NULL DEFAULT 'Y',
  `webphone_debug` enum('Y','N') NULL DEFAULT 'N',
  `outbound_alt_cid` varchar(20) NULL DEFAULT '',
  `conf_qualify` enum('Y','N') NULL DEFAULT 'Y',
  `webphone_layout` varchar(255) NULL DEFAULT '',
  `mohsuggest` varchar(100) NULL DEFAULT '',
  -- runtime state, written by the AMI listener
  `peer_status` enum('UNKNOWN','REGISTERED','UNREGISTERED','REACHABLE',
                     'LAGGED','UNREACHABLE')
    COLLATE utf8mb3_unicode_ci NOT NULL DEFAULT 'UNKNOWN',
  `ping_time` smallint(6) NULL DEFAULT NULL,
  `webphone_settings` varchar(40) NULL DEFAULT 'VICIPHONE_SETTINGS',
  UNIQUE KEY `extenserver` (`extension`, `server_ip`),
  KEY `server_ip` (`server_ip`),
  KEY `voicemail_id` (`voicemail_id`),
  KEY `dialplan_number` (`dialplan_number`)
) ENGINE=MyISAM;

CREATE TABLE IF NOT EXISTS `phones_alias` (
  `alias_id` varchar(20) NOT NULL,
  `alias_name` varchar(50) NULL DEFAULT NULL,
  `logins_list` varchar(255) NULL DEFAULT NULL,
  `user_group` varchar(20) NULL DEFAULT '---ALL---',
  PRIMARY KEY (`alias_id`)
) ENGINE=MyISAM;

-- Subset: identity, the conf-generation switches and the columns the phone
-- conf generator and the agent login read. server_ip has no index.
CREATE TABLE IF NOT EXISTS `servers` (
  `server_id` varchar(10) NOT NULL,
  `server_description` varchar(255) NULL DEFAULT NULL,
  `server_ip` varchar(15) NOT NULL,
  `active` enum('Y','N') NULL DEFAULT NULL,
  `asterisk_version` varchar(20) NULL DEFAULT '1.4.21.2',
  `ext_context` varchar(20) NOT NULL DEFAULT 'default',
  `active_asterisk_server` enum('Y','N') NULL DEFAULT 'Y',
  `generate_vicidial_conf` enum('Y','N') NULL DEFAULT 'Y',
  `rebuild_conf_files` enum('Y','N') NULL DEFAULT 'Y',
  `sounds_update` enum('Y','N') NULL DEFAULT 'N',
  `active_agent_login_server` enum('Y','N') NULL DEFAULT 'Y',
  `conf_secret` varchar(100) NULL DEFAULT 'test',
  `external_server_ip` varchar(100) NULL DEFAULT '',
  `custom_dialplan_entry` text NULL DEFAULT NULL,
  `user_group` varchar(20) NULL DEFAULT '---ALL---',
  `web_socket_url` varchar(255) NULL DEFAULT '',
  `conf_qualify` enum('Y','N') NULL DEFAULT 'Y',
  `external_web_socket_url` varchar(255) NULL DEFAULT '',
  `conf_engine` enum('MEETME','CONFBRIDGE')
    COLLATE utf8mb3_unicode_ci NULL DEFAULT 'MEETME',
  UNIQUE KEY `server_id` (`server_id`)
) ENGINE=MyISAM;

-- Subset: one row holds the whole system's settings.
CREATE TABLE IF NOT EXISTS `system_settings` (
  `version` varchar(50) NULL DEFAULT NULL,
  `install_date` varchar(50) NULL DEFAULT NULL,
  `use_non_latin` enum('0','1') NULL DEFAULT '0',
  `db_schema_version` int(8) unsigned NULL DEFAULT 0,
  `active_voicemail_server` varchar(15) NULL DEFAULT '',
  `allow_custom_dialplan` enum('0','1') NULL DEFAULT '1',
  `db_schema_update_date` datetime NULL DEFAULT NULL,
  `default_webphone` enum('1','0') NULL DEFAULT '0',
  `default_external_server_ip` enum('1','0') NULL DEFAULT '0',
  `webphone_url` varchar(255) NULL DEFAULT '',
  `custom_dialplan_entry` text NULL DEFAULT NULL,
  `default_codecs` varchar(100) NULL DEFAULT '',
  `webphone_systemkey` varchar(100) NULL DEFAULT '',
  `default_phone_registration_password` varchar(100) NULL DEFAULT 'test',
  `default_phone_login_password` varchar(100) NULL DEFAULT 'test',
  `default_server_password` varchar(100) NULL DEFAULT 'test',
  `generate_cross_server_exten` enum('0','1') NULL DEFAULT '0',
  `voicemail_timezones` text NULL DEFAULT NULL,
  `default_voicemail_timezone` varchar(30) NULL DEFAULT 'eastern',
  `default_local_gmt` varchar(6) NULL DEFAULT '-5.00',
  `allow_voicemail_greeting` enum('0','1') NULL DEFAULT '0',
  `level_8_disable_add` enum('0','1') NULL DEFAULT '0',
  `reload_timestamp` datetime NULL DEFAULT NULL,
  `require_password_length` tinyint(3) unsigned NULL DEFAULT 0,
  `phone_defaults_container` varchar(40) NULL DEFAULT '---DISABLED---',
  `allowed_sip_stacks` enum('SIP','PJSIP','SIP_and_PJSIP') NULL DEFAULT 'SIP'
) ENGINE=MyISAM;

CREATE TABLE IF NOT EXISTS `vicidial_conf_templates` (
  `template_id` varchar(15) NOT NULL,
  `template_name` varchar(50) NOT NULL,
  `template_contents` text NULL DEFAULT NULL,
  `user_group` varchar(20) NULL DEFAULT '---ALL---',
  UNIQUE KEY `template_id` (`template_id`)
) ENGINE=MyISAM;

-- The two templates every VICIdial install starts with. '\n' is a newline.
INSERT IGNORE INTO `vicidial_conf_templates`
  (`template_id`, `template_name`, `template_contents`)
VALUES
  ('SIP_generic', 'SIP phone generic',
   'type=friend\nhost=dynamic\ncanreinvite=no\ncontext=default'),
  ('IAX_generic', 'IAX phone generic',
   'type=friend\nhost=dynamic\nmaxauthreq=10\nauth=md5,plaintext,rsa\ncontext=default');

-- Audit trail written by every admin.php and API change.
CREATE TABLE IF NOT EXISTS `vicidial_admin_log` (
  `admin_log_id` int(9) unsigned NOT NULL AUTO_INCREMENT,
  `event_date` datetime NOT NULL,
  `user` varchar(20) NOT NULL,
  `ip_address` varchar(15) NOT NULL,
  `event_section` varchar(30) NOT NULL,
  `event_type` enum('ADD','COPY','LOAD','RESET','MODIFY','DELETE','SEARCH',
                    'LOGIN','LOGOUT','CLEAR','OVERRIDE','EXPORT','OTHER')
    NULL DEFAULT 'OTHER',
  `record_id` varchar(50) NOT NULL,
  `event_code` varchar(255) NOT NULL,
  `event_sql` mediumtext NULL DEFAULT NULL,
  `event_notes` mediumtext NULL DEFAULT NULL,
  `user_group` varchar(20) NULL DEFAULT '---ALL---',
  PRIMARY KEY (`admin_log_id`),
  KEY `user` (`user`),
  KEY `event_section` (`event_section`),
  KEY `record_id` (`record_id`)
) ENGINE=MyISAM;

-- Voicemail boxes that exist on their own (not tied to a phone). A phone's
-- voicemail_id must not collide with one of these.
CREATE TABLE IF NOT EXISTS `vicidial_voicemail` (
  `voicemail_id` varchar(10) NOT NULL,
  `active` enum('Y','N') NULL DEFAULT 'Y',
  `pass` varchar(10) NOT NULL,
  `fullname` varchar(100) NOT NULL,
  `messages` int(4) NULL DEFAULT 0,
  `old_messages` int(4) NULL DEFAULT 0,
  `email` varchar(100) NULL DEFAULT NULL,
  `delete_vm_after_email` enum('N','Y') NULL DEFAULT 'N',
  `voicemail_timezone` varchar(30) NULL DEFAULT 'eastern',
  `voicemail_options` varchar(255) NULL DEFAULT '',
  `user_group` varchar(20) NULL DEFAULT '---ALL---',
  `voicemail_greeting` varchar(100) NULL DEFAULT '',
  `on_login_report` enum('Y','N') NOT NULL DEFAULT 'N',
  PRIMARY KEY (`voicemail_id`)
) ENGINE=MyISAM;
