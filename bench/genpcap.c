/*
 * genpcap — a deterministic synthetic capture for bench/analyze.
 *
 *   genpcap [-n PACKETS] [-f FLOWS] [-s SEED] [-d SECONDS] [-a] [-t FILE] OUT.pcap
 *
 * Writes a classic pcap file (microsecond timestamps, LINKTYPE_ETHERNET) of
 * exactly PACKETS frames spread over FLOWS flows and about SECONDS of capture
 * time. The mix is meant to look like an edge link: TLS on 443 opening with a
 * real ClientHello (SNI, ALPN, supported_versions, signature_algorithms,
 * key_share), HTTP/1.1 on 80 with a Host header, rsync, refused SYNs, DNS over
 * UDP with compressed A/AAAA answers, NTP, syslog, WireGuard, ICMP echo; about
 * a tenth of the flows over IPv6 and one in a hundred 802.1Q-tagged. Packets per
 * flow follow a heavy tail (most flows short, a few carrying most packets),
 * and flows overlap in time as on a real link: the packets of all flows are
 * merged in time order through a heap keyed by each flow's next packet.
 *
 * The same arguments always produce the same file, byte for byte. IPv4 header,
 * TCP, UDP and ICMP checksums are valid; payloads past the protocol headers
 * are filler. Every service is one whose dissector in tshark accepts filler,
 * so that `tshark -z expert` finds nothing malformed. Addresses come from
 * 10.0.0.0/8 and fd00::/8 (clients) and the benchmarking ranges
 * 198.18.0.0/15 and 2001:db8::/32 (servers).
 *
 * With -a it also plants a fixed set of attacks, about 325,000 IPv4 packets
 * whatever -n says, merged in time order with the benign ones, which stay
 * the same bytes: scans (vertical, horizontal, ICMP and ACK sweeps, IP
 * protocol, empty UDP, slow, a single nmap probe), SYN, UDP and ICMP floods
 * from forged sources (drawn from public space outside every range used
 * here), SSH and RDP password guessing, a DNS tunnel, and IKE and BACnet
 * reflection. Attackers are in 203.0.113.0/24 and 192.0.2.0/24, reflectors
 * in 100.64.0.0/10, and victims are benign servers and clients. The timeline
 * is fixed, made for the default 300 s; the slow attacks run on to about
 * 5,630 s. -t writes what was planted, and where, as one JSON object (see
 * truth_write() and bench/README.md); without -a its lists are empty.
 *
 * Prints "packets N flows F bytes B" on stdout, and " planted P" after it
 * with -a; progress and errors on stderr.
 * Exit status: 0 on success, 1 on an I/O error, 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEF_PACKETS 5000000ULL
#define DEF_FLOWS   200000U
#define DEF_SEED    0x79616775726121ULL /* "yagura!" */
#define DEF_SECONDS 300U
#define EPOCH_SEC   1700000000ULL /* 2023-11-14 22:13:20 UTC */
#define OUTBUF_SIZE (16U << 20)
#define FRAME_MAX   1514U
#define FRAME_MIN   60U
#define REC_HDR     16U
#define FILLER_SIZE (64U << 10)
#define NSERVERS    5000U
#define RESOLVERS   2U /* server indices 0 and 1 */
#define NTP_SERVERS 4U /* server indices 2..5 */
#define SERVER_BASE 8U /* first server index of the web and other pools */

enum flow_kind {
	FK_TLS,
	FK_HTTP,
	FK_TCP,
	FK_SYNRST,
	FK_DNS,
	FK_NTP,
	FK_SYSLOG,
	FK_WG,
	FK_ICMP,
	FK_COUNT
};

/* Share of flows of each kind, in thousandths; sums to 1000. */
static const uint16_t kind_share[FK_COUNT] = {
    [FK_TLS] = 380, [FK_HTTP] = 80,   [FK_TCP] = 60, [FK_SYNRST] = 30, [FK_DNS] = 320,
    [FK_NTP] = 30,  [FK_SYSLOG] = 30, [FK_WG] = 30,  [FK_ICMP] = 40,
};

enum { DIR_C2S = 0, DIR_S2C = 1 };

enum {
	TH_FIN = 0x01,
	TH_SYN = 0x02,
	TH_RST = 0x04,
	TH_PSH = 0x08,
	TH_ACK = 0x10,
};

/* xoshiro256** seeded through splitmix64: fast, and the same everywhere. */
struct rng {
	uint64_t s[4];
};

/*
 * One flow's plan and progress. Everything a packet needs is derived from
 * these fields and the generator's single PRNG, consumed in time order, so
 * output depends on nothing but the arguments.
 */
struct gflow {
	uint64_t next_us; /* capture-relative time of the next packet */
	uint32_t total;   /* packets planned */
	uint32_t pos;     /* packets sent */
	uint32_t c_nxt;   /* TCP: next client sequence number */
	uint32_t s_nxt;   /* TCP: next server sequence number */
	uint32_t gap_us;  /* mean gap between packets of a burst */
	uint32_t rtt_us;
	uint32_t idle_us; /* TCP: idle time before the teardown */
	uint32_t client;
	uint32_t server;
	uint32_t label; /* IPv6 flow label */
	uint16_t cport;
	uint16_t sport;
	uint16_t id_c; /* IPv4 identification, per direction */
	uint16_t id_s;
	uint16_t vlan; /* 0: untagged */
	uint16_t aux;  /* DNS transaction id, ICMP echo identifier */
	uint8_t kind;
	uint8_t v6;
	uint8_t rst;      /* TCP: ends with RST instead of FIN */
	uint8_t tls13;    /* TLS: 1.3 ClientHello, else 1.2 */
	uint8_t bulk_dir; /* TCP: which side sends most data */
	uint8_t next_dir;
	uint8_t next_ack; /* TCP: next packet is a pure ACK */
	uint8_t prev_dir;
	uint8_t prev_data;
	uint32_t qname; /* DNS: index of the server whose name is asked for */
	uint8_t qtype;  /* DNS: 1 (A) or 28 (AAAA) */
	uint8_t edns;
};

struct gen {
	struct rng rng;
	int fd;
	const char *path;
	uint8_t *buf;
	size_t len;
	uint8_t *rec; /* frame being built: its pcap record header */
	uint8_t *ip;
	uint8_t *l4;
	uint64_t packets;
	uint64_t bytes;
	uint64_t now_us;
	uint8_t filler[FILLER_SIZE]; /* random bytes */
	uint8_t text[FILLER_SIZE];   /* printable words */
	struct rng arng;             /* planted attacks only */
	struct plant *plant;         /* NULL without -a */
};

static const char *const sub_words[] = {
    "www", "api", "cdn", "static", "img", "login", "mail", "update", "edge", "assets",
};
static const char *const site_words[] = {
    "kumo",  "sora",   "yama",    "kawa",     "mori",     "hoshi",   "tsuki",     "kaze",
    "umi",   "hana",   "tori",    "niwa",     "mizu",     "yuki",    "ame",       "sakura",
    "acme",  "globex", "initech", "hooli",    "vandelay", "tyrell",  "cyberdyne", "wonka",
    "stark", "wayne",  "oscorp",  "aperture", "nakatomi", "soylent", "gringotts", "monarch",
};
static const char *const tlds[] = {"com", "net", "org", "io", "jp", "de", "dev", "co.uk"};
static const char *const user_agents[] = {
    "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Safari/537.36",
    "curl/7.88.1",
    "Debian APT-HTTP/1.3 (2.6.1)",
};
static const char *const paths[] = {
    "/",
    "/index.html",
    "/static/app.js",
    "/images/logo.png",
    "/api/v1/status",
    "/debian/dists/bookworm/InRelease",
    "/favicon.ico",
    "/download/file.bin",
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n); n > 0. The bias for n far below 2^32 does not matter here. */
static inline uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in (0, 1]: safe to take the logarithm of. */
static inline double rng_unit(struct rng *r)
{
	return (double)((rng_next(r) >> 11) + 1) * 0x1.0p-53;
}

static inline uint32_t rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
	return lo + rng_below(r, hi - lo + 1);
}

static double rng_loguniform(struct rng *r, double lo, double hi)
{
	return exp(log(lo) + rng_unit(r) * (log(hi) - log(lo)));
}

static uint32_t rng_exp_us(struct rng *r, uint32_t mean_us)
{
	double v = -log(rng_unit(r)) * (double)mean_us;

	return v > 4e9 ? 4000000000U : (uint32_t)v + 1;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void put32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/*
 * Internet checksum, summed in native byte order (RFC 1071 §2(B)): the folded
 * result, stored with memcpy, is right on either endianness. Blocks added in
 * turn must all have even length except the last.
 */
static uint64_t csum_add(uint64_t acc, const uint8_t *p, size_t len)
{
	uint32_t w;
	uint16_t h;

	for (; len >= 4; p += 4, len -= 4) {
		memcpy(&w, p, 4);
		acc += w;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		acc += h;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = {p[0], 0};

		memcpy(&h, last, 2);
		acc += h;
	}
	return acc;
}

static void csum_store(uint8_t *p, uint64_t acc)
{
	uint16_t v;

	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	v = (uint16_t)~acc;
	memcpy(p, &v, 2);
}

/* ------------------------------------------------------------------ */
/* A bounded byte writer for building payloads in place.               */

struct wr {
	uint8_t *p;
	size_t n;
};

static inline void w8(struct wr *w, uint8_t v)
{
	w->p[w->n++] = v;
}

static inline void w16(struct wr *w, uint16_t v)
{
	put16(w->p + w->n, v);
	w->n += 2;
}

static inline void w32(struct wr *w, uint32_t v)
{
	put32(w->p + w->n, v);
	w->n += 4;
}

static inline void wmem(struct wr *w, const void *src, size_t len)
{
	memcpy(w->p + w->n, src, len);
	w->n += len;
}

static inline void wstr(struct wr *w, const char *s)
{
	wmem(w, s, strlen(s));
}

static void wrand(struct wr *w, struct rng *r, size_t len)
{
	while (len) {
		uint64_t v = rng_next(r);
		size_t k = len < 8 ? len : 8;

		memcpy(w->p + w->n, &v, k);
		w->n += k;
		len -= k;
	}
}

/* Reserve a length field of 1, 2 or 3 bytes; wlen_end() fills it in. */
static size_t wlen_begin(struct wr *w, size_t width)
{
	size_t at = w->n;

	w->n += width;
	return at;
}

static void wlen_end(struct wr *w, size_t at, size_t width)
{
	size_t v = w->n - at - width;

	for (size_t i = 0; i < width; i++)
		w->p[at + i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

/* ------------------------------------------------------------------ */
/* Addresses and names.                                                */

static void client_v4(uint32_t c, uint8_t out[4])
{
	out[0] = 10;
	out[1] = (uint8_t)(1 + c / 64000);
	out[2] = (uint8_t)((c / 250) % 256);
	out[3] = (uint8_t)(1 + c % 250);
}

static void server_v4(uint32_t s, uint8_t out[4])
{
	out[0] = 198;
	out[1] = (uint8_t)(18 + (s / 64000) % 2);
	out[2] = (uint8_t)((s / 250) % 256);
	out[3] = (uint8_t)(1 + s % 250);
}

static void client_v6(uint32_t c, uint8_t out[16])
{
	static const uint8_t pfx[8] = {0xfd, 0x00, 0x79, 0x61, 0x67, 0x75, 0x00, 0x01};

	memcpy(out, pfx, 8);
	put32(out + 8, 0x02000000U | (c >> 16));
	put32(out + 12, 0x00fe0000U | (c & 0xffff));
}

static void server_v6(uint32_t s, uint8_t out[16])
{
	static const uint8_t pfx[8] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x53, 0x00, 0x00};

	memcpy(out, pfx, 8);
	put32(out + 8, 0);
	put32(out + 12, 0x10000U + s);
}

/* The DNS name a server answers to, as a dotted string; returns its length. */
static size_t server_name(uint32_t s, char *out, size_t cap)
{
	size_t nsite = sizeof(site_words) / sizeof(site_words[0]);
	const char *sub = sub_words[(s / 3) % (sizeof(sub_words) / sizeof(sub_words[0]))];
	const char *site = site_words[s % nsite];
	const char *tld = tlds[(s / 7) % (sizeof(tlds) / sizeof(tlds[0]))];
	int n;

	if (s < nsite)
		n = snprintf(out, cap, "%s.%s.%s", sub, site, tld);
	else
		n = snprintf(out, cap, "%s.%s%u.%s", sub, site, (unsigned)(s / nsite), tld);
	return n < 0 ? 0 : (size_t)n;
}

/* Popular servers get most flows: index skewed towards the low end. */
static uint32_t pick_server(struct rng *r)
{
	double u = rng_unit(r);

	return SERVER_BASE + (uint32_t)((NSERVERS - SERVER_BASE - 1) * u * u * u);
}

/* ------------------------------------------------------------------ */
/* Output.                                                             */

static int out_flush(struct gen *g)
{
	size_t off = 0;

	while (off < g->len) {
		ssize_t n = write(g->fd, g->buf + off, g->len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "genpcap: %s: write: %s\n", g->path, strerror(errno));
			return -1;
		}
		off += (size_t)n;
	}
	g->len = 0;
	return 0;
}

static int out_file_header(struct gen *g)
{
	uint8_t *h = g->buf + g->len;

	put32le(h, 0xa1b2c3d4U);
	h[4] = 2, h[5] = 0; /* version 2.4, little-endian */
	h[6] = 4, h[7] = 0;
	put32le(h + 8, 0);      /* thiszone */
	put32le(h + 12, 0);     /* sigfigs */
	put32le(h + 16, 65535); /* snaplen */
	put32le(h + 20, 1);     /* LINKTYPE_ETHERNET */
	g->len += 24;
	return 0;
}

/*
 * Start a frame of flow f going in direction dir: writes the Ethernet, VLAN
 * and IP headers (lengths and checksums left for frame_end()) and returns
 * where the transport header goes. The caller must have room for a frame:
 * gen_step() flushes before each packet.
 */
static uint8_t *frame_begin(struct gen *g, struct gflow *f, int dir)
{
	static const uint8_t gw_mac[6] = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x01};
	uint8_t cmac[6] = {0x02, 0x42, 0x0a, 0, 0, 0};
	uint8_t *e = g->buf + g->len + REC_HDR;
	uint8_t *p;

	g->rec = g->buf + g->len;
	cmac[3] = (uint8_t)(f->client >> 16);
	cmac[4] = (uint8_t)(f->client >> 8);
	cmac[5] = (uint8_t)f->client;
	memcpy(e, dir == DIR_C2S ? gw_mac : cmac, 6);
	memcpy(e + 6, dir == DIR_C2S ? cmac : gw_mac, 6);
	p = e + 12;
	if (f->vlan) {
		put16(p, 0x8100);
		put16(p + 2, f->vlan);
		p += 4;
	}
	put16(p, f->v6 ? 0x86dd : 0x0800);
	p += 2;
	g->ip = p;
	if (f->v6) {
		uint8_t *src = p + 8, *dst = p + 24;

		put32(p, 0x60000000U | (f->label ^ (dir ? 0x5a5a5U : 0)));
		p[7] = dir == DIR_C2S ? 64 : (uint8_t)(50 + f->server % 12);
		client_v6(f->client, dir == DIR_C2S ? src : dst);
		server_v6(f->server, dir == DIR_C2S ? dst : src);
		g->l4 = p + 40;
	} else {
		uint8_t *src = p + 12, *dst = p + 16;
		uint16_t *id = dir == DIR_C2S ? &f->id_c : &f->id_s;

		p[0] = 0x45;
		p[1] = 0;
		put16(p + 4, (*id)++);
		put16(p + 6, 0x4000); /* DF */
		p[8] = dir == DIR_C2S ? 64 : (uint8_t)(50 + f->server % 12);
		client_v4(f->client, dir == DIR_C2S ? src : dst);
		server_v4(f->server, dir == DIR_C2S ? dst : src);
		g->l4 = p + 20;
	}
	return g->l4;
}

