/* hc_claim_prepare: crash-free for any input and scratch size; its verdict
 * and spans are those of hc_b64_decode (compact form) + hc_claim_split, and
 * the signature is hc_hex_decode of the signature_hex span.  Byte 0 picks
 * the scratch size: exact, one short, or none. */
#include "fuzz_common.h"

static void check_span(const char *text, size_t n, const hc_span *got, const hc_span *want)
{
    FUZZ_CHECK(got->off == want->off && got->len == want->len && got->escaped == want->escaped);
    FUZZ_CHECK(got->off >= 1 && got->off <= n && got->len <= n - got->off);
    FUZZ_CHECK(text[got->off - 1] == '"' && text[got->off + got->len] == '"');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hc_prepared prep;
    hc_claim_parts parts;
    size_t n;
    size_t full;
    size_t cap;
    char *in;
    char *scratch;
    char *plain;
    const char *text;
    size_t tlen;
    int rc;
    int want;

    if (size == 0) {
        return 0;
    }
    n = size - 1;
    in = fuzz_dup(data + 1, n);
    full = n / 4 * 3 + 3;
    cap = data[0] % 3 == 0 ? full : (data[0] % 3 == 1 ? (full > 0 ? full - 1 : 0) : 0);
    scratch = cap != 0 ? malloc(cap) : NULL;
    plain = malloc(full);
    FUZZ_CHECK((cap == 0 || scratch != NULL) && plain != NULL);

    rc = hc_claim_prepare((const unsigned char *) in, n, (unsigned char *) scratch, cap, &prep);
    FUZZ_CHECK(fuzz_known_status(rc) && rc != HC_E_ARG && rc != HC_E_SIGNATURE_INVALID);

    if (n != 0 && in[0] == '{') {
        text = in;
        tlen = n;
        FUZZ_CHECK(rc == HC_OK || rc == HC_E_SIGNATURE_HEX ? prep.in_scratch == 0 : 1);
    } else {
        want = hc_b64_decode(in, n, plain, full, &tlen);
        if (want != HC_OK) {
            FUZZ_CHECK(rc == want);
            goto done;
        }
        if (tlen > cap) {
            FUZZ_CHECK(rc == HC_E_OUTPUT_SPACE);
            goto done;
        }
        text = plain;
    }
    want = hc_claim_split(text, tlen, &parts);
    if (want != HC_OK) {
        FUZZ_CHECK(rc == want);
        goto done;
    }
    FUZZ_CHECK(rc == HC_OK || rc == HC_E_SIGNATURE_HEX);
    FUZZ_CHECK(prep.text_len == tlen);
    if (prep.in_scratch) {
        FUZZ_CHECK(tlen == 0 || memcmp(scratch, plain, tlen) == 0);
    }
    check_span(text, tlen, &prep.kid, &parts.kid);
    check_span(text, tlen, &prep.payload_b64, &parts.payload_b64);
    check_span(text, tlen, &prep.signature_hex, &parts.signature_hex);
    if (parts.signature_hex.escaped) {
        unsigned char zero[64] = {0};
        FUZZ_CHECK(rc == HC_OK && memcmp(prep.sig, zero, 64) == 0);
    } else {
        char sig[64];
        int hex = hc_hex_decode(text + parts.signature_hex.off, parts.signature_hex.len, sig, 64);
        FUZZ_CHECK((hex == HC_OK) == (rc == HC_OK));
        if (hex == HC_OK) {
            FUZZ_CHECK(memcmp(sig, prep.sig, 64) == 0);
        }
    }
done:
    free(plain);
    free(scratch);
    free(in);
    return 0;
}
