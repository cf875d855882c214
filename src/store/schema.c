/* schema.c - the tower's schema as numbered migrations, applied once each,
 * in order, at store_open(). Never edit a migration that has shipped: add the
 * next one. One SQL text serves both engines; @ID@ (an identity primary key)
 * and @BLOB@ are spelled per engine by store.c. All times are int64
 * microseconds since the epoch; JSON bodies are TEXT. */
#include "store/store_int.h"

static const char schema_v1[] =
	"CREATE TABLE orgs ("
	" id @ID@,"
	" name TEXT NOT NULL UNIQUE,"
	" sector TEXT NOT NULL,"
	" created BIGINT NOT NULL);"

	/* org_id is NULL for office staff and machines outside an operator
	 * (analyst, overseer, auditor, admin); sectors is a JSON array of
	 * sector names for regulators. */
	"CREATE TABLE users ("
	" id @ID@,"
	" org_id BIGINT REFERENCES orgs(id),"
	" name TEXT NOT NULL UNIQUE,"
	" role TEXT NOT NULL CHECK (role IN ('operator', 'regulator', 'analyst',"
	"  'overseer', 'auditor', 'sensor', 'admin')),"
	" sectors TEXT,"
	" created BIGINT NOT NULL,"
	" disabled BIGINT);"
	"CREATE INDEX users_org ON users(org_id);"

	/* Only a hash of the token is kept; prefix is its first characters,
	 * shown to admins to tell tokens apart. expires/revoked NULL: never. */
	"CREATE TABLE tokens ("
	" id @ID@,"
	" user_id BIGINT NOT NULL REFERENCES users(id),"
	" hash TEXT NOT NULL UNIQUE,"
	" prefix TEXT NOT NULL,"
	" created BIGINT NOT NULL,"
	" expires BIGINT,"
	" revoked BIGINT);"
	"CREATE INDEX tokens_user ON tokens(user_id);"

	/* The current state of a report; every version of its body is in
	 * report_versions. due_* are the deadlines computed from detected_at
	 * by the policy in force when it was filed; *_at when each stage was
	 * reached. */
	"CREATE TABLE reports ("
	" id @ID@,"
	" org_id BIGINT NOT NULL REFERENCES orgs(id),"
	" version BIGINT NOT NULL,"
	" stage TEXT NOT NULL CHECK (stage IN ('prompt', 'detailed', 'final', 'closed')),"
	" category TEXT,"
	" severity TEXT,"
	" detected_at BIGINT NOT NULL,"
	" created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL,"
	" due_prompt BIGINT,"
	" due_detailed BIGINT,"
	" due_final BIGINT,"
	" prompt_at BIGINT,"
	" detailed_at BIGINT,"
	" final_at BIGINT,"
	" closed_at BIGINT);"
	"CREATE INDEX reports_org ON reports(org_id, id);"

	"CREATE TABLE report_versions ("
	" report_id BIGINT NOT NULL REFERENCES reports(id),"
	" version BIGINT NOT NULL,"
	" stage TEXT NOT NULL,"
	" body TEXT NOT NULL,"
	" author_id BIGINT NOT NULL REFERENCES users(id),"
	" created BIGINT NOT NULL,"
	" PRIMARY KEY (report_id, version));"

	/* "Specified critical computers" an operator registered. */
	"CREATE TABLE assets ("
	" id @ID@,"
	" org_id BIGINT NOT NULL REFERENCES orgs(id),"
	" product TEXT NOT NULL,"
	" version TEXT,"
	" role TEXT,"
	" location TEXT,"
	" created BIGINT NOT NULL);"
	"CREATE INDEX assets_org ON assets(org_id, id);"

	/* Sensor alerts, stored once per (sensor, alert id): a retried batch
	 * inserts with ON CONFLICT DO NOTHING. sensor_id is the sensor's user. */
	"CREATE TABLE alerts ("
	" id @ID@,"
	" sensor_id BIGINT NOT NULL REFERENCES users(id),"
	" alert_id TEXT NOT NULL,"
	" received BIGINT NOT NULL,"
	" ts BIGINT NOT NULL,"
	" src_ip TEXT,"
	" src_port BIGINT,"
	" dest_ip TEXT,"
	" dest_port BIGINT,"
	" proto TEXT,"
	" signature_id BIGINT,"
	" signature TEXT,"
	" severity BIGINT,"
	" body TEXT NOT NULL,"
	" UNIQUE (sensor_id, alert_id));"
	"CREATE INDEX alerts_src ON alerts(src_ip, ts);"

	/* Idempotency-Key: the first response to (user, key) is replayed for a
	 * retry with the same request hash. status NULL: still in flight. */
	"CREATE TABLE idempotency ("
	" user_id BIGINT NOT NULL REFERENCES users(id),"
	" idem_key TEXT NOT NULL,"
	" request_hash TEXT NOT NULL,"
	" status BIGINT,"
	" response TEXT,"
	" created BIGINT NOT NULL,"
	" PRIMARY KEY (user_id, idem_key));";

