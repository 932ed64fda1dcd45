/* hc_claims_start / hc_batch_wait against hc_claim_check, item by item,
 * with the fake deterministic verify function of fuzz_verify_payload.c:
 * each item's status and its whole block must equal a separate
 * hc_claim_check of that item (into a zeroed block, as the batch's start).
 * The caller's texts, offsets and ring are freed as soon as the batch has
 * started, so ASan sees a thread reading them after hc_claims_start
 * returned.
 *
 * Layout: byte 0 = thread count (% 6 - 1), ring mode (/ 6 % 2) and
 * "synthesized" (/ 12 % 2: each item is payload bytes that fuzz_claim_text.h
 * wraps into a claim text with kid "k1", in form (seed + i) % 8); byte 1 =
 * depth (% 40); byte 2 = r, the number of raw ring bytes; byte 3 = seed of
 * the derived keys, also the hc_batch_ready step (% 4; 0: wait only) and
 * whether to hc_batch_cancel after the first step (/ 4 % 4 == 3); byte 4 = which of the first 8 items get a block one
 * byte short (HC_E_ARG for those); then the r raw ring bytes, then the
 * claims separated by '\n'.  Ring mode 0: the raw bytes; 1: the raw bytes
 * followed by an entry for each item's kid (as hc_claim_prepare finds it)
 * with a key derived from the seed and the item's index. */
#include "fuzz_claim_text.h"

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

/* The item's kid as hc_claim_prepare finds it, copied to *kid (malloc'd),
 * or 0 when it refuses. */
static int item_kid(const char *text, size_t len, unsigned char **kid, size_t *klen)
{
    size_t cap = len / 4 * 3 + 3;
    unsigned char *scratch = malloc(cap);
    hc_prepared prep;
    int ok;

    FUZZ_CHECK(scratch != NULL);
    ok = hc_claim_prepare((const unsigned char *) text, len, scratch, cap, &prep) == HC_OK;
    if (ok) {
        const unsigned char *t = prep.in_scratch ? scratch : (const unsigned char *) text;
        *klen = prep.kid.len;
        *kid = (unsigned char *) fuzz_dup(t + prep.kid.off, prep.kid.len);
    }
    free(scratch);
    return ok;
}

static int all_bytes(const char *p, size_t len, unsigned char value)
{
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char) p[i] != value) {
            return 0;
        }
    }
    return 1;
}

static int wait_and_free(hc_batch *b)
{
    int rc;

    FUZZ_CHECK(b != NULL);
    rc = hc_batch_wait(b);
    hc_batch_free(b);
    return rc;
}