/*
 * Finish the frame begun by frame_begin(): IP lengths and checksums, the
 * transport checksum, padding to the Ethernet minimum, the pcap record
 * header. Consumes the frame into the output buffer.
 */
static void frame_end(struct gen *g, struct gflow *f, uint8_t proto, size_t l4len)
{
	uint8_t *ip = g->ip, *l4 = g->l4;
	uint8_t pseudo[8];
	uint64_t acc = 0;
	size_t csum_off, flen;
	uint64_t ts;

	if (f->v6) {
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = proto;
		if (proto != 58) {
			put32(pseudo, (uint32_t)l4len);
			put32(pseudo + 4, proto);
			acc = csum_add(csum_add(0, ip + 8, 32), pseudo, 8);
		}
	} else {
		put16(ip + 2, (uint16_t)(20 + l4len));
		ip[9] = proto;
		ip[10] = ip[11] = 0;
		csum_store(ip + 10, csum_add(0, ip, 20));
		if (proto != 1) {
			pseudo[0] = 0;
			pseudo[1] = proto;
			put16(pseudo + 2, (uint16_t)l4len);
			acc = csum_add(csum_add(0, ip + 12, 8), pseudo, 4);
		}
	}
	csum_off = proto == 6 ? 16 : proto == 17 ? 6 : 2;
	l4[csum_off] = l4[csum_off + 1] = 0;
	acc = csum_add(acc, l4, l4len);
	csum_store(l4 + csum_off, acc);
	if (proto == 17 && l4[6] == 0 && l4[7] == 0)
		l4[6] = l4[7] = 0xff;

	flen = (size_t)(l4 + l4len - (g->rec + REC_HDR));
	if (flen < FRAME_MIN) {
		memset(g->rec + REC_HDR + flen, 0, FRAME_MIN - flen);
		flen = FRAME_MIN;
	}
	ts = EPOCH_SEC * 1000000ULL + g->now_us;
	put32le(g->rec, (uint32_t)(ts / 1000000));
	put32le(g->rec + 4, (uint32_t)(ts % 1000000));
	put32le(g->rec + 8, (uint32_t)flen);
	put32le(g->rec + 12, (uint32_t)flen);
	g->len += REC_HDR + flen;
	g->packets++;
	g->bytes += flen;
}

/* Words from the name tables, space-separated: filler for text protocols. */
static void text_init(struct gen *g)
{
	size_t n = 0, nsite = sizeof(site_words) / sizeof(site_words[0]);

	while (n < FILLER_SIZE) {
		const char *wd = site_words[rng_below(&g->rng, (uint32_t)nsite)];
		size_t len = strlen(wd);

		if (len > FILLER_SIZE - n - 1)
			len = FILLER_SIZE - n - 1;
		memcpy(g->text + n, wd, len);
		n += len;
		g->text[n++] = ' ';
	}
}

static void fill(struct gen *g, uint8_t *p, size_t len)
{
	memcpy(p, g->filler + rng_below(&g->rng, FILLER_SIZE - FRAME_MAX), len);
}

/* ------------------------------------------------------------------ */
/* TCP.                                                                */

static size_t tcp_mss(const struct gflow *f)
{
	return FRAME_MAX - 14 - (f->vlan ? 4 : 0) - (f->v6 ? 40 : 20) - 20;
}

/* Write a TCP header at t; returns its length. SYNs carry Linux's options. */
static size_t tcp_header(struct gflow *f, uint8_t *t, int dir, uint8_t flags)
{
	static const uint8_t syn_opts[12] = {
	    0x02, 0x04, 0x05, 0xb4, /* MSS 1460, patched below */
	    0x01, 0x01, 0x04, 0x02, /* NOP NOP SACK_PERM */
	    0x01, 0x03, 0x03, 0x07, /* NOP WS 7 */
	};
	size_t hl = flags & TH_SYN ? 32 : 20;

	put16(t, dir == DIR_C2S ? f->cport : f->sport);
	put16(t + 2, dir == DIR_C2S ? f->sport : f->cport);
	put32(t + 4, dir == DIR_C2S ? f->c_nxt : f->s_nxt);
	put32(t + 8, flags & TH_ACK ? (dir == DIR_C2S ? f->s_nxt : f->c_nxt) : 0);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = flags;
	put16(t + 14, flags & TH_SYN ? 64240 : 2048);
	put16(t + 16, 0);
	put16(t + 18, 0);
	if (flags & TH_SYN) {
		memcpy(t + 20, syn_opts, sizeof(syn_opts));
		put16(t + 22, (uint16_t)tcp_mss(f));
	}
	return hl;
}

/* Emit one TCP segment whose payload (plen bytes) is already at l4 + 20. */
static void tcp_emit(struct gen *g, struct gflow *f, int dir, uint8_t flags, size_t plen)
{
	size_t hl = tcp_header(f, g->l4, dir, flags);

	frame_end(g, f, 6, hl + plen);
	if (dir == DIR_C2S)
		f->c_nxt += (uint32_t)plen + !!(flags & (TH_SYN | TH_FIN));
	else
		f->s_nxt += (uint32_t)plen + !!(flags & (TH_SYN | TH_FIN));
}

static size_t tls_client_hello(struct gen *g, const struct gflow *f, uint8_t *out)
{
	static const uint16_t suites13[] = {0x1301, 0x1302, 0x1303};
	static const uint16_t suites12[] = {0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
	                                    0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
	static const uint16_t sigalgs[] = {0x0403, 0x0804, 0x0401, 0x0503,
	                                   0x0805, 0x0501, 0x0806, 0x0601};
	static const uint16_t groups[] = {0x001d, 0x0017, 0x0018};
	struct wr w = {out, 0};
	char name[96];
	size_t nlen = server_name(f->server, name, sizeof(name));
	size_t rec, hs, l1, l2, l3, ext;

	w8(&w, 0x16);
	w16(&w, 0x0301);
	rec = wlen_begin(&w, 2);
	w8(&w, 0x01);
	hs = wlen_begin(&w, 3);
	w16(&w, 0x0303);
	wrand(&w, &g->rng, 32);
	if (f->tls13) {
		w8(&w, 32);
		wrand(&w, &g->rng, 32);
	} else {
		w8(&w, 0);
	}
	l1 = wlen_begin(&w, 2);
	if (f->tls13)
		for (size_t i = 0; i < sizeof(suites13) / sizeof(suites13[0]); i++)
			w16(&w, suites13[i]);
	for (size_t i = 0; i < sizeof(suites12) / sizeof(suites12[0]); i++)
		w16(&w, suites12[i]);
	wlen_end(&w, l1, 2);
	w8(&w, 1); /* compression methods: null */
	w8(&w, 0);
	ext = wlen_begin(&w, 2);

	w16(&w, 0x0000); /* server_name */
	l1 = wlen_begin(&w, 2);
	l2 = wlen_begin(&w, 2);
	w8(&w, 0); /* host_name */
	w16(&w, (uint16_t)nlen);
	wmem(&w, name, nlen);
	wlen_end(&w, l2, 2);
	wlen_end(&w, l1, 2);

	w16(&w, 0x0017); /* extended_master_secret */
	w16(&w, 0);
	w16(&w, 0xff01); /* renegotiation_info */
	w16(&w, 1);
	w8(&w, 0);

	w16(&w, 0x000a); /* supported_groups */
	l1 = wlen_begin(&w, 2);
	l2 = wlen_begin(&w, 2);
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		w16(&w, groups[i]);
	wlen_end(&w, l2, 2);
	wlen_end(&w, l1, 2);

	w16(&w, 0x000b); /* ec_point_formats: uncompressed */
	w16(&w, 2);
	w8(&w, 1);
	w8(&w, 0);
	w16(&w, 0x0023); /* session_ticket */
	w16(&w, 0);

	w16(&w, 0x0010); /* ALPN */
	l1 = wlen_begin(&w, 2);
	l2 = wlen_begin(&w, 2);
	w8(&w, 2);
	wstr(&w, "h2");
	w8(&w, 8);
	wstr(&w, "http/1.1");
	wlen_end(&w, l2, 2);
	wlen_end(&w, l1, 2);

	w16(&w, 0x0005); /* status_request: OCSP */
	w16(&w, 5);
	w8(&w, 1);
	w32(&w, 0);

	w16(&w, 0x000d); /* signature_algorithms */
	l1 = wlen_begin(&w, 2);
	l2 = wlen_begin(&w, 2);
	for (size_t i = 0; i < sizeof(sigalgs) / sizeof(sigalgs[0]); i++)
		w16(&w, sigalgs[i]);
	wlen_end(&w, l2, 2);
	wlen_end(&w, l1, 2);

	if (f->tls13) {
		w16(&w, 0x0033); /* key_share: x25519 */
		l1 = wlen_begin(&w, 2);
		l2 = wlen_begin(&w, 2);
		w16(&w, 0x001d);
		w16(&w, 32);
		wrand(&w, &g->rng, 32);
		wlen_end(&w, l2, 2);
		wlen_end(&w, l1, 2);

		w16(&w, 0x002d); /* psk_key_exchange_modes: psk_dhe_ke */
		w16(&w, 2);
		w8(&w, 1);
		w8(&w, 1);

		w16(&w, 0x002b); /* supported_versions */
		l1 = wlen_begin(&w, 2);
		l3 = wlen_begin(&w, 1);
		w16(&w, 0x0304);
		w16(&w, 0x0303);
		wlen_end(&w, l3, 1);
		wlen_end(&w, l1, 2);
	}
	wlen_end(&w, ext, 2);
	wlen_end(&w, hs, 3);
	wlen_end(&w, rec, 2);
	return w.n;
}

/* ServerHello, then (TLS 1.3) ChangeCipherSpec; returns bytes written. */
static size_t tls_server_hello(struct gen *g, const struct gflow *f, uint8_t *out)
{
	struct wr w = {out, 0};
	size_t rec, hs, ext, l1;

	w8(&w, 0x16);
	w16(&w, 0x0303);
	rec = wlen_begin(&w, 2);
	w8(&w, 0x02);
	hs = wlen_begin(&w, 3);
	w16(&w, 0x0303);
	wrand(&w, &g->rng, 32);
	w8(&w, 32);
	wrand(&w, &g->rng, 32);
	w16(&w, f->tls13 ? 0x1301 : 0xc02f);
	w8(&w, 0);
	ext = wlen_begin(&w, 2);
	if (f->tls13) {
		w16(&w, 0x002b);
		w16(&w, 2);
		w16(&w, 0x0304);
		w16(&w, 0x0033);
		l1 = wlen_begin(&w, 2);
		w16(&w, 0x001d);
		w16(&w, 32);
		wrand(&w, &g->rng, 32);
		wlen_end(&w, l1, 2);
	} else {
		w16(&w, 0xff01);
		w16(&w, 1);
		w8(&w, 0);
		w16(&w, 0x000b);
		w16(&w, 2);
		w8(&w, 1);
		w8(&w, 0);
		w16(&w, 0x0010);
		w16(&w, 5);
		w16(&w, 3);
		w8(&w, 2);
		wstr(&w, "h2");
	}
	wlen_end(&w, ext, 2);
	wlen_end(&w, hs, 3);
	wlen_end(&w, rec, 2);
	if (f->tls13) {
		w8(&w, 0x14);
		w16(&w, 0x0303);
		w16(&w, 1);
		w8(&w, 1);
	}
	return w.n;
}

/* One TLS application_data record of exactly len bytes (len >= 6). */
static void tls_app_data(struct gen *g, uint8_t *p, size_t len)
{
	p[0] = 0x17;
	put16(p + 1, 0x0303);
	put16(p + 3, (uint16_t)(len - 5));
	fill(g, p + 5, len - 5);
}

static size_t http_request(const struct gflow *f, struct rng *r, uint8_t *out, size_t cap)
{
	char name[96];
	int n;

	server_name(f->server, name, sizeof(name));
	n = snprintf((char *)out, cap,
	             "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n"
	             "Accept-Encoding: gzip, deflate\r\nConnection: close\r\n\r\n",
	             paths[rng_below(r, sizeof(paths) / sizeof(paths[0]))], name,
	             user_agents[rng_below(r, sizeof(user_agents) / sizeof(user_agents[0]))]);
	return n < 0 ? 0 : (size_t)n;
}

/* Response headers without a length: the body runs to the server's FIN. */
static size_t http_response_head(uint8_t *out, size_t cap)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
	                           "Content-Type: application/octet-stream\r\n"
	                           "Connection: close\r\n\r\n";
	size_t n = sizeof(head) - 1;

	if (n > cap)
		n = cap;
	memcpy(out, head, n);
	return n;
}

/* Payload size of a data segment: bulk senders fill most segments. */
static size_t tcp_data_len(struct gen *g, const struct gflow *f, int dir)
{
	size_t mss = tcp_mss(f);

	if (dir == f->bulk_dir)
		return rng_below(&g->rng, 10) < 7 ? mss : rng_range(&g->rng, 6, (uint32_t)mss);
	return rng_range(&g->rng, 6, 600);
}

/* The request: ClientHello, GET, or filler. */
static void tcp_request(struct gen *g, struct gflow *f)
{
	uint8_t *pl = frame_begin(g, f, DIR_C2S) + 20;
	size_t plen;

	if (f->kind == FK_TLS) {
		plen = tls_client_hello(g, f, pl);
	} else if (f->kind == FK_HTTP) {
		plen = http_request(f, &g->rng, pl, tcp_mss(f));
	} else {
		static const char hello[] = "@RSYNCD: 31.0 sha512 sha256 sha1 md5 md4\n";

		plen = sizeof(hello) - 1;
		memcpy(pl, hello, plen);
	}
	tcp_emit(g, f, DIR_C2S, TH_ACK | TH_PSH, plen);
}

/* A data segment (not the request) from dir, or a pure ACK. */
static void tcp_data(struct gen *g, struct gflow *f, int dir, int pure_ack)
{
	uint8_t *pl = frame_begin(g, f, dir) + 20;
	size_t plen = pure_ack ? 0 : tcp_data_len(g, f, dir);
	int first_reply = f->pos == 4;

	if (pure_ack) {
		tcp_emit(g, f, dir, TH_ACK, 0);
		return;
	}
	if (f->kind == FK_TLS) {
		size_t hello = first_reply ? tls_server_hello(g, f, pl) : 0;

		if (plen < hello)
			plen = hello;
		if (plen > hello && plen - hello < 6)
			plen = hello + 6;
		if (plen > hello)
			tls_app_data(g, pl + hello, plen - hello);
	} else if (f->kind == FK_HTTP && first_reply) {
		size_t head = http_response_head(pl, tcp_mss(f));

		if (plen < head)
			plen = head;
		fill(g, pl + head, plen - head);
	} else if (f->kind == FK_TCP && first_reply) {
		static const char hello[] = "@RSYNCD: 31.0 sha512 sha256 sha1 md5 md4\n";

		plen = sizeof(hello) - 1;
		memcpy(pl, hello, plen);
	} else {
		fill(g, pl, plen);
	}
	tcp_emit(g, f, dir, TH_ACK | TH_PSH, plen);
}

/*
 * Choose the packet after a middle one. The side with bulk data sends; the
 * other side acknowledges about every other segment and sometimes sends a
 * little data of its own (never for HTTP). Never two pure ACKs in a row: that
 * would be a duplicate ACK.
 */
static void tcp_plan_middle(struct gen *g, struct gflow *f)
{
	int b = f->bulk_dir, rcv = !b;
	int rcv_data = f->kind != FK_HTTP;
	uint32_t r = rng_below(&g->rng, 100);

	if (f->prev_dir == b && f->prev_data) {
		if (r < 40)
			f->next_dir = (uint8_t)rcv, f->next_ack = 1;
		else if (r < 50 && rcv_data)
			f->next_dir = (uint8_t)rcv, f->next_ack = 0;
		else
			f->next_dir = (uint8_t)b, f->next_ack = 0;
	} else {
		f->next_dir = (uint8_t)(rcv_data && r < 20 ? rcv : b);
		f->next_ack = 0;
	}
}

