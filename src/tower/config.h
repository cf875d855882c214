/* config.h - the tower's configuration file (INI):
 *
 *   [tower]      listen, store, threads, max_body, rate, burst,
 *                max_connections, per_ip_connections,
 *                header_timeout, body_timeout, idle_timeout
 *   [tls]        cert, key, client_ca, priorities
 *   [log]        origin, key, checkpoint_interval, witnesses
 *   [sectors]    list = electricity, gas, ...
 *   [deadlines]  prompt = 24h, detailed = 72h, final = 30d
 *   [retention]  keep, interval
 *   [monitoring] max_duration, two_overseers_after
 *   [sessions]   lifetime
 *   [web]        root
 *   [partners]   NAME = URL TOKEN_FILE [INTERVAL], one a partner
 *   [cases]      min_duration, max_duration, two_overseers_after, max_prefix4, max_prefix6,
 *                one_prefix4, one_prefix6, never_block, lab_allow
 *   [stream]     enable, urls, name, prefix, durable, filter, replicas, batch,
 *                ack_wait (docs/tower.md; the stream consumer, ingest.c)
 *   [countermeasures]  dir, rpz_zone, sinkhole, nameserver, office,
 *                bgp_local_as, bgp_router_id, bgp_neighbor, bgp_neighbor_as,
 *                rtbh_next_hop4, rtbh_next_hop6
 *
 * Values not given keep their defaults (tower_config_defaults); command
 * line options override the file. */
#ifndef YAGURA_TOWER_CONFIG_H
#define YAGURA_TOWER_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "tlog/tlog.h"
#include "tower/tower.h"

/* Reads path into cfg. Returns 0, or YG_EIO / YG_EINVAL with
 * "FILE:LINE: what is wrong" in err. Strings it sets belong to cfg
 * (tower_config_free). */
int tower_config_load(const char *path, struct tower_config *cfg, char *err,
		      size_t errlen) YG_MUST_CHECK;

/* Prints cfg in the file's own form, normalized (yagura tower --check). */
void tower_config_print(FILE *out, const struct tower_config *cfg);

/* "24h", "3d", "90m", "45s" or plain seconds, to seconds; -1 if invalid. */
int config_parse_duration(const char *s, int64_t *secs);

/* The witnesses' verifier keys in list ("vkey, vkey", as [log] witnesses
 * takes them): each a cosignature key (type 0x04), none given twice, at
 * most TOWER_MAX_WITNESSES, into out[0..*n-1]. list NULL: none. Returns 0,
 * or -1 with what is wrong in err. Pure; thread-safe. */
int config_witnesses(const char *list, struct tlog_verifier out[TOWER_MAX_WITNESSES], size_t *n,
		     char *err, size_t errlen);

#endif
