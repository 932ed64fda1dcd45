/* hc_payload_decode: crash-free for exact and short output buffers, and the
 * same verdict as hc_b64_decode followed by hc_json_check. The first byte
 * picks the depth limit. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int depth;
    char *in;
    size_t cap;
    unsigned char *out;
    unsigned char *plain;
    size_t outlen = 0;
    size_t plainlen = 0;
    int rc;
    int rc_b64;

    if (size == 0) {
        return 0;
    }
    depth = data[0] % 40;
    in = fuzz_dup(data + 1, size - 1);
    cap = (size - 1) / 4 * 3 + 3;
    out = malloc(cap);
    plain = malloc(cap);
    FUZZ_CHECK(out != NULL && plain != NULL);
    rc = hc_payload_decode(in, size - 1, (char *) out, cap, &outlen, depth);
    FUZZ_CHECK(fuzz_known_status(rc) && rc != HC_E_ARG && rc != HC_E_OUTPUT_SPACE);
    rc_b64 = hc_b64_decode(in, size - 1, (char *) plain, cap, &plainlen);
    if (rc_b64 != HC_OK) {
        FUZZ_CHECK(rc == rc_b64);
    } else {
        int rc_json = hc_json_check((const char *) plain, plainlen, depth);
        FUZZ_CHECK(outlen == plainlen && memcmp(out, plain, plainlen) == 0);
        FUZZ_CHECK(rc_json != HC_OK ? rc == rc_json : (rc == HC_OK || rc == HC_E_NOT_OBJECT));
        if (plainlen > 0) {
            unsigned char *small = malloc(plainlen - 1 == 0 ? 1 : plainlen - 1);
            size_t n2 = 0;
            FUZZ_CHECK(small != NULL);
            FUZZ_CHECK(hc_payload_decode(in, size - 1, (char *) small, plainlen - 1, &n2, depth) ==
                       HC_E_OUTPUT_SPACE);
            free(small);
        }
    }
    free(plain);
    free(out);
    free(in);
    return 0;
}
