/*
 * hoody_core.c: see hoody_core.h for the contract of each function.
 *
 * Everything that reads untrusted bytes checks its index against the length
 * it was given before each read; nothing relies on NUL termination.
 */
/* sysconf(_SC_NPROCESSORS_ONLN) is an extension glibc hides under -std=c99. */
#define _DEFAULT_SOURCE 1

#include "hoody_core.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef unsigned char uchar;

/* The one piece of process-wide state: set once, read with acquire so a
 * thread that sees the pointer also sees a fully initialised libsodium. */
static struct {
    hc_verify_fn sign_verify_detached;
} hc_table;

static hc_verify_fn hc_get_fn(void)
{
    return __atomic_load_n(&hc_table.sign_verify_detached, __ATOMIC_ACQUIRE);
}

int hc_init(hc_verify_fn fn)
{
    hc_verify_fn expected = NULL;

    if (fn == NULL) {
        return HC_E_ARG;
    }
    if (__atomic_compare_exchange_n(&hc_table.sign_verify_detached, &expected, fn, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        return HC_OK;
    }
    return expected == fn ? HC_OK : HC_E_STATE;
}

/* ------------------------------------------------------------------ */
/* Ed25519                                                             */
/* ------------------------------------------------------------------ */

static const uchar hc_empty[1] = {0};

int hc_verify(const char *sig, const char *msg, size_t mlen, const char *pk)
{
    hc_verify_fn fn = hc_get_fn();

    if (fn == NULL || sig == NULL || pk == NULL || (msg == NULL && mlen != 0)) {
        return 0;
    }
    if (msg == NULL) {
        msg = (const char *) hc_empty;
    }
    return fn((const uchar *) sig, (const uchar *) msg, (unsigned long long) mlen,
              (const uchar *) pk) == 0;
}

/* Messages up to this size are joined on the stack; most response
 * signatures cover a small prefix and a body of a few KiB. */
#define HC_PARTS_STACK 4096

int hc_verify_parts(const char *sig, const char *prefix, size_t plen, const char *body,
                    size_t blen, const char *pk)
{
    uchar stackbuf[HC_PARTS_STACK];
    uchar *buf = stackbuf;
    size_t total;
    int ok;

    if ((prefix == NULL && plen != 0) || (body == NULL && blen != 0)) {
        return 0;
    }
    if (plen > SIZE_MAX - blen) {
        return -HC_E_NOMEM;
    }
    total = plen + blen;
    if (total > sizeof stackbuf) {
        buf = malloc(total);
        if (buf == NULL) {
            return -HC_E_NOMEM;
        }
    }
    if (plen != 0) {
        memcpy(buf, prefix, plen);
    }
    if (blen != 0) {
        memcpy(buf + plen, body, blen);
    }
    /* An empty message never reads buf. */
    ok = hc_verify(sig, total != 0 ? (const char *) buf : (const char *) hc_empty, total, pk);
    if (buf != stackbuf) {
        free(buf);
    }
    return ok;
}

/* Items are claimed one at a time from a shared counter: each is a whole
 * signature check (tens of microseconds), so the atomic add is free, and no
 * thread is left finishing a group of items while the others idle. */
typedef struct {
    size_t n;
    const uchar *msgs;
    const size_t *offsets;
    uchar *results;
    size_t next;
    /* hc_verify_batch: item i is (msgs[offsets[i] .. offsets[i + 1]), sigs
     * + 64 i, pks + 32 i) and results[i] 1 valid / 0 invalid */
    hc_verify_fn fn;
    const uchar *sigs;
    const uchar *pks;
    /* hc_claims_start: item i is a whole claim for hc_claim_check, its block
     * out[out_offsets[i] .. out_offsets[i + 1]), results[i] its code, and
     * done[i] set (release) once both are written, for hc_batch_ready */
    char *out;
    const size_t *out_offsets;
    const uchar *ring;
    size_t ring_len;
    int max_depth;
    uchar *done;
} hc_batch_job;

/* A batch owns every buffer its threads read or write (copies of the texts,
 * offsets and ring, and its own status and blocks): a caller that loses the
 * handle (an exception between two calls) leaks it, and never has a thread
 * write into memory it freed. */
struct hc_batch {
    hc_batch_job job;
    pthread_t threads[HC_MAX_THREADS];
    int started;
    int rc;
    int cancelled;
    size_t ready; /* items [0, ready) are known done; only the owner reads it */
    uchar *texts;
    size_t *offsets; /* offsets, then block_offsets: 2 (n + 1) entries */
    uchar *ring;
    uchar *status;
    char *blocks;
};

/* Take the next item and do it; 0 when every item has been taken. */
static int hc_batch_work_one(hc_batch_job *b)
{
    size_t i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED);
    size_t off;
    size_t len;

    if (i >= b->n) {
        return 0;
    }
    off = b->offsets[i];
    len = b->offsets[i + 1] - off;
    if (b->out != NULL) {
        size_t o = b->out_offsets[i];

        b->results[i] = (uchar) hc_claim_check(b->msgs + off, len, b->ring, b->ring_len,
                                               (uchar *) b->out + o, b->out_offsets[i + 1] - o,
                                               b->max_depth);
        __atomic_store_n(&b->done[i], 1, __ATOMIC_RELEASE);
    } else {
        b->results[i] = (uchar) (b->fn(b->sigs + 64 * i, b->msgs + off,
                                       (unsigned long long) len, b->pks + 32 * i) == 0);
    }
    return 1;
}

static void *hc_batch_worker(void *arg)
{
    while (hc_batch_work_one(arg)) {
    }
    return NULL;
}

static int hc_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1) {
        return 1;
    }
    return n > HC_MAX_THREADS ? HC_MAX_THREADS : (int) n;
}

static int hc_batch_threads(int nthreads, size_t n)
{
    if (nthreads <= 0) {
        nthreads = hc_cpu_count();
    }
    if (nthreads > HC_MAX_THREADS) {
        nthreads = HC_MAX_THREADS;
    }
    if ((size_t) nthreads > n) {
        nthreads = (int) n;
    }
    return nthreads;
}

/* offsets has n + 1 non-decreasing entries, the last <= total. */
static int hc_offsets_ok(size_t n, const size_t *offsets, size_t total)
{
    for (size_t i = 0; i < n; i++) {
        if (offsets[i] > offsets[i + 1]) {
            return 0;
        }
    }
    return offsets[n] <= total;
}

