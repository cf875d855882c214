/* id.c - STIX identifiers (UUIDv4 and UUIDv5) and timestamps. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/digest.h"
#include "stix/stix_int.h"

#define US_PER_S 1000000LL
#define S_PER_DAY 86400LL

/* STIX type names: lowercase ASCII letters, digits and '-', 3 to 250
 * characters (spec 2.9); we cap at STIX_TYPE_MAX, which fits every type the
 * spec defines and keeps ids in a fixed buffer. */
bool stix_type_valid(const char *s, size_t n)
{
	if (n < 3 || n > STIX_TYPE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return s[0] != '-' && s[n - 1] != '-';
}

static void uuid_fmt(const uint8_t u[16], char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[u[i] >> 4];
		out[o++] = hex[u[i] & 15];
	}
	out[o] = '\0';
}

static int id_write(const char *type, const uint8_t u[16], char out[STIX_ID_MAX])
{
	size_t n = strlen(type);

	memcpy(out, type, n);
	memcpy(out + n, "--", 2);
	uuid_fmt(u, out + n + 2);
	return 0;
}

int stix_id_new(const char *type, char out[STIX_ID_MAX])
{
	uint8_t u[16];

	if (type == NULL || !stix_type_valid(type, strlen(type)))
		return YG_EINVAL;
	if (sodium_init() < 0)
		return YG_EIO;
	randombytes_buf(u, sizeof(u));
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	return id_write(type, u, out);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 36 characters of 8-4-4-4-12 hex into 16 bytes; -1 if not that shape. */
static int uuid_parse(const char *s, uint8_t u[16])
{
	size_t o = 0;

	for (size_t i = 0; i < 36; i++) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		if ((hi = hexval(s[i])) < 0 || (lo = hexval(s[i + 1])) < 0)
			return -1;
		u[o++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	return s[36] == '\0' ? 0 : -1;
}

int stix_id_v5(const char *type, const char *name, char out[STIX_ID_MAX])
{
	uint8_t ns[16], h[DIGEST_SHA1_LEN];
	size_t n;
	uint8_t *buf;
	int err;

	if (type == NULL || name == NULL || !stix_type_valid(type, strlen(type)))
		return YG_EINVAL;
	if (uuid_parse(STIX_NAMESPACE, ns) < 0)
		return YG_EINVAL;
	n = strlen(name);
	if ((buf = yg_malloc(16 + n + 1)) == NULL)
		return YG_ENOMEM;
	memcpy(buf, ns, 16);
	memcpy(buf + 16, name, n);
	err = digest_sha1(buf, 16 + n, h) < 0 ? YG_EIO : 0;
	free(buf);
	if (err < 0)
		return err;
	h[6] = (uint8_t)((h[6] & 0x0f) | 0x50);
	h[8] = (uint8_t)((h[8] & 0x3f) | 0x80);
	return id_write(type, h, out);
}

bool stix_id_valid(const char *s, const char *type)
{
	const char *sep;
	uint8_t u[16];
	size_t tn;

	if (s == NULL || (sep = strstr(s, "--")) == NULL)
		return false;
	tn = (size_t)(sep - s);
	if (!stix_type_valid(s, tn))
		return false;
	if (type != NULL && (strlen(type) != tn || memcmp(s, type, tn) != 0))
		return false;
	if (strnlen(sep + 2, 37) != 36 || uuid_parse(sep + 2, u) < 0)
		return false;
	/* What the OASIS identifier schema checks: version 1-5, RFC variant. */
	return (u[6] >> 4) >= 1 && (u[6] >> 4) <= 5 && (u[8] & 0xc0) == 0x80;
}

/* --- time --- */

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard
 * Hinnant's algorithms): exact for every year we accept, no libc time
 * zone state. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* The bounds of years 0001 to 9999, the four digits a STIX timestamp has. */
#define TIME_MIN (-62135596800LL * US_PER_S)
#define TIME_MAX (253402300800LL * US_PER_S - 1)

int stix_time_fmt(int64_t us, char out[STIX_TIME_LEN])
{
	int64_t s, days, sod, y;
	unsigned m, d;
	int ms;

	if (us < TIME_MIN || us > TIME_MAX)
		return YG_EINVAL;
	s = us >= 0 ? us / US_PER_S : -((-us + US_PER_S - 1) / US_PER_S);
	ms = (int)((us - s * US_PER_S) / 1000);
	days = s >= 0 ? s / S_PER_DAY : -((-s + S_PER_DAY - 1) / S_PER_DAY);
	sod = s - days * S_PER_DAY;
	civil_from_days(days, &y, &m, &d);
	/* a buffer the compiler can see is large enough for any int */
	char buf[96];

	snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", (int)y, m, d,
		 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), ms);
	memcpy(out, buf, STIX_TIME_LEN);
	return 0;
}

static int digits(const char *s, int n, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return 0;
}

static unsigned month_days(unsigned y, unsigned m)
{
	static const unsigned char days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

int stix_time_parse(const char *s, int64_t *us)
{
	unsigned y, mo, d, h, mi, sec, frac = 0;
	size_t i = 19, n;
	int nd = 0;

	if (s == NULL)
		return YG_EINVAL;
	n = strnlen(s, 40);
	if (n < 20 || n >= 40 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':')
		return YG_EINVAL;
	if (digits(s, 4, &y) < 0 || digits(s + 5, 2, &mo) < 0 || digits(s + 8, 2, &d) < 0 ||
	    digits(s + 11, 2, &h) < 0 || digits(s + 14, 2, &mi) < 0 || digits(s + 17, 2, &sec) < 0)
		return YG_EINVAL;
	if (y == 0 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 ||
	    sec > 60)
		return YG_EINVAL;
	if (s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (++nd > 9)
				return YG_EINVAL;
			if (nd <= 6)
				frac = frac * 10 + (unsigned)(s[i] - '0');
			i++;
		}
		if (nd == 0)
			return YG_EINVAL;
		for (int k = nd; k < 6; k++)
			frac *= 10;
	}
	if (i + 1 != n || s[i] != 'Z')
		return YG_EINVAL;
	if (sec == 60) { /* a leap second: the last instant of :59 */
		sec = 59;
		frac = 999999;
	}
	*us = ((days_from_civil(y, mo, d) * S_PER_DAY) + h * 3600 + mi * 60 + sec) * US_PER_S +
	      frac;
	return 0;
}