/* v2: the alerts index on (src_ip, ts) goes. Sensors send alerts from many
 * sources at once, so every group commit dirtied a leaf page per distinct
 * source and wrote each one whole into the WAL: dropping it took SQLite's
 * alert path from 54,000 to 164,000 alerts/s (bench/tower-run). Nothing
 * reads alerts by source through it: /sources aggregates the whole table. */
static const char schema_v2[] = "DROP INDEX alerts_src;";

/* v3: each report's indicators as rows, the current version's only, so that
 * /sources (and searches) find the reports that name an address. Reports
 * filed before v3 are indexed from their latest version. */
#define REPORT_INDICATORS                                                                        \
	"CREATE TABLE report_indicators ("                                                         \
	" report_id BIGINT NOT NULL REFERENCES reports(id),"                                      \
	" kind TEXT NOT NULL CHECK (kind IN ('address', 'domain', 'url', 'file_hash')),"         \
	" value TEXT NOT NULL,"                                                                    \
	" PRIMARY KEY (report_id, kind, value));"                                                  \
	"CREATE INDEX report_indicators_value ON report_indicators(kind, value);"
#define LATEST_VERSION                                                                           \
	" WHERE v.version = (SELECT MAX(x.version) FROM report_versions x"                        \
	" WHERE x.report_id = v.report_id)"

static const char schema_v3_sqlite[] =
	REPORT_INDICATORS
	"INSERT OR IGNORE INTO report_indicators (report_id, kind, value)"
	" SELECT v.report_id, k.kind, j.value FROM report_versions v"
	" JOIN (SELECT 'address' AS kind, 'addresses' AS field UNION ALL"
	" SELECT 'domain', 'domains' UNION ALL SELECT 'url', 'urls' UNION ALL"
	" SELECT 'file_hash', 'file_hashes') k"
	" JOIN json_each(v.body, '$.technical_details.indicators.' || k.field) j" LATEST_VERSION
	" AND j.type = 'text';";

static const char schema_v3_pg[] =
	REPORT_INDICATORS
	"INSERT INTO report_indicators (report_id, kind, value)"
	" SELECT DISTINCT v.report_id, k.kind, j.value FROM report_versions v"
	" CROSS JOIN (VALUES ('address', 'addresses'), ('domain', 'domains'), ('url', 'urls'),"
	" ('file_hash', 'file_hashes')) AS k(kind, field)"
	" CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(v.body::jsonb #>"
	" ARRAY['technical_details', 'indicators', k.field]) = 'array' THEN v.body::jsonb #>"
	" ARRAY['technical_details', 'indicators', k.field] ELSE '[]'::jsonb END) AS j(value)"
	LATEST_VERSION " ON CONFLICT DO NOTHING;";

/* v4 (PostgreSQL): alerts.sensor_id loses its foreign key. PostgreSQL
 * checks one with a per-row trigger that share-locks the sensor's users row,
 * and every alert of a sensor locks the same row: the alert path ran at
 * 44,500-69,000 alerts/s with it and 71,500-84,500/s without (bench/tower-run,
 * three runs each). sensor_id is always the authenticated caller's id, and
 * users are disabled, never deleted. SQLite's check is one primary-key
 * lookup, and dropping it there would mean rebuilding the table: kept. */
static const char schema_v4_pg[] = "ALTER TABLE alerts DROP CONSTRAINT alerts_sensor_id_fkey;";
static const char schema_v4_sqlite[] = "SELECT 1;";

/* v5: the attack-source summary /sources reads (src/tower/rollup.h), kept
 * by folding alerts in past a watermark. It starts at alert 0: a database
 * from before v5 is summarised by the first passes after the upgrade. */
