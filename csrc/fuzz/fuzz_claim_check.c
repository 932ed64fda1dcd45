/* hc_claim_check against a model built from the other entry points, with
 * the fake deterministic verify function of fuzz_verify_payload.c:
 *
 *   hc_claim_prepare refuses, or a kid / payload_b64 / signature_hex holds
 *   an escape, or payload_b64 is too long or not ASCII, or the kid is not in
 *   the ring (walked here independently)   -> HC_E_GENERAL;
 *   the fake verify of (sig, payload_b64, key) fails -> HC_E_SIGNATURE_INVALID;
 *   hc_payload_decode refuses                 -> HC_E_PAYLOAD, payload_rc its code;
 *   else HC_OK, the payload region holding exactly hc_payload_decode's bytes,
 *   and plain / absent / names / times exactly what a second, independent
 *   walk over the decoded payload (below) says.
 *
 * The block is a heap block of exactly 3 * len + HC_CHECK_BLOCK_EXTRA bytes
 * (ASan sees any overrun); the same call with a larger block must give the
 * same bytes, with one byte less it is HC_E_ARG, and so are the other
 * argument errors probed here.
 *
 * Layout: byte 0 = depth (% 40), ring mode (/ 40 % 3) and, when / 40 >= 3,
 * "synthesized"; byte 1 = r, the number of raw ring bytes; byte 2 = seed of
 * the derived key; then the r raw ring bytes, then the claim text -- or,
 * synthesized, the payload bytes, which fuzz_claim_text.h wraps into a claim
 * text with kid "k1" (its form chosen by the top 3 bits of byte 2).  Ring modes: 0 the raw bytes as they are;
 * 1 [an entry for kid + "x"][an entry for the claim's kid][the raw bytes];
 * 2 [the raw bytes][an entry for the claim's kid].  The claim's kid is found
 * with hc_claim_prepare (not escaped: an escaped kid never matches). */
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

/* ------------------------------------------------------------------ */
/* the model of the known members, from a JSON text known to be valid  */
/* ------------------------------------------------------------------ */

enum { K_NO, K_STRING, K_NUMBER, K_NULL, K_OTHER };

#define NFIELDS 11
static const char *const field_names[NFIELDS] = {
    "claim_type", "sub", "type", "container_id", "containerId", "project_id",
    "projectId", "aud", "iat", "exp", "nbf"};

typedef struct {
    int kind;
    size_t off, len;
    int escaped;
} seen_value;

typedef struct {
    const unsigned char *s;
    size_t n, i;
    size_t longest_number;
} walker;

static void w_ws(walker *w)
{
    while (w->i < w->n &&
           (w->s[w->i] == ' ' || w->s[w->i] == '\t' || w->s[w->i] == '\n' || w->s[w->i] == '\r')) {
        w->i++;
    }
}

static int w_hex4(const unsigned char *p)
{
    int v = 0;
    for (int k = 0; k < 4; k++) {
        int c = p[k];
        int d = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
        v = v * 16 + d;
    }
    return v;
}

/* w->i on the opening quote.  The contents' span, whether they hold an
 * escape and, when they unescape to a short ASCII string, that string. */
static void w_string(walker *w, size_t *off, size_t *len, int *escaped, char *name,
                     size_t *nlen, int *name_ok)
{
    size_t cap = 32;

    w->i++;
    *off = w->i;
    *escaped = 0;
    *nlen = 0;
    *name_ok = 1;
    while (w->s[w->i] != '"') {
        unsigned char c = w->s[w->i];
        int out;

        if (c == '\\') {
            unsigned char e = w->s[w->i + 1];
            *escaped = 1;
            if (e == 'u') {
                out = w_hex4(w->s + w->i + 2);
                w->i += 6;
                if (out >= 0x80) {
                    *name_ok = 0;
                }
            } else {
                out = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r'
                      : e == 't' ? '\t' : e;
                w->i += 2;
            }
        } else {
            out = c;
            w->i++;
            if (c >= 0x80) {
                *name_ok = 0;
            }
        }
        if (*nlen < cap) {
            name[(*nlen)++] = (char) out;
        } else {
            *name_ok = 0;
        }
    }
    *len = w->i - *off;
    w->i++;
}

static int is_number_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

