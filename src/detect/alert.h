/* alert.h - what a detector reports: the signature that fired, who and
 * whom, and the evidence behind it. Plain values; detectors fill one on
 * the stack and hand it to the alert callback, which copies what it keeps. */
#ifndef YAGURA_DETECT_ALERT_H
#define YAGURA_DETECT_ALERT_H

#include <stdint.h>

#include "base/ipaddr.h"

struct signature {
	uint32_t sid;
	const char *msg;      /* "YAGURA SCAN horizontal TCP SYN scan" */
	const char *category; /* Suricata classtype wording */
	uint8_t severity;     /* 1 (high) .. 3 (low), as in Suricata */
	const char *detector; /* "scan", "dos", ... */
};

/* Who the attackers are in an alert. */
enum alert_attackers {
	ALERT_ATTACKER_SRC = 0,   /* src is the attacker, dst a victim */
	ALERT_ATTACKER_DST,       /* dst is the attacker (e.g. a known C2 server), src a victim */
	ALERT_ATTACKER_SAMPLES,   /* the sampled addresses are attackers (a flood's real sources) */
	ALERT_ATTACKER_NONE,      /* no attacker named: e.g. a flood from forged sources */
	ALERT_ATTACKER_REFLECTORS /* the sampled addresses are real servers abused as reflectors */
};

enum alert_sample_kind { ALERT_SAMPLES_NONE = 0, ALERT_SAMPLES_ADDR, ALERT_SAMPLES_PORT };

#define ALERT_MAX_NUMS 8
#define ALERT_MAX_STRS 6
#define ALERT_MAX_SAMPLES 8
#define ALERT_STR_MAX 256

struct alert {
	const struct signature *sig;
	uint64_t ts_us;
	uint64_t flow_id; /* 0 when the alert is not about one flow */
	struct ip_addr src, dst;
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t has_ports;
	uint8_t attackers; /* enum alert_attackers */
	uint8_t spoofed;   /* the sources look forged (the reason is in strs) */
	/* Evidence. */
	uint64_t window_start_us, window_end_us; /* 0 when not windowed */
	uint64_t pkts, bytes;                    /* attack traffic seen, when known */
	uint64_t prior_pkts, prior_bytes;        /* escalations: what earlier alerts of the
						    same window already reported */
	uint64_t prior_sessions;                 /* escalations of brute force: sessions reported */
	uint8_t escalation;                      /* 0 for a first alert, then 1, 2, ... */
	uint8_t n_nums;
	struct {
		const char *key;
		uint64_t v;
	} nums[ALERT_MAX_NUMS];
	uint8_t n_strs;
	struct {
		const char *key;
		char v[ALERT_STR_MAX];
	} strs[ALERT_MAX_STRS];
	const char *samples_key; /* "targets", "ports", "sources", "reflectors" */
	uint8_t samples_kind;    /* enum alert_sample_kind */
	uint8_t n_samples;
	struct ip_addr sample_addr[ALERT_MAX_SAMPLES];
	uint16_t sample_port[ALERT_MAX_SAMPLES];
	uint64_t sample_pkts[ALERT_MAX_SAMPLES]; /* what each sampled source sent, 0: unknown */
};

/* Evidence helpers: they ignore what does not fit. */
void alert_num(struct alert *a, const char *key, uint64_t v);
void alert_str(struct alert *a, const char *key, const char *v, size_t len);

typedef void (*alert_fn)(void *ctx, const struct alert *a);

#endif
