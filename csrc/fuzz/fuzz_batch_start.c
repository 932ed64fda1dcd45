/* hc_batch_start / hc_batch_wait against hc_verify_payload, item by item,
 * with the fake deterministic verify function of fuzz_verify_payload.c.
 * Layout: a thread-count byte, a depth byte, then payloads separated by
 * '\n'; item i has its 64-byte signature and 32-byte key filled from i.
 * The output regions are exactly len / 4 * 3 + 3 bytes each, in one heap
 * block of exactly their total size. */
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
    size_t n = 1;
    size_t i;
    size_t k;
    size_t pos;
    size_t *offsets;
    size_t *out_offsets;
    size_t *out_lens;
    unsigned char *status;
    char *msgs;
    char *sigs;
    char *pks;
    char *out;
    size_t msgs_len;
    int threads;
    int depth;
    int rc;

    if (!initialised) {
        FUZZ_CHECK(hc_init(fake_verify) == HC_OK);
        initialised = 1;
    }
    if (size < 2) {
        return 0;
    }
    threads = data[0] % 6 - 1; /* -1 .. 4: <= 0 is one per CPU */
    depth = data[1] % 40;
    data += 2;
    size -= 2;
    for (i = 0; i < size; i++) {
        n += data[i] == '\n';
    }
    if (n > 256) {
        return 0;
    }
    msgs_len = size - (n - 1);
    msgs = fuzz_dup(data, msgs_len); /* the payloads without separators */
    offsets = calloc(n + 1, sizeof *offsets);
    out_offsets = calloc(n + 1, sizeof *out_offsets);
    out_lens = calloc(n, sizeof *out_lens);
    status = malloc(n);
    sigs = malloc(64 * n);
    pks = malloc(32 * n);
    FUZZ_CHECK(offsets && out_offsets && out_lens && status && sigs && pks);
    for (i = 0, k = 0, pos = 0; i < size; i++) {
        if (data[i] == '\n') {
            offsets[++k] = pos;
        } else {
            msgs[pos++] = (char) data[i];
        }
    }
    offsets[n] = pos;
    FUZZ_CHECK(k == n - 1 && pos == msgs_len);
    for (i = 0; i < n; i++) {
        size_t len = offsets[i + 1] - offsets[i];
        out_offsets[i + 1] = out_offsets[i] + len / 4 * 3 + 3;
        memset(sigs + 64 * i, (int) i, 64);
        memset(pks + 32 * i, (int) (i * 7 + 1), 32);
    }
    out = malloc(out_offsets[n]);
    FUZZ_CHECK(out != NULL);
    rc = hc_batch_wait(hc_batch_start(n, msgs, msgs_len, offsets, sigs, pks, status, out,
                                      out_offsets[n], out_offsets, out_lens, depth, threads));
    FUZZ_CHECK(rc == HC_OK);
    for (i = 0; i < n; i++) {
        size_t len = offsets[i + 1] - offsets[i];
        size_t cap = len / 4 * 3 + 3;
        char *item = fuzz_dup((const uint8_t *) msgs + offsets[i], len);
        unsigned char *one = malloc(cap);
        size_t onelen = 7;
        int want;

        FUZZ_CHECK(one != NULL);
        want = hc_verify_payload((const unsigned char *) sigs + 64 * i,
                                 (const unsigned char *) pks + 32 * i, item, len, one, cap,
                                 &onelen, (unsigned) depth);
        FUZZ_CHECK(fuzz_known_status(status[i]) && status[i] == want);
        FUZZ_CHECK(want != HC_E_SIGNATURE_INVALID || out_lens[i] == 0);
        if (want == HC_OK) {
            FUZZ_CHECK(out_lens[i] == onelen &&
                       memcmp(out + out_offsets[i], one, onelen) == 0);
        }
        free(one);
        free(item);
    }
    (void) rc;
    free(out);
    free(pks);
    free(sigs);
    free(status);
    free(out_lens);
    free(out_offsets);
    free(offsets);
    free(msgs);
    return 0;
}