static void w_number(walker *w, size_t *off, size_t *len)
{
    *off = w->i;
    while (w->i < w->n && is_number_char(w->s[w->i])) {
        w->i++;
    }
    *len = w->i - *off;
    if (*len > w->longest_number) {
        w->longest_number = *len;
    }
}

/* One value at w->i (after any whitespace); its kind and, for a string or
 * a number, its span. */
static void w_value(walker *w, seen_value *v)
{
    unsigned char c = w->s[w->i];
    char name[32];
    size_t nlen;
    int name_ok;

    v->off = v->len = 0;
    v->escaped = 0;
    if (c == '"') {
        v->kind = K_STRING;
        w_string(w, &v->off, &v->len, &v->escaped, name, &nlen, &name_ok);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        v->kind = K_NUMBER;
        w_number(w, &v->off, &v->len);
    } else if (c == 'n') {
        v->kind = K_NULL;
        w->i += 4;
    } else if (c == 't') {
        v->kind = K_OTHER;
        w->i += 4;
    } else if (c == 'f') {
        v->kind = K_OTHER;
        w->i += 5;
    } else {
        /* an object or an array: skip it, noting the numbers inside */
        size_t depth = 0;
        v->kind = K_OTHER;
        do {
            c = w->s[w->i];
            if (c == '{' || c == '[') {
                depth++;
                w->i++;
            } else if (c == '}' || c == ']') {
                depth--;
                w->i++;
            } else if (c == '"') {
                size_t o, l;
                int e;
                w_string(w, &o, &l, &e, name, &nlen, &name_ok);
            } else if (c == '-' || (c >= '0' && c <= '9')) {
                size_t o, l;
                w_number(w, &o, &l);
            } else {
                w->i++;
            }
        } while (depth > 0);
    }
}

/* The top-level members of a valid JSON object text that are among
 * field_names (after unescaping), and the longest number anywhere. */
static void w_object(const unsigned char *s, size_t n, seen_value seen[NFIELDS],
                     size_t *longest_number)
{
    walker w = {s, n, 0, 0};

    for (int f = 0; f < NFIELDS; f++) {
        seen[f].kind = K_NO;
    }
    w_ws(&w);
    FUZZ_CHECK(w.i < n && s[w.i] == '{');
    w.i++;
    for (;;) {
        char name[32];
        size_t nlen, off, len;
        int escaped, name_ok;
        seen_value v;
        int field = -1;

        w_ws(&w);
        if (s[w.i] == '}') {
            break;
        }
        if (s[w.i] == ',') {
            w.i++;
            w_ws(&w);
        }
        FUZZ_CHECK(s[w.i] == '"');
        w_string(&w, &off, &len, &escaped, name, &nlen, &name_ok);
        for (int f = 0; name_ok && f < NFIELDS; f++) {
            if (strlen(field_names[f]) == nlen && memcmp(field_names[f], name, nlen) == 0) {
                field = f;
            }
        }
        w_ws(&w);
        FUZZ_CHECK(s[w.i] == ':');
        w.i++;
        w_ws(&w);
        w_value(&w, &v);
        if (field >= 0) {
            FUZZ_CHECK(seen[field].kind == K_NO); /* hc_payload_decode refuses duplicates */
            seen[field] = v;
        }
    }
    *longest_number = w.longest_number;
}

/* An integer number token (no fraction, no exponent) strictly within
 * +-2^53. */
static int model_int(const unsigned char *s, size_t len, int64_t *value)
{
    size_t i = 0;
    uint64_t v = 0;
    int neg = 0;

    if (len > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == len || len - i > 18) {
        return 0;
    }
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        v = v * 10 + (uint64_t) (s[i] - '0');
    }
    if (v >= (UINT64_C(1) << 53)) {
        return 0;
    }
    *value = neg ? -(int64_t) v : (int64_t) v;
    return 1;
}

typedef struct {
    int plain;
    int64_t absent;
    int64_t iat, exp, nbf, has_nbf;
    size_t seg_off[6], seg_len[6];
    size_t longest;
} model;

static int model_time(const unsigned char *text, const seen_value *v, int required,
                      int64_t *value, int64_t *present)
{
    *value = 0;
    *present = 0;
    if (v->kind == K_NO || v->kind == K_NULL) {
        return !required;
    }
    *present = 1;
    return v->kind == K_NUMBER && model_int(text + v->off, v->len, value);
}