/* Send packet f->pos of a TCP flow and plan the next one; returns the gap. */
static uint32_t tcp_step(struct gen *g, struct gflow *f)
{
	uint32_t tail = f->rst ? 1 : 3;
	uint32_t mid_end = f->total - tail; /* first teardown packet */
	uint32_t pos = f->pos, next;
	int dir = DIR_C2S, data = 0;

	if (f->kind == FK_SYNRST) {
		frame_begin(g, f, pos ? DIR_S2C : DIR_C2S);
		if (pos == 0) {
			tcp_emit(g, f, DIR_C2S, TH_SYN, 0);
		} else {
			f->s_nxt = 0;
			tcp_emit(g, f, DIR_S2C, TH_RST | TH_ACK, 0);
		}
		return f->rtt_us;
	}

	if (pos == 0) {
		frame_begin(g, f, DIR_C2S);
		tcp_emit(g, f, DIR_C2S, TH_SYN, 0);
	} else if (pos == 1) {
		dir = DIR_S2C;
		frame_begin(g, f, dir);
		tcp_emit(g, f, dir, TH_SYN | TH_ACK, 0);
	} else if (pos == 2) {
		frame_begin(g, f, DIR_C2S);
		tcp_emit(g, f, DIR_C2S, TH_ACK, 0);
	} else if (pos == 3) {
		tcp_request(g, f);
		data = 1;
	} else if (pos < mid_end) {
		dir = pos == 4 ? DIR_S2C : f->next_dir;
		data = pos == 4 || !f->next_ack;
		tcp_data(g, f, dir, !data);
	} else if (f->rst) {
		frame_begin(g, f, DIR_C2S);
		tcp_emit(g, f, DIR_C2S, TH_RST | TH_ACK, 0);
	} else {
		uint32_t k = pos - mid_end;
		uint8_t flags = k == 2 ? TH_ACK : TH_FIN | TH_ACK;

		dir = k == 1 ? DIR_S2C : DIR_C2S;
		frame_begin(g, f, dir);
		tcp_emit(g, f, dir, flags, 0);
	}
	f->prev_dir = (uint8_t)dir;
	f->prev_data = (uint8_t)data;

	next = pos + 1;
	if (next == 1 || (next == 4))
		return f->rtt_us + (next == 4 ? rng_exp_us(&g->rng, 800) : 0);
	if (next == 2 || next == 3)
		return rng_range(&g->rng, 20, 300);
	if (next < mid_end) {
		tcp_plan_middle(g, f);
		if (f->next_ack)
			return rng_range(&g->rng, 20, 400);
		return rng_exp_us(&g->rng, f->gap_us);
	}
	if (next == mid_end)
		return f->idle_us + rng_exp_us(&g->rng, f->gap_us);
	return next - mid_end == 1 ? f->rtt_us : rng_range(&g->rng, 20, 300);
}

/* ------------------------------------------------------------------ */
/* UDP and ICMP.                                                       */

static uint8_t *udp_begin(struct gen *g, struct gflow *f, int dir)
{
	uint8_t *u = frame_begin(g, f, dir);

	put16(u, dir == DIR_C2S ? f->cport : f->sport);
	put16(u + 2, dir == DIR_C2S ? f->sport : f->cport);
	return u + 8;
}

static void udp_end(struct gen *g, struct gflow *f, size_t plen)
{
	put16(g->l4 + 4, (uint16_t)(8 + plen));
	frame_end(g, f, 17, 8 + plen);
}

/* Encode a dotted name as DNS labels. */
static void dns_name(struct wr *w, const char *name, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i == len || name[i] == '.') {
			w8(w, (uint8_t)(i - start));
			wmem(w, name + start, i - start);
			start = i + 1;
		}
	}
	w8(w, 0);
}

static void dns_opt(struct wr *w)
{
	w8(w, 0);
	w16(w, 41);
	w16(w, 1232);
	w32(w, 0);
	w16(w, 0);
}

/*
 * The query, then a response that points back into it: answer owners are
 * compression pointers to the question, and a CNAME's target ends in a
 * pointer to the question's parent domain.
 */
static void dns_step(struct gen *g, struct gflow *f)
{
	int dir = f->pos ? DIR_S2C : DIR_C2S;
	struct wr w = {udp_begin(g, f, dir), 0};
	uint32_t target = f->qname;
	char name[96];
	size_t nlen, sub_len;
	uint32_t r = rng_below(&g->rng, 100);
	int nx = dir == DIR_S2C && r < 3;
	int cname = dir == DIR_S2C && !nx && r < 40;
	uint32_t nans = nx ? 0 : rng_range(&g->rng, 1, 4);
	uint16_t owner = 0xc00c;

	nlen = server_name(target, name, sizeof(name));
	sub_len = strcspn(name, ".");

	w16(&w, f->aux);
	w16(&w, dir == DIR_C2S ? 0x0100 : nx ? 0x8183 : 0x8180);
	w16(&w, 1);
	w16(&w, (uint16_t)(dir == DIR_C2S || nx ? 0 : nans + (uint32_t)cname));
	w16(&w, 0);
	w16(&w, f->edns);
	dns_name(&w, name, nlen);
	w16(&w, f->qtype);
	w16(&w, 1);
	if (dir == DIR_S2C && !nx) {
		if (cname) {
			size_t rdlen;

			w16(&w, 0xc00c);
			w16(&w, 5);
			w16(&w, 1);
			w32(&w, 300);
			rdlen = wlen_begin(&w, 2);
			owner = (uint16_t)(0xc000 | w.n);
			w8(&w, 7);
			wmem(&w, "edge-", 5);
			w8(&w, (uint8_t)('a' + target % 26));
			w8(&w, (uint8_t)('0' + target % 10));
			w16(&w, (uint16_t)(0xc000 | (12 + 1 + sub_len))); /* parent domain */
			wlen_end(&w, rdlen, 2);
		}
		for (uint32_t i = 0; i < nans; i++) {
			uint8_t addr[16];

			w16(&w, owner);
			w16(&w, f->qtype);
			w16(&w, 1);
			w32(&w, 60 + target % 3600);
			if (f->qtype == 28) {
				server_v6(target + i * 2 * NSERVERS, addr);
				w16(&w, 16);
				wmem(&w, addr, 16);
			} else {
				server_v4((target + i * 2 * NSERVERS) % 128000, addr);
				w16(&w, 4);
				wmem(&w, addr, 4);
			}
		}
	}
	if (f->edns)
		dns_opt(&w);
	udp_end(g, f, w.n);
}

static void ntp_step(struct gen *g, struct gflow *f)
{
	int dir = f->pos ? DIR_S2C : DIR_C2S;
	uint8_t *p = udp_begin(g, f, dir);
	uint64_t us = EPOCH_SEC * 1000000ULL + g->now_us;
	uint32_t sec = (uint32_t)(us / 1000000 + 2208988800ULL);
	uint32_t frac = (uint32_t)((us % 1000000) * 4294967296ULL / 1000000);

	memset(p, 0, 48);
	p[0] = dir == DIR_C2S ? 0x23 : 0x24; /* v4, client / server */
	p[2] = 6;
	p[3] = 0xe9;
	put32(p + 40, sec);
	put32(p + 44, frac);
	if (dir == DIR_S2C) {
		p[1] = 2;
		put32(p + 4, 0x00000120);
		put32(p + 8, 0x00000340);
		server_v4(1000 + f->server, p + 12);
		put32(p + 16, sec - 64);
		put32(p + 24, sec); /* origin: the client's transmit time, near enough */
		put32(p + 32, sec);
		put32(p + 36, frac);
	}
	udp_end(g, f, 48);
}

/* One-way syslog lines (RFC 3164) from a client to its log host. */
static uint32_t syslog_step(struct gen *g, struct gflow *f)
{
	uint8_t *p = udp_begin(g, f, DIR_C2S);
	uint64_t sec = EPOCH_SEC + g->now_us / 1000000;
	size_t plen = rng_range(&g->rng, 60, 400);
	int n;

	n = snprintf((char *)p, plen, "<%u>Nov %2u %02u:%02u:%02u host%u app[%u]: ",
	             8 * (16 + f->client % 8) + rng_below(&g->rng, 8),
	             (unsigned)(14 + (sec - 1699920000) / 86400), (unsigned)(sec / 3600 % 24),
	             (unsigned)(sec / 60 % 60), (unsigned)(sec % 60), f->client, f->aux);
	if (n < 0 || (size_t)n >= plen)
		n = 0;
	memcpy(p + n, g->text + rng_below(&g->rng, FILLER_SIZE - FRAME_MAX), plen - (size_t)n);
	udp_end(g, f, plen);
	return rng_exp_us(&g->rng, f->gap_us);
}

/*
 * WireGuard: a handshake initiation and response, then transport data
 * messages (16-byte header, ciphertext a multiple of 16 bytes) both ways.
 */
static uint32_t wg_step(struct gen *g, struct gflow *f)
{
	int dir = f->pos == 0 ? DIR_C2S : f->pos == 1 ? DIR_S2C : (int)rng_below(&g->rng, 2);
	uint8_t *p = udp_begin(g, f, dir);
	uint32_t idx_c = f->label, idx_s = f->label ^ 0x9e3779b9U;
	size_t plen;

	if (f->pos < 2) {
		plen = f->pos ? 92 : 148;
		fill(g, p, plen);
		put32le(p, f->pos ? 2 : 1);
		put32le(p + 4, f->pos ? idx_s : idx_c);
		if (f->pos)
			put32le(p + 8, idx_c);
	} else {
		plen = 16 + 16 * (rng_below(&g->rng, 10) < 6 ? 88 : rng_range(&g->rng, 1, 88));
		fill(g, p, plen);
		put32le(p, 4);
		put32le(p + 4, dir == DIR_C2S ? idx_s : idx_c);
		put32le(p + 8, f->pos);
		put32le(p + 12, 0);
	}
	udp_end(g, f, plen);
	return f->pos == 0 ? f->rtt_us : rng_exp_us(&g->rng, f->gap_us);
}

/* Echo request and reply pairs, one a second, as ping(8) sends them. */
static uint32_t icmp_step(struct gen *g, struct gflow *f)
{
	int dir = f->pos & 1 ? DIR_S2C : DIR_C2S;
	uint8_t *p = frame_begin(g, f, dir);
	uint64_t us = EPOCH_SEC * 1000000ULL + g->now_us - (dir ? f->rtt_us : 0);

	p[0] = dir == DIR_C2S ? 8 : 0;
	p[1] = 0;
	put16(p + 4, f->aux);
	put16(p + 6, (uint16_t)(f->pos / 2 + 1));
	memset(p + 8, 0, 16);
	put32le(p + 8, (uint32_t)(us / 1000000));
	put32le(p + 16, (uint32_t)(us % 1000000));
	for (int i = 16; i < 56; i++)
		p[8 + i] = (uint8_t)i;
	frame_end(g, f, 1, 64);
	return dir == DIR_C2S ? f->rtt_us : 1000000 - f->rtt_us + rng_range(&g->rng, 0, 200);
}

/* Send the next packet of f; returns the gap to its following one. */
static uint32_t flow_step(struct gen *g, struct gflow *f)
{
	switch (f->kind) {
	case FK_TLS:
	case FK_HTTP:
	case FK_TCP:
	case FK_SYNRST:
		return tcp_step(g, f);
	case FK_DNS:
		dns_step(g, f);
		return f->rtt_us;
	case FK_NTP:
		ntp_step(g, f);
		return f->rtt_us;
	case FK_SYSLOG:
		return syslog_step(g, f);
	case FK_WG:
		return wg_step(g, f);
	default:
		return icmp_step(g, f);
	}
}

/* ------------------------------------------------------------------ */
/* Planning: kinds, sizes, timing.                                     */

static uint8_t pick_kind(struct rng *r)
{
	uint32_t x = rng_below(r, 1000), acc = 0;

	for (uint8_t k = 0; k < FK_COUNT; k++) {
		acc += kind_share[k];
		if (x < acc)
			return k;
	}
	return FK_TLS;
}

/* Fewest packets a flow of this kind can have (its fixed part). */
static uint32_t kind_min(struct gen *g, struct gflow *f)
{
	switch (f->kind) {
	case FK_TLS:
	case FK_HTTP:
	case FK_TCP:
		return 5 + (f->rst ? 1 : 3);
	case FK_SYNRST:
	case FK_DNS:
	case FK_NTP:
		return 2;
	case FK_SYSLOG:
	case FK_WG:
		return 1;
	default:
		return 2 * rng_range(&g->rng, 1, 10);
	}
}

static int kind_variable(uint8_t kind)
{
	return kind == FK_TLS || kind == FK_HTTP || kind == FK_TCP || kind == FK_SYSLOG ||
	       kind == FK_WG;
}

/* Addresses, ports, and per-flow constants; unique 5-tuples by construction. */
static void plan_identity(struct gen *g, struct gflow *f, uint32_t idx, uint32_t nclients)
{
	struct rng *r = &g->rng;
	uint32_t k = idx / nclients;

	f->client = idx % nclients;
	f->cport = (uint16_t)(32768 + (k * 7919U + f->client * 131U) % 28232U);
	f->id_c = (uint16_t)rng_next(r);
	f->id_s = (uint16_t)rng_next(r);
	f->label = rng_below(r, 1U << 20);
	f->aux = (uint16_t)rng_next(r);
	f->v6 = f->kind != FK_ICMP && rng_below(r, 100) < 10;
	f->vlan = rng_below(r, 100) == 0 ? (uint16_t)(100 + 10 * (f->client % 3)) : 0;
	f->c_nxt = (uint32_t)rng_next(r);
	f->s_nxt = (uint32_t)rng_next(r);
	f->bulk_dir = DIR_S2C;
	f->tls13 = rng_below(r, 100) < 80;
	f->rst = rng_below(r, 100) < 5;

	switch (f->kind) {
	case FK_TLS:
		f->server = pick_server(r);
		f->sport = 443;
		break;
	case FK_HTTP:
		f->server = pick_server(r);
		f->sport = 80;
		f->rst = 0;
		break;
	case FK_TCP:
	case FK_SYNRST:
		f->server = pick_server(r);
		f->sport = 873;
		f->bulk_dir = rng_below(r, 100) < 30 ? DIR_C2S : DIR_S2C;
		break;
	case FK_DNS:
		f->server = rng_below(r, RESOLVERS);
		f->qname = pick_server(r);
		f->sport = 53;
		f->qtype = f->v6 || rng_below(r, 100) < 30 ? 28 : 1;
		f->edns = rng_below(r, 100) < 50;
		break;
	case FK_NTP:
		f->server = RESOLVERS + rng_below(r, NTP_SERVERS);
		f->sport = 123;
		break;
	case FK_SYSLOG:
		f->server = RESOLVERS + NTP_SERVERS;
		f->sport = 514;
		break;
	case FK_WG:
		/* Above 51820 so that no analyzer's port table claims it first. */
		f->server = pick_server(r);
		f->sport = 51820;
		f->cport = (uint16_t)(51821 + (k * 7919U + f->client * 131U) % 4179U);
		break;
	default:
		f->server = pick_server(r);
		f->aux = (uint16_t)(k * 7919U + f->client * 131U);
		break;
	}
}

/*
 * Timing: a round-trip time, a mean gap between packets, an idle spell
 * before some TCP teardowns, and a start time such that the flow should end
 * within the capture. Long flows get shorter gaps: their duration is capped.
 */