static const char schema_v5[] =
	"CREATE TABLE source_stats ("
	" src_ip TEXT PRIMARY KEY,"
	" alerts BIGINT NOT NULL,"
	" intel BIGINT NOT NULL,"
	" first_ts BIGINT NOT NULL,"
	" last_ts BIGINT NOT NULL,"
	" severity BIGINT,"
	" victims BIGINT NOT NULL,"
	" victims_hll @BLOB@ NOT NULL);"
	"CREATE TABLE source_signatures ("
	" src_ip TEXT NOT NULL,"
	" signature_id BIGINT NOT NULL,"
	" signature TEXT,"
	" alerts BIGINT NOT NULL,"
	" PRIMARY KEY (src_ip, signature_id));"
	"CREATE TABLE source_sensors ("
	" src_ip TEXT NOT NULL,"
	" sensor_id BIGINT NOT NULL,"
	" PRIMARY KEY (src_ip, sensor_id));"
	"CREATE TABLE rollup_state ("
	" name TEXT PRIMARY KEY,"
	" last_id BIGINT NOT NULL);";

/* v6: /sources picks its candidates in this order (SOURCE_ORDER in
 * src/tower/tower.c, which must match it): read from an index instead of a
 * sort of every source. 200,000 sources: 34 ms sorted, 8 ms from the index
 * (SQLite). */
static const char schema_v6[] =
	"CREATE INDEX source_stats_rank ON source_stats"
	" ((CASE WHEN severity IS NULL THEN 1 ELSE 0 END), severity, victims DESC, alerts DESC,"
	" src_ip);";

/* v7: sources ranked by the rule the sensor uses (src/rank/rank.h,
 * docs/detect.md), credited to the addresses an alert names as attackers.
 * Alerts gain what the ranking reads from their evidence, copied out at
 * ingest (src/tower/alertbatch.h, struct alert_rank): attackers (NULL:
 * the record had no evidence.attackers, src_ip is the source; '': nobody,
 * a flood from forged sources; else addresses joined by commas),
 * attacker_role ('reflector'), attacker_packets (what each attacker sent,
 * joined by commas, when the sensor says), detector, hosts, ports, sessions, packets
 * (NULL only on alerts stored before v7, whose bodies the rollup reads
 * instead), window_start, indicator, confidence. The summary gains each
 * source's rank evidence and its score in tenths (rank_score() rounds to
 * one decimal), which the candidates index now orders by. The summary
 * starts over: what it held was credited to src_ip, forged addresses
 * included, so the rollup folds every stored alert in again. */
static const char schema_v7[] =
	"ALTER TABLE alerts ADD COLUMN attackers TEXT;"
	"ALTER TABLE alerts ADD COLUMN attacker_role TEXT;"
	"ALTER TABLE alerts ADD COLUMN detector TEXT;"
	"ALTER TABLE alerts ADD COLUMN hosts BIGINT;"
	"ALTER TABLE alerts ADD COLUMN ports BIGINT;"
	"ALTER TABLE alerts ADD COLUMN sessions BIGINT;"
	"ALTER TABLE alerts ADD COLUMN packets BIGINT;"
	"ALTER TABLE alerts ADD COLUMN window_start BIGINT;"
	"ALTER TABLE alerts ADD COLUMN indicator TEXT;"
	"ALTER TABLE alerts ADD COLUMN confidence BIGINT;"
	"ALTER TABLE alerts ADD COLUMN attacker_packets TEXT;"
	"ALTER TABLE source_stats ADD COLUMN hosts BIGINT NOT NULL DEFAULT 0;"
	"ALTER TABLE source_stats ADD COLUMN ports BIGINT NOT NULL DEFAULT 0;"
	"ALTER TABLE source_stats ADD COLUMN sessions BIGINT NOT NULL DEFAULT 0;"
	"ALTER TABLE source_stats ADD COLUMN packets BIGINT NOT NULL DEFAULT 0;"
	"ALTER TABLE source_stats ADD COLUMN named_attacker BIGINT NOT NULL DEFAULT 1;"
	"ALTER TABLE source_stats ADD COLUMN detectors TEXT;"
	"ALTER TABLE source_stats ADD COLUMN indicators TEXT;"
	"ALTER TABLE source_stats ADD COLUMN score_x10 BIGINT NOT NULL DEFAULT 0;"
	"DROP INDEX source_stats_rank;"
	"CREATE INDEX source_stats_rank ON source_stats (score_x10 DESC, alerts DESC, src_ip);"
	"DELETE FROM source_signatures;"
	"DELETE FROM source_sensors;"
	"DELETE FROM source_stats;"
	"DELETE FROM rollup_state WHERE name = 'sources';";

/* v8: assets answer on address ranges, and an alert against one is
 * marked with the asset and its organisation at ingest (src/tower/
 * assets.c): the operator and its regulator read those alerts through the
 * partial index (only marked alerts pay for it), and asset_hits keeps each
 * (source, critical computer) pair once, which /sources counts: a scan of
 * the alerts for them cost PostgreSQL 0.3 s a call at 500,000 alerts. */