static void build_model(const unsigned char *payload, size_t n, model *m)
{
    static const int members[6][2] = {{0, -1}, {1, -1}, {2, -1}, {3, 4}, {5, 6}, {7, -1}};
    seen_value seen[NFIELDS];
    size_t longest;
    int64_t present;

    memset(m, 0, sizeof *m);
    w_object(payload, n, seen, &longest);
    m->longest = longest;
    m->plain = longest <= 4000;
    for (int j = 0; j < 6; j++) {
        int f = members[j][0];
        int other = members[j][1];

        if (other >= 0 && seen[other].kind != K_NO) {
            if (seen[f].kind != K_NO) {
                m->plain = 0;
            }
            f = other;
        }
        if (seen[f].kind == K_NO || seen[f].kind == K_NULL) {
            m->absent |= (int64_t) 1 << j;
        } else if (seen[f].kind == K_STRING && !seen[f].escaped) {
            m->seg_off[j] = seen[f].off;
            m->seg_len[j] = seen[f].len;
        } else {
            m->plain = 0;
        }
    }
    if (!model_time(payload, &seen[8], 1, &m->iat, &present) ||
        !model_time(payload, &seen[9], 1, &m->exp, &present) ||
        !model_time(payload, &seen[10], 0, &m->nbf, &m->has_nbf)) {
        m->plain = 0;
    }
}

/* ------------------------------------------------------------------ */
/* the ring                                                            */
/* ------------------------------------------------------------------ */

/* Entries [u32 n][n bytes][32 bytes] from the start; the first whose name
 * is kid, or NULL at the end or at an entry that does not fit. */
static const unsigned char *model_ring_find(const unsigned char *ring, size_t ring_len,
                                            const unsigned char *kid, size_t klen)
{
    size_t i = 0;

    for (;;) {
        uint32_t n;
        if (ring_len - i < 4) {
            return NULL;
        }
        memcpy(&n, ring + i, 4);
        if ((uint64_t) ring_len - i - 4 < (uint64_t) n + 32) {
            return NULL;
        }
        if (n == klen && memcmp(ring + i + 4, kid, klen) == 0) {
            return ring + i + 4 + n;
        }
        i += 4 + (size_t) n + 32;
    }
}

static size_t put_entry(unsigned char *at, const unsigned char *kid, size_t klen,
                        const char *suffix, unsigned seed)
{
    uint32_t n = (uint32_t) (klen + strlen(suffix));

    memcpy(at, &n, 4);
    if (klen != 0) {
        memcpy(at + 4, kid, klen);
    }
    memcpy(at + 4 + klen, suffix, strlen(suffix));
    for (int k = 0; k < 32; k++) {
        at[4 + n + k] = (unsigned char) (seed + 13 * (unsigned) k + n);
    }
    return 4 + (size_t) n + 32;
}

/* ------------------------------------------------------------------ */

static void check_region(int64_t off, int64_t len, size_t block_len)
{
    FUZZ_CHECK(off >= (int64_t) sizeof(hc_checked) && len >= 0);
    FUZZ_CHECK((uint64_t) off <= block_len && (uint64_t) len <= block_len - (uint64_t) off);
}