static void plan_timing(struct gen *g, struct gflow *f, uint64_t span_us)
{
	struct rng *r = &g->rng;
	double gap = rng_loguniform(r, 200, 2e6);
	double idle = 0, est;

	f->rtt_us = (uint32_t)rng_loguniform(r, 300, 150000);
	if ((f->kind == FK_TLS || f->kind == FK_HTTP || f->kind == FK_TCP) &&
	    rng_below(r, 100) < 40)
		idle = rng_loguniform(r, 1e6, 90e6);
	if (f->kind == FK_ICMP)
		gap = 500000, idle = 0;
	est = gap * f->total + idle + 2.0 * f->rtt_us;
	if (est > 0.9 * (double)span_us) {
		double k = 0.9 * (double)span_us / est;

		gap *= k;
		idle *= k;
		est = 0.9 * (double)span_us;
	}
	f->gap_us = (uint32_t)gap + 1;
	f->idle_us = (uint32_t)idle;
	f->next_us = (uint64_t)(rng_unit(r) * ((double)span_us - est));
}

/* How many clients nflows flows share. */
static uint32_t client_count(uint32_t nflows)
{
	return nflows / 40 < 64 ? 64 : nflows / 40 > 60000 ? 60000 : nflows / 40;
}

/*
 * Decide every flow's kind and packet count so that the counts add up to
 * exactly npkts: each kind has a fixed minimum, and flows of the variable
 * kinds share the rest in proportion to a heavy-tailed (Lomax, alpha 1.3)
 * draw. Returns the number of flows, which is below nflows only when npkts
 * cannot cover every flow's minimum.
 */
static uint32_t plan_flows(struct gen *g, struct gflow *fl, uint32_t nflows, uint64_t npkts,
                           uint64_t span_us)
{
	double *w = calloc(nflows, sizeof(*w));
	uint32_t nclients = client_count(nflows);
	uint64_t fixed = 0, rest, given = 0;
	double wsum = 0, cum = 0;
	uint32_t n;

	if (!w) {
		fprintf(stderr, "genpcap: out of memory\n");
		exit(1);
	}
	for (n = 0; n < nflows; n++) {
		struct gflow *f = &fl[n];
		uint32_t m;

		f->kind = n == 0 ? FK_TLS : pick_kind(&g->rng);
		plan_identity(g, f, n, nclients);
		m = kind_min(g, f);
		if (fixed + m > npkts) {
			if (fixed == npkts)
				break;
			f->kind = FK_SYSLOG; /* a one-packet flow still fits */
			plan_identity(g, f, n, nclients);
			m = 1;
		}
		fixed += m;
		f->total = m;
		if (kind_variable(f->kind)) {
			double x = pow(rng_unit(&g->rng), -1.0 / 1.3) - 1.0;

			w[n] = x > 1e5 ? 1e5 : x;
			wsum += w[n];
		}
	}
	if (n < nflows)
		fprintf(stderr, "genpcap: %llu packets cover only %u flows\n",
		        (unsigned long long)npkts, n);
	rest = npkts - fixed;
	if (wsum <= 0) { /* degenerate draw: the first flow takes the rest */
		w[0] = 1;
		wsum = 1;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint64_t upto;

		if (w[i] <= 0)
			continue;
		cum += w[i];
		upto = (uint64_t)(cum / wsum * (double)rest);
		if (upto > rest)
			upto = rest;
		fl[i].total += (uint32_t)(upto - given);
		given = upto;
	}
	fl[0].total += (uint32_t)(rest - given);
	for (uint32_t i = 0; i < n; i++)
		plan_timing(g, &fl[i], span_us);
	free(w);
	return n;
}

/* ------------------------------------------------------------------ */
/* Planted attacks (-a).                                               */
/*
 * Every planted packet is planned up front as a struct apkt, drawn from a
 * PRNG of its own (so that the benign packets are the same bytes with or
 * without -a), sorted by time, and merged into the benign stream by
 * gen_run(). Its bytes are built when it is written; whatever its length
 * depends on is fixed when it is planned, so TCP sequence numbers are too.
 * Sizes are fixed, not scaled by -n: the timeline below is made for the
 * default 300 s of benign traffic, and the slow attacks run on past it.
 */

#define SEC          1000000ULL
#define PLANT_CAP    4000000U /* planted packets: a hard cap, far above the plan */
#define PLANT_ACTORS 128U
#define PLANT_QUOTES 128U
#define PLANT_SPORT  61000U /* benign client ports stay below this */

#define IP4(a, b, c, d)                                                                            \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* Attackers: documentation ranges, one address per attack. */
#define A_VSCAN   IP4(203, 0, 113, 10)
#define A_HSCAN   IP4(203, 0, 113, 20)
#define A_SSH     IP4(203, 0, 113, 31) /* and .32, .33 */
#define A_RDP     IP4(203, 0, 113, 100)
#define A_SWEEP   IP4(192, 0, 2, 40)
#define A_ACK     IP4(192, 0, 2, 50)
#define A_PROTO   IP4(192, 0, 2, 60)
#define A_UDPSCAN IP4(192, 0, 2, 70)
#define A_SLOW    IP4(192, 0, 2, 80)
#define A_PROBE   IP4(192, 0, 2, 90)
#define C_TUNNEL  42U /* the client index of the DNS tunnel */
#define C_IKE     20U /* and 21: benign IKE initiators */

/* Victims: benign server indices (server_v4()). */
#define V_WEB      8U /* SYN flood on 80 with bystanders; SSH brute force on 22 */
#define V_VSCAN    9U
#define V_ICMP     10U
#define V_PROTO    12U
#define V_PROBE    13U
#define V_IKE      14U
#define V_BACNET   15U
#define V_IKESRV   16U /* a benign IKE responder */
#define V_RDP      17U
#define V_UDPFLOOD 1U   /* a resolver */
#define V_TUNNEL   0U   /* the resolver the tunnel goes through */
#define V_SWEEP    250U /* first server of 198.18.1.0/24 */
#define V_ACK      500U /* 198.18.2.1 and on */
#define V_UDPSCAN  750U /* 198.18.3.1 and on */
#define V_SLOW     1000U

/* The biggest attacks' sizes: most planted packets are theirs. */
#define N_SYNFLOOD  100000U /* SYNs; the first 30% answered */
#define N_UDPFLOOD  30000U
#define N_ICMPFLOOD 30000U /* echo requests; the first 20% answered */
#define RDP_SECONDS 5400U  /* how long the RDP guesser keeps 16 connections open */

/* When each attack starts, in seconds from the start of the capture. */
#define T_SSH      5U
#define T_SLOW     15U
#define T_TUNNEL   20U
#define T_VSCAN    30U
#define T_RDP      30U
#define T_PROBE    45U
#define T_HSCAN    60U
#define T_PROTO    90U
#define T_SYNFLOOD 100U
#define T_UDPFLOOD 150U
#define T_REFL     170U
#define T_ICMP     200U
#define T_UDPSCAN  220U
#define T_SWEEP    235U
#define T_ACK      265U

enum { ROLE_ATTACKER, ROLE_REFLECTOR, ROLE_VICTIM, ROLE_BYSTANDERS, ROLE_BACKGROUND };

enum {
	PO_NONE,  /* no TCP options */
	PO_MSS,   /* MSS 1460 only: nmap -sS */
	PO_LINUX, /* MSS, SACK_PERM, WS: what frame_begin() flows send */
};

enum {
	PC_NONE,
	PC_FILL,    /* plen random bytes */
	PC_ZERO,    /* plen zero bytes */
	PC_PATTERN, /* bytes 0, 1, 2...: echo data, which a reply repeats */
	PC_HTTP_REQ,
	PC_HTTP_RESP, /* response head, then filler to plen */
	PC_SSH_BANNER,
	PC_SSH_KEXINIT,
	PC_SSH_ECDH_INIT,
	PC_SSH_ECDH_REPLY, /* and NEWKEYS */
	PC_SSH_NEWKEYS,
	PC_SSH_ENC, /* one encrypted packet (etm: its length in clear) */
	PC_RDP_CR,  /* X.224 Connection Request with a cookie */
	PC_RDP_CC,  /* X.224 Connection Confirm selecting CredSSP */
	PC_TLS_CH,
	PC_TLS_SH,
	PC_TLS_APP,
	PC_DNS_FLOOD, /* a random-subdomain query padded to plen */
	PC_DNS_TUN_Q,
	PC_DNS_TUN_R,
	PC_IKE,    /* IKEv2 IKE_SA_INIT; aux 0 request, 1 response */
	PC_BACNET, /* ReadProperty-ACK of an object-list */
	PC_QUOTE,  /* ICMP error data: the first 28 bytes of quoted[aux] */
};

/*
 * One planted packet, planned. For TCP, seq and ack are the header's; for
 * ICMP, seq is the header's second word; for UDP, they are parameters of
 * the content. aux is the content's parameter, plen its length.
 */
struct apkt {
	uint64_t t_us;
	uint32_t ord; /* planning order: breaks ties in time */
	uint32_t src;
	uint32_t dst;
	uint32_t seq;
	uint32_t ack;
	uint32_t aux;
	uint16_t sport;
	uint16_t dport;
	uint16_t plen;
	uint16_t ipid;
	uint16_t win;
	uint16_t actor;
	uint8_t proto;
	uint8_t flags; /* TCP flags; ICMP type */
	uint8_t code;  /* ICMP code */
	uint8_t ttl;
	uint8_t df;
	uint8_t opts;    /* PO_* */
	uint8_t content; /* PC_* */
};

/* Who did what, for the truth file. Every planted packet belongs to one actor. */
struct actor {
	const char *cls;
	uint32_t ip;
	uint32_t peer; /* reflectors: their victim */
	uint16_t port; /* victims: the port hit; reflectors: the port they answer from */
	uint8_t role;
	uint8_t protos; /* ports[] holds IP protocol numbers */
	uint64_t packets;
	uint64_t first_us;
	uint64_t last_us;
	uint32_t *addrs; /* victims, or the bystanders */
	uint32_t naddrs;
	uint32_t addrs_cap;
	uint16_t *ports; /* destination ports (or protocols) probed */
	uint32_t nports;
	uint32_t ports_cap;
};

struct plant {
	struct apkt *d; /* in time order once planted */
	uint32_t n;
	uint32_t cap;
	uint32_t next; /* the next one to write */
	uint32_t nquoted;
	uint32_t nactors;
	struct apkt quoted[PLANT_QUOTES]; /* probes that ICMP errors quote */
	struct actor actors[PLANT_ACTORS];
	uint8_t scratch[FRAME_MAX];
};

/* Private ranges and every range the capture uses: no forged source is in one. */
static const struct {
	uint32_t net;
	uint8_t len;
} forged_excluded[] = {
    {IP4(0, 0, 0, 0), 8},      {IP4(10, 0, 0, 0), 8},     {IP4(100, 64, 0, 0), 10},
    {IP4(127, 0, 0, 0), 8},    {IP4(169, 254, 0, 0), 16}, {IP4(172, 16, 0, 0), 12},
    {IP4(192, 0, 2, 0), 24},   {IP4(192, 168, 0, 0), 16}, {IP4(198, 18, 0, 0), 15},
    {IP4(203, 0, 113, 0), 24}, {IP4(224, 0, 0, 0), 3},
};

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (!q) {
		fprintf(stderr, "genpcap: out of memory\n");
		exit(1);
	}
	return q;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t srv_ip(uint32_t s)
{
	uint8_t b[4];

	server_v4(s, b);
	return get32(b);
}

static uint32_t cli_ip(uint32_t c)
{
	uint8_t b[4];

	client_v4(c, b);
	return get32(b);
}

/* The TTL a benign server's packets arrive with, as frame_begin() sets it. */
static uint8_t srv_ttl(uint32_t s)
{
	return (uint8_t)(50 + s % 12);
}