int hc_verify_batch(size_t n, const char *msgs, size_t msgs_len, const size_t *offsets,
                    const char *sigs, const char *pks, unsigned char *results, int nthreads)
{
    pthread_t threads[HC_MAX_THREADS];
    int started = 0;
    hc_batch_job b;
    int t;

    if (n == 0) {
        return HC_OK;
    }
    if (results == NULL) {
        return HC_E_ARG;
    }
    memset(results, 0, n);
    if (offsets == NULL || sigs == NULL || pks == NULL || (msgs == NULL && msgs_len != 0) ||
        n > SIZE_MAX / 64 - 1 || !hc_offsets_ok(n, offsets, msgs_len)) {
        return HC_E_ARG;
    }
    memset(&b, 0, sizeof b);
    b.fn = hc_get_fn();
    if (b.fn == NULL) {
        return HC_E_STATE;
    }
    b.n = n;
    b.msgs = msgs != NULL ? (const uchar *) msgs : hc_empty;
    b.offsets = offsets;
    b.sigs = (const uchar *) sigs;
    b.pks = (const uchar *) pks;
    b.results = results;

    nthreads = hc_batch_threads(nthreads, n);
    /* The calling thread is worker 0; if a thread cannot be started the
     * others simply take its share. */
    for (t = 1; t < nthreads; t++) {
        if (pthread_create(&threads[started], NULL, hc_batch_worker, &b) != 0) {
            break;
        }
        started++;
    }
    hc_batch_worker(&b);
    for (t = 0; t < started; t++) {
        pthread_join(threads[t], NULL);
    }
    return HC_OK;
}

/* Start the batch's threads (nthreads < 0: one fewer than the CPUs, for a
 * caller that works in hc_batch_ready and hc_batch_wait); if none of those
 * asked for can be started, do the work now (the wait then only frees). */
static void hc_batch_launch(hc_batch *b, int nthreads)
{
    int want = nthreads < 0 ? hc_batch_threads(0, b->job.n) - 1
                            : hc_batch_threads(nthreads, b->job.n);

    for (int t = 0; t < want; t++) {
        if (pthread_create(&b->threads[b->started], NULL, hc_batch_worker, &b->job) != 0) {
            break;
        }
        b->started++;
    }
    if (want > 0 && b->started == 0) {
        hc_batch_worker(&b->job);
    }
}

/* A copy of len bytes (one byte for none, so NULL always means out of memory). */
static void *hc_copy(const void *src, size_t len)
{
    void *p = malloc(len != 0 ? len : 1);

    if (p != NULL && len != 0) {
        memcpy(p, src, len);
    }
    return p;
}

hc_batch *hc_claims_start(size_t n, const char *texts, size_t texts_len, const size_t *offsets,
                          const char *ring, size_t ring_len, const size_t *block_offsets,
                          int max_depth, int nthreads)
{
    hc_batch *b = calloc(1, sizeof *b);

    if (b == NULL) {
        return NULL;
    }
    if (n == 0) {
        return b;
    }
    if (n > SIZE_MAX / (2 * sizeof(size_t)) - 1) {
        b->rc = HC_E_ARG; /* no status can be allocated either */
        return b;
    }
    b->status = malloc(n);
    if (b->status == NULL) {
        free(b);
        return NULL;
    }
    memset(b->status, HC_E_SIGNATURE_INVALID, n);
    if (offsets == NULL || block_offsets == NULL || (texts == NULL && texts_len != 0) ||
        (ring == NULL && ring_len != 0) || max_depth < 0 || max_depth > HC_JSON_DEPTH_LIMIT ||
        !hc_offsets_ok(n, offsets, texts_len) || !hc_offsets_ok(n, block_offsets, SIZE_MAX)) {
        b->rc = HC_E_ARG;
        return b;
    }
    if (hc_get_fn() == NULL) {
        b->rc = HC_E_STATE;
        return b;
    }
    b->offsets = malloc(2 * (n + 1) * sizeof(size_t));
    b->texts = hc_copy(texts, texts_len);
    b->ring = hc_copy(ring, ring_len);
    /* Zeroed, so an item's block never holds stale heap bytes. */
    b->blocks = calloc(block_offsets[n] != 0 ? block_offsets[n] : 1, 1);
    b->job.done = calloc(n, 1);
    if (b->offsets == NULL || b->texts == NULL || b->ring == NULL || b->blocks == NULL ||
        b->job.done == NULL) {
        hc_batch_free(b);
        return NULL;
    }
    memcpy(b->offsets, offsets, (n + 1) * sizeof(size_t));
    memcpy(b->offsets + n + 1, block_offsets, (n + 1) * sizeof(size_t));
    b->job.n = n;
    b->job.msgs = b->texts;
    b->job.offsets = b->offsets;
    b->job.results = b->status;
    b->job.out = b->blocks;
    b->job.out_offsets = b->offsets + n + 1;
    b->job.max_depth = max_depth;
    b->job.ring = b->ring;
    b->job.ring_len = ring_len;
    hc_batch_launch(b, nthreads);
    return b;
}

const unsigned char *hc_batch_status(const hc_batch *b)
{
    return b != NULL ? b->status : NULL;
}

const char *hc_batch_blocks(const hc_batch *b)
{
    return b != NULL ? b->blocks : NULL;
}

int hc_batch_ready(hc_batch *b, size_t want, size_t *ready)
{
    if (b == NULL || ready == NULL) {
        return b == NULL ? HC_E_NOMEM : HC_E_ARG;
    }
    *ready = 0;
    if (b->rc != HC_OK) {
        return b->rc;
    }
    if (b->job.n == 0) {
        return HC_OK;
    }
    if (want > b->job.n) {
        want = b->job.n;
    }
    while (b->ready < want) {
        if (__atomic_load_n(&b->job.done[b->ready], __ATOMIC_ACQUIRE)) {
            b->ready++;
        } else if (!hc_batch_work_one(&b->job)) {
            if (b->cancelled) {
                break; /* an item never taken will never be done */
            }
            /* Every item is taken: the one waited for is on another thread. */
            sched_yield();
        }
    }
    while (b->ready < b->job.n && __atomic_load_n(&b->job.done[b->ready], __ATOMIC_ACQUIRE)) {
        b->ready++;
    }
    *ready = b->ready;
    return HC_OK;
}

void hc_batch_cancel(hc_batch *b)
{
    if (b != NULL && b->job.n != 0) {
        b->cancelled = 1;
        /* Every later take finds the counter at or past n. */
        __atomic_store_n(&b->job.next, b->job.n, __ATOMIC_RELAXED);
    }
}

int hc_batch_wait(hc_batch *b)
{
    if (b == NULL) {
        return HC_E_NOMEM;
    }
    /* The waiting thread takes its share of what is left (the items are
     * claimed from the shared counter, so each is still done exactly once). */
    hc_batch_worker(&b->job);
    for (int t = 0; t < b->started; t++) {
        pthread_join(b->threads[t], NULL);
    }
    b->started = 0;
    return b->rc;
}

void hc_batch_free(hc_batch *b)
{
    if (b == NULL) {
        return;
    }
    hc_batch_cancel(b);
    hc_batch_wait(b);
    free(b->job.done);
    free(b->blocks);
    free(b->status);
    free(b->ring);
    free(b->texts);
    free(b->offsets);
    free(b);
}

/* ------------------------------------------------------------------ */
/* hex                                                                 */
/* ------------------------------------------------------------------ */

