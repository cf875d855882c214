/* cli.h - subcommands of the yagura binary. Each takes argc/argv starting
 * at the subcommand's name and returns the process exit code. */
#ifndef YAGURA_CLI_CLI_H
#define YAGURA_CLI_CLI_H

/* Exit codes, documented in README.md. */
enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1,  /* bad command line */
	EXIT_INPUT = 2,  /* an input file was missing, truncated or corrupt */
	EXIT_OUTPUT = 3, /* the output could not be written */
	EXIT_FATAL = 4,  /* out of memory or another internal failure */
	EXIT_UNSENT = 5, /* analyze --post: alerts wait in the spool, the tower did not take them */
	EXIT_SPLIT = 6,  /* audit verify: two checkpoints signed by the log's key that cannot
			    both be true (a split view) */
	EXIT_NOAUTH = 7, /* analyze --tower: the monitoring authorizations could not be
			    fetched at start; no packet was read */
	EXIT_NOINTEL = 8 /* analyze --intel-taxii: the collection could not be fetched at
			    start; no packet was read */
};

int cmd_analyze(int argc, char **argv);
int cmd_pseudonym(int argc, char **argv);
int cmd_tower(int argc, char **argv);
int cmd_admin(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_asset(int argc, char **argv);
int cmd_case(int argc, char **argv);
int cmd_monitoring(int argc, char **argv);
int cmd_intel(int argc, char **argv);
int cmd_oversight(int argc, char **argv);
int cmd_alerts(int argc, char **argv);

/* Parses a decimal unsigned number in [min, max]; returns 0 or -1. */
int cli_parse_u64(const char *s, unsigned long long min, unsigned long long max,
		  unsigned long long *out);

#endif
