/* fuzz_ics.c - libFuzzer target for ics_parse_modbus(), ics_parse_dnp3()
 * and ics_parse_s7comm(). The first byte picks the parser (and, for
 * Modbus, the direction); the rest is the payload. Beyond the sanitizers,
 * it traps when a result breaks the contract in decode/ics.h. */
#include <stddef.h>
#include <stdint.h>

#include "decode/ics.h"

#define FUZZ_MAX_OPS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int r, size_t len, size_t used, const struct ics_op *ops, size_t max)
{
	if (r < 0) {
		if (r != YG_ETRUNC && r != YG_EFORMAT)
			__builtin_trap();
		return;
	}
	if ((size_t)r > max || used > len)
		__builtin_trap();
	for (int i = 0; i < r; i++) {
		if (ops[i].name == NULL || ops[i].op_class > ICS_OP_OTHER ||
		    ops[i].proto < ICS_MODBUS || ops[i].proto > ICS_S7COMM)
			__builtin_trap();
		/* Only the last op may come from a unit the payload cuts. */
		if ((ops[i].flags & ICS_OPF_PARTIAL) && i != r - 1)
			__builtin_trap();
	}
	/* No op and no error: every unit was read and none was an op. */
	if (r == 0 && used != len)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ics_op ops[FUZZ_MAX_OPS];
	size_t used, max;
	int proto, from_server, r;

	if (size < 1)
		return 0;
	proto = data[0] % 3 + 1;
	from_server = data[0] >> 7;
	max = (data[0] >> 2 & 7) + 1; /* 1..8: exercises the stop at max */
	data++;
	size--;

	r = ics_parse(proto, data, size, from_server, ops, max, &used);
	check(r, size, used, ops, max);

	/* Going on from used must not read anything it should not either. */
	if (r >= 0 && used < size) {
		size_t used2;
		int r2 = ics_parse(proto, data + used, size - used, from_server, ops, max, &used2);

		check(r2, size - used, used2, ops, max);
	}
	return 0;
}
