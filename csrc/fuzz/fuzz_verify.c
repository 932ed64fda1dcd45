/* hc_verify, hc_verify_parts and hc_verify_batch with a fake, deterministic
 * verify function that reads every byte it is given (so ASan checks the
 * bounds the core passes on); libsodium itself is not under test here.
 *
 * Input layout: byte 0 picks the thread count and the split point, the rest
 * is cut into items of (64-byte sig, 32-byte pk, message of a length taken
 * from one byte). */
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

static int fake_expected(const unsigned char *sig, const unsigned char *m, size_t mlen,
                         const unsigned char *pk)
{
    return fake_verify(sig, m, mlen, pk) == 0;
}

#define MAX_ITEMS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialised;
    size_t n = 0;
    size_t pos = 1;
    unsigned char sigs[MAX_ITEMS * 64];
    unsigned char pks[MAX_ITEMS * 32];
    size_t offsets[MAX_ITEMS + 1];
    unsigned char results[MAX_ITEMS];
    unsigned char *msgs;
    size_t msgs_len = 0;
    int threads;

    if (!initialised) {
        FUZZ_CHECK(hc_init(fake_verify) == HC_OK);
        initialised = 1;
    }
    if (size == 0) {
        return 0;
    }
    threads = data[0] % 5; /* 0 = one per CPU */
    msgs = malloc(size + 1);
    FUZZ_CHECK(msgs != NULL);
    offsets[0] = 0;
    while (n < MAX_ITEMS && size - pos >= 97) {
        size_t mlen = data[pos + 96];
        memcpy(sigs + 64 * n, data + pos, 64);
        memcpy(pks + 32 * n, data + pos + 64, 32);
        pos += 97;
        if (mlen > size - pos) {
            mlen = size - pos;
        }
        memcpy(msgs + msgs_len, data + pos, mlen);
        msgs_len += mlen;
        pos += mlen;
        n++;
        offsets[n] = msgs_len;
    }

    FUZZ_CHECK(hc_verify_batch(n, (const char *) msgs, msgs_len, offsets, (const char *) sigs,
                               (const char *) pks, results, threads) == HC_OK);
    for (size_t i = 0; i < n; i++) {
        size_t mlen = offsets[i + 1] - offsets[i];
        /* each message in its own exact-size block for the single calls */
        char *m = fuzz_dup(msgs + offsets[i], mlen);
        char *sig = fuzz_dup(sigs + 64 * i, 64);
        char *pk = fuzz_dup(pks + 32 * i, 32);
        int expect = fake_expected(sigs + 64 * i, msgs + offsets[i], mlen, pks + 32 * i);
        size_t cut = mlen == 0 ? 0 : data[0] % (mlen + 1);

        FUZZ_CHECK(results[i] == expect);
        FUZZ_CHECK(hc_verify(sig, mlen ? m : NULL, mlen, pk) == expect);
        {
            char *prefix = fuzz_dup((const uint8_t *) m, cut);
            char *body = fuzz_dup((const uint8_t *) m + cut, mlen - cut);
            FUZZ_CHECK(hc_verify_parts(sig, prefix, cut, body, mlen - cut, pk) == expect);
            free(prefix);
            free(body);
        }
        free(m);
        free(sig);
        free(pk);
    }
    /* a message longer than the stack buffer of hc_verify_parts */
    if (size > 4200 && n == 0) {
        char *sig = fuzz_dup(data, 64);
        char *pk = fuzz_dup(data + 64, 32);
        char *big = fuzz_dup(data + 96, size - 96);
        int expect = fake_expected(data, data + 96, size - 96, data + 64);
        FUZZ_CHECK(hc_verify_parts(sig, big, 10, big + 10, size - 106, pk) == expect);
        free(sig);
        free(pk);
        free(big);
    }
    free(msgs);
    return 0;
}