static const char schema_v8[] =
	"CREATE TABLE asset_addresses ("
	" asset_id BIGINT NOT NULL REFERENCES assets(id),"
	" prefix TEXT NOT NULL,"
	" PRIMARY KEY (asset_id, prefix));"
	"ALTER TABLE alerts ADD COLUMN asset_id BIGINT;"
	"ALTER TABLE alerts ADD COLUMN asset_org_id BIGINT;"
	"CREATE INDEX alerts_asset ON alerts (asset_org_id, id) WHERE asset_id IS NOT NULL;"
	"CREATE TABLE asset_hits ("
	" src_ip TEXT NOT NULL,"
	" dest_ip TEXT NOT NULL,"
	" asset_id BIGINT NOT NULL,"
	" PRIMARY KEY (src_ip, dest_ip));";

/* v9: the transparency log (src/tower/log.c, logseq.c; docs/audit.md).
 * log_entries: one per change, inserted with it, seq in insert order;
 * log_leaves: each entry's place in the Merkle tree, given in commit
 * order by the sequencer; log_hashes: the tree's stored hashes (Go's
 * sumdb/tlog numbering); log_checkpoints: signed tree heads; log_state:
 * how far the sequencer has come. Nothing updates or deletes a row but
 * log_state's two counters. Changes made before v9 have no entries. */
static const char schema_v9[] =
	"CREATE TABLE log_entries ("
	" seq @ID@,"
	" entry @BLOB@ NOT NULL,"
	" created BIGINT NOT NULL);"
	"CREATE TABLE log_leaves ("
	" idx BIGINT PRIMARY KEY,"
	" seq BIGINT NOT NULL UNIQUE);"
	"CREATE TABLE log_hashes ("
	" idx BIGINT PRIMARY KEY,"
	" hash @BLOB@ NOT NULL);"
	"CREATE TABLE log_checkpoints ("
	" size BIGINT PRIMARY KEY,"
	" root @BLOB@ NOT NULL,"
	" note TEXT NOT NULL,"
	" created BIGINT NOT NULL);"
	"CREATE TABLE log_state ("
	" name TEXT PRIMARY KEY,"
	" value BIGINT NOT NULL);"
	"INSERT INTO log_state (name, value) VALUES ('seq', 0);"
	"INSERT INTO log_state (name, value) VALUES ('size', 0);";

/* v10: what the log's records are read back from (src/tower/record.c).
 * alert_batches: one row per batch a sensor sent that stored something,
 * and alerts.batch_id names it, so that an auditor can hash a batch's
 * alerts again (the index keeps that a lookup; batch ids only grow, so it
 * is written at its right edge). log_cosignatures: the witnesses'
 * cosignatures of a checkpoint, served beside it (C2SP tlog-cosignature):
 * line is the signature line as the witness made it. */
static const char schema_v10[] =
	"CREATE TABLE alert_batches ("
	" id @ID@,"
	" sensor_id BIGINT NOT NULL,"
	" received BIGINT NOT NULL,"
	" alerts BIGINT NOT NULL);"
	"ALTER TABLE alerts ADD COLUMN batch_id BIGINT;"
	"CREATE INDEX alerts_batch ON alerts (batch_id);"
	"CREATE TABLE log_cosignatures ("
	" size BIGINT NOT NULL REFERENCES log_checkpoints(size),"
	" witness TEXT NOT NULL,"
	" line TEXT NOT NULL,"
	" created BIGINT NOT NULL,"
	" PRIMARY KEY (size, witness));";

/* v11: countermeasure cases under oversight (issue 13, src/tower/cases.c,
 * docs/oversight.md). A case is proposed by an analyst, decided by
 * overseers (case_decisions: one approval an overseer, the partial index
 * says so), activated and expired by the tower; its evidence names
 * alerts, reports and sources. countermeasure_state holds the serial of
 * the countermeasure files, which rises with every change of the active
 * set, across restarts and towers. */
