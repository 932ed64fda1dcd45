/*
 * hoody_core: the native core of hoody_claims.
 *
 * Strict decoders for the untrusted parts of a Hoody credential (hex,
 * base64, JSON, the claim object) and Ed25519 verification through
 * libsodium's crypto_sign_verify_detached, whose address is handed in once
 * by hc_init() (the Python side takes it from PyNaCl's bundled libsodium),
 * so neither libsodium headers nor a system libsodium are needed to build.
 *
 * Every function is reentrant and thread-safe; the only process-wide state
 * is the verify function pointer set by hc_init().  All byte inputs are
 * (pointer, length) pairs and never need a terminating NUL; byte buffers are
 * char * (the type cffi maps to Python bytes both ways).
 *
 * The block between HC_CDEF_BEGIN and HC_CDEF_END is fed verbatim to cffi's
 * cdef(), so it must stay plain declarations (no #if, no macros with
 * expressions).
 */
#ifndef HOODY_CORE_H
#define HOODY_CORE_H

#include <stddef.h>
#include <stdint.h>

/* HC_CDEF_BEGIN */

/* libsodium's crypto_sign_verify_detached: 0 = valid, -1 = invalid. */
typedef int (*hc_verify_fn)(const unsigned char *sig, const unsigned char *m,
                            unsigned long long mlen, const unsigned char *pk);

/* Status codes.  0 is success; every failure has its own code so the caller
 * can say what was wrong without re-parsing the input. */
enum hc_status {
    HC_OK = 0,
    /* caller errors */
    HC_E_ARG = 1,             /* NULL pointer with a non-zero length, bad max_depth... */
    HC_E_STATE = 2,           /* hc_init with a different function, or not initialized */
    HC_E_NOMEM = 3,
    HC_E_OUTPUT_SPACE = 4,    /* the output buffer is too small */
    /* hex */
    HC_E_HEX_LENGTH = 10,     /* not exactly 2 * outlen digits */
    HC_E_HEX_CHAR = 11,       /* a character other than 0-9 a-f A-F */
    /* base64 */
    HC_E_B64_CHAR = 20,       /* a character in neither alphabet (whitespace included) */
    HC_E_B64_PADDING = 21,    /* '=' misplaced, too many, or the wrong count */
    HC_E_B64_MIXED = 22,      /* both '+' or '/' and '-' or '_' in one string */
    HC_E_B64_LENGTH = 23,     /* unpadded length = 1 (mod 4) */
    HC_E_B64_PAD_BITS = 24,   /* the unused low bits of the last character are not 0 */
    /* JSON text */
    HC_E_UTF8 = 30,           /* not strict UTF-8 */
    HC_E_BOM = 31,            /* starts with a UTF-8 byte order mark */
    HC_E_JSON_SYNTAX = 32,    /* anything else RFC 8259 refuses */
    HC_E_JSON_CONTROL = 33,   /* a raw control character (< 0x20) inside a string */
    HC_E_JSON_ESCAPE = 34,    /* a backslash escape that JSON does not define */
    HC_E_JSON_NONFINITE = 35, /* NaN, Infinity or -Infinity */
    HC_E_JSON_DEPTH = 36,     /* objects + arrays nested deeper than max_depth */
    HC_E_JSON_DUPLICATE = 37, /* one member name twice in an object (after unescaping) */
    /* shapes */
    HC_E_NOT_OBJECT = 40,     /* valid JSON, but the top level is not an object */
    HC_E_KID_MISSING = 41,
    HC_E_KID_TYPE = 42,
    HC_E_PAYLOAD_MISSING = 43,
    HC_E_PAYLOAD_TYPE = 44,
    HC_E_SIGNATURE_MISSING = 45,
    HC_E_SIGNATURE_TYPE = 46,
    HC_E_SIGNATURE_HEX = 47,  /* signature_hex is not exactly 128 hex digits */
    /* verification */
    HC_E_SIGNATURE_INVALID = 50, /* the Ed25519 signature does not verify */
    /* hc_claim_check */
    HC_E_GENERAL = 60,        /* not refused, but the caller's general path must decide */
    HC_E_PAYLOAD = 61         /* verified, but the payload is malformed (code in payload_rc) */
};

/* hc_json_check refuses a max_depth above this (its stack is fixed). */
#define HC_JSON_DEPTH_LIMIT 1024
/* The nesting limit hc_claim_split applies. */
#define HC_CLAIM_MAX_DEPTH 32
/* hc_verify_batch never starts more threads than this. */
#define HC_MAX_THREADS 64

/* The contents of one JSON string (between its quotes) inside a buffer.
 * Every member is a size_t, so hc_claim_parts can also be read as size_t[9]
 * (the Python wrapper does, to fetch all of it in one call). */
typedef struct hc_span {
    size_t off;      /* offset of the first byte after the opening quote */
    size_t len;      /* bytes up to the closing quote */
    size_t escaped;  /* 1 when the contents hold a backslash escape */
} hc_span;

typedef struct hc_claim_parts {
    hc_span kid;
    hc_span payload_b64;
    hc_span signature_hex;
} hc_claim_parts;

