/* hc_claim_split: crash-free; on success every span lies inside the text,
 * between two quote characters, and the text also passes hc_json_check. */
#include "fuzz_common.h"

static void check_span(const char *buf, size_t n, const hc_span *s)
{
    FUZZ_CHECK(s->off >= 1 && s->off <= n && s->len <= n - s->off);
    FUZZ_CHECK(buf[s->off - 1] == '"');
    FUZZ_CHECK(s->off + s->len < n && buf[s->off + s->len] == '"');
    FUZZ_CHECK(s->escaped == (size_t) (memchr(buf + s->off, '\\', s->len) != NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_dup(data, size);
    hc_claim_parts parts;
    int rc = hc_claim_split(in, size, &parts);

    FUZZ_CHECK(fuzz_known_status(rc) && rc != HC_E_ARG);
    if (rc == HC_OK) {
        check_span(in, size, &parts.kid);
        check_span(in, size, &parts.payload_b64);
        check_span(in, size, &parts.signature_hex);
        FUZZ_CHECK(hc_json_check(in, size, HC_CLAIM_MAX_DEPTH) == HC_OK);
    } else if (rc < HC_E_NOT_OBJECT) {
        FUZZ_CHECK(hc_json_check(in, size, HC_CLAIM_MAX_DEPTH) == rc);
    }
    free(in);
    return 0;
}
