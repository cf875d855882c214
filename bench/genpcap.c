/*
 * genpcap — a deterministic synthetic capture for bench/analyze.
 *
 *   genpcap [-n PACKETS] [-f FLOWS] [-s SEED] [-d SECONDS] OUT.pcap
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
 * Prints "packets N flows F bytes B" on stdout; progress and errors on stderr.
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
	uint32_t nclients = nflows / 40 < 64 ? 64 : nflows / 40 > 60000 ? 60000 : nflows / 40;
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

static int gen_run(struct gen *g, struct gflow *fl, uint32_t n)
{
	uint32_t *heap = malloc((size_t)n * sizeof(*heap));

	if (!heap) {
		fprintf(stderr, "genpcap: out of memory\n");
		return -1;
	}
	for (uint32_t i = 0; i < n; i++)
		heap[i] = i;
	for (uint32_t i = n / 2; i-- > 0;)
		heap_down(heap, n, i, fl);

	while (n) {
		struct gflow *f = &fl[heap[0]];
		uint32_t gap;

		if (OUTBUF_SIZE - g->len < REC_HDR + FRAME_MAX + 64 && out_flush(g) < 0) {
			free(heap);
			return -1;
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
	        "usage: genpcap [-n PACKETS] [-f FLOWS] [-s SEED] [-d SECONDS] OUT.pcap\n"
	        "  defaults: -n %llu -f %u -s %llu -d %u\n",
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
	struct timespec t0, t1;
	struct gflow *fl;
	struct gen *g;
	int c, rc = 1;

	while ((c = getopt(argc, argv, "n:f:s:d:h")) != -1) {
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
	if (gen_run(g, fl, n) < 0)
		goto out;
	if (close(g->fd) < 0) {
		fprintf(stderr, "genpcap: %s: close: %s\n", g->path, strerror(errno));
		g->fd = -1;
		goto out;
	}
	g->fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("packets %llu flows %u bytes %llu\n", (unsigned long long)g->packets, n,
	       (unsigned long long)g->bytes);
	fprintf(stderr, "genpcap: %s: %llu packets, %u flows, %.1f MiB in %.2f s\n", g->path,
	        (unsigned long long)g->packets, n, (double)g->bytes / (1 << 20),
	        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	rc = 0;
out:
	if (g->fd >= 0)
		close(g->fd);
	free(fl);
	free(g->buf);
	free(g);
	return rc;
}
