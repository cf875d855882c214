/* dns.c - DNS message metadata: header, first question, A/AAAA answers.
 *
 * Everything is read through a bounded cursor over the caller's bytes.
 * Compressed names are followed with two guards: a pointer must point
 * before the start of the label run that holds it, so offsets strictly
 * decrease and no loop is possible, and the number of jumps is capped. */
#include "decode/appmeta.h"

#include <string.h>

#include "base/cursor.h"

#define DNS_HDR_LEN   12
#define DNS_MAX_JUMPS 64
#define DNS_TYPE_A    1
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN  1

/* Reads the name that starts at c->p in the message msg..msg+len into
 * out (presentation form, NUL-terminated) and advances c past the bytes
 * the name takes there (its first pointer ends them). out may be NULL to
 * only check and skip the name. Returns the name's length, YG_EFORMAT
 * for a bad label, bad pointer or a name longer than META_NAME_MAX,
 * YG_ETRUNC when the bytes end inside the name. */
static int dns_name_read(const uint8_t *msg, size_t len, struct cur *c, char *out)
{
	struct cur r = *c;           /* where we read labels now */
	const uint8_t *run = r.p;    /* start of the current label run */
	const uint8_t *after = NULL; /* end of the name in the message, once a pointer is seen */
	size_t n = 0;
	int jumps = 0;
	int err;

	for (;;) {
		uint8_t l;

		if (cur_u8(&r, &l) < 0) {
			err = YG_ETRUNC;
			goto bad;
		}
		if (l == 0)
			break;
		if ((l & 0xc0) == 0xc0) {
			uint8_t lo;
			size_t off;

			if (cur_u8(&r, &lo) < 0) {
				err = YG_ETRUNC;
				goto bad;
			}
			off = (size_t)(l & 0x3f) << 8 | lo;
			/* Strictly before the run that holds the pointer: the
			 * target of every jump is lower than the last, so the
			 * walk ends. The jump cap bounds the work. */
			if (off >= (size_t)(run - msg) || ++jumps > DNS_MAX_JUMPS) {
				err = YG_EFORMAT;
				goto bad;
			}
			if (after == NULL)
				after = r.p;
			r = cur_make(msg + off, len - off);
			run = r.p;
			continue;
		}
		/* 64..191: longer than a label may be (63), or the 0x40
		 * extended and 0x80 reserved label types. */
		if (l & 0xc0) {
			err = YG_EFORMAT;
			goto bad;
		}
		if (cur_left(&r) < l) {
			err = YG_ETRUNC;
			goto bad;
		}
		if (n > 0) {
			if (n + 1 > META_NAME_MAX) {
				err = YG_EFORMAT;
				goto bad;
			}
			if (out)
				out[n] = '.';
			n++;
		}
		for (unsigned i = 0; i < l; i++) {
			uint8_t ch = r.p[i];
			size_t need = (ch == '.' || ch == '\\') ? 2 : 1;

			if (n + need > META_NAME_MAX) {
				err = YG_EFORMAT;
				goto bad;
			}
			if (out) {
				if (need == 2)
					out[n] = '\\';
				out[n + need - 1] = (char)ch;
			}
			n += need;
		}
		r.p += l;
	}
	if (out)
		out[n] = '\0';
	c->p = after ? after : r.p;
	return (int)n;

bad:
	if (out)
		out[0] = '\0';
	return err;
}

/* Reads one answer record; keeps its address in out when it is an A or
 * AAAA of class IN. Returns 0, YG_ETRUNC or YG_EFORMAT. */
static int dns_answer_read(const uint8_t *msg, size_t len, struct cur *c, struct dns_meta *out)
{
	uint16_t type, rclass, rdlen;
	struct cur rdata;
	int rc;

	rc = dns_name_read(msg, len, c, NULL);
	if (rc < 0)
		return rc;
	if (cur_u16(c, &type) < 0 || cur_u16(c, &rclass) < 0 || cur_skip(c, 4) < 0 ||
	    cur_u16(c, &rdlen) < 0 || cur_sub(c, rdlen, &rdata) < 0)
		return YG_ETRUNC;
	/* The top bit of the class is mDNS's cache-flush flag. */
	if ((rclass & 0x7fff) != DNS_CLASS_IN || out->n_addrs >= DNS_MAX_ADDRS)
		return 0;
	if (type == DNS_TYPE_A && rdlen == 4)
		ipaddr_set4(&out->addrs[out->n_addrs++], rdata.p);
	else if (type == DNS_TYPE_AAAA && rdlen == 16)
		ipaddr_set6(&out->addrs[out->n_addrs++], rdata.p);
	/* CNAMEs and everything else are skipped: the addresses that follow
	 * a CNAME chain are the answer for the question's name. */
	return 0;
}

int dns_parse(const uint8_t *msg, size_t len, struct dns_meta *out)
{
	struct cur c = cur_make(msg, len);
	uint16_t flags, qdcount;
	int rc;

	memset(out, 0, sizeof(*out));
	if (cur_u16(&c, &out->txid) < 0 || cur_u16(&c, &flags) < 0 || cur_u16(&c, &qdcount) < 0 ||
	    cur_u16(&c, &out->ancount) < 0 || cur_skip(&c, 4) < 0) {
		rc = YG_ETRUNC;
		goto bad;
	}
	out->is_response = (uint8_t)(flags >> 15);
	out->rcode = (uint8_t)(flags & 0x0f);
	if (qdcount != 1) {
		rc = YG_EFORMAT;
		goto bad;
	}

	rc = dns_name_read(msg, len, &c, out->qname);
	if (rc < 0)
		goto bad;
	out->qname_len = (uint16_t)rc;
	if (cur_u16(&c, &out->qtype) < 0 || cur_u16(&c, &out->qclass) < 0) {
		rc = YG_ETRUNC;
		goto bad;
	}

	for (unsigned i = 0; i < out->ancount && out->n_addrs < DNS_MAX_ADDRS; i++) {
		rc = dns_answer_read(msg, len, &c, out);
		if (rc == YG_ETRUNC)
			break; /* keep the question and the answers read so far */
		if (rc < 0)
			goto bad;
	}
	return 0;

bad:
	memset(out, 0, sizeof(*out));
	return rc;
}

int dns_parse_tcp(const uint8_t *msg, size_t len, struct dns_meta *out)
{
	struct cur c = cur_make(msg, len);
	uint16_t mlen;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (cur_u16(&c, &mlen) < 0)
		return YG_ETRUNC;
	if (mlen < DNS_HDR_LEN)
		return YG_EFORMAT;
	/* A segment may hold less than the message (the rest comes later)
	 * or more (pipelined queries): parse what is there of the first. */
	n = cur_left(&c) < mlen ? cur_left(&c) : mlen;
	return dns_parse(c.p, n, out);
}
