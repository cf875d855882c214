/* pseudonym.c - `yagura pseudonym`: Crypto-PAn pseudonyms by hand, both
 * ways, for whoever holds the key (re-identification is a case action). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/ipaddr.h"
#include "base/log.h"
#include "cli/cli.h"
#include "privacy/cryptopan.h"
#include "privacy/protect.h"

#define LINE_MAX_LEN 256


static void pseudonym_usage(FILE *out)
{
	fputs("usage: yagura pseudonym reverse --key FILE [ADDRESS...]\n"
	      "       yagura pseudonym forward --key FILE [ADDRESS...]\n"
	      "\n"
	      "reverse recovers the address behind each Crypto-PAn pseudonym and prints\n"
	      "'PSEUDONYM ADDRESS'; forward computes pseudonyms and prints 'ADDRESS PSEUDONYM'.\n"
	      "IPv4 and IPv6. Without ADDRESS arguments, reads one address per line from\n"
	      "standard input.\n"
	      "\n"
	      "options:\n"
	      "  -k, --key FILE   the key yagura's outputs were pseudonymized with: 32 raw bytes,\n"
	      "                   64 hex digits (optionally after 0x, before a newline), or 32\n"
	      "                   decimal numbers 0-255; must be private to its owner (chmod 600)\n"
	      "  -h, --help       this text\n"
	      "\n"
	      "exit status: 0 ok, 1 usage, 2 a bad address or key file (the other addresses are\n"
	      "still printed), 3 output error, 4 fatal.\n",
	      out);
}

/* Converts and prints one address; returns 0 or EXIT_INPUT after saying why. */
static int pseudonym_one(struct cryptopan *cp, int reverse, const char *text, const char *where)
{
	struct ip_addr in, out;
	char s[IPADDR_STRLEN], q[68];
	size_t i;

	if (ipaddr_parse(text, &in) < 0) {
		/* One line on stderr whatever the input holds. */
		for (i = 0; text[i] != '\0' && i < 64; i++)
			q[i] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?';
		if (text[i] != '\0') {
			memcpy(q + i, "...", 3);
			i += 3;
		}
		q[i] = '\0';
		log_warnx("pseudonym: %s'%s' is not an IPv4 or IPv6 address", where, q);
		return EXIT_INPUT;
	}
	if ((reverse ? cryptopan_deanonymize_addr(cp, &in, &out)
		     : cryptopan_anonymize_addr(cp, &in, &out)) < 0) {
		log_warnx("pseudonym: %slibcrypto failed", where);
		return EXIT_FATAL;
	}
	ipaddr_fmt(&in, s);
	fputs(s, stdout);
	putchar(' ');
	ipaddr_fmt(&out, s);
	puts(s);
	return 0;
}

/* One address per line; blank lines are skipped. */
static int pseudonym_stdin(struct cryptopan *cp, int reverse)
{
	char line[LINE_MAX_LEN + 2], where[48];
	unsigned long lineno = 0;
	int rc = EXIT_OK, c;
	size_t n;
	char *b;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		lineno++;
		n = strlen(line);
		if (n > 0 && line[n - 1] != '\n' && !feof(stdin)) {
			while ((c = getchar()) != EOF && c != '\n')
				;
			log_warnx("pseudonym: standard input:%lu: line longer than %d bytes",
				  lineno, LINE_MAX_LEN);
			rc = EXIT_INPUT;
			continue;
		}
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
				 line[n - 1] == '\t'))
			line[--n] = '\0';
		for (b = line; *b == ' ' || *b == '\t'; b++)
			;
		if (*b == '\0')
			continue;
		snprintf(where, sizeof(where), "standard input:%lu: ", lineno);
		c = pseudonym_one(cp, reverse, b, where);
		if (c == EXIT_FATAL)
			return c;
		if (c != 0)
			rc = c;
	}
	if (ferror(stdin)) {
		log_warn("pseudonym: standard input");
		rc = EXIT_INPUT;
	}
	return rc;
}

int cmd_pseudonym(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	uint8_t key[CRYPTOPAN_KEY_LEN];
	struct cryptopan *cp = NULL;
	const char *key_path = NULL, *mode;
	char err[256];
	int c, i, reverse, rc = EXIT_OK, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			key_path = optarg;
			break;
		case 'h':
			pseudonym_usage(stdout);
			return EXIT_OK;
		default:
			pseudonym_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		log_warnx("pseudonym: say 'reverse' or 'forward' (try 'yagura pseudonym --help')");
		return EXIT_USAGE;
	}
	mode = argv[optind++];
	if (strcmp(mode, "reverse") == 0) {
		reverse = 1;
	} else if (strcmp(mode, "forward") == 0) {
		reverse = 0;
	} else {
		log_warnx("pseudonym: unknown mode '%s': 'reverse' or 'forward'", mode);
		return EXIT_USAGE;
	}
	if (key_path == NULL) {
		log_warnx("pseudonym: --key FILE is required");
		return EXIT_USAGE;
	}
	if (protect_key_load(key_path, key, err, sizeof(err)) < 0) {
		log_warnx("%s: %s", key_path, err);
		return EXIT_INPUT;
	}
	r = cryptopan_new(key, &cp);
	OPENSSL_cleanse(key, sizeof(key));
	if (r < 0) {
		log_warnx("pseudonym: %s", yg_strerror(r));
		return EXIT_FATAL;
	}
	if (optind == argc) {
		rc = pseudonym_stdin(cp, reverse);
	} else {
		for (i = optind; i < argc; i++) {
			r = pseudonym_one(cp, reverse, argv[i], "");
			if (r == EXIT_FATAL) {
				rc = r;
				break;
			}
			if (r != 0)
				rc = r;
		}
	}
	cryptopan_free(cp);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_warn("pseudonym: standard output");
		if (rc == EXIT_OK || rc == EXIT_INPUT)
			rc = EXIT_OUTPUT;
	}
	return rc;
}
