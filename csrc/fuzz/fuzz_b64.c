/* hc_b64_decode: no out-of-bounds access for any capacity, and the same
 * verdict and bytes as a deliberately simple reference decoder. */
#include "fuzz_common.h"

static const char STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int index_of(const char *alphabet, char c)
{
    for (int i = 0; i < 64; i++) {
        if (alphabet[i] == c) {
            return i;
        }
    }
    return -1;
}

/* Try one alphabet: strip a correct padding, then every character must be in
 * it, the length must not be 1 mod 4, and unused bits must be zero. */
static int ref_decode(const char *alphabet, const char *s, size_t n, unsigned char *out,
                      size_t *outlen)
{
    size_t core = n;
    size_t o = 0;
    unsigned bits = 0;
    int nbits = 0;

    if (n % 4 == 0 && n >= 2 && s[n - 1] == '=' && s[n - 2] == '=') {
        core = n - 2;
    } else if (n % 4 == 0 && n >= 1 && s[n - 1] == '=') {
        core = n - 1;
    }
    if (core % 4 == 1 || (core != n && (n - core) != (4 - core % 4) % 4)) {
        return 0;
    }
    for (size_t i = 0; i < core; i++) {
        int v = index_of(alphabet, s[i]);
        if (v < 0) {
            return 0;
        }
        bits = (bits << 6) | (unsigned) v;
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            out[o++] = (unsigned char) (bits >> nbits);
            bits &= (1u << nbits) - 1;
        }
    }
    if (bits != 0) {
        return 0;
    }
    *outlen = o;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_dup(data, size);
    size_t cap = size / 4 * 3 + 3;
    unsigned char *out = malloc(cap);
    unsigned char *ref = malloc(cap);
    size_t outlen = 0;
    size_t reflen = 0;
    int rc;
    int ok;

    FUZZ_CHECK(out != NULL && ref != NULL);
    rc = hc_b64_decode(in, size, (char *) out, cap, &outlen);
    FUZZ_CHECK(fuzz_known_status(rc) && rc != HC_E_OUTPUT_SPACE);
    ok = ref_decode(STD, in, size, ref, &reflen) || ref_decode(URL, in, size, ref, &reflen);
    FUZZ_CHECK((rc == HC_OK) == ok);
    if (ok) {
        FUZZ_CHECK(outlen == reflen && (outlen == 0 || memcmp(out, ref, outlen) == 0));
        /* An exact-size buffer works; one byte less is refused, not overrun. */
        unsigned char *exact = malloc(outlen == 0 ? 1 : outlen);
        size_t n2 = 0;
        FUZZ_CHECK(exact != NULL);
        FUZZ_CHECK(hc_b64_decode(in, size, (char *) exact, outlen, &n2) == HC_OK && n2 == outlen);
        if (outlen > 0) {
            FUZZ_CHECK(hc_b64_decode(in, size, (char *) exact, outlen - 1, &n2) == HC_E_OUTPUT_SPACE);
        }
        free(exact);
    }
    free(ref);
    free(out);
    free(in);
    return 0;
}
