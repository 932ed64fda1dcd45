/* hc_verify_payload with a fake, deterministic verify function that reads
 * every byte it is given: a failed verify is HC_E_SIGNATURE_INVALID and
 * nothing is decoded; a passed one gives exactly hc_payload_decode's verdict
 * and bytes.  Layout: 64-byte sig, 32-byte pk, a depth byte, the payload. */
#include "fuzz_common.h"

static int fake_verify(const unsigned char *sig, const unsigned char *m,
                       unsigned long long mlen, const unsigned char *pk)
{
    unsigned acc = 0;
    for (int i = 0; i < 64; i++) {
        acc += sig[i];
    }
    for (int i = 0; i < 32; i++) {
        acc += pk[i];
    }
    for (unsigned long long i = 0; i < mlen; i++) {
        acc += m[i];
    }
    return (acc & 1) ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialised;
    unsigned char *sig;
    unsigned char *pk;
    char *payload;
    size_t n;
    size_t cap;
    unsigned char *out;
    char *plain;
    size_t outlen = 1;
    size_t plainlen = 0;
    unsigned depth;
    int valid;
    int rc;

    if (!initialised) {
        FUZZ_CHECK(hc_init(fake_verify) == HC_OK);
        initialised = 1;
    }
    if (size < 97) {
        return 0;
    }
    sig = (unsigned char *) fuzz_dup(data, 64);
    pk = (unsigned char *) fuzz_dup(data + 64, 32);
    depth = data[96] % 40;
    n = size - 97;
    payload = fuzz_dup(data + 97, n);
    cap = n / 4 * 3 + 3;
    out = malloc(cap);
    plain = malloc(cap);
    FUZZ_CHECK(out != NULL && plain != NULL);

    valid = fake_verify(sig, (const unsigned char *) payload, n, pk) == 0;
    rc = hc_verify_payload(sig, pk, payload, n, out, cap, &outlen, depth);
    FUZZ_CHECK(fuzz_known_status(rc) && rc != HC_E_ARG && rc != HC_E_OUTPUT_SPACE);
    if (!valid) {
        FUZZ_CHECK(rc == HC_E_SIGNATURE_INVALID && outlen == 0);
    } else {
        int want = hc_payload_decode(payload, n, plain, cap, &plainlen, (int) depth);
        FUZZ_CHECK(rc == want);
        if (rc == HC_OK) {
            FUZZ_CHECK(outlen == plainlen && memcmp(out, plain, plainlen) == 0);
        }
    }
    free(plain);
    free(out);
    free(payload);
    free(pk);
    free(sig);
    return 0;
}
