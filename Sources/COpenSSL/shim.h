#ifndef HUBAGENT_COPENSSL_SHIM_H
#define HUBAGENT_COPENSSL_SHIM_H

#include <openssl/opensslv.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/param_build.h>
#include <openssl/crypto.h>

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "hubagent needs OpenSSL 3"
#endif

/* Function-like macros are not imported into Swift; these wrap them. */

/* EVP_RSA_gen(bits) expands to the variadic EVP_PKEY_Q_keygen. */
static inline EVP_PKEY *hubagent_EVP_RSA_gen(unsigned int bits) {
    return EVP_RSA_gen(bits);
}

static inline int hubagent_BN_num_bytes(const BIGNUM *bn) {
    return BN_num_bytes(bn);
}

static inline long hubagent_BIO_get_mem_data(BIO *bio, const char **out) {
    return BIO_get_mem_data(bio, (char **)out);
}

/* EVP_PKEY_PUBLIC_KEY is an OR of other macros, which Swift does not import. */
static inline int hubagent_EVP_PKEY_PUBLIC_KEY(void) {
    return EVP_PKEY_PUBLIC_KEY;
}

/* OSSL_PARAM_BLD and EVP_PKEY_CTX keep the name pointers they are given until they are used or
   freed. A Swift String passed as `const char *` lives only for one call, so these return the
   names with static storage. */
static inline const char *hubagent_OSSL_PKEY_PARAM_RSA_N(void) {
    return OSSL_PKEY_PARAM_RSA_N;
}

static inline const char *hubagent_OSSL_PKEY_PARAM_RSA_E(void) {
    return OSSL_PKEY_PARAM_RSA_E;
}

static inline EVP_PKEY_CTX *hubagent_EVP_PKEY_CTX_new_RSA(void) {
    return EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
}

/* An HMAC-SHA256 context through EVP_MAC; the OSSL_PARAM array (with its OSSL_PARAM_END
   terminator macro) is built here because Swift cannot spell it. */
static inline EVP_MAC_CTX *hubagent_hmac_sha256_ctx_new(const unsigned char *key, size_t keylen) {
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL) return NULL;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac); /* ctx holds its own reference */
    if (ctx == NULL) return NULL;
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(ctx, key, keylen, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

#endif
