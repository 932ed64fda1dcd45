/* For the hc_claim_check targets: a claim text built around payload bytes
 * the fuzzer chooses, so that its mutations land in the payload JSON rather
 * than in the base64 around it (which they would almost always break). */
#ifndef HC_FUZZ_CLAIM_TEXT_H
#define HC_FUZZ_CLAIM_TEXT_H

#include "fuzz_common.h"

/* base64 of in[0 .. n) into out (4 * ((n + 2) / 3) bytes at most); url
 * selects the url-safe alphabet, pad the '=' padding.  Returns the length. */
static inline size_t fuzz_b64(const unsigned char *in, size_t n, char *out, int url, int pad)
{
    const char *abc = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                          : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    size_t i = 0;

    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned) in[i] << 16 | (unsigned) in[i + 1] << 8 | in[i + 2];
        out[o++] = abc[v >> 18 & 63];
        out[o++] = abc[v >> 12 & 63];
        out[o++] = abc[v >> 6 & 63];
        out[o++] = abc[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned) in[i] << 16;
        out[o++] = abc[v >> 18 & 63];
        out[o++] = abc[v >> 12 & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (n - i == 2) {
        unsigned v = (unsigned) in[i] << 16 | (unsigned) in[i + 1] << 8;
        out[o++] = abc[v >> 18 & 63];
        out[o++] = abc[v >> 12 & 63];
        out[o++] = abc[v >> 6 & 63];
        if (pad) {
            out[o++] = '=';
        }
    }
    return o;
}

/* {"kid":"k1","payload_b64":"<base64 of payload>","signature_hex":"<128
 * hex digits from style>"} in a heap block of exactly its size; style bit 0:
 * url-safe alphabet, bit 1: padding, bit 2: the compact form (url-safe,
 * unpadded base64 of that JSON text). */
static inline unsigned char *fuzz_claim_text(const unsigned char *payload, size_t n,
                                             unsigned style, size_t *len)
{
    static const char head[] = "{\"kid\":\"k1\",\"payload_b64\":\"";
    static const char mid[] = "\",\"signature_hex\":\"";
    static const char tail[] = "\"}";
    size_t cap = sizeof head + 4 * (n / 3 + 1) + sizeof mid + 128 + sizeof tail;
    char *json = malloc(cap);
    size_t at = 0;
    unsigned char *out;

    FUZZ_CHECK(json != NULL);
    memcpy(json, head, sizeof head - 1);
    at = sizeof head - 1;
    at += fuzz_b64(payload, n, json + at, style & 1, style & 2);
    memcpy(json + at, mid, sizeof mid - 1);
    at += sizeof mid - 1;
    for (int k = 0; k < 128; k++) {
        json[at++] = "0123456789abcdef"[(style * 7 + (unsigned) k * 5) & 15];
    }
    memcpy(json + at, tail, sizeof tail - 1);
    at += sizeof tail - 1;
    FUZZ_CHECK(at <= cap);
    if (style & 4) {
        char *compact = malloc(4 * (at / 3 + 1));
        FUZZ_CHECK(compact != NULL);
        *len = fuzz_b64((const unsigned char *) json, at, compact, 1, 0);
        out = (unsigned char *) fuzz_dup((const uint8_t *) compact, *len);
        free(compact);
    } else {
        *len = at;
        out = (unsigned char *) fuzz_dup((const uint8_t *) json, at);
    }
    free(json);
    return out;
}

#endif