static void probe_args(const unsigned char *in, size_t len, const unsigned char *ring,
                       size_t ring_len, size_t need)
{
    static const hc_checked zero;
    unsigned char small[sizeof(hc_checked)];
    unsigned char *short_block = malloc(need - 1);
    hc_checked got;

    FUZZ_CHECK(short_block != NULL);
    memset(short_block, 0x5a, need - 1);
    FUZZ_CHECK(hc_claim_check(in, len, ring, ring_len, short_block, need - 1, 32) == HC_E_ARG);
    memcpy(&got, short_block, sizeof got);
    FUZZ_CHECK(memcmp(&got, &zero, sizeof got) == 0);
    free(short_block);

    /* too small for even the hc_checked: nothing is written */
    memset(small, 0x5a, sizeof small);
    FUZZ_CHECK(hc_claim_check(in, len, ring, ring_len, small, sizeof small - 1, 32) == HC_E_ARG);
    for (size_t k = 0; k < sizeof small; k++) {
        FUZZ_CHECK(small[k] == 0x5a);
    }
    FUZZ_CHECK(hc_claim_check(in, len, ring, ring_len, NULL, need, 32) == HC_E_ARG);
    if (need <= 4096) {
        unsigned char *block = malloc(need);
        FUZZ_CHECK(block != NULL);
        FUZZ_CHECK(hc_claim_check(in, len, ring, ring_len, block, need, -1) == HC_E_ARG);
        FUZZ_CHECK(hc_claim_check(in, len, ring, ring_len, block, need,
                                  HC_JSON_DEPTH_LIMIT + 1) == HC_E_ARG);
        if (len != 0) {
            FUZZ_CHECK(hc_claim_check(NULL, len, ring, ring_len, block, need, 32) == HC_E_ARG);
        }
        FUZZ_CHECK(hc_claim_check(in, len, NULL, ring_len + 1, block, need, 32) == HC_E_ARG);
        free(block);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialised;
    static const hc_checked zero;
    int depth;
    int mode;
    int synthesized;
    size_t r;
    unsigned seed;
    unsigned char *in;
    size_t len;
    unsigned char *ring;
    size_t ring_len;
    unsigned char *scratch;
    size_t scratch_cap;
    unsigned char *block;
    unsigned char *big;
    size_t need;
    hc_prepared prep;
    hc_checked got;
    int prep_rc;
    int want;
    int rc;
    const unsigned char *text = NULL;
    const unsigned char *key = NULL;
    unsigned char *plain = NULL;
    size_t plainlen = 0;
    int want_payload_rc = 0;

    if (!initialised) {
        FUZZ_CHECK(hc_init(fake_verify) == HC_OK);
        initialised = 1;
    }
    if (size < 3) {
        return 0;
    }
    depth = data[0] % 40;
    mode = data[0] / 40 % 3;
    synthesized = data[0] / 40 >= 3;
    r = data[1];
    seed = data[2];
    data += 3;
    size -= 3;
    if (r > size) {
        r = size;
    }
    len = size - r;
    if (synthesized) {
        in = fuzz_claim_text(data + r, len, seed >> 5, &len);
    } else {
        in = len != 0 ? (unsigned char *) fuzz_dup(data + r, len) : NULL;
    }

    /* what hc_claim_prepare finds, in a scratch of exactly the decode size */
    scratch_cap = len / 4 * 3 + 3;
    scratch = malloc(scratch_cap);
    FUZZ_CHECK(scratch != NULL);
    prep_rc = hc_claim_prepare(in, len, scratch, scratch_cap, &prep);
    if (prep_rc == HC_OK) {
        text = prep.in_scratch ? scratch : in;
    }

    /* the ring */
    if (mode != 0 && prep_rc == HC_OK) {
        const unsigned char *kid = text + prep.kid.off;
        size_t klen = prep.kid.len;
        size_t at = 0;

        ring_len = r + (4 + klen + 32) + (mode == 1 ? 4 + klen + 1 + 32 : 0);
        ring = malloc(ring_len);
        FUZZ_CHECK(ring != NULL);
        if (mode == 1) {
            at += put_entry(ring + at, kid, klen, "x", seed + 1);
            at += put_entry(ring + at, kid, klen, "", seed);
            memcpy(ring + at, data, r);
            at += r;
        } else {
            memcpy(ring, data, r);
            at = r;
            at += put_entry(ring + at, kid, klen, "", seed);
        }
        FUZZ_CHECK(at == ring_len);
    } else {
        ring_len = r;
        ring = r != 0 ? (unsigned char *) fuzz_dup(data, r) : NULL;
    }

    /* the model's verdict */
    if (prep_rc != HC_OK || prep.kid.escaped || prep.payload_b64.escaped ||
        prep.signature_hex.escaped || prep.payload_b64.len > HC_MAX_PAYLOAD_B64) {
        want = HC_E_GENERAL;
    } else {
        const unsigned char *p = text + prep.payload_b64.off;
        size_t plen = prep.payload_b64.len;
        int ascii = 1;

        for (size_t k = 0; k < plen; k++) {
            ascii &= p[k] < 0x80;
        }
        key = ring != NULL ? model_ring_find(ring, ring_len, text + prep.kid.off, prep.kid.len)
                           : NULL;
        if (!ascii || key == NULL) {
            want = HC_E_GENERAL;
        } else if (fake_verify(prep.sig, p, plen, key) != 0) {
            want = HC_E_SIGNATURE_INVALID;
        } else {
            char *b64 = fuzz_dup(p, plen);
            size_t cap = plen / 4 * 3 + 3;
            plain = malloc(cap);
            FUZZ_CHECK(plain != NULL);
            want_payload_rc = hc_payload_decode(b64, plen, (char *) plain, cap, &plainlen, depth);
            FUZZ_CHECK(fuzz_known_status(want_payload_rc) && want_payload_rc != HC_E_ARG &&
                       want_payload_rc != HC_E_OUTPUT_SPACE);
            want = want_payload_rc == HC_OK ? HC_OK : HC_E_PAYLOAD;
            free(b64);
        }
    }

    /* the call, with a block of exactly the documented size */
    need = 3 * len + HC_CHECK_BLOCK_EXTRA;
    block = malloc(need);
    big = malloc(need + 61);
    FUZZ_CHECK(block != NULL && big != NULL);
    memset(block, 0xa5, need);
    memset(big, 0xa5, need + 61);
    rc = hc_claim_check(in, len, ring, ring_len, block, need, depth);
    if (rc != want) {
        fprintf(stderr, "hc_claim_check: %d, want %d (prepare %d)\n", rc, want, prep_rc);
    }
    FUZZ_CHECK(rc == HC_OK || rc == HC_E_SIGNATURE_INVALID || rc == HC_E_PAYLOAD ||
               rc == HC_E_GENERAL);
    FUZZ_CHECK(rc == want);
    memcpy(&got, block, sizeof got);

    if (rc == HC_OK) {
        model m;
        const unsigned char *kid = text + prep.kid.off;
        size_t klen = prep.kid.len;
        const unsigned char *names;
        size_t at;

        FUZZ_CHECK(got.plain == 0 || got.plain == 1);
        check_region(got.payload_off, got.payload_len, need);
        check_region(got.names_off, got.names_len, need);
        FUZZ_CHECK(got.payload_off + got.payload_len <= got.names_off ||
                   got.names_off + got.names_len <= got.payload_off);
        /* the payload region: exactly hc_payload_decode's bytes */
        FUZZ_CHECK((size_t) got.payload_len == plainlen &&
                   memcmp(block + got.payload_off, plain, plainlen) == 0);
        /* the names: the kid, then (plain) the six members after a '"' each */
        build_model(plain, plainlen, &m);
        names = block + got.names_off;
        FUZZ_CHECK((size_t) got.names_len >= klen && memcmp(names, kid, klen) == 0);
        FUZZ_CHECK(memchr(kid, '"', klen) == NULL);
        if (got.plain != m.plain) {
            fprintf(stderr, "plain %lld, the model says %d\n", (long long) got.plain, m.plain);
        }
        FUZZ_CHECK(got.plain == m.plain);
        if (m.plain) {
            size_t quotes = 0;
            for (int64_t k = 0; k < got.names_len; k++) {
                quotes += names[k] == '"';
            }
            FUZZ_CHECK(quotes == 6);
            FUZZ_CHECK(got.absent == m.absent);
            FUZZ_CHECK(got.iat == m.iat && got.exp == m.exp && got.has_nbf == m.has_nbf &&
                       got.nbf == m.nbf);
            at = klen;
            for (int j = 0; j < 6; j++) {
                FUZZ_CHECK(at < (size_t) got.names_len && names[at] == '"');
                at++;
                FUZZ_CHECK((size_t) got.names_len - at >= m.seg_len[j]);
                FUZZ_CHECK(m.seg_len[j] == 0 ||
                           memcmp(names + at, plain + m.seg_off[j], m.seg_len[j]) == 0);
                at += m.seg_len[j];
            }
            FUZZ_CHECK(at == (size_t) got.names_len);
        } else {
            FUZZ_CHECK((size_t) got.names_len == klen);
        }
        FUZZ_CHECK(got.longest_number == (int64_t) m.longest);
    } else {
        /* nothing but the payload's code is reported */
        hc_checked expect = zero;
        if (rc == HC_E_PAYLOAD) {
            expect.payload_rc = want_payload_rc;
        }
        FUZZ_CHECK(memcmp(&got, &expect, sizeof got) == 0);
    }

    /* a larger block changes nothing */
    FUZZ_CHECK(hc_claim_check(in, len, ring, ring_len, big, need + 61, depth) == rc);
    FUZZ_CHECK(memcmp(big, block, need) == 0);

    probe_args(in, len, ring, ring_len, need);

    free(big);
    free(block);
    free(plain);
    free(ring);
    free(scratch);
    free(in);
    return 0;
}
