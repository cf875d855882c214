/* stix_int.h - what the files of src/stix share and nobody else sees. */
#ifndef YAGURA_STIX_STIX_INT_H
#define YAGURA_STIX_STIX_INT_H

#include <stdlib.h>

#include "base/alloc.h"
#include "stix/stix.h"

/* True if s[0..n) is a STIX type name we accept (see stix_type_valid in
 * id.c for the rule). */
bool stix_type_valid(const char *s, size_t n);

#endif