static void ip_str(uint32_t a, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static inline uint32_t ar(struct gen *g, uint32_t lo, uint32_t hi)
{
	return rng_range(&g->arng, lo, hi);
}

/* A uniformly random public address outside forged_excluded[]. */
static uint32_t forged_ip(struct rng *r)
{
	for (;;) {
		uint32_t a = (uint32_t)(rng_next(r) >> 32);
		size_t i, n = sizeof(forged_excluded) / sizeof(forged_excluded[0]);

		for (i = 0; i < n; i++)
			if ((a ^ forged_excluded[i].net) >> (32 - forged_excluded[i].len) == 0)
				break;
		if (i == n)
			return a;
	}
}

static void shuffle16(struct rng *r, uint16_t *v, uint32_t n)
{
	for (uint32_t i = n; i > 1; i--) {
		uint32_t j = rng_below(r, i);
		uint16_t t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

static void shuffle32(struct rng *r, uint32_t *v, uint32_t n)
{
	for (uint32_t i = n; i > 1; i--) {
		uint32_t j = rng_below(r, i);
		uint32_t t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* A new entry of the truth file; returns its index. Aborts past PLANT_ACTORS. */
static uint16_t actor_new(struct plant *pl, uint8_t role, const char *cls, uint32_t ip)
{
	struct actor *a = &pl->actors[pl->nactors];

	if (pl->nactors == PLANT_ACTORS) {
		fprintf(stderr, "genpcap: too many planted actors\n");
		exit(1);
	}
	a->role = role;
	a->cls = cls;
	a->ip = ip;
	return (uint16_t)pl->nactors++;
}

static void actor_addr(struct plant *pl, uint16_t i, uint32_t ip)
{
	struct actor *a = &pl->actors[i];

	if (a->naddrs == a->addrs_cap) {
		a->addrs_cap = a->addrs_cap ? 2 * a->addrs_cap : 16;
		a->addrs = xrealloc(a->addrs, a->addrs_cap * sizeof(*a->addrs));
	}
	a->addrs[a->naddrs++] = ip;
}

static void actor_port(struct plant *pl, uint16_t i, uint16_t port)
{
	struct actor *a = &pl->actors[i];

	if (a->nports == a->ports_cap) {
		a->ports_cap = a->ports_cap ? 2 * a->ports_cap : 16;
		a->ports = xrealloc(a->ports, a->ports_cap * sizeof(*a->ports));
	}
	a->ports[a->nports++] = port;
}

/* ---- building a planned packet's bytes ---- */

static void afill(struct gen *g, struct rng *r, uint8_t *p, size_t len)
{
	memcpy(p, g->filler + rng_below(r, FILLER_SIZE - FRAME_MAX), len);
}

static void w32le(struct wr *w, uint32_t v)
{
	put32le(w->p + w->n, v);
	w->n += 4;
}

static void wstring(struct wr *w, const char *s)
{
	w32(w, (uint32_t)strlen(s));
	wstr(w, s);
}

/* SSH's string of n random bytes. */
static void wstring_rand(struct wr *w, struct rng *r, uint32_t n)
{
	w32(w, n);
	wrand(w, r, n);
}

/*
 * Wrap the len payload bytes at out + 5 as an unencrypted SSH binary packet
 * (RFC 4253 §6): length, padding length, payload, random padding to a
 * multiple of 8. Returns the packet's length.
 */
static size_t ssh_packet(struct rng *r, uint8_t *out, size_t len)
{
	struct wr w = {out + 5 + len, 0};
	size_t pad = 8 - (5 + len) % 8;

	if (pad < 4)
		pad += 8;
	put32(out, (uint32_t)(1 + len + pad));
	out[4] = (uint8_t)pad;
	wrand(&w, r, pad);
	return 5 + len + pad;
}

static size_t ssh_kexinit(struct rng *r, uint8_t *out, int server)
{
	static const char *const lists[2][10] = {
	    {"curve25519-sha256,curve25519-sha256@libssh.org,ext-info-c",
	     "ssh-ed25519,rsa-sha2-512,rsa-sha2-256,ssh-rsa", "aes128-ctr,aes256-ctr",
	     "aes128-ctr,aes256-ctr", "hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
	     "hmac-sha2-256-etm@openssh.com,hmac-sha2-256", "none", "none", "", ""},
	    {"curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256", "ssh-rsa",
	     "chacha20-poly1305@openssh.com,aes128-ctr", "chacha20-poly1305@openssh.com,aes128-ctr",
	     "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com",
	     "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com", "none,zlib@openssh.com",
	     "none,zlib@openssh.com", "", ""},
	};
	struct wr w = {out + 5, 0};

	w8(&w, 20);
	wrand(&w, r, 16);
	for (int i = 0; i < 10; i++)
		wstring(&w, lists[server][i]);
	w8(&w, 0);
	w32(&w, 0);
	return ssh_packet(r, out, w.n);
}

/*
 * KEX_ECDH_REPLY (curve25519, an RSA-2048 host key signing with SHA-1), then
 * NEWKEYS in the same segment. The old ssh-rsa because it is the one
 * signature tshark 4.0 takes apart without a warning.
 */
static size_t ssh_ecdh_reply(struct rng *r, uint8_t *out)
{
	struct wr w = {out + 5, 0};
	size_t n;

	w8(&w, 31);
	w32(&w, 4 + 7 + 4 + 3 + 4 + 257);
	wstring(&w, "ssh-rsa");
	w32(&w, 3); /* e = 65537 */
	w8(&w, 1);
	w16(&w, 1);
	w32(&w, 257); /* n: a positive mpint with its top bit set */
	w8(&w, 0);
	w8(&w, 0x80 | (uint8_t)rng_next(r));
	wrand(&w, r, 255);
	wstring_rand(&w, r, 32);
	w32(&w, 4 + 7 + 4 + 256);
	wstring(&w, "ssh-rsa");
	wstring_rand(&w, r, 256);
	n = ssh_packet(r, out, w.n);
	out[n + 5] = 21;
	return n + ssh_packet(r, out + n, 1);
}

static size_t rdp_connection_request(uint8_t *out, uint32_t user)
{
	static const char *const users[] = {"administrator", "admin", "user",   "test",
	                                    "guest",         "rdp",   "backup", "support"};
	struct wr w = {out, 0};

	w8(&w, 3); /* TPKT */
	w8(&w, 0);
	w16(&w, 0);
	w8(&w, 0);    /* X.224 length indicator */
	w8(&w, 0xe0); /* CR */
	w16(&w, 0);
	w16(&w, 0);
	w8(&w, 0);
	wstr(&w, "Cookie: mstshash=");
	wstr(&w, users[user % (sizeof(users) / sizeof(users[0]))]);
	wstr(&w, "\r\n");
	w8(&w, 1); /* RDP_NEG_REQ: TLS and CredSSP */
	w8(&w, 0);
	w8(&w, 8);
	w8(&w, 0);
	w32le(&w, 3);
	put16(out + 2, (uint16_t)w.n);
	out[4] = (uint8_t)(w.n - 5);
	return w.n;
}

/* The DNS tunnel's query name for key: 40 and 20 base32 characters under the tunnel's domain. */
static size_t tunnel_name(uint32_t key, char *out)
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	static const char zone[] = ".t.exfil-example.com";
	uint64_t x = key, v = 0;
	size_t n = 0;

	for (int i = 0; i < 60; i++) {
		if (i % 12 == 0)
			v = splitmix64(&x);
		if (i == 40)
			out[n++] = '.';
		out[n++] = b32[v & 31];
		v >>= 5;
	}
	memcpy(out + n, zone, sizeof(zone) - 1);
	return n + sizeof(zone) - 1;
}

static void dns_tunnel(struct rng *r, struct wr *w, const struct apkt *d)
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	int resp = d->content == PC_DNS_TUN_R;
	uint16_t qtype = (uint16_t)(d->ack >> 16), rdlen = (uint16_t)d->ack;
	char name[96];
	size_t nlen = tunnel_name(d->seq, name);

	w16(w, (uint16_t)(d->seq >> 7));
	w16(w, resp ? 0x8180 : 0x0100);
	w16(w, 1);
	w16(w, resp ? 1 : 0);
	w16(w, 0);
	w16(w, 0);
	dns_name(w, name, nlen);
	w16(w, qtype);
	w16(w, 1);
	if (!resp)
		return;
	w16(w, 0xc00c);
	w16(w, qtype);
	w16(w, 1);
	w32(w, 0);
	w16(w, rdlen);
	if (qtype == 16) {
		w8(w, (uint8_t)(rdlen - 1));
		for (uint16_t i = 1; i < rdlen; i++)
			w8(w, (uint8_t)b32[rng_below(r, 32)]);
	} else {
		wrand(w, r, rdlen);
	}
}

/* A query for a random name under a real one, EDNS-padded to plen bytes. */
static void dns_flood(struct rng *r, struct wr *w, size_t plen)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	char name[96];
	size_t nlen = 17, pad;

	for (int i = 0; i < 16; i++)
		name[i] = alnum[rng_below(r, 36)];
	name[16] = '.';
	nlen += server_name(V_WEB, name + 17, sizeof(name) - 17);
	w16(w, (uint16_t)rng_next(r));
	w16(w, 0x0100);
	w16(w, 1);
	w16(w, 0);
	w16(w, 0);
	w16(w, 1);
	dns_name(w, name, nlen);
	w16(w, 1);
	w16(w, 1);
	pad = plen - w->n - 15;
	w8(w, 0); /* OPT with a Padding option */
	w16(w, 41);
	w16(w, 4096);
	w32(w, 0);
	w16(w, (uint16_t)(4 + pad));
	w16(w, 12);
	w16(w, (uint16_t)pad);
	memset(w->p + w->n, 0, pad);
	w->n += pad;
}

/* IKEv2 IKE_SA_INIT: a Nonce, and in responses a Vendor ID filling up to plen. */
static void ike_msg(struct rng *r, struct wr *w, int resp, size_t plen)
{
	size_t nonce = resp ? 32 : plen - 28 - 4;

	wrand(w, r, 8);
	if (resp)
		wrand(w, r, 8);
	else
		w32(w, 0), w32(w, 0);
	w8(w, 40);
	w8(w, 0x20);
	w8(w, 34);
	w8(w, resp ? 0x20 : 0x08);
	w32(w, 0);
	w32(w, (uint32_t)plen);
	w8(w, resp ? 43 : 0);
	w8(w, 0);
	w16(w, (uint16_t)(4 + nonce));
	wrand(w, r, nonce);
	if (resp) {
		w8(w, 0);
		w8(w, 0);
		w16(w, (uint16_t)(plen - w->n));
		wrand(w, r, plen - w->n);
	}
}

/* BACnet/IP ReadProperty-ACK for a device's object-list: plen is 18 + 5n. */
static void bacnet_ack(struct rng *r, struct wr *w, size_t plen)
{
	w8(w, 0x81); /* BVLC: Original-Unicast-NPDU */
	w8(w, 0x0a);
	w16(w, (uint16_t)plen);
	w8(w, 1); /* NPDU */
	w8(w, 0);
	w8(w, 0x30); /* Complex-ACK, readProperty */
	w8(w, (uint8_t)rng_next(r));
	w8(w, 12);
	w8(w, 0x0c);
	w32(w, 8U << 22 | rng_below(r, 4194303));
	w8(w, 0x19);
	w8(w, 76);
	w8(w, 0x3e);
	while (w->n + 6 <= plen) {
		w8(w, 0xc4);
		w32(w, rng_below(r, 6) << 22 | rng_below(r, 4096));
	}
	w8(w, 0x3f);
}

static size_t plant_ip(struct gen *g, struct rng *r, const struct apkt *d, uint8_t *ip);

/*
 * Write d's payload at out (room for FRAME_MAX bytes) with randomness from r;
 * returns its length. The length depends on d alone, never on r.
 */
static size_t plant_payload(struct gen *g, struct rng *r, const struct apkt *d, uint8_t *out)
{
	static const char ssh_banner[2][48] = {"SSH-2.0-libssh_0.9.6\r\n",
	                                       "SSH-2.0-OpenSSH_7.4\r\n"};
	static const uint8_t rdp_cc[19] = {3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34,
	                                   0, 2, 0, 8,  0,  2,    0, 0, 0};
	struct wr w = {out, 0};
	char name[96];
	int n;

	switch (d->content) {
	case PC_NONE:
		return 0;
	case PC_FILL:
		afill(g, r, out, d->plen);
		return d->plen;
	case PC_ZERO:
		memset(out, 0, d->plen);
		return d->plen;
	case PC_PATTERN:
		for (size_t i = 0; i < d->plen; i++)
			out[i] = (uint8_t)i;
		return d->plen;
	case PC_HTTP_REQ:
		server_name(d->aux >> 8, name, sizeof(name));
		n = snprintf((char *)out, FRAME_MAX,
		             "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n"
		             "Accept-Encoding: gzip, deflate\r\nConnection: close\r\n\r\n",
		             paths[(d->aux >> 4) & 7], name, user_agents[d->aux & 3]);
		return n < 0 ? 0 : (size_t)n;
	case PC_HTTP_RESP:
		w.n = http_response_head(out, d->plen);
		afill(g, r, out + w.n, d->plen - w.n);
		return d->plen;
	case PC_SSH_BANNER:
		wstr(&w, ssh_banner[d->aux & 1]);
		return w.n;
	case PC_SSH_KEXINIT:
		return ssh_kexinit(r, out, d->aux & 1);
	case PC_SSH_ECDH_INIT:
		w.p = out + 5;
		w8(&w, 30);
		wstring_rand(&w, r, 32);
		return ssh_packet(r, out, w.n);
	case PC_SSH_ECDH_REPLY:
		return ssh_ecdh_reply(r, out);
	case PC_SSH_NEWKEYS:
		out[5] = 21;
		return ssh_packet(r, out, 1);
	case PC_SSH_ENC:
		put32(out, (uint32_t)(d->plen - 36));
		afill(g, r, out + 4, d->plen - 4u);
		return d->plen;
	case PC_RDP_CR:
		return rdp_connection_request(out, d->aux);
	case PC_RDP_CC:
		memcpy(out, rdp_cc, sizeof(rdp_cc));
		return sizeof(rdp_cc);
	case PC_TLS_CH:
	case PC_TLS_SH: {
		/* The benign builders, on the planted PRNG. */
		struct gflow f = {.server = d->aux};
		struct rng keep = g->rng;
		size_t len;

		g->rng = *r;
		len = d->content == PC_TLS_CH ? tls_client_hello(g, &f, out)
		                              : tls_server_hello(g, &f, out);
		*r = g->rng;
		g->rng = keep;
		return len;
	}
	case PC_TLS_APP:
		out[0] = 0x17;
		put16(out + 1, 0x0303);
		put16(out + 3, (uint16_t)(d->plen - 5));
		afill(g, r, out + 5, d->plen - 5u);
		return d->plen;
	case PC_DNS_FLOOD:
		dns_flood(r, &w, d->plen);
		return w.n;
	case PC_DNS_TUN_Q:
	case PC_DNS_TUN_R:
		dns_tunnel(r, &w, d);
		return w.n;
	case PC_IKE:
		ike_msg(r, &w, (int)d->aux, d->plen);
		return w.n;
	case PC_BACNET:
		bacnet_ack(r, &w, d->plen);
		return w.n;
	case PC_QUOTE: {
		/* Rebuilt, not remembered: quoted probes have no random bytes. */
		uint8_t probe[FRAME_MAX];
		struct rng scratch = *r;
		size_t len = plant_ip(g, &scratch, &g->plant->quoted[d->aux], probe);

		len = len < 28 ? len : 28;
		memcpy(out, probe, len);
		return len;
	}
	default:
		return 0;
	}
}

static size_t plant_tcp_header(const struct apkt *d, uint8_t *t)
{
	static const uint8_t linux_opts[12] = {
	    0x02, 0x04, 0x05, 0xb4, /* MSS 1460 */
	    0x01, 0x01, 0x04, 0x02, /* NOP NOP SACK_PERM */
	    0x01, 0x03, 0x03, 0x07, /* NOP WS 7 */
	};
	size_t hl = d->opts == PO_LINUX ? 32 : d->opts == PO_MSS ? 24 : 20;

	put16(t, d->sport);
	put16(t + 2, d->dport);
	put32(t + 4, d->seq);
	put32(t + 8, d->ack);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = d->flags;
	put16(t + 14, d->win);
	put16(t + 16, 0);
	put16(t + 18, 0);
	memcpy(t + 20, linux_opts, hl - 20);
	return hl;
}

/*
 * Build d's IPv4 packet at ip, with room for FRAME_MAX bytes: header,
 * transport header, payload, valid checksums (none past the IP header for
 * protocols other than ICMP, TCP and UDP). Returns its total length.
 */
static size_t plant_ip(struct gen *g, struct rng *r, const struct apkt *d, uint8_t *ip)
{
	uint8_t *l4 = ip + 20, pseudo[4];
	size_t hl, l4len, csum_off;
	uint64_t acc = 0;

	ip[0] = 0x45;
	ip[1] = 0;
	put16(ip + 4, d->ipid);
	put16(ip + 6, d->df ? 0x4000 : 0);
	ip[8] = d->ttl;
	ip[9] = d->proto;
	put32(ip + 12, d->src);
	put32(ip + 16, d->dst);
	switch (d->proto) {
	case 6:
		hl = plant_tcp_header(d, l4);
		break;
	case 17:
		put16(l4, d->sport);
		put16(l4 + 2, d->dport);
		hl = 8;
		break;
	case 1:
		l4[0] = d->flags;
		l4[1] = d->code;
		put32(l4 + 4, d->seq);
		hl = 8;
		break;
	default:
		hl = 0;
		break;
	}
	l4len = hl + plant_payload(g, r, d, l4 + hl);
	put16(ip + 2, (uint16_t)(20 + l4len));
	ip[10] = ip[11] = 0;
	csum_store(ip + 10, csum_add(0, ip, 20));
	if (d->proto != 1 && d->proto != 6 && d->proto != 17)
		return 20 + l4len;
	if (d->proto != 1) {
		pseudo[0] = 0;
		pseudo[1] = d->proto;
		put16(pseudo + 2, (uint16_t)l4len);
		acc = csum_add(csum_add(0, ip + 12, 8), pseudo, 4);
	}
	if (d->proto == 17)
		put16(l4 + 4, (uint16_t)l4len);
	csum_off = d->proto == 6 ? 16 : d->proto == 17 ? 6 : 2;
	l4[csum_off] = l4[csum_off + 1] = 0;
	csum_store(l4 + csum_off, csum_add(acc, l4, l4len));
	if (d->proto == 17 && l4[6] == 0 && l4[7] == 0)
		l4[6] = l4[7] = 0xff;
	return 20 + l4len;
}

/*
 * An address's MAC as the benign frames have it: a client's own (10/8),
 * else the gateway's; a frame between two outside hosts comes from the
 * upstream router.
 */
static void plant_mac(uint8_t *out, uint32_t ip, int src, uint32_t peer)
{
	static const uint8_t gw_mac[6] = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x01};
	static const uint8_t up_mac[6] = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x02};

	if (ip >> 24 == 10) {
		uint32_t c =
		    ((ip >> 16 & 255) - 1) * 64000 + (ip >> 8 & 255) * 250 + (ip & 255) - 1;

		out[0] = 0x02, out[1] = 0x42, out[2] = 0x0a;
		out[3] = (uint8_t)(c >> 16), out[4] = (uint8_t)(c >> 8), out[5] = (uint8_t)c;
	} else {
		memcpy(out, src && peer >> 24 != 10 ? up_mac : gw_mac, 6);
	}
}

/* Write planned packet d as the next frame; the caller has made room for it. */
static void plant_emit(struct gen *g, const struct apkt *d)
{
	uint8_t *rec = g->buf + g->len, *e = rec + REC_HDR;
	uint64_t ts = EPOCH_SEC * 1000000ULL + d->t_us;
	size_t flen;

	plant_mac(e, d->dst, 0, d->src);
	plant_mac(e + 6, d->src, 1, d->dst);
	put16(e + 12, 0x0800);
	flen = 14 + plant_ip(g, &g->arng, d, e + 14);
	if (flen < FRAME_MIN) {
		memset(e + flen, 0, FRAME_MIN - flen);
		flen = FRAME_MIN;
	}
	put32le(rec, (uint32_t)(ts / 1000000));
	put32le(rec + 4, (uint32_t)(ts % 1000000));
	put32le(rec + 8, (uint32_t)flen);
	put32le(rec + 12, (uint32_t)flen);
	g->len += REC_HDR + flen;
	g->packets++;
	g->bytes += flen;
}