static int hc_hexval(uchar c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* hc_hexval as a table (0x10 = not a hex digit): signatures are random hex,
 * where a branch per digit mispredicts half the time. */
static const uchar hc_hex_table[256] = {
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  16, 16, 16, 16, 16, 16,
    16, 10, 11, 12, 13, 14, 15, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 10, 11, 12, 13, 14, 15, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
};

int hc_hex_decode(const char *in, size_t inlen, char *out, size_t outlen)
{
    const uchar *s = (const uchar *) in;
    uchar *o = (uchar *) out;
    uchar bad = 0;
    size_t i;

    if ((in == NULL && inlen != 0) || (out == NULL && outlen != 0)) {
        return HC_E_ARG;
    }
    if (inlen % 2 != 0 || inlen / 2 != outlen) {
        return HC_E_HEX_LENGTH;
    }
    /* One pass; a bad digit anywhere refuses the whole input, and the
     * partial output is then unspecified. */
    for (i = 0; i < outlen; i++) {
        uchar hi = hc_hex_table[s[2 * i]];
        uchar lo = hc_hex_table[s[2 * i + 1]];
        bad |= (uchar) (hi | lo);
        o[i] = (uchar) ((hi << 4) | (lo & 0x0f));
    }
    return (bad & 0x10) != 0 ? HC_E_HEX_CHAR : HC_OK;
}

/* ------------------------------------------------------------------ */
/* base64                                                              */
/* ------------------------------------------------------------------ */

/* One entry per byte: the 6-bit value in the low bits, plus the class bits
 * of characters that are not in both alphabets.  Every character of the
 * body is looked up once; the class bits are OR-ed across the input and
 * judged after the loop, so the scan has no branch per character. */
#define B64_VALUE 0x03f
#define B64_STD 0x040 /* '+' '/' */
#define B64_URL 0x080 /* '-' '_' */
#define B64_PAD 0x100 /* '=' */
#define B64_BAD 0x200 /* in neither alphabet */

static const uint16_t hc_b64_table[256] = {
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0x00 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0x08 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0x10 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0x18 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0x20 */
    0x200, 0x200, 0x200, 0x07e, 0x200, 0x0be, 0x200, 0x07f,  /* 0x28 */
    0x034, 0x035, 0x036, 0x037, 0x038, 0x039, 0x03a, 0x03b,  /* 0x30 */
    0x03c, 0x03d, 0x200, 0x200, 0x200, 0x100, 0x200, 0x200,  /* 0x38 */
    0x200, 0x000, 0x001, 0x002, 0x003, 0x004, 0x005, 0x006,  /* 0x40 */
    0x007, 0x008, 0x009, 0x00a, 0x00b, 0x00c, 0x00d, 0x00e,  /* 0x48 */
    0x00f, 0x010, 0x011, 0x012, 0x013, 0x014, 0x015, 0x016,  /* 0x50 */
    0x017, 0x018, 0x019, 0x200, 0x200, 0x200, 0x200, 0x0bf,  /* 0x58 */
    0x200, 0x01a, 0x01b, 0x01c, 0x01d, 0x01e, 0x01f, 0x020,  /* 0x60 */
    0x021, 0x022, 0x023, 0x024, 0x025, 0x026, 0x027, 0x028,  /* 0x68 */
    0x029, 0x02a, 0x02b, 0x02c, 0x02d, 0x02e, 0x02f, 0x030,  /* 0x70 */
    0x031, 0x032, 0x033, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0x78 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0x80 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0x88 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0x90 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0x98 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0xa0 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0xa8 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0xb0 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0xb8 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0xc0 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0xc8 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0xd0 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0xd8 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0xe0 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0xe8 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0xf0 */
    0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200, 0x200,  /* 0xf8 */
};

/*
 * The checks run in a fixed order, and within the body scan a bad character
 * wins over a misplaced '=' which wins over mixed alphabets, so the error
 * reported does not depend on where in the string the faults sit (the
 * pure-Python twin in encoding.py reports the same one).  Decoding happens
 * in the same pass as the scan when the output fits; after a refusal the
 * output bytes are unspecified (*outlen is 0).
 */
int hc_b64_decode(const char *in, size_t inlen, char *out_, size_t cap, size_t *outlen)
{
    const uchar *s = (const uchar *) in;
    uchar *out = (uchar *) out_;
    const uint16_t *T = hc_b64_table;
    size_t npad = 0;
    size_t core;
    size_t rem;
    size_t need;
    size_t i;
    unsigned flags = 0;
    unsigned last;

    if (outlen == NULL || (in == NULL && inlen != 0) || (out == NULL && cap != 0)) {
        return HC_E_ARG;
    }
    *outlen = 0;
    while (npad < inlen && s[inlen - 1 - npad] == '=') {
        npad++;
    }
    if (npad != 0 && (npad > 2 || inlen % 4 != 0)) {
        return HC_E_B64_PADDING;
    }
    core = inlen - npad;
    rem = core % 4;
    need = core / 4 * 3 + (rem == 0 ? 0 : rem - 1);
    if (need <= cap) {
        uchar *o = out;
        for (i = 0; i + 4 <= core; i += 4) {
            unsigned a = T[s[i]];
            unsigned b = T[s[i + 1]];
            unsigned c = T[s[i + 2]];
            unsigned d = T[s[i + 3]];
            uint32_t acc;
            flags |= a | b | c | d;
            acc = ((uint32_t) (a & B64_VALUE) << 18) | ((uint32_t) (b & B64_VALUE) << 12) |
                  ((uint32_t) (c & B64_VALUE) << 6) | (uint32_t) (d & B64_VALUE);
            o[0] = (uchar) (acc >> 16);
            o[1] = (uchar) (acc >> 8);
            o[2] = (uchar) acc;
            o += 3;
        }
        /* The tail: rem 2 gives one byte, rem 3 two (rem 1 is refused below
         * and writes nothing; need counted no byte for it). */
        if (rem >= 2) {
            unsigned a = T[s[i]];
            unsigned b = T[s[i + 1]];
            unsigned c = rem == 3 ? T[s[i + 2]] : 0;
            flags |= a | b | c;
            o[0] = (uchar) (((a & B64_VALUE) << 2) | ((b & B64_VALUE) >> 4));
            if (rem == 3) {
                o[1] = (uchar) ((((b & B64_VALUE) & 0x0f) << 4) | ((c & B64_VALUE) >> 2));
            }
        } else if (rem == 1) {
            flags |= T[s[i]];
        }
    } else {
        /* Too small an output: scan only, so that a fault in the input is
         * still reported ahead of HC_E_OUTPUT_SPACE. */
        for (i = 0; i < core; i++) {
            flags |= T[s[i]];
        }
    }
    if (flags & B64_BAD) {
        return HC_E_B64_CHAR;
    }
    if (flags & B64_PAD) {
        return HC_E_B64_PADDING;
    }
    if ((flags & (B64_STD | B64_URL)) == (B64_STD | B64_URL)) {
        return HC_E_B64_MIXED;
    }
    if (rem == 1) {
        return HC_E_B64_LENGTH;
    }
    if (npad != 0 && npad != (4 - rem) % 4) {
        return HC_E_B64_PADDING;
    }
    if (rem != 0) {
        last = T[s[core - 1]] & B64_VALUE;
        if ((last & (rem == 2 ? 0x0fu : 0x03u)) != 0) {
            return HC_E_B64_PAD_BITS;
        }
    }
    if (need > cap) {
        return HC_E_OUTPUT_SPACE;
    }
    *outlen = need;
    return HC_OK;
}

/* ------------------------------------------------------------------ */
/* UTF-8                                                               */
/* ------------------------------------------------------------------ */

/* RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF. */
static int hc_utf8_valid(const uchar *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uchar c = s[i];
        size_t k;
        uchar lo = 0x80;
        uchar hi = 0xBF;

        if (c < 0x80) {
            uint64_t w;
            i++;
            /* JSON text is mostly ASCII: skip it eight bytes at a time. */
            while (n - i >= 8) {
                memcpy(&w, s + i, 8);
                if (w & UINT64_C(0x8080808080808080)) {
                    break;
                }
                i += 8;
            }
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            if (c == 0xE0) {
                lo = 0xA0;
            } else if (c == 0xED) {
                hi = 0x9F;
            }
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            if (c == 0xF0) {
                lo = 0x90;
            } else if (c == 0xF4) {
                hi = 0x8F;
            }
        } else {
            return 0;
        }
        if (n - i - 1 < k) {
            return 0;
        }
        if (s[i + 1] < lo || s[i + 1] > hi) {
            return 0;
        }
        for (size_t j = 2; j <= k; j++) {
            if (s[i + j] < 0x80 || s[i + j] > 0xBF) {
                return 0;
            }
        }
        i += k + 1;
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

/* A member name as found in the text: the bytes between its quotes. */
typedef struct {
    const uchar *p;
    size_t len;
    int escaped;
} hc_key;

/*
 * Yields the UTF-8 bytes of an already validated JSON string's contents
 * after unescaping, the way Python's json does it: a \uD8xx\uDCxx pair
 * becomes one code point, a lone surrogate escape becomes its 3-byte
 * (WTF-8) form.  Raw text can never produce a surrogate's bytes, so equal
 * outputs mean equal Python strings.  Reads are still bounds-checked in
 * case it is handed something unvalidated.
 */
typedef struct {
    const uchar *p;
    size_t n;
    size_t i;
    uchar buf[4];
    int bi;
    int bn;
} hc_kit;

static unsigned hc_hex4(const uchar *p)
{
    unsigned v = 0;
    int d;

    for (int k = 0; k < 4; k++) {
        d = hc_hexval(p[k]);
        v = (v << 4) | (unsigned) (d < 0 ? 0 : d);
    }
    return v;
}

static int hc_kit_next(hc_kit *k)
{
    uchar c;
    unsigned cp;

    if (k->bi < k->bn) {
        return k->buf[k->bi++];
    }
    if (k->i >= k->n) {
        return -1;
    }
    c = k->p[k->i];
    if (c != '\\') {
        k->i++;
        return c;
    }
    if (k->n - k->i < 2) {
        k->i = k->n;
        return -1;
    }
    c = k->p[k->i + 1];
    if (c != 'u') {
        k->i += 2;
        switch (c) {
        case 'b':
            return '\b';
        case 'f':
            return '\f';
        case 'n':
            return '\n';
        case 'r':
            return '\r';
        case 't':
            return '\t';
        default:
            return c; /* '"', '\\', '/' */
        }
    }
    if (k->n - k->i < 6) {
        k->i = k->n;
        return -1;
    }
    cp = hc_hex4(k->p + k->i + 2);
    k->i += 6;
    if (cp >= 0xD800 && cp <= 0xDBFF && k->n - k->i >= 6 && k->p[k->i] == '\\' &&
        k->p[k->i + 1] == 'u') {
        unsigned lo = hc_hex4(k->p + k->i + 2);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            k->i += 6;
        }
    }
    if (cp < 0x80) {
        k->buf[0] = (uchar) cp;
        k->bn = 1;
    } else if (cp < 0x800) {
        k->buf[0] = (uchar) (0xC0 | (cp >> 6));
        k->buf[1] = (uchar) (0x80 | (cp & 0x3F));
        k->bn = 2;
    } else if (cp < 0x10000) {
        k->buf[0] = (uchar) (0xE0 | (cp >> 12));
        k->buf[1] = (uchar) (0x80 | ((cp >> 6) & 0x3F));
        k->buf[2] = (uchar) (0x80 | (cp & 0x3F));
        k->bn = 3;
    } else {
        k->buf[0] = (uchar) (0xF0 | (cp >> 18));
        k->buf[1] = (uchar) (0x80 | ((cp >> 12) & 0x3F));
        k->buf[2] = (uchar) (0x80 | ((cp >> 6) & 0x3F));
        k->buf[3] = (uchar) (0x80 | (cp & 0x3F));
        k->bn = 4;
    }
    k->bi = 1;
    return k->buf[0];
}

/* Byte-lexicographic order of the unescaped names (any total order would
 * do; this one lets unescaped names use memcmp). */
static int hc_key_cmp(const hc_key *a, const hc_key *b)
{
    if (!a->escaped && !b->escaped) {
        size_t m = a->len < b->len ? a->len : b->len;
        int r = m == 0 ? 0 : memcmp(a->p, b->p, m);
        if (r != 0) {
            return r;
        }
        return a->len < b->len ? -1 : (a->len > b->len ? 1 : 0);
    }
    hc_kit ka = {a->p, a->len, 0, {0, 0, 0, 0}, 0, 0};
    hc_kit kb = {b->p, b->len, 0, {0, 0, 0, 0}, 0, 0};
    for (;;) {
        int x = hc_kit_next(&ka);
        int y = hc_kit_next(&kb);
        if (x != y) {
            return x < y ? -1 : 1;
        }
        if (x < 0) {
            return 0;
        }
    }
}

static int hc_key_eq(const hc_key *a, const hc_key *b)
{
    if (!a->escaped && !b->escaped) {
        return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
    }
    return hc_key_cmp(a, b) == 0;
}

static int hc_key_qcmp(const void *a, const void *b)
{
    return hc_key_cmp(a, b);
}

static int hc_key_is(const hc_key *k, const char *name)
{
    hc_key lit = {(const uchar *) name, strlen(name), 0};
    return hc_key_eq(k, &lit);
}

enum { FIELD_NONE = -1, FIELD_KID = 0, FIELD_PAYLOAD = 1, FIELD_SIG = 2 };
enum { SEEN_NO = 0, SEEN_STRING = 1, SEEN_NUMBER = 2, SEEN_NULL = 3, SEEN_OTHER = 4 };

/* A top-level member name whose value the parser locates. */
typedef struct {
    const char *name;
    size_t len;
} hc_name;

#define HC_NAME(s) {s, sizeof s - 1}
#define HC_MAX_FIELDS 11

static const hc_name hc_claim_names[3] = {HC_NAME("kid"), HC_NAME("payload_b64"),
                                          HC_NAME("signature_hex")};

/* The payload members a Claim is built from, in the order of hc_checked.
 * Both spellings of the ids are located so that a payload holding both is
 * left to the general path, which refuses it. */
enum {
    PF_CLAIM_TYPE, PF_SUB, PF_TYPE, PF_CONTAINER_ID, PF_CONTAINER_ID_CAMEL, PF_PROJECT_ID,
    PF_PROJECT_ID_CAMEL, PF_AUD, PF_IAT, PF_EXP, PF_NBF
};
static const hc_name hc_payload_names[HC_MAX_FIELDS] = {
    HC_NAME("claim_type"), HC_NAME("sub"), HC_NAME("type"), HC_NAME("container_id"),
    HC_NAME("containerId"), HC_NAME("project_id"), HC_NAME("projectId"), HC_NAME("aud"),
    HC_NAME("iat"), HC_NAME("exp"), HC_NAME("nbf")};

/* Python's json refuses integers with more digits than its int limit (4300
 * by default); a payload holding a number this long takes the general path,
 * which reports that refusal. */
#define HC_PLAIN_NUMBER_MAX 4000

#define HC_KEYS_INLINE 32

typedef struct {
    const uchar *s;
    size_t n;
    size_t i;
    int max_depth;
    int depth;
    uchar kind[HC_JSON_DEPTH_LIMIT];    /* '{' or '[' per open container */
    size_t kstart[HC_JSON_DEPTH_LIMIT]; /* first key record of an open object */
    hc_key *keys;
    size_t nkeys;
    size_t capkeys;
    hc_key inline_keys[HC_KEYS_INLINE];
    /* the top-level members located (claim split, payload fields), and
     * which of them the next value belongs to */
    const hc_name *names;
    int nnames;
    int pending;
    int seen[HC_MAX_FIELDS];
    hc_span spans[HC_MAX_FIELDS];
    size_t longest_number;
    uchar top;
} hc_parser;

static void hc_parser_init(hc_parser *p, const uchar *s, size_t n, int max_depth)
{
    p->s = s;
    p->n = n;
    p->i = 0;
    p->max_depth = max_depth;
    p->depth = 0;
    p->keys = p->inline_keys;
    p->nkeys = 0;
    p->capkeys = HC_KEYS_INLINE;
    p->names = NULL;
    p->nnames = 0;
    p->pending = FIELD_NONE;
    p->longest_number = 0;
    for (int f = 0; f < HC_MAX_FIELDS; f++) {
        p->seen[f] = SEEN_NO;
        p->spans[f].off = 0;
        p->spans[f].len = 0;
        p->spans[f].escaped = 0;
    }
    p->top = 0;
}

static void hc_parser_free(hc_parser *p)
{
    if (p->keys != p->inline_keys) {
        free(p->keys);
    }
}

static int hc_push_key(hc_parser *p, const uchar *k, size_t len, int escaped)
{
    if (p->nkeys == p->capkeys) {
        size_t cap = p->capkeys * 2;
        hc_key *nk;
        if (cap > SIZE_MAX / sizeof(hc_key)) {
            return HC_E_NOMEM;
        }
        if (p->keys == p->inline_keys) {
            nk = malloc(cap * sizeof(hc_key));
            if (nk != NULL) {
                memcpy(nk, p->keys, p->nkeys * sizeof(hc_key));
            }
        } else {
            nk = realloc(p->keys, cap * sizeof(hc_key));
        }
        if (nk == NULL) {
            return HC_E_NOMEM;
        }
        p->keys = nk;
        p->capkeys = cap;
    }
    p->keys[p->nkeys].p = k;
    p->keys[p->nkeys].len = len;
    p->keys[p->nkeys].escaped = escaped;
    p->nkeys++;
    return HC_OK;
}

/* Small objects are compared pairwise; big ones sorted, so thousands of
 * names cost O(k log k), not O(k^2), whatever the names are. */
static int hc_has_duplicate(hc_key *keys, size_t count)
{
    if (count < 2) {
        return 0;
    }
    if (count <= 8) {
        for (size_t a = 0; a < count; a++) {
            for (size_t b = a + 1; b < count; b++) {
                if (hc_key_eq(&keys[a], &keys[b])) {
                    return 1;
                }
            }
        }
        return 0;
    }
    qsort(keys, count, sizeof(hc_key), hc_key_qcmp);
    for (size_t a = 0; a + 1 < count; a++) {
        if (hc_key_eq(&keys[a], &keys[a + 1])) {
            return 1;
        }
    }
    return 0;
}

static void hc_skip_ws(hc_parser *p)
{
    while (p->i < p->n) {
        uchar c = p->s[p->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            break;
        }
        p->i++;
    }
}

static int hc_is_digit(hc_parser *p)
{
    return p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9';
}

static int hc_match(hc_parser *p, const char *lit)
{
    size_t len = strlen(lit);
    if (p->n - p->i < len || memcmp(p->s + p->i, lit, len) != 0) {
        return 0;
    }
    p->i += len;
    return 1;
}

#define HC_ONES UINT64_C(0x0101010101010101)
#define HC_HIGHS UINT64_C(0x8080808080808080)

/* Whether none of the 8 bytes of w is '"', '\\' or below 0x20: the
 * "has a zero byte" / "has a byte less than n" word tricks, which are exact
 * as a yes/no answer (n <= 128). */
static int hc_plain8(uint64_t w)
{
    uint64_t quote = w ^ (HC_ONES * '"');
    uint64_t slash = w ^ (HC_ONES * '\\');
    uint64_t hits = ((quote - HC_ONES) & ~quote) | ((slash - HC_ONES) & ~slash) |
                    ((w - HC_ONES * 0x20) & ~w);
    return (hits & HC_HIGHS) == 0;
}

/* p->i is on the opening quote.  On success p->i is past the closing quote
 * and off, len, escaped describe the contents. */
static int hc_parse_string(hc_parser *p, size_t *off, size_t *len, int *escaped)
{
    size_t i = p->i + 1;
    int esc = 0;

    for (;;) {
        uchar c;
        if (i >= p->n) {
            return HC_E_JSON_SYNTAX;
        }
        c = p->s[i];
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            return HC_E_JSON_CONTROL;
        }
        if (c != '\\') {
            uint64_t w;
            i++;
            while (p->n - i >= 8) {
                memcpy(&w, p->s + i, 8);
                if (!hc_plain8(w)) {
                    break;
                }
                i += 8;
            }
            continue;
        }
        esc = 1;
        if (i + 1 >= p->n) {
            return HC_E_JSON_SYNTAX;
        }
        c = p->s[i + 1];
        switch (c) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            i += 2;
            break;
        case 'u':
            if (p->n - i < 6) {
                return HC_E_JSON_ESCAPE;
            }
            for (size_t k = 2; k < 6; k++) {
                if (hc_hexval(p->s[i + k]) < 0) {
                    return HC_E_JSON_ESCAPE;
                }
            }
            i += 6;
            break;
        default:
            return HC_E_JSON_ESCAPE;
        }
    }
    *off = p->i + 1;
    *len = i - (p->i + 1);
    *escaped = esc;
    p->i = i + 1;
    return HC_OK;
}

