#include "tower/auth.h"

#include <sodium.h>
#include <string.h>

static const char *const role_names[ROLE_COUNT] = {
	"operator", "regulator", "analyst", "overseer", "auditor", "sensor", "admin"};

const char *role_name(enum role r)
{
	return (unsigned)r < ROLE_COUNT ? role_names[r] : "unknown";
}

int role_parse(const char *s)
{
	for (int i = 0; i < ROLE_COUNT; i++)
		if (strcmp(s, role_names[i]) == 0)
			return i;
	return -1;
}

static const char *const action_names[ACT_COUNT] = {
	"report.create", "report.update", "report.read", "asset.write", "asset.read",
	"alert.post",	 "alert.read",	  "sources.read", "intel.read", "admin", "log.read",
	"log.cosign", "case.propose", "case.decide", "case.revoke", "case.read",
	"countermeasure.read", "monitoring.propose", "monitoring.decide", "monitoring.revoke",
	"monitoring.read", "taxii", "report.share", "taxii.manage"};

const char *action_name(enum action a)
{
	return (unsigned)a < ACT_COUNT ? action_names[a] : "unknown";
}

#define N SCOPE_NONE
#define O SCOPE_OWN_ORG
#define S SCOPE_OWN_SECTORS
#define A SCOPE_ALL

/* Rows: roles; columns: actions in enum order. Nobody but the operator
 * files or changes reports; regulators read their sectors' reports only;
 * operators read the alerts against their registered assets, regulators
 * those against their sectors' assets;
 * sensors post alerts and read indicators and nothing else; auditors read
 * the log, and hand in the cosignatures of the witnesses they run (the
 * tower still takes only those of the witnesses it is configured with).
 * Analysts propose countermeasure cases and overseers decide them, never
 * the other way round (docs/oversight.md); either may end one early;
 * auditors read them; sensors, the machines of the office, fetch the
 * countermeasure files as resolvers and routers do. The office (analysts,
 * and the admin who manages organisations) decides which collections there
 * are and who reads and writes each; nobody outside it does. */
static const uint8_t matrix[ROLE_COUNT][ACT_COUNT] = {
	/* rcreate rupdate rread awrite aread alpost alread src intel admin log cosign
	 * cpropose cdecide crevoke cread cmread mpropose mdecide mrevoke mread
	 * taxii rshare tmanage; a sensor reads its own authorizations only
	 * (monitoring.c); a TAXII collection says who of those with taxii reads
	 * and writes it */
	[ROLE_OPERATOR] = {O, O, O, O, O, N, O, N, A, N, N, N, N, N, N, N, N, N, N, N, N, A, N, N},
	[ROLE_REGULATOR] = {N, N, S, N, S, N, S, N, N, N, N, N, N, N, N, N, N, N, N, N, N, A, N, N},
	[ROLE_ANALYST] = {N, N, A, N, A, N, A, A, A, N, N, N, A, N, A, A, A, A, N, A, A, A, A, A},
	[ROLE_OVERSEER] = {N, N, A, N, N, N, A, A, N, N, A, N, N, A, A, A, A, N, A, A, A, A, N, N},
	[ROLE_AUDITOR] = {N, N, N, N, N, N, N, N, N, N, A, A, N, N, N, A, A, N, N, N, A, N, N, N},
	[ROLE_SENSOR] = {N, N, N, N, N, A, N, N, A, N, N, N, N, N, N, N, A, N, N, N, O, A, N, N},
	[ROLE_ADMIN] = {N, N, N, N, N, N, N, N, N, A, N, N, N, N, N, N, N, N, N, N, N, N, N, A},
};

enum scope authz_scope(enum role r, enum action a)
{
	if ((unsigned)r >= ROLE_COUNT || (unsigned)a >= ACT_COUNT)
		return SCOPE_NONE;
	return (enum scope)matrix[r][a];
}

static int token_make(const char *prefix, char *text, uint8_t hash[TOKEN_HASH_LEN])
{
	uint8_t raw[32];

	if (sodium_init() < 0)
		return YG_EIO;
	randombytes_buf(raw, sizeof(raw));
	memcpy(text, prefix, 4);
	sodium_bin2base64(text + 4, TOKEN_TEXT_LEN - 4 + 1, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	return token_hash(text, TOKEN_TEXT_LEN, hash) == 0 ? 0 : YG_EIO;
}

int token_new(char *text, uint8_t hash[TOKEN_HASH_LEN])
{
	return token_make(TOKEN_PREFIX, text, hash);
}

int session_token_new(char *text, uint8_t hash[TOKEN_HASH_LEN])
{
	return token_make(SESSION_PREFIX, text, hash);
}

int token_hash(const char *text, size_t len, uint8_t hash[TOKEN_HASH_LEN])
{
	if (len != TOKEN_TEXT_LEN ||
	    (memcmp(text, TOKEN_PREFIX, 4) != 0 && memcmp(text, SESSION_PREFIX, 4) != 0))
		return YG_EINVAL;
	for (size_t i = 4; i < len; i++) {
		char c = text[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return YG_EINVAL;
	}
	if (sodium_init() < 0)
		return YG_EIO;
	crypto_generichash(hash, TOKEN_HASH_LEN, (const unsigned char *)text, len, NULL, 0);
	return 0;
}