/* ---- planning ---- */

/* Append a copy of p as actor a's packet; fixes and returns its payload length. */
static size_t pl_push(struct gen *g, struct apkt *p, uint16_t a)
{
	struct plant *pl = g->plant;
	struct actor *ac = &pl->actors[a];
	struct rng scratch = g->arng;

	if (pl->n == pl->cap) {
		if (pl->cap >= PLANT_CAP) {
			fprintf(stderr, "genpcap: more than %u planted packets\n", PLANT_CAP);
			exit(1);
		}
		pl->cap = pl->cap ? 2 * pl->cap : 65536;
		pl->d = xrealloc(pl->d, pl->cap * sizeof(*pl->d));
	}
	p->actor = a;
	p->ord = pl->n;
	p->plen = (uint16_t)plant_payload(g, &scratch, p, pl->scratch);
	pl->d[pl->n++] = *p;
	if (!ac->packets || p->t_us < ac->first_us)
		ac->first_us = p->t_us;
	if (p->t_us > ac->last_us)
		ac->last_us = p->t_us;
	ac->packets++;
	return p->plen;
}

/* Keep p for an ICMP error to quote; returns its index for PC_QUOTE. */
static uint32_t pl_quote(struct plant *pl, const struct apkt *p)
{
	if (pl->nquoted == PLANT_QUOTES) {
		fprintf(stderr, "genpcap: too many quoted probes\n");
		exit(1);
	}
	pl->quoted[pl->nquoted] = *p;
	return pl->nquoted++;
}

/*
 * A TCP, UDP or ICMP packet with the defaults of an ordinary stack (TTL 64,
 * DF, a random IP id) for the caller to change before pl_push().
 */
static struct apkt pk_tcp(struct gen *g, uint64_t t, uint32_t src, uint16_t sport, uint32_t dst,
                          uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack)
{
	struct apkt p = {.t_us = t,
	                 .src = src,
	                 .dst = dst,
	                 .sport = sport,
	                 .dport = dport,
	                 .seq = seq,
	                 .ack = ack,
	                 .flags = flags,
	                 .proto = 6,
	                 .ttl = 64,
	                 .df = 1};

	p.ipid = (uint16_t)rng_next(&g->arng);
	return p;
}

static struct apkt pk_udp(struct gen *g, uint64_t t, uint32_t src, uint16_t sport, uint32_t dst,
                          uint16_t dport, uint8_t content, uint16_t plen)
{
	struct apkt p = {.t_us = t,
	                 .src = src,
	                 .dst = dst,
	                 .sport = sport,
	                 .dport = dport,
	                 .proto = 17,
	                 .ttl = 64,
	                 .df = 1,
	                 .content = content,
	                 .plen = plen};

	p.ipid = (uint16_t)rng_next(&g->arng);
	return p;
}

static struct apkt pk_icmp(struct gen *g, uint64_t t, uint32_t src, uint32_t dst, uint8_t type,
                           uint8_t code, uint32_t word)
{
	struct apkt p = {.t_us = t,
	                 .src = src,
	                 .dst = dst,
	                 .flags = type,
	                 .code = code,
	                 .seq = word,
	                 .proto = 1,
	                 .ttl = 64};

	p.ipid = (uint16_t)rng_next(&g->arng);
	return p;
}

/*
 * The answer to SYN probe p, rtt later, from a host whose packets arrive
 * with ttl: SYN|ACK from an open port (which the scanner resets), RST|ACK
 * from a closed one.
 */
static void syn_answer(struct gen *g, const struct apkt *p, uint32_t rtt, int open, uint8_t ttl,
                       uint16_t a)
{
	struct apkt r = pk_tcp(g, p->t_us + rtt, p->dst, p->dport, p->src, p->sport,
	                       open ? TH_SYN | TH_ACK : TH_RST | TH_ACK,
	                       open ? (uint32_t)rng_next(&g->arng) : 0, p->seq + 1);

	r.ttl = ttl;
	if (open) {
		struct apkt k = pk_tcp(g, r.t_us + ar(g, 50, 300), p->src, p->sport, p->dst,
		                       p->dport, TH_RST, p->seq + 1, 0);

		r.win = 64240;
		r.opts = PO_LINUX;
		pl_push(g, &r, a);
		k.ttl = p->ttl;
		k.df = p->df;
		pl_push(g, &k, a);
	} else {
		r.ipid = 0;
		pl_push(g, &r, a);
	}
}

/* A scanner's bare SYN: nmap -sS's (window 1024, MSS only) or masscan's (no options). */
static struct apkt syn_probe(struct gen *g, uint64_t t, uint32_t src, uint16_t sport, uint32_t dst,
                             uint16_t dport, uint8_t ttl, int mss)
{
	struct apkt p =
	    pk_tcp(g, t, src, sport, dst, dport, TH_SYN, (uint32_t)rng_next(&g->arng), 0);

	p.win = 1024;
	p.opts = mss ? PO_MSS : PO_NONE;
	p.ttl = ttl;
	p.df = 0;
	return p;
}

/* One TCP connection as the planner walks it: both ends and their state. */
struct sess {
	uint64_t t; /* time of the next segment */
	uint32_t ip[2];
	uint32_t nxt[2];
	uint16_t port[2];
	uint16_t id[2];
	uint16_t win[2];
	uint8_t ttl[2];
	uint16_t actor;
};

static void sess_init(struct gen *g, struct sess *s, uint64_t t, uint32_t cip, uint16_t cport,
                      uint8_t cttl, uint32_t sip, uint16_t sport, uint8_t sttl, uint16_t a)
{
	memset(s, 0, sizeof(*s));
	s->t = t;
	s->ip[DIR_C2S] = cip;
	s->ip[DIR_S2C] = sip;
	s->port[DIR_C2S] = cport;
	s->port[DIR_S2C] = sport;
	s->ttl[DIR_C2S] = cttl;
	s->ttl[DIR_S2C] = sttl;
	s->nxt[DIR_C2S] = (uint32_t)rng_next(&g->arng);
	s->nxt[DIR_S2C] = (uint32_t)rng_next(&g->arng);
	s->id[DIR_C2S] = (uint16_t)rng_next(&g->arng);
	s->id[DIR_S2C] = (uint16_t)rng_next(&g->arng);
	s->win[DIR_C2S] = 502;
	s->win[DIR_S2C] = 509;
	s->actor = a;
}

/* Plan one segment from side dir at s->t; returns its payload length. */
static size_t sess_seg(struct gen *g, struct sess *s, int dir, uint8_t flags, uint8_t content,
                       uint16_t plen, uint32_t aux)
{
	struct apkt p = {.t_us = s->t,
	                 .src = s->ip[dir],
	                 .dst = s->ip[!dir],
	                 .sport = s->port[dir],
	                 .dport = s->port[!dir],
	                 .seq = s->nxt[dir],
	                 .ack = flags & TH_ACK ? s->nxt[!dir] : 0,
	                 .flags = flags,
	                 .proto = 6,
	                 .ttl = s->ttl[dir],
	                 .df = 1,
	                 .content = content,
	                 .plen = plen,
	                 .aux = aux};
	size_t len;

	p.ipid = s->id[dir]++;
	p.win = flags & TH_SYN ? 64240 : s->win[dir];
	p.opts = flags & TH_SYN ? PO_LINUX : PO_NONE;
	len = pl_push(g, &p, s->actor);
	s->nxt[dir] += (uint32_t)len + !!(flags & (TH_SYN | TH_FIN));
	return len;
}

static size_t sess_data(struct gen *g, struct sess *s, int dir, uint8_t content, uint16_t plen,
                        uint32_t aux)
{
	return sess_seg(g, s, dir, TH_PSH | TH_ACK, content, plen, aux);
}

static void sess_open(struct gen *g, struct sess *s, uint32_t rtt)
{
	sess_seg(g, s, DIR_C2S, TH_SYN, PC_NONE, 0, 0);
	s->t += rtt;
	sess_seg(g, s, DIR_S2C, TH_SYN | TH_ACK, PC_NONE, 0, 0);
	s->t += ar(g, 20, 300);
	sess_seg(g, s, DIR_C2S, TH_ACK, PC_NONE, 0, 0);
}

/* FIN from side first, FIN back, last ACK; s->t ends at the last ACK. */
static void sess_close(struct gen *g, struct sess *s, int first, uint32_t rtt)
{
	sess_seg(g, s, first, TH_FIN | TH_ACK, PC_NONE, 0, 0);
	s->t += rtt;
	sess_seg(g, s, !first, TH_FIN | TH_ACK, PC_NONE, 0, 0);
	s->t += ar(g, 20, 300);
	sess_seg(g, s, first, TH_ACK, PC_NONE, 0, 0);
}

/* 1: one scanner, 4,000 ports of one server in random order over ~40 s; 5 are open. */
static void plant_vertical_scan(struct gen *g)
{
	static const uint16_t open_ports[] = {22, 25, 80, 443, 3306};
	struct plant *pl = g->plant;
	uint16_t a = actor_new(pl, ROLE_ATTACKER, "vertical_scan", A_VSCAN);
	uint32_t victim = srv_ip(V_VSCAN);
	uint16_t ports[4000], sport = (uint16_t)ar(g, 40000, 60000);
	uint64_t t = T_VSCAN * SEC;

	actor_addr(pl, a, victim);
	for (uint16_t i = 0; i < 4000; i++) {
		ports[i] = (uint16_t)(i + 1);
		actor_port(pl, a, ports[i]);
	}
	shuffle16(&g->arng, ports, 4000);
	for (uint32_t i = 0; i < 4000; i++) {
		struct apkt p = syn_probe(g, t, A_VSCAN, sport, victim, ports[i], 47, 1);
		int open = 0;

		for (size_t k = 0; k < sizeof(open_ports) / sizeof(open_ports[0]); k++)
			open |= ports[i] == open_ports[k];
		pl_push(g, &p, a);
		syn_answer(g, &p, ar(g, 18000, 26000), open, srv_ttl(V_VSCAN), a);
		t += ar(g, 5000, 15000);
	}
}

/* 2: one scanner, port 445 of 1,200 client addresses over ~120 s; a tenth answer RST. */
static void plant_horizontal_scan(struct gen *g)
{
	struct plant *pl = g->plant;
	uint16_t a = actor_new(pl, ROLE_ATTACKER, "horizontal_scan", A_HSCAN);
	uint32_t hosts[1200], sport = ar(g, 40000, 60000);
	uint64_t t = T_HSCAN * SEC;

	for (uint32_t i = 0; i < 1200; i++) {
		hosts[i] = cli_ip(i);
		actor_addr(pl, a, hosts[i]);
	}
	actor_port(pl, a, 445);
	shuffle32(&g->arng, hosts, 1200);
	for (uint32_t i = 0; i < 1200; i++) {
		struct apkt p = syn_probe(g, t, A_HSCAN, (uint16_t)sport, hosts[i], 445, 51, 0);

		pl_push(g, &p, a);
		if (rng_below(&g->arng, 10) == 0)
			syn_answer(g, &p, ar(g, 30000, 45000), 0, 64, a);
		t += ar(g, 50000, 150000);
	}
}

/* An HTTP exchange with the web victim, as an ordinary client has it. */
static void bystander_session(struct gen *g, uint64_t t, uint32_t client, uint16_t cport,
                              uint16_t a)
{
	struct sess s;
	uint32_t rtt = ar(g, 2000, 40000), segs = ar(g, 1, 6);

	sess_init(g, &s, t, cli_ip(client), cport, 64, srv_ip(V_WEB), 80, srv_ttl(V_WEB), a);
	sess_open(g, &s, rtt);
	s.t += ar(g, 50, 500);
	sess_data(g, &s, DIR_C2S, PC_HTTP_REQ, 0, V_WEB << 8 | ar(g, 0, 7) << 4 | ar(g, 0, 3));
	s.t += rtt + ar(g, 1000, 20000);
	for (uint32_t i = 0; i < segs; i++) {
		uint16_t len = i + 1 < segs ? 1460 : (uint16_t)ar(g, 200, 1460);

		sess_data(g, &s, DIR_S2C, i ? PC_FILL : PC_HTTP_RESP, len, 0);
		if (i % 2 == 1 || i + 1 == segs) {
			s.t += ar(g, 20, 400);
			sess_seg(g, &s, DIR_C2S, TH_ACK, PC_NONE, 0, 0);
		}
		s.t += ar(g, 50, 2000);
	}
	sess_close(g, &s, DIR_S2C, rtt);
}

/*
 * 3: 100,000 SYNs to port 80 of the web victim over ~20 s, one to three from
 * each forged source; the victim answers the first 30% and then no more.
 * Meanwhile 200 clients fetch pages from it as usual.
 */
static void plant_syn_flood(struct gen *g, uint32_t nclients)
{
	struct plant *pl = g->plant;
	uint32_t victim = srv_ip(V_WEB);
	uint16_t a = actor_new(pl, ROLE_VICTIM, "syn_flood_spoofed", victim);
	uint16_t b = actor_new(pl, ROLE_BYSTANDERS, "bystander", 0);
	uint64_t t0 = T_SYNFLOOD * SEC, span = 20 * SEC;
	uint32_t i = 0, c = C_TUNNEL;

	pl->actors[a].port = 80;
	while (i < N_SYNFLOOD) {
		uint32_t src = forged_ip(&g->arng), k = ar(g, 1, 3);

		for (uint32_t j = 0; j < k && i < N_SYNFLOOD; j++, i++) {
			uint64_t t = t0 + i * span / N_SYNFLOOD + rng_below(&g->arng, 200);
			struct apkt p = pk_tcp(g, t, src, (uint16_t)ar(g, 1024, 65535), victim, 80,
			                       TH_SYN, (uint32_t)rng_next(&g->arng), 0);

			p.win = 512;
			p.ttl = 54;
			p.df = 0;
			pl_push(g, &p, a);
			if (i < N_SYNFLOOD / 10 * 3) {
				struct apkt r = pk_tcp(g, t + ar(g, 40, 400), victim, 80, src,
				                       p.sport, TH_SYN | TH_ACK,
				                       (uint32_t)rng_next(&g->arng), p.seq + 1);

				r.ttl = srv_ttl(V_WEB);
				r.win = 64240;
				r.opts = PO_LINUX;
				pl_push(g, &r, a);
			}
		}
	}
	/* Bystanders: clients after the tunnel's, wrapping, never the planted ones. */
	for (uint32_t j = 0; j < 200; j++) {
		do
			c = (c + 1) % nclients;
		while (c == C_TUNNEL || c == C_IKE || c == C_IKE + 1);
		if (j < nclients - 3)
			actor_addr(pl, b, cli_ip(c));
		bystander_session(g, t0 + rng_below(&g->arng, (uint32_t)span), c,
		                  (uint16_t)(PLANT_SPORT + j), b);
	}
}

/* 4: 30,000 DNS-shaped 512-byte datagrams to a resolver over ~10 s from forged sources. */
static void plant_udp_flood(struct gen *g)
{
	uint32_t victim = srv_ip(V_UDPFLOOD);
	uint16_t a = actor_new(g->plant, ROLE_VICTIM, "udp_flood_spoofed", victim);

	g->plant->actors[a].port = 53;
	for (uint32_t i = 0; i < N_UDPFLOOD; i++) {
		uint64_t t =
		    T_UDPFLOOD * SEC + i * 10 * SEC / N_UDPFLOOD + rng_below(&g->arng, 300);
		struct apkt p = pk_udp(g, t, forged_ip(&g->arng), (uint16_t)ar(g, 1024, 65535),
		                       victim, 53, PC_DNS_FLOOD, 512);

		p.ttl = 117;
		p.df = 0;
		pl_push(g, &p, a);
	}
}

