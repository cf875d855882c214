/* sensor_conf.h - the sensor's configuration file (--config): INI, read
 * at start and again on SIGHUP.
 *
 *   [detect]
 *   scan.hosts = 20           ; any --detect parameter (--detect list)
 *   [ics]
 *   allow = 10.0.0.0/8, 192.0.2.10/32
 *   [intel]
 *   path = /etc/yagura/intel/ ; repeatable, or comma-separated
 *   [stream]                  ; alerts to NATS JetStream (docs/stream.md)
 *   url = nats://n1:4222, nats://n2:4222
 *   sector = electricity      ; subject tokens: PREFIX.SECTOR.SENSOR
 *   sensor = tokyo-1          ; default: the host name
 *   name = YAGURA_ALERTS      ; the stream, its subject prefix, replicas
 *   prefix = yagura.alerts    ; and limits, as it is created or updated
 *   replicas = 3
 *   max_age = 30d             ; s, m, h, d; 0: no limit
 *   max_bytes = 10G           ; K, M, G, T; 0: no limit
 *
 * [stream] is read at start only: a reload keeps the connection as it is.
 *
 * Comments start with ';' or '#', at the start of a line or after a
 * blank. What the command line says wins over the file. */
#ifndef YAGURA_SENSOR_SENSOR_CONF_H
#define YAGURA_SENSOR_SENSOR_CONF_H

#include <stddef.h>

#include "detect/detect.h"
#include "privacy/protect.h"
#include "sensor/sensor.h"
#include "stream/stream.h"

#define SENSOR_CONF_MAX_DETECT 128

/* What one file says, checked: every value parses. */
struct sensor_conf {
	char *detect[SENSOR_CONF_MAX_DETECT]; /* "name=value", in the file's order */
	int n_detect;
	char *ics_allow; /* [ics] allow as written; NULL: not set */
	char *intel[SENSOR_MAX_INTEL_PATHS];
	int n_intel;
	/* [stream]: NULL or 0 when not set */
	char *stream_url, *stream_sector, *stream_sensor, *stream_name, *stream_prefix;
	int stream_replicas;
	long long stream_max_age_s, stream_max_bytes;
	int stream_manage_none;		/* manage = no: only publish */
	int stream_flows;		/* flows = yes: flow records too */
	long long stream_flows_max_age_s; /* flows_max_age; 0: a day */
	struct stream_auth stream_auth; /* user, password_file, creds, ca, cert, key */
};

/* Reads path into a new *out. Returns 0; or SENSOR_INPUT when it cannot
 * be read, SENSOR_USAGE when a line is wrong (unknown section or key, a
 * value out of range), SENSOR_FATAL when out of memory, with one line in
 * err naming the file (and line). */
int sensor_conf_load(const char *path, struct sensor_conf **out, char *err, size_t errlen);

void sensor_conf_free(struct sensor_conf *c);

/* The detectors' configuration that file and command line make: the
 * defaults, then the file's [detect], then the command line's --detect
 * assignments (cli, n_cli). Their ICS allow-list: ics_cli when the command
 * line gave one (borrowed), else the file's, parsed into *ics_owned (the
 * caller frees it; NULL when there is none). Returns 0, or a negative
 * yg_err (out of memory) with *ics_owned NULL. */
int sensor_conf_detect(const struct sensor_conf *c, const char *const *cli, int n_cli,
		       const struct protect_set *ics_cli, struct detect_config *out,
		       struct protect_set **ics_owned);

#endif
