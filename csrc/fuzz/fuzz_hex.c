/* hc_hex_decode: no out-of-bounds access; output matches a naive decoder. */
#include "fuzz_common.h"

static int ref_nibble(char c)
{
    const char *digits = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        if (c == digits[i] || (i >= 10 && c == digits[i] - 32)) {
            return i;
        }
    }
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t outlens[3] = {size / 2, size / 2 + 1, size / 2 == 0 ? 0 : size / 2 - 1};
    char *in = fuzz_dup(data, size);

    for (int k = 0; k < 3; k++) {
        size_t outlen = outlens[k];
        unsigned char *out = malloc(outlen == 0 ? 1 : outlen);
        int rc;
        int ok = size == 2 * outlen;

        FUZZ_CHECK(out != NULL);
        rc = hc_hex_decode(in, size, (char *) out, outlen);
        FUZZ_CHECK(fuzz_known_status(rc));
        for (size_t i = 0; ok && i < size; i++) {
            ok = ref_nibble(in[i]) >= 0;
        }
        FUZZ_CHECK((rc == HC_OK) == ok);
        for (size_t i = 0; ok && i < outlen; i++) {
            FUZZ_CHECK(out[i] == (unsigned char) (ref_nibble(in[2 * i]) * 16 +
                                                  ref_nibble(in[2 * i + 1])));
        }
        free(out);
    }
    free(in);
    return 0;
}
