/* hc_json_check: crash-free, bounded, and consistent across depth limits
 * (a text accepted at depth d is accepted at every larger d). The first
 * byte picks the limit. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int depth;
    char *in;
    int rc;
    int rc_max;

    if (size == 0) {
        return 0;
    }
    depth = data[0] % 40;
    in = fuzz_dup(data + 1, size - 1);
    rc = hc_json_check(in, size - 1, depth);
    FUZZ_CHECK(fuzz_known_status(rc) && rc != HC_E_ARG && rc < HC_E_NOT_OBJECT);
    rc_max = hc_json_check(in, size - 1, HC_JSON_DEPTH_LIMIT);
    if (rc == HC_OK) {
        FUZZ_CHECK(rc_max == HC_OK);
    }
    if (rc_max != HC_OK && rc_max != HC_E_JSON_DEPTH) {
        /* any other fault is seen whatever the limit, unless depth hid it */
        FUZZ_CHECK(rc == rc_max || rc == HC_E_JSON_DEPTH);
    }
    free(in);
    return 0;
}
