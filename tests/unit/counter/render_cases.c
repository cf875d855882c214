/* render_cases - a test helper: reads a set of cases and a configuration
 * from a JSON file and writes the countermeasure files with cm_write_dir,
 * as the tower does on every change of the active set.
 *
 *   render_cases FILE DIR
 *
 * FILE: {"serial": N, "now": US (optional, default the clock),
 *        "config": {"rpz_zone": ..., "bgp_local_as": N, ...},
 *        "cases": [{"id": N, "action": "sinkhole", "target": "...",
 *                   "proto": "tcp", "ports": [80], "approved": US,
 *                   "expires": US, "justification": "...",
 *                   "contact": "...", "evidence": ["alert:1"]}]}
 * Exit codes: 0 written, 1 cm_write_dir refused or failed (one line on
 * stderr), 2 usage or unreadable FILE. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "counter/counter.h"

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int64_t num(json_t *o, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(o, key));
}

int main(int argc, char **argv)
{
	json_error_t jerr;
	json_t *root, *cfgj, *cases;
	struct cm_config cfg = {0};
	struct cm_case *c;
	uint16_t *ports;
	const char **ev;
	char err[512];
	struct timeval tv;
	int64_t now;
	size_t n, i, j;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: render_cases FILE DIR\n");
		return 2;
	}
	root = json_load_file(argv[1], 0, &jerr);
	if (root == NULL) {
		fprintf(stderr, "render_cases: %s:%d: %s\n", argv[1], jerr.line, jerr.text);
		return 2;
	}
	cfgj = json_object_get(root, "config");
	cfg.rpz_zone = str(cfgj, "rpz_zone");
	cfg.sinkhole = str(cfgj, "sinkhole");
	cfg.nameserver = str(cfgj, "nameserver");
	cfg.rpz_ttl = (uint32_t)num(cfgj, "rpz_ttl");
	cfg.nft_table = str(cfgj, "nft_table");
	cfg.bgp_local_as = (uint32_t)num(cfgj, "bgp_local_as");
	cfg.bgp_router_id = str(cfgj, "bgp_router_id");
	cfg.bgp_local_address = str(cfgj, "bgp_local_address");
	cfg.bgp_neighbor = str(cfgj, "bgp_neighbor");
	cfg.bgp_neighbor_as = (uint32_t)num(cfgj, "bgp_neighbor_as");
	cfg.bgp_multihop = (unsigned)num(cfgj, "bgp_multihop");
	cfg.rtbh_next_hop4 = str(cfgj, "rtbh_next_hop4");
	cfg.rtbh_next_hop6 = str(cfgj, "rtbh_next_hop6");
	cfg.office = str(cfgj, "office");

	cases = json_object_get(root, "cases");
	n = json_array_size(cases);
	c = calloc(n ? n : 1, sizeof(*c));
	ports = calloc(n * CM_MAX_PORTS + 1, sizeof(*ports));
	ev = calloc(n * CM_MAX_EVIDENCE + 1, sizeof(*ev));
	if (c == NULL || ports == NULL || ev == NULL) {
		fprintf(stderr, "render_cases: out of memory\n");
		return 2;
	}
	for (i = 0; i < n; i++) {
		json_t *o = json_array_get(cases, i), *a;
		c[i].id = num(o, "id");
		if (cm_action_parse(str(o, "action"), &c[i].action) < 0) {
			fprintf(stderr, "render_cases: %s: case %zu: unknown action\n", argv[1], i);
			return 2;
		}
		c[i].target = str(o, "target");
		c[i].proto = str(o, "proto");
		c[i].approved = num(o, "approved");
		c[i].expires = num(o, "expires");
		c[i].justification = str(o, "justification");
		c[i].contact = str(o, "contact");
		a = json_object_get(o, "ports");
		c[i].ports = ports + i * CM_MAX_PORTS;
		for (j = 0; j < json_array_size(a) && j < CM_MAX_PORTS; j++)
			ports[i * CM_MAX_PORTS + j] =
			    (uint16_t)json_integer_value(json_array_get(a, j));
		c[i].nports = j;
		a = json_object_get(o, "evidence");
		c[i].evidence = ev + i * CM_MAX_EVIDENCE;
		for (j = 0; j < json_array_size(a) && j < CM_MAX_EVIDENCE; j++)
			ev[i * CM_MAX_EVIDENCE + j] = json_string_value(json_array_get(a, j));
		c[i].nevidence = j;
	}
	gettimeofday(&tv, NULL);
	now = json_object_get(root, "now") ? num(root, "now")
	                                   : (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	rc =
	    cm_write_dir(argv[2], c, n, (uint32_t)num(root, "serial"), now, &cfg, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "render_cases: %s\n", err);
	free(ev);
	free(ports);
	free(c);
	json_decref(root);
	return rc < 0 ? 1 : 0;
}