static int hc_parse_number(hc_parser *p)
{
    if (p->s[p->i] == '-') {
        p->i++;
        if (p->i < p->n && p->s[p->i] == 'I') {
            return hc_match(p, "Infinity") ? HC_E_JSON_NONFINITE : HC_E_JSON_SYNTAX;
        }
    }
    if (!hc_is_digit(p)) {
        return HC_E_JSON_SYNTAX;
    }
    if (p->s[p->i] == '0') {
        p->i++;
    } else {
        while (hc_is_digit(p)) {
            p->i++;
        }
    }
    if (p->i < p->n && p->s[p->i] == '.') {
        p->i++;
        if (!hc_is_digit(p)) {
            return HC_E_JSON_SYNTAX;
        }
        while (hc_is_digit(p)) {
            p->i++;
        }
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-')) {
            p->i++;
        }
        if (!hc_is_digit(p)) {
            return HC_E_JSON_SYNTAX;
        }
        while (hc_is_digit(p)) {
            p->i++;
        }
    }
    return HC_OK;
}

static void hc_note_value(hc_parser *p, int seen, size_t off, size_t len, int escaped)
{
    if (p->pending == FIELD_NONE) {
        return;
    }
    p->seen[p->pending] = seen;
    p->spans[p->pending].off = off;
    p->spans[p->pending].len = len;
    p->spans[p->pending].escaped = (size_t) escaped;
    p->pending = FIELD_NONE;
}