static const char schema_v11[] =
	"CREATE TABLE cases ("
	" id @ID@,"
	" action TEXT NOT NULL CHECK (action IN ('sinkhole', 'rtbh', 'flowspec', 'blocklist',"
	"  'notice')),"
	" target TEXT NOT NULL,"
	" proto TEXT,"
	" ports TEXT,"
	" contact TEXT,"
	" justification TEXT NOT NULL,"
	" duration BIGINT NOT NULL,"
	" approvals_needed BIGINT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('proposed', 'approved', 'active', 'expired',"
	"  'revoked', 'rejected', 'withdrawn')),"
	" proposed_by BIGINT NOT NULL REFERENCES users(id),"
	" created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL,"
	" activated BIGINT,"
	" expires BIGINT,"
	" ended BIGINT);"
	"CREATE INDEX cases_state ON cases (state, expires);"
	"CREATE TABLE case_evidence ("
	" case_id BIGINT NOT NULL REFERENCES cases(id),"
	" kind TEXT NOT NULL CHECK (kind IN ('alert', 'report', 'source')),"
	" ref TEXT NOT NULL,"
	" PRIMARY KEY (case_id, kind, ref));"
	"CREATE TABLE case_decisions ("
	" id @ID@,"
	" case_id BIGINT NOT NULL REFERENCES cases(id),"
	" user_id BIGINT REFERENCES users(id),"
	" decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject', 'withdraw', 'revoke',"
	"  'activate', 'expire')),"
	" reason TEXT NOT NULL,"
	" created BIGINT NOT NULL);"
	"CREATE INDEX case_decisions_case ON case_decisions (case_id, id);"
	"CREATE UNIQUE INDEX case_decisions_approver ON case_decisions (case_id, user_id)"
	" WHERE decision = 'approve';"
	"CREATE TABLE countermeasure_state ("
	" name TEXT PRIMARY KEY,"
	" value BIGINT NOT NULL);"
	"INSERT INTO countermeasure_state (name, value) VALUES ('serial', 1);";

/* v12: monitoring authorizations (issue 13, src/tower/monitoring.c,
 * docs/oversight.md). Acquiring communications needs the committee's
 * prior approval: an analyst proposes that one sensor may analyse
 * traffic of some prefixes or VLANs, for a purpose, from starts until
 * expires; overseers decide it as they decide a case (orders.c), and the
 * tower activates and ends it on time. prefixes and vlans are
 * comma-separated ('' for none, never both). */
static const char schema_v12[] =
	"CREATE TABLE authorizations ("
	" id @ID@,"
	" sensor_id BIGINT NOT NULL REFERENCES users(id),"
	" prefixes TEXT NOT NULL,"
	" vlans TEXT NOT NULL,"
	" purpose TEXT NOT NULL,"
	" starts BIGINT NOT NULL,"
	" approvals_needed BIGINT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('proposed', 'approved', 'active', 'expired',"
	"  'revoked', 'rejected', 'withdrawn')),"
	" proposed_by BIGINT NOT NULL REFERENCES users(id),"
	" created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL,"
	" activated BIGINT,"
	" expires BIGINT NOT NULL,"
	" ended BIGINT);"
	"CREATE INDEX authorizations_state ON authorizations (state, expires);"
	"CREATE INDEX authorizations_sensor ON authorizations (sensor_id, state);"
	"CREATE TABLE authorization_decisions ("
	" id @ID@,"
	" authorization_id BIGINT NOT NULL REFERENCES authorizations(id),"
	" user_id BIGINT REFERENCES users(id),"
	" decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject', 'withdraw', 'revoke',"
	"  'activate', 'expire')),"
	" reason TEXT NOT NULL,"
	" created BIGINT NOT NULL);"
	"CREATE INDEX authorization_decisions_of ON authorization_decisions (authorization_id, id);"
	"CREATE UNIQUE INDEX authorization_decisions_approver ON authorization_decisions"
	" (authorization_id, user_id) WHERE decision = 'approve';";

/* v13: sharing over TAXII 2.1 (issue 14, src/tower/taxii.c,
 * docs/sharing.md). Collections of STIX 2.1 objects; who may read and
 * write each, by role and optionally one organisation; the objects, every
 * version, in the order they were added (seq: the pages' cursor), with
 * the TLP level their markings give (0 CLEAR .. 4 RED) and the
 * organisation that added them, the audience of TLP:AMBER+STRICT and
 * TLP:RED; and the status of each envelope posted, whose objects are one
 * set in the transparency log. Three collections come with the tower. */