/* 5: 30,000 echo requests with 64 bytes of data over ~10 s from forged sources; 20% answered. */
static void plant_icmp_flood(struct gen *g)
{
	uint32_t victim = srv_ip(V_ICMP);
	uint16_t a = actor_new(g->plant, ROLE_VICTIM, "icmp_flood_spoofed", victim);

	for (uint32_t i = 0; i < N_ICMPFLOOD; i++) {
		uint64_t t = T_ICMP * SEC + i * 10 * SEC / N_ICMPFLOOD + rng_below(&g->arng, 300);
		struct apkt p =
		    pk_icmp(g, t, forged_ip(&g->arng), victim, 8, 0, (uint32_t)rng_next(&g->arng));

		p.ttl = 245;
		p.content = PC_PATTERN;
		p.plen = 64;
		pl_push(g, &p, a);
		if (i < N_ICMPFLOOD / 5) {
			struct apkt r = pk_icmp(g, t + ar(g, 30, 300), victim, p.src, 0, 0, p.seq);

			r.ttl = srv_ttl(V_ICMP);
			r.content = PC_PATTERN;
			r.plen = 64;
			pl_push(g, &r, a);
		}
	}
}

/* One SSH password-guessing session: key exchange, then 4 to 16 failed logins. */
static void ssh_session(struct gen *g, struct sess *s, uint32_t rtt)
{
	uint32_t tries = ar(g, 4, 16);

	sess_open(g, s, rtt);
	s->t += ar(g, 2000, 10000);
	sess_data(g, s, DIR_S2C, PC_SSH_BANNER, 0, 1);
	s->t += rtt;
	sess_data(g, s, DIR_C2S, PC_SSH_BANNER, 0, 0);
	s->t += ar(g, 100, 500);
	sess_data(g, s, DIR_C2S, PC_SSH_KEXINIT, 0, 0);
	s->t += rtt / 2;
	sess_data(g, s, DIR_S2C, PC_SSH_KEXINIT, 0, 1);
	s->t += rtt / 2 + ar(g, 100, 1000);
	sess_data(g, s, DIR_C2S, PC_SSH_ECDH_INIT, 0, 0);
	s->t += rtt + ar(g, 2000, 5000);
	sess_data(g, s, DIR_S2C, PC_SSH_ECDH_REPLY, 0, 0);
	s->t += rtt + ar(g, 1000, 3000);
	sess_data(g, s, DIR_C2S, PC_SSH_NEWKEYS, 0, 0);
	s->t += ar(g, 50, 200);
	sess_data(g, s, DIR_C2S, PC_SSH_ENC, 4 + 32 + 32, 0); /* service request */
	s->t += rtt;
	sess_data(g, s, DIR_S2C, PC_SSH_ENC, 4 + 32 + 32, 0);
	for (uint32_t i = 0; i < tries; i++) {
		s->t += ar(g, 10000, 200000);
		sess_data(g, s, DIR_C2S, PC_SSH_ENC, (uint16_t)(4 + 16 * ar(g, 5, 8) + 32), 0);
		s->t += rtt + ar(g, 100000, 400000);
		sess_data(g, s, DIR_S2C, PC_SSH_ENC, 4 + 32 + 32, 0);
	}
	s->t += ar(g, 1000, 20000);
	sess_close(g, s, DIR_C2S, rtt);
}

/* 6: three guessers, 40 SSH sessions each to the web victim, one every 5 to 15 s. */
static void plant_ssh_brute(struct gen *g)
{
	struct plant *pl = g->plant;

	for (uint32_t k = 0; k < 3; k++) {
		uint16_t a = actor_new(pl, ROLE_ATTACKER, "ssh_brute", A_SSH + k);
		uint32_t rtt = ar(g, 20000, 90000), cport = ar(g, 33000, 50000);
		uint64_t t = (T_SSH + 2 * k) * SEC;

		actor_addr(pl, a, srv_ip(V_WEB));
		actor_port(pl, a, 22);
		for (uint32_t i = 0; i < 40; i++) {
			struct sess s;

			sess_init(g, &s, t, A_SSH + k, (uint16_t)(cport + 3 * i), (uint8_t)(44 + k),
			          srv_ip(V_WEB), 22, srv_ttl(V_WEB), a);
			ssh_session(g, &s, rtt + ar(g, 0, 3000));
			t += ar(g, 5000000, 15000000);
		}
	}
}

/* 7: a client sends 300 TXT and NULL queries for encoded names through a resolver. */
static void plant_dns_tunnel(struct gen *g)
{
	struct plant *pl = g->plant;
	uint32_t client = cli_ip(C_TUNNEL), resolver = srv_ip(V_TUNNEL);
	uint16_t a = actor_new(pl, ROLE_ATTACKER, "dns_tunnel", client);
	uint64_t t = T_TUNNEL * SEC;

	actor_addr(pl, a, resolver);
	actor_port(pl, a, 53);
	for (uint32_t i = 0; i < 300; i++) {
		uint32_t qtype = rng_below(&g->arng, 10) < 7 ? 16 : 10;
		uint32_t rdlen = ar(g, 100, 220);
		struct apkt q = pk_udp(g, t, client, (uint16_t)(PLANT_SPORT + i), resolver, 53,
		                       PC_DNS_TUN_Q, 0);
		struct apkt r = pk_udp(g, t + ar(g, 5000, 40000), resolver, 53, client,
		                       (uint16_t)(PLANT_SPORT + i), PC_DNS_TUN_R, 0);

		q.seq = r.seq = (uint32_t)rng_next(&g->arng);
		q.ack = r.ack = qtype << 16 | rdlen;
		r.ttl = srv_ttl(V_TUNNEL);
		pl_push(g, &q, a);
		pl_push(g, &r, a);
		t += ar(g, 400000, 1400000);
	}
}

/* 8: data-less echo requests to all of 198.18.1.0/24 in order; 13 hosts answer. */
static void plant_icmp_sweep(struct gen *g)
{
	struct plant *pl = g->plant;
	uint16_t a = actor_new(pl, ROLE_ATTACKER, "icmp_sweep", A_SWEEP);
	uint32_t net = srv_ip(V_SWEEP) & 0xffffff00U, up[256] = {0};
	uint64_t t = T_SWEEP * SEC;

	for (uint32_t n = 0; n < 13;) {
		uint32_t h = ar(g, 1, 250);

		n += !up[h];
		up[h] = 1;
	}
	for (uint32_t h = 0; h < 256; h++) {
		struct apkt p = pk_icmp(g, t, A_SWEEP, net | h, 8, 0, (uint32_t)rng_next(&g->arng));

		p.ttl = 39;
		p.df = 0;
		actor_addr(pl, a, net | h);
		pl_push(g, &p, a);
		if (up[h]) {
			struct apkt r =
			    pk_icmp(g, t + ar(g, 20000, 40000), net | h, A_SWEEP, 0, 0, p.seq);

			r.ttl = srv_ttl(V_SWEEP + h - 1);
			pl_push(g, &r, a);
		}
		t += ar(g, 50000, 150000);
	}
}

/* 9: bare ACKs (nmap -sA) to port 80 of 200 servers; each answers RST. */
static void plant_ack_sweep(struct gen *g)
{
	struct plant *pl = g->plant;
	uint16_t a = actor_new(pl, ROLE_ATTACKER, "ack_sweep", A_ACK);
	uint16_t sport = (uint16_t)ar(g, 40000, 60000);
	uint64_t t = T_ACK * SEC;

	actor_port(pl, a, 80);
	for (uint32_t i = 0; i < 200; i++) {
		uint32_t dst = srv_ip(V_ACK + i);
		struct apkt p = pk_tcp(g, t, A_ACK, sport, dst, 80, TH_ACK,
		                       (uint32_t)rng_next(&g->arng), (uint32_t)rng_next(&g->arng));
		struct apkt r =
		    pk_tcp(g, t + ar(g, 20000, 40000), dst, 80, A_ACK, sport, TH_RST, p.ack, 0);

		p.win = 1024;
		p.ttl = 42;
		p.df = 0;
		r.ttl = srv_ttl(V_ACK + i);
		r.ipid = 0;
		actor_addr(pl, a, dst);
		pl_push(g, &p, a);
		pl_push(g, &r, a);
		t += ar(g, 25000, 75000);
	}
}

/*
 * Whether the protocol scan may probe p: never ICMP, TCP or UDP, nor one
 * whose tshark 4.0 dissector finds 8 zero bytes (or an ICMP error quoting
 * them) malformed, of bad checksum, or wrong.
 */
static int proto_probe_ok(uint16_t p)
{
	static const uint8_t skip[] = {0,   1,   2,   4,   6,   9,   17,  33,  41,  43,  44, 46,
	                               48,  50,  51,  53,  54,  58,  60,  83,  88,  89,  93, 97,
	                               112, 115, 132, 134, 136, 137, 139, 140, 143, 173, 224};

	for (size_t i = 0; i < sizeof(skip); i++)
		if (p == skip[i])
			return 0;
	return p < 256;
}

/*
 * 10: 60 IP protocols (none of ICMP, TCP, UDP) with 8 zero bytes each, to one
 * server; it answers 50 with protocol unreachable quoting the probe.
 */
static void plant_proto_scan(struct gen *g)
{
	struct plant *pl = g->plant;
	uint16_t a = actor_new(pl, ROLE_ATTACKER, "proto_scan", A_PROTO);
	uint32_t victim = srv_ip(V_PROTO);
	uint16_t protos[256], silent[60] = {0};
	uint64_t t = T_PROTO * SEC;
	uint32_t n = 0;

	for (uint16_t p = 0; p < 256; p++)
		if (proto_probe_ok(p))
			protos[n++] = p;
	shuffle16(&g->arng, protos, n); /* the first 60 are probed */
	actor_addr(pl, a, victim);
	pl->actors[a].protos = 1;
	for (uint16_t p = 0; p < 256; p++)
		for (uint32_t i = 0; i < 60; i++)
			if (protos[i] == p)
				actor_port(pl, a, p);
	for (n = 0; n < 10;) {
		uint32_t i = rng_below(&g->arng, 60);

		n += !silent[i];
		silent[i] = 1;
	}
	for (uint32_t i = 0; i < 60; i++) {
		struct apkt p = {.t_us = t,
		                 .src = A_PROTO,
		                 .dst = victim,
		                 .proto = (uint8_t)protos[i],
		                 .ttl = 53,
		                 .content = PC_ZERO,
		                 .plen = 8};

		p.ipid = (uint16_t)rng_next(&g->arng);
		pl_push(g, &p, a);
		if (!silent[i]) {
			struct apkt r =
			    pk_icmp(g, t + ar(g, 20000, 30000), victim, A_PROTO, 3, 2, 0);

			r.ttl = srv_ttl(V_PROTO);
			r.df = 0;
			r.content = PC_QUOTE;
			r.aux = pl_quote(pl, &p);
			pl_push(g, &r, a);
		}
		t += ar(g, 50000, 150000);
	}
}

/* 11: empty UDP datagrams to port 161 of 100 servers; three answer port unreachable. */
static void plant_udp_scan(struct gen *g)
{
	struct plant *pl = g->plant;
	uint16_t a = actor_new(pl, ROLE_ATTACKER, "udp_scan_empty", A_UDPSCAN);
	uint16_t sport = (uint16_t)ar(g, 40000, 60000);
	uint64_t t = T_UDPSCAN * SEC;

	actor_port(pl, a, 161);
	for (uint32_t i = 0; i < 100; i++) {
		uint32_t dst = srv_ip(V_UDPSCAN + i);
		struct apkt p = pk_udp(g, t, A_UDPSCAN, sport, dst, 161, PC_NONE, 0);

		p.ttl = 49;
		p.df = 0;
		actor_addr(pl, a, dst);
		pl_push(g, &p, a);
		if (i % 37 == 11) {
			struct apkt r =
			    pk_icmp(g, t + ar(g, 20000, 40000), dst, A_UDPSCAN, 3, 3, 0);

			r.ttl = srv_ttl(V_UDPSCAN + i);
			r.df = 0;
			r.content = PC_QUOTE;
			r.aux = pl_quote(pl, &p);
			pl_push(g, &r, a);
		}
		t += ar(g, 25000, 75000);
	}
}

/* 12: ten ordinary SYNs to port 22 of ten servers, one every 6 minutes; none answered. */
static void plant_slow_scan(struct gen *g)
{
	struct plant *pl = g->plant;
	uint16_t a = actor_new(pl, ROLE_ATTACKER, "slow_scan", A_SLOW);

	actor_port(pl, a, 22);
	for (uint32_t i = 0; i < 10; i++) {
		uint32_t dst = srv_ip(V_SLOW + 23 * i);
		struct apkt p = pk_tcp(g, (T_SLOW + 360 * i) * SEC + rng_below(&g->arng, 1000000),
		                       A_SLOW, (uint16_t)ar(g, 32768, 60999), dst, 22, TH_SYN,
		                       (uint32_t)rng_next(&g->arng), 0);

		p.win = 64240;
		p.opts = PO_LINUX;
		p.ttl = 55;
		actor_addr(pl, a, dst);
		pl_push(g, &p, a);
	}
}

/* 13: nmap -sS's probe to port 22 of one server, three times a second apart. */
static void plant_single_probe(struct gen *g)
{
	struct plant *pl = g->plant;
	uint16_t a = actor_new(pl, ROLE_ATTACKER, "single_probe", A_PROBE);
	uint32_t victim = srv_ip(V_PROBE);
	uint16_t sport = (uint16_t)ar(g, 40000, 60000);

	actor_addr(pl, a, victim);
	actor_port(pl, a, 22);
	for (uint32_t i = 0; i < 3; i++) {
		uint64_t t = (T_PROBE + i) * SEC + rng_below(&g->arng, 50000);
		struct apkt p = syn_probe(g, t, A_PROBE, sport, victim, 22, 46, 1);

		pl_push(g, &p, a);
		syn_answer(g, &p, ar(g, 15000, 25000), 1, srv_ttl(V_PROBE), a);
	}
}

/*
 * 14: unsolicited UDP "responses" to random ports of a victim, ~20 from each
 * reflector over 10 s: IKE (port 500) from 60 reflectors, 1,100-1,400 bytes,
 * and BACnet (47808) from 40, 500-800 bytes. Before, two clients make small
 * IKE exchanges with a server: the largest request seen is 100 bytes.
 */
static void plant_reflection(struct gen *g)
{
	struct plant *pl = g->plant;
	uint16_t bg = actor_new(pl, ROLE_BACKGROUND, "ike_client", cli_ip(C_IKE));
	uint32_t srv = srv_ip(V_IKESRV);

	for (uint32_t i = 0; i < 4; i++) {
		uint32_t cli = cli_ip(C_IKE + i % 2);
		uint64_t t = (12 + 27 * i) * SEC + rng_below(&g->arng, 1000000);
		struct apkt q = pk_udp(g, t, cli, 500, srv, 500, PC_IKE, 100);
		struct apkt r = pk_udp(g, t + ar(g, 5000, 30000), srv, 500, cli, 500, PC_IKE,
		                       (uint16_t)ar(g, 120, 160));

		r.aux = 1;
		r.ttl = srv_ttl(V_IKESRV);
		pl_push(g, &q, bg);
		pl_push(g, &r, bg);
	}
	for (uint32_t kind = 0; kind < 2; kind++) {
		uint32_t vs = kind ? V_BACNET : V_IKE, victim = srv_ip(vs);
		uint32_t nrefl = kind ? 40 : 60;
		uint16_t port = kind ? 47808 : 500;
		const char *cls = kind ? "reflection_bacnet" : "reflection_ike";
		uint16_t v = actor_new(pl, ROLE_VICTIM, cls, victim);
		uint64_t t0 = (T_REFL + 5 * kind) * SEC;

		pl->actors[v].port = port;
		for (uint32_t i = 0; i < nrefl; i++) {
			uint32_t ip = kind ? IP4(100, 72, 80, 1 + i) : IP4(100, 64, 5, 1 + i);
			uint16_t a = actor_new(pl, ROLE_REFLECTOR, cls, ip);
			uint32_t n = ar(g, 17, 23);

			pl->actors[a].peer = victim;
			pl->actors[a].port = port;
			for (uint32_t k = 0; k < n; k++) {
				uint64_t t = t0 + rng_below(&g->arng, 10 * SEC);
				uint16_t len = kind ? (uint16_t)(18 + 5 * ar(g, 97, 156))
				                    : (uint16_t)ar(g, 1100, 1400);
				struct apkt p =
				    pk_udp(g, t, ip, port, victim, (uint16_t)ar(g, 49152, 65535),
				           kind ? PC_BACNET : PC_IKE, len);

				p.aux = 1;
				p.ttl = (uint8_t)(40 + i % 20);
				p.df = 0;
				pl_push(g, &p, a);
			}
		}
	}
}