/* p->i is on the opening quote of a member name. */
static int hc_parse_member_name(hc_parser *p)
{
    size_t off;
    size_t len;
    int esc;
    int rc;

    if (p->i >= p->n || p->s[p->i] != '"') {
        return HC_E_JSON_SYNTAX;
    }
    rc = hc_parse_string(p, &off, &len, &esc);
    if (rc != HC_OK) {
        return rc;
    }
    rc = hc_push_key(p, p->s + off, len, esc);
    if (rc != HC_OK) {
        return rc;
    }
    if (p->nnames > 0 && p->depth == 1) {
        const hc_key *k = &p->keys[p->nkeys - 1];
        for (int f = 0; f < p->nnames; f++) {
            /* An escaped name may still spell one of ours once unescaped. */
            if ((k->escaped || k->len == p->names[f].len) && hc_key_is(k, p->names[f].name)) {
                p->pending = f;
                break;
            }
        }
    }
    hc_skip_ws(p);
    if (p->i >= p->n || p->s[p->i] != ':') {
        return HC_E_JSON_SYNTAX;
    }
    p->i++;
    hc_skip_ws(p);
    return HC_OK;
}

static int hc_parse(hc_parser *p)
{
    int rc;

    if (p->n >= 3 && p->s[0] == 0xEF && p->s[1] == 0xBB && p->s[2] == 0xBF) {
        return HC_E_BOM;
    }
    hc_skip_ws(p);
    if (p->i < p->n) {
        p->top = p->s[p->i];
    }

value:
    /* expecting a value at p->i */
    if (p->i >= p->n) {
        return HC_E_JSON_SYNTAX;
    }
    switch (p->s[p->i]) {
    case '{':
    case '[':
        hc_note_value(p, SEEN_OTHER, 0, 0, 0);
        if (p->depth >= p->max_depth) {
            return HC_E_JSON_DEPTH;
        }
        p->kind[p->depth] = p->s[p->i];
        p->kstart[p->depth] = p->nkeys;
        p->depth++;
        p->i++;
        hc_skip_ws(p);
        if (p->kind[p->depth - 1] == '{') {
            if (p->i < p->n && p->s[p->i] == '}') {
                p->i++;
                p->depth--;
                goto after_value;
            }
            rc = hc_parse_member_name(p);
            if (rc != HC_OK) {
                return rc;
            }
            goto value;
        }
        if (p->i < p->n && p->s[p->i] == ']') {
            p->i++;
            p->depth--;
            goto after_value;
        }
        goto value;
    case '"': {
        size_t off;
        size_t len;
        int esc;
        rc = hc_parse_string(p, &off, &len, &esc);
        if (rc != HC_OK) {
            return rc;
        }
        hc_note_value(p, SEEN_STRING, off, len, esc);
        goto after_value;
    }
    case 't':
    case 'f':
    case 'n':
        if (hc_match(p, "null")) {
            hc_note_value(p, SEEN_NULL, 0, 0, 0);
        } else if (hc_match(p, "true") || hc_match(p, "false")) {
            hc_note_value(p, SEEN_OTHER, 0, 0, 0);
        } else {
            return HC_E_JSON_SYNTAX;
        }
        goto after_value;
    case 'N':
        return hc_match(p, "NaN") ? HC_E_JSON_NONFINITE : HC_E_JSON_SYNTAX;
    case 'I':
        return hc_match(p, "Infinity") ? HC_E_JSON_NONFINITE : HC_E_JSON_SYNTAX;
    default:
        if (p->s[p->i] == '-' || (p->s[p->i] >= '0' && p->s[p->i] <= '9')) {
            size_t start = p->i;
            rc = hc_parse_number(p);
            if (rc != HC_OK) {
                return rc;
            }
            if (p->i - start > p->longest_number) {
                p->longest_number = p->i - start;
            }
            hc_note_value(p, SEEN_NUMBER, start, p->i - start, 0);
            goto after_value;
        }
        return HC_E_JSON_SYNTAX;
    }

after_value:
    hc_skip_ws(p);
    if (p->depth == 0) {
        return p->i == p->n ? HC_OK : HC_E_JSON_SYNTAX;
    }
    if (p->i >= p->n) {
        return HC_E_JSON_SYNTAX;
    }
    {
        uchar c = p->s[p->i];
        uchar k = p->kind[p->depth - 1];
        if (c == ',') {
            p->i++;
            hc_skip_ws(p);
            if (k == '{') {
                rc = hc_parse_member_name(p);
                if (rc != HC_OK) {
                    return rc;
                }
            }
            goto value;
        }
        if (c == '}' && k == '{') {
            size_t start = p->kstart[p->depth - 1];
            if (hc_has_duplicate(p->keys + start, p->nkeys - start)) {
                return HC_E_JSON_DUPLICATE;
            }
            p->nkeys = start;
            p->depth--;
            p->i++;
            goto after_value;
        }
        if (c == ']' && k == '[') {
            p->depth--;
            p->i++;
            goto after_value;
        }
        return HC_E_JSON_SYNTAX;
    }
}