static const char schema_v13[] =
	"CREATE TABLE taxii_collections ("
	" id TEXT PRIMARY KEY,"
	" alias TEXT UNIQUE,"
	" title TEXT NOT NULL,"
	" description TEXT NOT NULL,"
	" created BIGINT NOT NULL);"
	"CREATE TABLE taxii_access ("
	" collection_id TEXT NOT NULL REFERENCES taxii_collections(id),"
	" role TEXT NOT NULL,"
	" org_id BIGINT REFERENCES orgs(id),"
	" can_read BIGINT NOT NULL,"
	" can_write BIGINT NOT NULL);"
	"CREATE INDEX taxii_access_collection ON taxii_access (collection_id);"
	"CREATE TABLE taxii_status ("
	" id @ID@,"
	" status_id TEXT NOT NULL UNIQUE,"
	" collection_id TEXT NOT NULL REFERENCES taxii_collections(id),"
	" user_id BIGINT REFERENCES users(id),"
	" total BIGINT NOT NULL,"
	" success BIGINT NOT NULL,"
	" failure BIGINT NOT NULL,"
	" failures TEXT NOT NULL,"
	" created BIGINT NOT NULL);"
	"CREATE TABLE stix_objects ("
	" seq @ID@,"
	" batch_id BIGINT NOT NULL REFERENCES taxii_status(id),"
	" collection_id TEXT NOT NULL REFERENCES taxii_collections(id),"
	" stix_id TEXT NOT NULL,"
	" type TEXT NOT NULL,"
	" version TEXT NOT NULL,"
	" version_us BIGINT NOT NULL,"
	" spec_version TEXT NOT NULL,"
	" date_added BIGINT NOT NULL,"
	" tlp BIGINT NOT NULL,"
	" org_id BIGINT,"
	" body TEXT NOT NULL,"
	" UNIQUE (collection_id, stix_id, version_us));"
	"CREATE INDEX stix_objects_added ON stix_objects (collection_id, date_added, seq);"
	"CREATE INDEX stix_objects_id ON stix_objects (collection_id, stix_id);"
	"CREATE INDEX stix_objects_batch ON stix_objects (batch_id);"
	"INSERT INTO taxii_collections (id, alias, title, description, created) VALUES"
	" ('6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0001', 'warnings', 'Warnings',"
	"  'Warnings and reports the office sends to operators', 0),"
	" ('6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0002', 'indicators', 'Indicators',"
	"  'Indicators of attack servers, for sensors, firewalls and operators', 0),"
	" ('6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0003', 'sightings', 'Sightings',"
	"  'Sightings of indicators by the office''s sensors', 0);"
	"INSERT INTO taxii_access (collection_id, role, org_id, can_read, can_write) VALUES"
	" ('6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0001', 'analyst', NULL, 1, 1),"
	" ('6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0001', 'operator', NULL, 1, 0),"
	" ('6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0001', 'regulator', NULL, 1, 0),"
	" ('6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0001', 'overseer', NULL, 1, 0),"
	" ('6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0002', 'analyst', NULL, 1, 1),"
	" ('6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0002', 'sensor', NULL, 1, 0),"
	" ('6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0002', 'operator', NULL, 1, 0),"
	" ('6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0003', 'analyst', NULL, 1, 0),"
	" ('6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0003', 'sensor', NULL, 0, 1);";

/* v14: how far the sightings have read the alerts (src/tower/sightings.c):
 * the last alert id turned into sightings, moved in the same transaction
 * as the sightings it made, so that a restart or another tower on the
 * store neither skips nor repeats one. */
static const char schema_v14[] =
	"CREATE TABLE taxii_state ("
	" name TEXT PRIMARY KEY,"
	" value BIGINT NOT NULL);"
	"INSERT INTO taxii_state (name, value) VALUES ('sightings_after', 0);";

/* v15: deletions from TAXII collections (src/tower/taxii.c). An object
 * deleted stays stored, as the log's entries fingerprinted it; a deletion
 * is a row of its own, in the log, that every read leaves it out by. */
static const char schema_v15[] =
	"CREATE TABLE stix_deletions ("
	" id @ID@,"
	" collection_id TEXT NOT NULL REFERENCES taxii_collections(id),"
	" stix_id TEXT NOT NULL,"
	" version_us BIGINT,"
	" user_id BIGINT REFERENCES users(id),"
	" created BIGINT NOT NULL);"
	"CREATE INDEX stix_deletions_of ON stix_deletions (collection_id, stix_id);";

/* v16: people in a browser (issue 15, src/tower/login.c). A user's
 * password, as an Argon2id string (libsodium's crypto_pwhash_str: the
 * salt and the cost in it); the language and time zone its pages are
 * shown in; and browser sessions, which are tokens given in a cookie:
 * only a hash of each is kept, like an API token's, with the end of its
 * life and when it was ended (logout, a password change). Each table
 * apart, so that the rows of users and tokens the log already hashed
 * keep their columns. */