/* What hc_claim_prepare finds.  The size_t members come first, so the
 * Python wrapper reads them as size_t[11] followed by the 64 bytes of sig. */
typedef struct hc_prepared {
    hc_span kid;           /* spans into the JSON text (see in_scratch) */
    hc_span payload_b64;
    hc_span signature_hex;
    size_t in_scratch;     /* 1: the JSON text is in scratch (compact form), 0: it is the input */
    size_t text_len;       /* length of the JSON text */
    unsigned char sig[64]; /* signature_hex decoded; all zero when it holds an escape */
} hc_prepared;

/* Set the verify function once.  HC_OK, HC_E_ARG (NULL) or HC_E_STATE
 * (already set to a different function). */
int hc_init(hc_verify_fn fn);

/* Ed25519: 1 valid, 0 invalid (also when not initialized).  sig is 64
 * bytes, pk 32 bytes. */
int hc_verify(const char *sig, const char *msg, size_t mlen, const char *pk);

/* Ed25519 over prefix || body: 1 valid, 0 invalid, -HC_E_NOMEM when the
 * concatenation cannot be allocated. */
int hc_verify_parts(const char *sig, const char *prefix, size_t plen,
                    const char *body, size_t blen, const char *pk);

/* Verify n triples on up to nthreads threads (<= 0: one per online CPU).
 * Message i is msgs[offsets[i] .. offsets[i+1]) (offsets has n + 1 entries,
 * non-decreasing, the last <= msgs_len); signature i is sigs[64 i .. 64 i + 64),
 * key i is pks[32 i .. 32 i + 32).  results[i] = 1 valid / 0 invalid.
 * Returns HC_OK, HC_E_ARG or HC_E_STATE (then every result is 0). */
int hc_verify_batch(size_t n, const char *msgs, size_t msgs_len, const size_t *offsets,
                    const char *sigs, const char *pks, unsigned char *results, int nthreads);

/* An asynchronous batch (hc_claims_start ... hc_batch_free); opaque.  It
 * owns every buffer its threads touch, so a handle the caller loses leaks,
 * and never has a thread write into memory the caller freed. */
typedef struct hc_batch hc_batch;

/* Work on the batch's remaining items in the calling thread too and join its
 * threads; then every item is done (or, after hc_batch_cancel, never will
 * be).  Returns HC_OK, HC_E_ARG or HC_E_STATE (then no item is HC_OK), or
 * HC_E_NOMEM for NULL.  Calling it again returns the same at once. */
int hc_batch_wait(hc_batch *b);

/* hc_batch_cancel, hc_batch_wait, then free the batch and its buffers
 * (NULL: nothing).  Call exactly once per batch started. */
void hc_batch_free(hc_batch *b);

/* Results in order while the batch runs: return once items [0, k) are all
 * done for some k >= min(want, n), with *ready = k (every item done so far
 * in that order).  The caller works on items not yet taken while it waits,
 * so results come as fast as with one more thread.  Returns HC_OK, the
 * batch's HC_E_ARG or HC_E_STATE (*ready = 0), or HC_E_NOMEM for NULL.
 * Items [0, *ready) of the status and blocks may then be read; only the
 * thread that owns the batch calls this. */
int hc_batch_ready(hc_batch *b, size_t want, size_t *ready);

/* Stop the batch early: items not yet taken are never checked (their status
 * stays HC_E_SIGNATURE_INVALID), those in progress finish; hc_batch_ready
 * then returns at once with what is done. */
void hc_batch_cancel(hc_batch *b);

/* The batch's status (n bytes: item i's return code) and blocks
 * (block_offsets[n] bytes), owned by the batch until hc_batch_free.  Read
 * only items hc_batch_ready reported done, or any after hc_batch_wait.  NULL
 * for an empty batch or one refused for its arguments or state. */
const unsigned char *hc_batch_status(const hc_batch *b);
const char *hc_batch_blocks(const hc_batch *b);

/* Exactly 2 * outlen hex digits (either case) into outlen bytes. */
int hc_hex_decode(const char *in, size_t inlen, char *out, size_t outlen);

/* Strict base64 (standard or url-safe alphabet, optional correct padding,
 * zero pad bits).  *outlen receives the decoded size. */
int hc_b64_decode(const char *in, size_t inlen, char *out, size_t cap, size_t *outlen);

/* Strict RFC 8259 JSON text check (see the error codes); max_depth counts
 * objects and arrays, a top-level container being depth 1. */
int hc_json_check(const char *buf, size_t len, int max_depth);

/* Check a claim object's JSON text and locate its kid, payload_b64 and
 * signature_hex strings.  Other members are ignored. */
int hc_claim_split(const char *buf, size_t len, hc_claim_parts *out);

/* Strict base64 decode into out, then hc_json_check of the result, which
 * must be an object. */
int hc_payload_decode(const char *b64, size_t len, char *out, size_t cap, size_t *outlen,
                      int max_depth);