/* Argument errors are reported by hc_batch_wait, and no item is HC_OK. */
static void probe_args(const char *texts, size_t texts_len, const unsigned char *ring,
                       size_t ring_len)
{
    size_t offsets[3] = {0, texts_len / 2, texts_len};
    size_t block_offsets[3] = {0, 1000, 2000};
    size_t bad_offsets[3] = {0, 1000, 999};
    size_t past_texts[3] = {0, texts_len / 2, texts_len + 1};

    FUZZ_CHECK(wait_and_free(hc_claims_start(2, texts, texts_len, offsets, (const char *) ring,
                                             ring_len, NULL, 32, 1)) == HC_E_ARG);
    FUZZ_CHECK(wait_and_free(hc_claims_start(2, texts, texts_len, past_texts,
                                             (const char *) ring, ring_len, block_offsets, 32,
                                             1)) == HC_E_ARG);
    FUZZ_CHECK(wait_and_free(hc_claims_start(2, texts, texts_len, offsets, (const char *) ring,
                                             ring_len, bad_offsets, 32, 1)) == HC_E_ARG);
    FUZZ_CHECK(wait_and_free(hc_claims_start(2, texts, texts_len, offsets, NULL, ring_len + 1,
                                             block_offsets, 32, 1)) == HC_E_ARG);
    FUZZ_CHECK(wait_and_free(hc_claims_start(0, NULL, 0, NULL, NULL, 0, NULL, 32, 1)) == HC_OK);
    {
        /* hc_batch_ready reports the batch's argument error, nothing ready,
         * and every status fails closed */
        hc_batch *b = hc_claims_start(2, texts, texts_len, offsets, (const char *) ring,
                                      ring_len, block_offsets, HC_JSON_DEPTH_LIMIT + 1, -1);
        size_t ready = 99;

        FUZZ_CHECK(b != NULL);
        FUZZ_CHECK(hc_batch_ready(b, 2, &ready) == HC_E_ARG && ready == 0);
        FUZZ_CHECK(hc_batch_ready(b, 2, NULL) == HC_E_ARG);
        FUZZ_CHECK(hc_batch_status(b)[0] == HC_E_SIGNATURE_INVALID &&
                   hc_batch_status(b)[1] == HC_E_SIGNATURE_INVALID);
        FUZZ_CHECK(wait_and_free(b) == HC_E_ARG);
        FUZZ_CHECK(hc_batch_ready(NULL, 2, &ready) == HC_E_NOMEM);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialised;
    size_t n = 1;
    size_t i;
    size_t k;
    size_t pos;
    size_t r;
    size_t *offsets;
    size_t *block_offsets;
    unsigned char *status;
    char *texts;
    char *blocks;
    unsigned char *ring;
    size_t ring_len;
    size_t texts_len;
    int threads;
    int mode;
    int synthesized;
    int depth;
    unsigned seed;
    unsigned short_mask;
    int rc;
    int cancelled = 0;

    if (!initialised) {
        FUZZ_CHECK(hc_init(fake_verify) == HC_OK);
        initialised = 1;
    }
    if (size < 5) {
        return 0;
    }
    threads = data[0] % 6 - 1; /* -1 .. 4: 0 is one per CPU, -1 one fewer */
    mode = data[0] / 6 % 2;
    synthesized = data[0] / 12 % 2;
    depth = data[1] % 40;
    r = data[2];
    seed = data[3];
    short_mask = data[4];
    data += 5;
    size -= 5;
    if (r > size) {
        r = size;
    }
    {
        const uint8_t *raw_ring = data;
        data += r;
        size -= r;
        for (i = 0; i < size; i++) {
            n += data[i] == '\n';
        }
        if (n > 64) {
            return 0;
        }
        texts_len = size - (n - 1);
        texts = fuzz_dup(data, texts_len); /* the claims without separators */
        offsets = calloc(n + 1, sizeof *offsets);
        block_offsets = calloc(n + 1, sizeof *block_offsets);
        status = malloc(n);
        FUZZ_CHECK(offsets && block_offsets && status);
        for (i = 0, k = 0, pos = 0; i < size; i++) {
            if (data[i] == '\n') {
                offsets[++k] = pos;
            } else {
                texts[pos++] = (char) data[i];
            }
        }
        offsets[n] = pos;
        FUZZ_CHECK(k == n - 1 && pos == texts_len);
        if (synthesized) {
            /* the same items, each wrapped into a claim text */
            unsigned char **wrapped = calloc(n, sizeof *wrapped);
            size_t *lens = calloc(n, sizeof *lens);
            FUZZ_CHECK(wrapped != NULL && lens != NULL);
            texts_len = 0;
            for (i = 0; i < n; i++) {
                wrapped[i] = fuzz_claim_text((const unsigned char *) texts + offsets[i],
                                             offsets[i + 1] - offsets[i], (seed + i) % 8,
                                             &lens[i]);
                texts_len += lens[i];
            }
            free(texts);
            texts = malloc(texts_len == 0 ? 1 : texts_len);
            FUZZ_CHECK(texts != NULL);
            for (i = 0; i < n; i++) {
                memcpy(texts + offsets[i], wrapped[i], lens[i]);
                offsets[i + 1] = offsets[i] + lens[i];
                free(wrapped[i]);
            }
            free(lens);
            free(wrapped);
        }

        /* the ring: the raw bytes, then (mode 1) an entry per item's kid */
        ring_len = r;
        ring = malloc(r + (mode ? n * 36 + texts_len : 0) + 1);
        FUZZ_CHECK(ring != NULL);
        memcpy(ring, raw_ring, r);
        for (i = 0; mode && i < n; i++) {
            unsigned char *kid;
            size_t klen;
            uint32_t u;

            if (!item_kid(texts + offsets[i], offsets[i + 1] - offsets[i], &kid, &klen)) {
                continue;
            }
            u = (uint32_t) klen;
            memcpy(ring + ring_len, &u, 4);
            memcpy(ring + ring_len + 4, kid, klen);
            for (int b = 0; b < 32; b++) {
                ring[ring_len + 4 + klen + b] = (unsigned char) (seed + 7 * i + 3 * (unsigned) b);
            }
            ring_len += 4 + klen + 32;
            free(kid);
        }
        if (ring_len == 0) {
            free(ring);
            ring = NULL;
        } else {
            unsigned char *exact = (unsigned char *) fuzz_dup(ring, ring_len);
            free(ring);
            ring = exact;
        }
    }

    for (i = 0; i < n; i++) {
        size_t len = offsets[i + 1] - offsets[i];
        size_t size_i = 3 * len + HC_CHECK_BLOCK_EXTRA;
        if (i < 8 && (short_mask >> i & 1)) {
            size_i--;
        }
        block_offsets[i + 1] = block_offsets[i] + size_i;
    }
    blocks = malloc(block_offsets[n] == 0 ? 1 : block_offsets[n]);
    FUZZ_CHECK(blocks != NULL);
    {
        /* Results taken in steps of seed % 4 items with hc_batch_ready (0: only
         * the wait); what an item reads as done must not change afterwards.
         * seed / 4 % 4 == 3: cancelled after the first step, after which an
         * item is either checked in full or untouched. */
        /* The batch is given copies freed as soon as it starts: ASan then sees
         * a thread still reading the caller's buffers. */
        char *texts_c = fuzz_dup((const uint8_t *) texts, texts_len);
        char *offsets_c = fuzz_dup((const uint8_t *) offsets, (n + 1) * sizeof *offsets);
        char *block_offsets_c = fuzz_dup((const uint8_t *) block_offsets,
                                         (n + 1) * sizeof *block_offsets);
        char *ring_c = ring != NULL ? fuzz_dup(ring, ring_len) : NULL;
        hc_batch *b = hc_claims_start(n, texts_c, texts_len, (const size_t *) offsets_c, ring_c,
                                      ring_len, (const size_t *) block_offsets_c, depth, threads);
        const unsigned char *st;
        size_t step = seed % 4;
        size_t ready = 0;
        int cancelled_here = 0;
        unsigned char *seen = malloc(n);

        free(texts_c);
        free(offsets_c);
        free(block_offsets_c);
        free(ring_c);
        FUZZ_CHECK(b != NULL && seen != NULL);
        st = hc_batch_status(b);
        FUZZ_CHECK(st != NULL && hc_batch_blocks(b) != NULL);
        while (step != 0 && ready < n && !cancelled_here) {
            size_t before = ready;
            size_t want = ready + step;

            FUZZ_CHECK(hc_batch_ready(b, want, &ready) == HC_OK);
            FUZZ_CHECK(ready >= (want < n ? want : n) && ready <= n && ready >= before);
            memcpy(seen + before, st + before, ready - before);
            if (seed / 4 % 4 == 3) {
                hc_batch_cancel(b);
                cancelled_here = 1;
                before = ready;
                FUZZ_CHECK(hc_batch_ready(b, n, &ready) == HC_OK);
                FUZZ_CHECK(ready >= before && ready <= n);
                memcpy(seen + before, st + before, ready - before);
            }
        }
        rc = hc_batch_wait(b);
        FUZZ_CHECK(rc == HC_OK);
        FUZZ_CHECK(hc_batch_wait(b) == HC_OK);
        FUZZ_CHECK(memcmp(seen, st, ready) == 0);
        memcpy(status, st, n);
        memcpy(blocks, hc_batch_blocks(b), block_offsets[n]);
        hc_batch_free(b);
        free(seen);
        cancelled = cancelled_here;
    }
    for (i = 0; i < n; i++) {
        size_t len = offsets[i + 1] - offsets[i];
        size_t size_i = block_offsets[i + 1] - block_offsets[i];
        unsigned char *item = len != 0 ? (unsigned char *) fuzz_dup((const uint8_t *) texts +
                                                                    offsets[i], len)
                                       : NULL;
        unsigned char *one = malloc(size_i);
        int want;

        FUZZ_CHECK(one != NULL);
        memset(one, 0, size_i); /* as the batch's blocks start */
        want = hc_claim_check(item, len, ring, ring_len, one, size_i, depth);
        FUZZ_CHECK(want == HC_OK || want == HC_E_SIGNATURE_INVALID || want == HC_E_PAYLOAD ||
                   want == HC_E_GENERAL || want == HC_E_ARG);
        FUZZ_CHECK((want == HC_E_ARG) == (size_i < 3 * len + HC_CHECK_BLOCK_EXTRA));
        if (cancelled && all_bytes(blocks + block_offsets[i], size_i, 0) &&
            status[i] == HC_E_SIGNATURE_INVALID) {
            /* never taken: nothing written (a checked item always writes its block) */
        } else {
            if (status[i] != want) {
                fprintf(stderr, "item %zu: status %d, hc_claim_check %d\n", i, status[i],
                        want);
            }
            FUZZ_CHECK(status[i] == want);
            FUZZ_CHECK(memcmp(blocks + block_offsets[i], one, size_i) == 0);
        }
        free(one);
        free(item);
    }
    probe_args(texts, texts_len, ring, ring_len);
    free(blocks);
    free(ring);
    free(status);
    free(block_offsets);
    free(offsets);
    free(texts);
    return 0;
}