/* One RDP connection: X.224, TLS, then login exchanges until about pkts packets. */
static void rdp_session(struct gen *g, struct sess *s, uint32_t rtt, uint32_t pkts, uint64_t dur)
{
	uint32_t used = 8, exch = (pkts - 12) * 2 / 11;
	uint64_t pause = dur / (exch ? exch : 1);

	sess_open(g, s, rtt);
	s->t += ar(g, 200, 2000);
	sess_data(g, s, DIR_C2S, PC_RDP_CR, 0, ar(g, 0, 7));
	s->t += rtt + ar(g, 500, 2000);
	sess_data(g, s, DIR_S2C, PC_RDP_CC, 0, 0);
	s->t += ar(g, 200, 2000);
	sess_data(g, s, DIR_C2S, PC_TLS_CH, 0, V_RDP);
	s->t += rtt + ar(g, 500, 2000);
	sess_data(g, s, DIR_S2C, PC_TLS_SH, 0, V_RDP);
	s->t += ar(g, 200, 2000);
	sess_data(g, s, DIR_C2S, PC_TLS_APP, (uint16_t)ar(g, 100, 400), 0);
	while (used + 8 + 3 <= pkts) {
		uint32_t up = ar(g, 1, 3), down = ar(g, 1, 4);

		s->t += pause / 2 + rng_below(&g->arng, (uint32_t)pause);
		for (uint32_t i = 0; i < up; i++, s->t += ar(g, 50, 500))
			sess_data(g, s, DIR_C2S, PC_TLS_APP, (uint16_t)ar(g, 100, 600), 0);
		s->t += rtt + ar(g, 1000, 30000);
		for (uint32_t i = 0; i < down; i++, s->t += ar(g, 50, 500))
			sess_data(g, s, DIR_S2C, PC_TLS_APP, (uint16_t)ar(g, 100, 1400), 0);
		s->t += ar(g, 20, 400);
		sess_seg(g, s, DIR_C2S, TH_ACK, PC_NONE, 0, 0);
		used += up + down + 1;
	}
	s->t += ar(g, 1000, 50000);
	sess_close(g, s, DIR_C2S, rtt);
}

/* 15: 16 RDP connections at a time to one server for 1.5 h, each 2-4 min and 150-300 packets. */
static void plant_rdp_brute(struct gen *g)
{
	struct plant *pl = g->plant;
	uint16_t a = actor_new(pl, ROLE_ATTACKER, "rdp_parallel_brute", A_RDP);
	uint32_t victim = srv_ip(V_RDP), rtt = ar(g, 30000, 40000), port = 49152;
	uint64_t end = (T_RDP + RDP_SECONDS) * SEC;

	actor_addr(pl, a, victim);
	actor_port(pl, a, 3389);
	for (uint32_t slot = 0; slot < 16; slot++) {
		uint64_t t = T_RDP * SEC + slot * 300000ULL;

		while (t < end) {
			struct sess s;

			sess_init(g, &s, t, A_RDP, (uint16_t)port, 48, victim, 3389, srv_ttl(V_RDP),
			          a);
			rdp_session(g, &s, rtt + ar(g, 0, 2000), ar(g, 150, 300),
			            ar(g, 120, 240) * SEC);
			t = s.t + ar(g, 1000, 10000);
			port = port == 65535 ? 49152 : port + 1;
		}
	}
}

static int apkt_cmp(const void *x, const void *y)
{
	const struct apkt *a = x, *b = y;

	if (a->t_us != b->t_us)
		return a->t_us < b->t_us ? -1 : 1;
	return a->ord < b->ord ? -1 : a->ord > b->ord;
}

/*
 * Plan every attack from the planted PRNG (seeded from seed) and sort the
 * packets by time. nclients is the benign client count, where bystanders
 * are taken from. Exits on allocation failure.
 */
static struct plant *plant_new(struct gen *g, uint64_t seed, uint32_t nclients)
{
	g->plant = calloc(1, sizeof(*g->plant));
	if (!g->plant) {
		fprintf(stderr, "genpcap: out of memory\n");
		exit(1);
	}
	seed ^= 0x61747461636b73ULL; /* "attacks" */
	rng_seed(&g->arng, splitmix64(&seed));
	plant_vertical_scan(g);
	plant_horizontal_scan(g);
	plant_syn_flood(g, nclients);
	plant_udp_flood(g);
	plant_icmp_flood(g);
	plant_ssh_brute(g);
	plant_dns_tunnel(g);
	plant_icmp_sweep(g);
	plant_ack_sweep(g);
	plant_proto_scan(g);
	plant_udp_scan(g);
	plant_slow_scan(g);
	plant_single_probe(g);
	plant_reflection(g);
	plant_rdp_brute(g);
	qsort(g->plant->d, g->plant->n, sizeof(*g->plant->d), apkt_cmp);
	return g->plant;
}

static void plant_free(struct plant *pl)
{
	if (!pl)
		return;
	for (uint32_t i = 0; i < pl->nactors; i++) {
		free(pl->actors[i].addrs);
		free(pl->actors[i].ports);
	}
	free(pl->d);
	free(pl);
}

/* ---- the truth file ---- */

static void json_ips(FILE *f, const uint32_t *v, uint32_t n)
{
	char s[16];

	fputc('[', f);
	for (uint32_t i = 0; i < n; i++) {
		ip_str(v[i], s);
		fprintf(f, "%s\"%s\"", i ? "," : "", s);
	}
	fputc(']', f);
}

static void json_times(FILE *f, const struct actor *a)
{
	fprintf(f, ",\"packets\":%llu,\"first\":%llu.%06llu,\"last\":%llu.%06llu",
	        (unsigned long long)a->packets,
	        (unsigned long long)(EPOCH_SEC + a->first_us / 1000000),
	        (unsigned long long)(a->first_us % 1000000),
	        (unsigned long long)(EPOCH_SEC + a->last_us / 1000000),
	        (unsigned long long)(a->last_us % 1000000));
}

/*
 * Write what was planted as one JSON object (bench/README.md has the
 * format); pl may be NULL (nothing planted). Returns 0, or -1 after saying why.
 */
static int truth_write(const struct plant *pl, const char *path, uint32_t secs)
{
	static const uint8_t roles[3] = {ROLE_ATTACKER, ROLE_REFLECTOR, ROLE_VICTIM};
	static const char *const keys[3] = {"attackers", "reflectors", "victims"};
	FILE *f = fopen(path, "w");
	uint32_t na = pl ? pl->nactors : 0;
	char s[16];

	if (!f) {
		fprintf(stderr, "genpcap: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "{\"epoch\":%llu,\"benign_seconds\":%u,\n", EPOCH_SEC, secs);
	for (int k = 0; k < 3; k++) {
		int first = 1;

		fprintf(f, "\"%s\":[", keys[k]);
		for (uint32_t i = 0; i < na; i++) {
			const struct actor *a = &pl->actors[i];

			if (a->role != roles[k])
				continue;
			ip_str(a->ip, s);
			fprintf(f, "%s\n {\"ip\":\"%s\",\"class\":\"%s\"", first ? "" : ",", s,
			        a->cls);
			first = 0;
			if (a->role == ROLE_ATTACKER) {
				fputs(",\"victims\":", f);
				json_ips(f, a->addrs, a->naddrs);
				fprintf(f, ",\"%s\":[", a->protos ? "protocols" : "ports");
				for (uint32_t j = 0; j < a->nports; j++)
					fprintf(f, "%s%u", j ? "," : "", a->ports[j]);
				fputc(']', f);
			} else if (a->role == ROLE_REFLECTOR) {
				ip_str(a->peer, s);
				fprintf(f, ",\"victim\":\"%s\",\"port\":%u", s, a->port);
			} else if (a->port) {
				fprintf(f, ",\"port\":%u", a->port);
			}
			if (a->role == ROLE_VICTIM && strncmp(a->cls, "reflection", 10) == 0) {
				struct actor sum = {.first_us = UINT64_MAX};

				for (uint32_t j = 0; j < na; j++) {
					const struct actor *b = &pl->actors[j];

					if (b->role != ROLE_REFLECTOR || b->peer != a->ip)
						continue;
					sum.packets += b->packets;
					sum.first_us =
					    b->first_us < sum.first_us ? b->first_us : sum.first_us;
					sum.last_us =
					    b->last_us > sum.last_us ? b->last_us : sum.last_us;
				}
				json_times(f, &sum);
			} else {
				json_times(f, a);
			}
			fputc('}', f);
		}
		fputs("],\n", f);
	}
	fputs("\"bystanders\":", f);
	for (uint32_t i = 0; i < na; i++)
		if (pl->actors[i].role == ROLE_BYSTANDERS)
			json_ips(f, pl->actors[i].addrs, pl->actors[i].naddrs);
	if (!na)
		fputs("[]", f);
	fputs(",\n\"forged_excluded\":[", f);
	for (size_t i = 0; pl && i < sizeof(forged_excluded) / sizeof(forged_excluded[0]); i++) {
		ip_str(forged_excluded[i].net, s);
		fprintf(f, "%s\"%s/%u\"", i ? "," : "", s, forged_excluded[i].len);
	}
	fputs("]}\n", f);
	if (ferror(f) | (fclose(f) != 0)) {
		fprintf(stderr, "genpcap: %s: write failed\n", path);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The event heap: flow indices ordered by next packet time.           */

static void heap_down(uint32_t *h, uint32_t n, uint32_t i, const struct gflow *fl)
{
	uint32_t v = h[i];
	uint64_t key = fl[v].next_us;

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && fl[h[c + 1]].next_us < fl[h[c]].next_us)
			c++;
		if (fl[h[c]].next_us >= key)
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = v;
}

/*
 * Write the n flows' packets in time order, and the planted ones (if any)
 * merged among them; a benign packet goes first on a tie. Returns 0, or -1
 * after saying why.
 */
static int gen_run(struct gen *g, struct gflow *fl, uint32_t n)
{
	uint32_t *heap = malloc((size_t)n * sizeof(*heap));
	struct plant *pl = g->plant;

	if (!heap) {
		fprintf(stderr, "genpcap: out of memory\n");
		return -1;
	}
	for (uint32_t i = 0; i < n; i++)
		heap[i] = i;
	for (uint32_t i = n / 2; i-- > 0;)
		heap_down(heap, n, i, fl);

	while (n || (pl && pl->next < pl->n)) {
		struct gflow *f = &fl[heap[0]];
		uint32_t gap;

		if (OUTBUF_SIZE - g->len < REC_HDR + FRAME_MAX + 64 && out_flush(g) < 0) {
			free(heap);
			return -1;
		}
		if (pl && pl->next < pl->n && (!n || pl->d[pl->next].t_us < f->next_us)) {
			plant_emit(g, &pl->d[pl->next++]);
			continue;
		}
		g->now_us = f->next_us;
		gap = flow_step(g, f);
		f->pos++;
		if (f->pos == f->total)
			heap[0] = heap[--n];
		else
			f->next_us += gap;
		if (n)
			heap_down(heap, n, 0, fl);
	}
	free(heap);
	return out_flush(g);
}

/* ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
	        "usage: genpcap [-n PACKETS] [-f FLOWS] [-s SEED] [-d SECONDS] [-a] [-t FILE]\n"
	        "               OUT.pcap\n"
	        "  defaults: -n %llu -f %u -s %llu -d %u\n"
	        "  -a       plant a fixed set of attacks too (about 325,000 packets; the\n"
	        "           slowest run on past the benign traffic, to about 5,630 s)\n"
	        "  -t FILE  write what was planted to FILE (JSON)\n",
	        DEF_PACKETS, DEF_FLOWS, (unsigned long long)DEF_SEED, DEF_SECONDS);
	exit(2);
}

/* Parse a decimal count in [lo, hi]; exits with a usage error otherwise. */
static uint64_t parse_count(const char *opt, const char *s, uint64_t lo, uint64_t hi)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) {
		fprintf(stderr, "genpcap: -%s %s: expected a number from %llu to %llu\n", opt, s,
		        (unsigned long long)lo, (unsigned long long)hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	uint64_t npkts = DEF_PACKETS, seed = DEF_SEED;
	uint32_t nflows = DEF_FLOWS, secs = DEF_SECONDS, n;
	const char *truth = NULL;
	struct timespec t0, t1;
	struct gflow *fl;
	struct gen *g;
	int c, rc = 1, attacks = 0;

	while ((c = getopt(argc, argv, "n:f:s:d:at:h")) != -1) {
		switch (c) {
		case 'n':
			npkts = parse_count("n", optarg, 1, 1ULL << 32);
			break;
		case 'f':
			nflows = (uint32_t)parse_count("f", optarg, 1, 50000000);
			break;
		case 's':
			seed = parse_count("s", optarg, 0, UINT64_MAX);
			break;
		case 'd':
			secs = (uint32_t)parse_count("d", optarg, 1, 86400);
			break;
		case 'a':
			attacks = 1;
			break;
		case 't':
			truth = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();

	clock_gettime(CLOCK_MONOTONIC, &t0);
	g = calloc(1, sizeof(*g));
	fl = calloc(nflows, sizeof(*fl));
	if (!g || !fl || !(g->buf = malloc(OUTBUF_SIZE))) {
		fprintf(stderr, "genpcap: out of memory\n");
		return 1;
	}
	g->path = argv[optind];
	rng_seed(&g->rng, seed);
	for (size_t i = 0; i < FILLER_SIZE; i += 8) {
		uint64_t v = rng_next(&g->rng);

		memcpy(g->filler + i, &v, 8);
	}
	text_init(g);
	g->fd = open(g->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (g->fd < 0) {
		fprintf(stderr, "genpcap: %s: %s\n", g->path, strerror(errno));
		return 1;
	}
	out_file_header(g);
	n = plan_flows(g, fl, nflows, npkts, (uint64_t)secs * 1000000);
	if (attacks)
		plant_new(g, seed, client_count(nflows));
	if (truth && truth_write(g->plant, truth, secs) < 0)
		goto out;
	if (gen_run(g, fl, n) < 0)
		goto out;
	if (close(g->fd) < 0) {
		fprintf(stderr, "genpcap: %s: close: %s\n", g->path, strerror(errno));
		g->fd = -1;
		goto out;
	}
	g->fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("packets %llu flows %u bytes %llu", (unsigned long long)g->packets, n,
	       (unsigned long long)g->bytes);
	if (g->plant)
		printf(" planted %u", g->plant->n);
	putchar('\n');
	fprintf(stderr, "genpcap: %s: %llu packets, %u flows, %.1f MiB in %.2f s\n", g->path,
	        (unsigned long long)g->packets, n, (double)g->bytes / (1 << 20),
	        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	rc = 0;
out:
	if (g->fd >= 0)
		close(g->fd);
	plant_free(g->plant);
	free(fl);
	free(g->buf);
	free(g);
	return rc;
}