static int hc_check_text(hc_parser *p)
{
    if (!hc_utf8_valid(p->s, p->n)) {
        return HC_E_UTF8;
    }
    return hc_parse(p);
}

int hc_json_check(const char *buf, size_t len, int max_depth)
{
    hc_parser p;
    int rc;

    if ((buf == NULL && len != 0) || max_depth < 0 || max_depth > HC_JSON_DEPTH_LIMIT) {
        return HC_E_ARG;
    }
    hc_parser_init(&p, buf != NULL ? (const uchar *) buf : hc_empty, len, max_depth);
    rc = hc_check_text(&p);
    hc_parser_free(&p);
    return rc;
}

int hc_claim_split(const char *buf, size_t len, hc_claim_parts *out)
{
    static const int missing[3] = {HC_E_KID_MISSING, HC_E_PAYLOAD_MISSING,
                                   HC_E_SIGNATURE_MISSING};
    static const int wrong_type[3] = {HC_E_KID_TYPE, HC_E_PAYLOAD_TYPE, HC_E_SIGNATURE_TYPE};
    hc_parser p;
    int rc;

    if ((buf == NULL && len != 0) || out == NULL) {
        return HC_E_ARG;
    }
    memset(out, 0, sizeof *out);
    hc_parser_init(&p, buf != NULL ? (const uchar *) buf : hc_empty, len, HC_CLAIM_MAX_DEPTH);
    p.names = hc_claim_names;
    p.nnames = 3;
    rc = hc_check_text(&p);
    hc_parser_free(&p);
    if (rc != HC_OK) {
        return rc;
    }
    if (p.top != '{') {
        return HC_E_NOT_OBJECT;
    }
    for (int f = 0; f < 3; f++) {
        if (p.seen[f] == SEEN_NO) {
            return missing[f];
        }
        if (p.seen[f] != SEEN_STRING) {
            return wrong_type[f];
        }
    }
    out->kid = p.spans[FIELD_KID];
    out->payload_b64 = p.spans[FIELD_PAYLOAD];
    out->signature_hex = p.spans[FIELD_SIG];
    return HC_OK;
}