static const char schema_v16[] =
	"CREATE TABLE user_passwords ("
	" user_id BIGINT PRIMARY KEY REFERENCES users(id),"
	" hash TEXT NOT NULL,"
	" changed BIGINT NOT NULL);"
	"CREATE TABLE user_preferences ("
	" user_id BIGINT PRIMARY KEY REFERENCES users(id),"
	" language TEXT NOT NULL,"
	" time_zone TEXT NOT NULL,"
	" changed BIGINT NOT NULL);"
	"CREATE TABLE sessions ("
	" id @ID@,"
	" user_id BIGINT NOT NULL REFERENCES users(id),"
	" hash TEXT NOT NULL UNIQUE,"
	" created BIGINT NOT NULL,"
	" expires BIGINT NOT NULL,"
	" ended BIGINT);"
	"CREATE INDEX sessions_user ON sessions (user_id);";

/* v17: alerts received per hour and organisation hit (0: none), counted
 * in the transaction that stores them (src/tower/alerts.c), for the
 * dashboard's overview: what it draws costs a few rows, not a scan of
 * every alert in the window. Derived, like the sources' summary: not in
 * the log, and made again from the alerts by this migration. */
static const char schema_v17[] =
	"CREATE TABLE alert_hours ("
	" hour BIGINT NOT NULL,"
	" org_id BIGINT NOT NULL,"
	" n BIGINT NOT NULL,"
	" PRIMARY KEY (hour, org_id));"
	"INSERT INTO alert_hours (hour, org_id, n) SELECT (received / 3600000000) * 3600000000,"
	" COALESCE(asset_org_id, 0), COUNT(*) FROM alerts WHERE received IS NOT NULL"
	" GROUP BY (received / 3600000000) * 3600000000, COALESCE(asset_org_id, 0);";

/* v18: TAXII collections and their access rules as records of the
 * transparency log (src/tower/collections.c). A collection's id is a
 * UUID, and the log keys rows by number: num is the collection's, given
 * when the log takes it in (when it is made through the tower, or, for
 * one made before, at the first start of a tower that knows this
 * version), NULL until then. An access rule carries its collection's
 * number, the key of the set of rules the log fingerprints as one. */
static const char schema_v18[] =
	"ALTER TABLE taxii_collections ADD COLUMN num BIGINT;"
	"CREATE UNIQUE INDEX taxii_collections_num ON taxii_collections (num);"
	"ALTER TABLE taxii_access ADD COLUMN collection_num BIGINT;"
	"CREATE INDEX taxii_access_num ON taxii_access (collection_num);";

/* v19: client certificates (issue 15, src/http/tls.c, docs/tower.md).
 * A sensor user may be bound to one certificate, by the SHA-256 of its
 * DER; a request over HTTPS with that certificate, verified against the
 * tower's client CA, is the sensor's without a token. The row of a user
 * unbound stays, its fingerprint NULL: the log names every binding. */
static const char schema_v19[] =
	"CREATE TABLE user_certificates ("
	" user_id BIGINT PRIMARY KEY REFERENCES users(id),"
	" fingerprint TEXT UNIQUE,"
	" updated BIGINT NOT NULL);";

/* v20: background jobs that several towers on one store run once per
 * interval (store_job_take, src/store/store_job.c): which tower ran each
 * last, when that run started and ended, how many runs ended. */
static const char schema_v20[] =
	"CREATE TABLE jobs ("
	" name TEXT PRIMARY KEY,"
	" tower TEXT NOT NULL,"
	" started BIGINT NOT NULL,"
	" ended BIGINT,"
	" runs BIGINT NOT NULL);";

/* v21: Idempotency-Key on every write that creates or decides
 * (src/tower/idem.c). A key row written with its change names the record;
 * a replay answers it as it now stands when no answer was kept. Rows go
 * after a day, by created. */
static const char schema_v21[] =
	"ALTER TABLE idempotency ADD COLUMN record_id BIGINT;"
	"CREATE INDEX idempotency_created ON idempotency (created);";

/* v22: the alerts that say their source was forged (attackers '', a flood
 * from spoofed addresses), by source. A case against one address is
 * refused when any exist (src/tower/cases.c); without an index that check
 * read every alert, inside the proposal's write transaction, so proposing
 * took longer as the store grew and held ingest back meanwhile (on SQLite
 * a quarter of a second at 736,000 alerts). Only forged alerts enter it,
 * so ingest of the others, which schema v2 kept index-free, pays nothing. */
static const char schema_v22[] = "CREATE INDEX alerts_forged ON alerts (src_ip) WHERE attackers = '';";

