/* Shared bits of the libFuzzer targets: each target links hoody_core.c
 * directly and is built with -fsanitize=fuzzer,address,undefined. */
#ifndef HC_FUZZ_COMMON_H
#define HC_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoody_core.h"

/* abort() so libFuzzer records the input as a crash. */
#define FUZZ_CHECK(cond)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* A copy in a heap block of exactly n bytes, so ASan sees any read past the
 * end (libFuzzer's own buffer is exact too, but sub-slices are not). */
static inline char *fuzz_dup(const uint8_t *data, size_t n)
{
    char *p = malloc(n == 0 ? 1 : n);
    FUZZ_CHECK(p != NULL);
    if (n != 0) {
        memcpy(p, data, n);
    }
    return p;
}

static inline int fuzz_known_status(int rc)
{
    return rc == HC_OK || rc == HC_E_ARG || rc == HC_E_OUTPUT_SPACE ||
           (rc >= HC_E_HEX_LENGTH && rc <= HC_E_HEX_CHAR) ||
           (rc >= HC_E_B64_CHAR && rc <= HC_E_B64_PAD_BITS) ||
           (rc >= HC_E_UTF8 && rc <= HC_E_JSON_DUPLICATE) ||
           (rc >= HC_E_NOT_OBJECT && rc <= HC_E_SIGNATURE_HEX) || rc == HC_E_SIGNATURE_INVALID;
}

#endif
