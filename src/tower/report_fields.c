/* report_fields.c - the tables of a report's fields (report_int.h), and
 * the checks of the indicators they list. */
#include "tower/report_int.h"

#include <string.h>

#include "base/ipaddr.h"

const char *const report_categories[] = {"ddos", "ransomware", "malware", "unauthorised_access",
					  "data_breach", "other", NULL};
static const char *const severities[] = {"low", "medium", "high", "critical", NULL};
static const char *const tlps[] = {"TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT",
				   "TLP:RED", NULL};

/* Bits of report_categories[] by its order, for the fields of category_details. */
#define CAT_DDOS (1u << 0)
#define CAT_RANSOMWARE (1u << 1)
#define CAT_MALWARE (1u << 2)
#define CAT_UNAUTHORISED (1u << 3)
#define CAT_DATA_BREACH (1u << 4)

/* Bounds, in characters of a string and items of an array. */
#define TEXT_MAX 20000	   /* summary, response_taken, other */
#define NOTE_MAX 2000	   /* attack_vector, an affected computer's description */
#define LABEL_MAX 200	   /* a malware family, a service, a kind of data */
#define LABELS_MAX 100	   /* services and kinds of data in a list */
#define INDICATORS_MAX 10000 /* each list of indicators; affected computers */

static int is_addr(const char *s)
{
	struct ip_addr ip;
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned bits = 0;

	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (ipaddr_parse(buf, &ip) < 0)
		return 0;
	if (slash == NULL)
		return 1;
	/* A prefix length: 1 to 3 digits, no leading zero, within the family. */
	s = slash + 1;
	n = strlen(s);
	if (n == 0 || n > 3 || (s[0] == '0' && n > 1))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		bits = bits * 10 + (unsigned)(s[i] - '0');
	}
	return bits <= (ip.family == 4 ? 32u : 128u);
}

static int is_domain(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '_') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return strchr(s, '.') != NULL;
}

/* An http, https or ftp URL with something after the scheme, and no space
 * or control character (RFC 3986 has none; a URL with one is not what it
 * seems when printed). */
static int is_url(const char *s)
{
	static const char *const schemes[] = {"http://", "https://", "ftp://", NULL};
	const char *rest = NULL;

	for (const char *const *sc = schemes; *sc != NULL && rest == NULL; sc++)
		if (strncmp(s, *sc, strlen(*sc)) == 0)
			rest = s + strlen(*sc);
	if (rest == NULL || *rest == '\0' || *rest == '/')
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static int is_hash(const char *s)
{
	size_t n = strlen(s);

	if (n != 32 && n != 40 && n != 64 && n != 128)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

static const struct field category_fields[] = {
	{.name = "peak_bps", .type = F_COUNT, .cats = CAT_DDOS},
	{.name = "peak_pps", .type = F_COUNT, .cats = CAT_DDOS},
	{.name = "duration_minutes", .type = F_COUNT, .cats = CAT_DDOS},
	{.name = "target_services", .type = F_LIST, .max = LABELS_MAX, .item = LABEL_MAX,
	 .flags = F_LINE, .cats = CAT_DDOS},
	{.name = "family", .type = F_TEXT, .max = LABEL_MAX, .flags = F_LINE,
	 .cats = CAT_RANSOMWARE | CAT_MALWARE},
	{.name = "encrypted_systems", .type = F_COUNT, .cats = CAT_RANSOMWARE},
	{.name = "ransom_demanded", .type = F_BOOL, .cats = CAT_RANSOMWARE},
	{.name = "records", .type = F_COUNT, .cats = CAT_DATA_BREACH},
	{.name = "data_types", .type = F_LIST, .max = LABELS_MAX, .item = LABEL_MAX,
	 .flags = F_LINE, .cats = CAT_DATA_BREACH},
	{.name = "vector", .type = F_TEXT, .max = 500, .cats = CAT_UNAUTHORISED},
	{.name = "accounts_compromised", .type = F_COUNT, .cats = CAT_UNAUTHORISED},
	{.name = NULL},
};

static const struct field computer_fields[] = {
	{.name = "asset_id", .type = F_ID},
	{.name = "description", .type = F_TEXT, .max = NOTE_MAX, .req = REQ(REPORT_PROMPT),
	 .unless = "asset_id"},
	{.name = NULL},
};

static const struct field indicator_fields[] = {
	{.name = "addresses", .type = F_LIST, .max = INDICATORS_MAX, .item = 64, .check = is_addr,
	 .what = "an IP address or CIDR"},
	{.name = "domains", .type = F_LIST, .max = INDICATORS_MAX, .item = 253, .check = is_domain,
	 .what = "a domain name"},
	{.name = "urls", .type = F_LIST, .max = INDICATORS_MAX, .item = 2048, .check = is_url,
	 .what = "an http, https or ftp URL"},
	{.name = "file_hashes", .type = F_LIST, .max = INDICATORS_MAX, .item = 128, .check = is_hash,
	 .what = "an MD5, SHA-1, SHA-256 or SHA-512 hex digest"},
	{.name = NULL},
};

static const struct shape indicators_shape = {SHAPE_NESTED, indicator_fields};

static const struct field technical_fields[] = {
	{.name = "indicators", .type = F_OBJECT, .sub = &indicators_shape},
	{.name = "attack_vector", .type = F_TEXT, .max = NOTE_MAX},
	{.name = NULL},
};

static const struct field impact_fields[] = {
	{.name = "services_affected", .type = F_LIST, .max = LABELS_MAX, .item = LABEL_MAX,
	 .flags = F_LINE},
	{.name = "users_affected", .type = F_COUNT},
	{.name = "outage_minutes", .type = F_COUNT},
	{.name = NULL},
};

static const struct shape category_shape = {SHAPE_CATEGORY, category_fields};
static const struct shape computer_shape = {SHAPE_NESTED, computer_fields};
static const struct shape technical_shape = {SHAPE_NESTED, technical_fields};
static const struct shape impact_shape = {SHAPE_NESTED, impact_fields};

static const struct field report_fields[] = {
	{.name = "category", .type = F_ENUM, .list = report_categories, .req = REQ(REPORT_PROMPT)},
	{.name = "category_details", .type = F_OBJECT, .sub = &category_shape},
	{.name = "summary", .type = F_TEXT, .max = TEXT_MAX, .req = REQ(REPORT_PROMPT)},
	{.name = "detected_at", .type = F_TIME, .req = REQ(REPORT_PROMPT)},
	{.name = "severity", .type = F_ENUM, .list = severities, .req = REQ(REPORT_PROMPT)},
	{.name = "tlp", .type = F_ENUM, .list = tlps},
	/* The operator agrees to be named as the source when the office
	 * shares this report's indicators (docs/sharing.md); else it is not. */
	{.name = "attribution", .type = F_BOOL},
	{.name = "response_taken", .type = F_TEXT, .max = TEXT_MAX, .req = REQ(REPORT_FINAL)},
	{.name = "other", .type = F_TEXT, .max = TEXT_MAX},
	{.name = "affected_computers", .type = F_OBJECTS, .max = INDICATORS_MAX,
	 .sub = &computer_shape, .req = REQ(REPORT_DETAILED)},
	{.name = "technical_details", .type = F_OBJECT, .sub = &technical_shape,
	 .req = REQ(REPORT_DETAILED)},
	{.name = "impact", .type = F_OBJECT, .sub = &impact_shape, .req = REQ(REPORT_FINAL)},
	{.name = NULL},
};

const struct shape report_shape = {SHAPE_REPORT, report_fields};
