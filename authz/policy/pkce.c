/*
 * pkce.c: RFC 7636 proof key verification (S256 only; OAuth 2.1 and RFC 9700
 * §2.1.1 rule out "plain"). Pure function.
 */
#include "policy/pkce.h"
#include "crypto/crypto.h"

#include <openssl/evp.h>
#include <string.h>

bool pkce_verify_s256(const char *verifier, const char *challenge)
{
    /* RFC 7636 §4.1: code-verifier = 43*128unreserved */
    size_t n = verifier ? strlen(verifier) : 0;
    if (n < 43 || n > 128 || !challenge)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = verifier[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~'))
            return false;
    }
    /* RFC 7636 §4.6: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge */
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(verifier, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return false;
    char enc[48];
    b64url_encode(md, 32, enc);
    return ct_streq(enc, challenge) == 1;
}