/* hc_payload_decode, locating the members named by names (nnames of them)
 * in p, which the caller provides (it is large) and reads afterwards. */
static int hc_payload_parse(hc_parser *p, const char *b64, size_t len, char *out, size_t cap,
                            size_t *outlen, int max_depth, const hc_name *names, int nnames)
{
    int rc;

    if (outlen == NULL || max_depth < 0 || max_depth > HC_JSON_DEPTH_LIMIT) {
        return HC_E_ARG;
    }
    rc = hc_b64_decode(b64, len, out, cap, outlen);
    if (rc != HC_OK) {
        return rc;
    }
    hc_parser_init(p, out != NULL ? (const uchar *) out : hc_empty, *outlen, max_depth);
    p->names = names;
    p->nnames = nnames;
    rc = hc_check_text(p);
    hc_parser_free(p);
    if (rc != HC_OK) {
        return rc;
    }
    return p->top == '{' ? HC_OK : HC_E_NOT_OBJECT;
}

int hc_payload_decode(const char *b64, size_t len, char *out, size_t cap, size_t *outlen,
                      int max_depth)
{
    hc_parser p;

    return hc_payload_parse(&p, b64, len, out, cap, outlen, max_depth, NULL, 0);
}

int hc_claim_prepare(const unsigned char *in, size_t len, unsigned char *scratch, size_t cap,
                     hc_prepared *out)
{
    const char *text;
    size_t tlen;
    hc_claim_parts parts;
    int rc;

    if (out == NULL) {
        return HC_E_ARG;
    }
    memset(out, 0, sizeof *out);
    if ((in == NULL && len != 0) || (scratch == NULL && cap != 0)) {
        return HC_E_ARG;
    }
    if (len != 0 && in[0] == '{') {
        text = (const char *) in;
        tlen = len;
    } else {
        rc = hc_b64_decode((const char *) in, len, (char *) scratch, cap, &tlen);
        if (rc != HC_OK) {
            return rc;
        }
        text = (const char *) scratch;
        out->in_scratch = 1;
    }
    rc = hc_claim_split(text, tlen, &parts);
    if (rc != HC_OK) {
        return rc;
    }
    out->kid = parts.kid;
    out->payload_b64 = parts.payload_b64;
    out->signature_hex = parts.signature_hex;
    out->text_len = tlen;
    if (parts.signature_hex.escaped) {
        return HC_OK;
    }
    /* The span lies inside text (hc_claim_split only reports spans it read). */
    if (parts.signature_hex.len != 2 * sizeof out->sig ||
        hc_hex_decode(text + parts.signature_hex.off, parts.signature_hex.len,
                      (char *) out->sig, sizeof out->sig) != HC_OK) {
        memset(out->sig, 0, sizeof out->sig);
        return HC_E_SIGNATURE_HEX;
    }
    return HC_OK;
}

int hc_verify_payload(const unsigned char *sig64, const unsigned char *pk32,
                      const char *payload_b64, size_t len, unsigned char *out, size_t cap,
                      size_t *outlen, unsigned max_depth)
{
    hc_verify_fn fn;

    if (outlen == NULL) {
        return HC_E_ARG;
    }
    *outlen = 0;
    if (sig64 == NULL || pk32 == NULL || (payload_b64 == NULL && len != 0) ||
        (out == NULL && cap != 0) || max_depth > HC_JSON_DEPTH_LIMIT) {
        return HC_E_ARG;
    }
    fn = hc_get_fn();
    if (fn == NULL) {
        return HC_E_STATE;
    }
    if (fn(sig64, payload_b64 != NULL ? (const uchar *) payload_b64 : hc_empty,
           (unsigned long long) len, pk32) != 0) {
        return HC_E_SIGNATURE_INVALID;
    }
    return hc_payload_decode(payload_b64, len, (char *) out, cap, outlen, (int) max_depth);
}

/* ------------------------------------------------------------------ */
/* the whole check of one claim                                        */
/* ------------------------------------------------------------------ */

/* A JSON integer (no fraction, no exponent) strictly within +-2^53, the
 * range the Python side accepts for times. */