/* A claim as received, in one call: JSON text (first byte '{') or the
 * compact form (strict base64 of the JSON text, decoded into scratch; a text
 * longer than cap is HC_E_OUTPUT_SPACE, reported after every base64 fault).
 * Then hc_claim_split's checks, then signature_hex: exactly 128 hex digits
 * (either case) decoded into out->sig, else HC_E_SIGNATURE_HEX -- the spans
 * are filled in before that refusal, so the caller can still run checks that
 * come first.  A signature_hex holding an escape is left to the caller
 * (out->signature_hex.escaped = 1, sig all zero). */
int hc_claim_prepare(const unsigned char *in, size_t len, unsigned char *scratch, size_t cap,
                     hc_prepared *out);

/* Ed25519 over the bytes of payload_b64 as given (the default signed data);
 * only when valid, hc_payload_decode of it into out.  HC_E_SIGNATURE_INVALID
 * when the signature does not verify (the payload is then not looked at),
 * else HC_OK or hc_payload_decode's codes; HC_E_STATE before hc_init. */
int hc_verify_payload(const unsigned char *sig64, const unsigned char *pk32,
                      const char *payload_b64, size_t len, unsigned char *out, size_t cap,
                      size_t *outlen, unsigned max_depth);

/* The base64 length of the largest payload hc_claim_check takes (8 KiB decoded). */
#define HC_MAX_PAYLOAD_B64 10924

/* What hc_claim_check finds; it is written (byte-copied, so with no
 * alignment needed) at the start of the caller's block.  Every member is an
 * int64_t, so the Python wrapper reads it as int64_t[12].  Offsets are from
 * the start of the block. */
typedef struct hc_checked {
    int64_t payload_rc;   /* with HC_E_PAYLOAD: hc_payload_decode's code */
    int64_t plain;        /* 1: names, absent and the times describe the known members */
    /* names: the kid; when plain, followed by claim_type, sub, type,
     * container_id (either spelling), project_id (either spelling) and aud,
     * each after a '"' (which an unescaped JSON string cannot hold), "" for
     * one that is absent or null */
    int64_t names_off, names_len;
    int64_t absent;       /* bit j: the j-th of those six members is absent or null */
    int64_t payload_off, payload_len; /* the decoded payload: a strict JSON object */
    int64_t iat, exp, nbf, has_nbf;
    int64_t longest_number; /* characters of the longest number in the payload */
} hc_checked;

/* hc_claim_check needs a block of 3 * len + HC_CHECK_BLOCK_EXTRA bytes for a
 * claim text of len bytes (the hc_checked, then room for the decoded text,
 * the payload and the names). */
#define HC_CHECK_BLOCK_EXTRA 112

/* SPEC section 2 steps 1 to 4 for a claim as received and the default signed
 * data (the ASCII bytes of payload_b64), in one call:
 *   hc_claim_prepare's checks (a compact text is decoded into the block);
 *   the key named by kid, from ring: entries of [uint32 kid length, native
 *   byte order][kid bytes][32 key bytes], back to back;
 *   Ed25519 over payload_b64 with that key;
 *   hc_payload_decode of it (max_depth) into the block, locating its known
 *   members.
 * block must hold at least 3 * len + HC_CHECK_BLOCK_EXTRA bytes; it starts
 * with the hc_checked.  Returns HC_OK; HC_E_SIGNATURE_INVALID; HC_E_PAYLOAD
 * (the signature verifies, the payload does not decode: payload_rc says why);
 * HC_E_GENERAL for anything else the general path decides: a claim
 * hc_claim_prepare refuses, a kid, payload_b64 or signature_hex holding an
 * escape, a payload_b64 of HC_MAX_PAYLOAD_B64 characters or more (the
 * general path decides whether it is over 8 KiB decoded) or not ASCII, a kid
 * not in the ring; HC_E_ARG, HC_E_STATE.  plain is 0 when a known member has
 * a shape this fast path does not build (an escape, a non-string, aud as a
 * list, a time that is not an integer within +-2^53, both spellings of an
 * id, a missing iat or exp, a number of over 4000 characters anywhere). */
int hc_claim_check(const unsigned char *in, size_t len, const unsigned char *ring,
                   size_t ring_len, unsigned char *block, size_t block_len, int max_depth);

/* hc_claim_check of n claims on up to nthreads new threads (0: one per
 * online CPU; < 0: one fewer, for a caller that takes its results with
 * hc_batch_ready and so works too), returning at once.  Claim i is
 * texts[offsets[i] .. offsets[i + 1]) and its block is bytes
 * [block_offsets[i], block_offsets[i + 1]) of the batch's blocks; its code
 * goes to the batch's status[i] (HC_E_SIGNATURE_INVALID until it is done).
 * The texts, offsets and ring are copied: the caller's buffers may go as
 * soon as this returns.  NULL only when out of memory (also for blocks too
 * large to allocate); argument and state errors are the batch's code. */
hc_batch *hc_claims_start(size_t n, const char *texts, size_t texts_len, const size_t *offsets,
                          const char *ring, size_t ring_len, const size_t *block_offsets,
                          int max_depth, int nthreads);

/* HC_CDEF_END */

#endif /* HOODY_CORE_H */