/* v23: each sensor's alert batches by time, for the overview's sensors
 * (src/tower/overview.c): their last batch, and their batches and alerts
 * over the period, read from this index instead of every batch ever
 * stored. One entry a batch, not an alert. */
static const char schema_v23[] =
	"CREATE INDEX alert_batches_sensor ON alert_batches (sensor_id, received);";

/* v24: the overview's counts of reports by organisation and stage and of
 * cases by state, kept by the writes that change them (src/tower/
 * overview.c, tw_count_report and tw_count_case) instead of counted from
 * every report and case on each read; and the reports waiting for a
 * stage, by its deadline, so that counting the late ones reads only those
 * still in time (overview.c says why). */
static const char schema_v24[] =
	"CREATE TABLE report_counts ("
	" org_id BIGINT NOT NULL,"
	" stage TEXT NOT NULL,"
	" n BIGINT NOT NULL,"
	" PRIMARY KEY (org_id, stage));"
	"INSERT INTO report_counts (org_id, stage, n) SELECT org_id, stage, COUNT(*) FROM reports "
	"GROUP BY org_id, stage;"
	"CREATE TABLE case_counts ("
	" state TEXT PRIMARY KEY,"
	" n BIGINT NOT NULL);"
	"INSERT INTO case_counts (state, n) SELECT state, COUNT(*) FROM cases GROUP BY state;"
	"CREATE INDEX reports_due_detailed ON reports (due_detailed) WHERE stage = 'prompt';"
	"CREATE INDEX reports_due_final ON reports (due_final) WHERE stage = 'detailed';";

/* v25: the ids of the latest alerts credited to each source, kept by the
 * summary's passes (src/tower/rollup_agg.c), which a case against the
 * source cites as evidence instead of searching the alerts newest first
 * (an unbounded read for a source whose alerts are old, and blind to the
 * alerts that name it in evidence.attackers rather than as src_ip). */
static const char schema_v25[] = "ALTER TABLE source_stats ADD COLUMN recent_alerts TEXT;";

const struct store_migration store_migrations[] = {
	{ .version = 1, .name = "tower tables", .sql = schema_v1 },
	{ .version = 2, .name = "alerts without the per-source index", .sql = schema_v2 },
	{ .version = 3, .name = "report indicators", .sql = schema_v3_sqlite,
	  .sql_sqlite = schema_v3_sqlite, .sql_pg = schema_v3_pg },
	{ .version = 4, .name = "alerts without a foreign key on PostgreSQL",
	  .sql = schema_v4_sqlite, .sql_sqlite = schema_v4_sqlite, .sql_pg = schema_v4_pg },
	{ .version = 5, .name = "attack-source summary", .sql = schema_v5 },
	{ .version = 6, .name = "attack sources in ranking order", .sql = schema_v6 },
	{ .version = 7, .name = "attack sources by the shared ranking", .sql = schema_v7 },
	{ .version = 8, .name = "asset address ranges; alerts marked with the asset hit",
	  .sql = schema_v8 },
	{ .version = 9, .name = "the transparency log", .sql = schema_v9 },
	{ .version = 10, .name = "alert batches; witnesses' cosignatures", .sql = schema_v10 },
	{ .version = 11, .name = "countermeasure cases under oversight", .sql = schema_v11 },
	{ .version = 12, .name = "monitoring authorizations", .sql = schema_v12 },
	{ .version = 13, .name = "TAXII 2.1 collections of STIX objects", .sql = schema_v13 },
	{ .version = 14, .name = "sightings from alerts", .sql = schema_v14 },
	{ .version = 15, .name = "deletions from TAXII collections", .sql = schema_v15 },
	{ .version = 16, .name = "passwords, preferences and browser sessions", .sql = schema_v16 },
	{ .version = 17, .name = "alerts per hour, for the overview", .sql = schema_v17 },
	{ .version = 18, .name = "TAXII collections and access rules in the log", .sql = schema_v18 },
	{ .version = 19, .name = "sensors' client certificates", .sql = schema_v19 },
	{ .version = 20, .name = "background jobs run once across towers", .sql = schema_v20 },
	{ .version = 21, .name = "idempotency keys name their record", .sql = schema_v21 },
	{ .version = 22, .name = "forged alerts by source", .sql = schema_v22 },
	{ .version = 23, .name = "alert batches by sensor and time", .sql = schema_v23 },
	{ .version = 24, .name = "running counts of reports and cases; reports by deadline",
	  .sql = schema_v24 },
	{ .version = 25, .name = "the latest alerts credited to each source", .sql = schema_v25 },
};

const size_t store_nmigrations = sizeof(store_migrations) / sizeof(store_migrations[0]);