static int hc_plain_int(const uchar *s, size_t len, int64_t *value)
{
    const int64_t limit = INT64_C(1) << 53;
    int neg = 0;
    int64_t v = 0;
    size_t i = 0;

    if (len > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    /* 16 digits always fit below 2^63; more are never below 2^53. */
    if (i == len || len - i > 16) {
        return 0;
    }
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (v >= limit) {
        return 0;
    }
    *value = neg ? -v : v;
    return 1;
}

/* The six string members, in hc_checked's order: the payload member (or,
 * for the ids, its snake_case spelling) and the other spelling, or -1. */
static const int hc_string_members[6][2] = {
    {PF_CLAIM_TYPE, -1}, {PF_SUB, -1}, {PF_TYPE, -1},
    {PF_CONTAINER_ID, PF_CONTAINER_ID_CAMEL}, {PF_PROJECT_ID, PF_PROJECT_ID_CAMEL},
    {PF_AUD, -1}};

static int hc_plain_time(const hc_parser *p, int f, int64_t *value, int64_t *present)
{
    if (p->seen[f] == SEEN_NO || p->seen[f] == SEEN_NULL) {
        *present = 0;
        *value = 0;
        return 1;
    }
    *present = 1;
    return p->seen[f] == SEEN_NUMBER &&
           hc_plain_int(p->s + p->spans[f].off, p->spans[f].len, value);
}

/* Whether the known members have the shapes the fast path builds (see
 * hc_claim_check); if so, fill in res's times and absent, and the members
 * to copy into names (their index in p, or -1 when absent or null). */
static int hc_plain_fields(const hc_parser *p, hc_checked *res, int members[6])
{
    int64_t has_iat;
    int64_t has_exp;

    if (p->longest_number > HC_PLAIN_NUMBER_MAX) {
        return 0;
    }
    res->absent = 0;
    for (int j = 0; j < 6; j++) {
        int f = hc_string_members[j][0];
        int other = hc_string_members[j][1];

        if (other >= 0 && p->seen[other] != SEEN_NO) {
            if (p->seen[f] != SEEN_NO) {
                return 0; /* both spellings, even as null: the general path refuses it */
            }
            f = other;
        }
        if (p->seen[f] == SEEN_NO || p->seen[f] == SEEN_NULL) {
            members[j] = -1;
            res->absent |= (int64_t) 1 << j;
        } else if (p->seen[f] == SEEN_STRING && !p->spans[f].escaped) {
            members[j] = f;
        } else {
            return 0;
        }
    }
    return hc_plain_time(p, PF_IAT, &res->iat, &has_iat) && has_iat &&
           hc_plain_time(p, PF_EXP, &res->exp, &has_exp) && has_exp &&
           hc_plain_time(p, PF_NBF, &res->nbf, &res->has_nbf);
}

/* The key named kid[0 .. klen) in ring, or NULL.  Every entry is checked to
 * lie inside the ring before it is read. */
static const uchar *hc_ring_find(const uchar *ring, size_t ring_len, const uchar *kid,
                                 size_t klen)
{
    size_t i = 0;

    while (ring_len - i >= 4) {
        uint32_t n;
        memcpy(&n, ring + i, 4);
        i += 4;
        if (ring_len - i < 32 || ring_len - i - 32 < n) {
            return NULL;
        }
        if (n == klen && (klen == 0 || memcmp(ring + i, kid, klen) == 0)) {
            return ring + i + n;
        }
        i += (size_t) n + 32;
    }
    return NULL;
}

static int hc_ascii(const uchar *s, size_t n)
{
    uchar any = 0;

    for (size_t i = 0; i < n; i++) {
        any |= s[i];
    }
    return any < 0x80;
}

static void hc_put(uchar *block, size_t *at, const uchar *src, size_t n)
{
    if (n != 0) {
        memcpy(block + *at, src, n);
    }
    *at += n;
}

static int hc_claim_check_in(const uchar *in, size_t len, const uchar *ring, size_t ring_len,
                             uchar *block, size_t block_len, int max_depth, hc_checked *res)
{
    hc_prepared prep;
    hc_parser p;
    hc_verify_fn fn = hc_get_fn();
    const uchar *text;
    const uchar *key;
    const uchar *payload;
    int members[6];
    size_t at = sizeof *res;
    size_t plen;
    size_t outlen;
    size_t need;
    int rc;

    if (fn == NULL) {
        return HC_E_STATE;
    }
    /* [hc_checked][decoded compact text][payload][names]: the text is at
     * most 3/4 len + 3, the payload 3/4 of payload_b64 and the names at
     * most kid + payload + 6 bytes, all within 3 * len + the extra. */
    rc = hc_claim_prepare(in, len, block + at, block_len - at, &prep);
    if (rc != HC_OK || prep.kid.escaped || prep.payload_b64.escaped ||
        prep.signature_hex.escaped || prep.payload_b64.len >= HC_MAX_PAYLOAD_B64) {
        return HC_E_GENERAL;
    }
    text = prep.in_scratch ? block + at : in;
    if (prep.in_scratch) {
        at += prep.text_len;
    }
    payload = text + prep.payload_b64.off;
    plen = prep.payload_b64.len;
    if (!hc_ascii(payload, plen)) {
        return HC_E_GENERAL;
    }
    key = hc_ring_find(ring, ring_len, text + prep.kid.off, prep.kid.len);
    if (key == NULL) {
        return HC_E_GENERAL;
    }
    if (fn(prep.sig, plen != 0 ? payload : hc_empty, (unsigned long long) plen, key) != 0) {
        return HC_E_SIGNATURE_INVALID;
    }
    rc = hc_payload_parse(&p, (const char *) payload, plen, (char *) block + at,
                          block_len - at, &outlen, max_depth, hc_payload_names, HC_MAX_FIELDS);
    if (rc != HC_OK) {
        res->payload_rc = rc;
        return rc == HC_E_NOMEM || rc == HC_E_ARG ? rc : HC_E_PAYLOAD;
    }
    res->payload_off = (int64_t) at;
    res->payload_len = (int64_t) outlen;
    res->longest_number = (int64_t) p.longest_number;
    at += outlen;
    res->names_off = (int64_t) at;
    res->plain = hc_plain_fields(&p, res, members);
    need = prep.kid.len;
    for (int j = 0; res->plain && j < 6; j++) {
        need += 1 + (members[j] >= 0 ? p.spans[members[j]].len : 0);
    }
    if (block_len - at < need) {
        return HC_E_OUTPUT_SPACE; /* cannot happen with the documented block size */
    }
    hc_put(block, &at, text + prep.kid.off, prep.kid.len);
    if (res->plain) {
        for (int j = 0; j < 6; j++) {
            block[at++] = '"';
            if (members[j] >= 0) {
                hc_put(block, &at, p.s + p.spans[members[j]].off, p.spans[members[j]].len);
            }
        }
    }
    res->names_len = (int64_t) at - res->names_off;
    return HC_OK;
}

int hc_claim_check(const unsigned char *in, size_t len, const unsigned char *ring,
                   size_t ring_len, unsigned char *block, size_t block_len, int max_depth)
{
    hc_checked res;
    int rc;

    if (block == NULL || block_len < sizeof res) {
        return HC_E_ARG;
    }
    memset(&res, 0, sizeof res);
    if ((in == NULL && len != 0) || (ring == NULL && ring_len != 0) ||
        len > (SIZE_MAX - HC_CHECK_BLOCK_EXTRA) / 3 ||
        block_len < 3 * len + HC_CHECK_BLOCK_EXTRA || max_depth < 0 ||
        max_depth > HC_JSON_DEPTH_LIMIT) {
        rc = HC_E_ARG;
    } else {
        rc = hc_claim_check_in(in, len, ring != NULL ? ring : hc_empty, ring_len, block,
                               block_len, max_depth, &res);
    }
    memcpy(block, &res, sizeof res);
    return rc;
}
