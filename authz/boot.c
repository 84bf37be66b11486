/*
 * boot.c: configuration and master-key loading for both programs. The
 * secret-hash pepper is derived from the master key once, here.
 */
#include "boot.h"
#include "cache.h"
#include "config.h"
#include "crypto/crypto.h"

#include <stdio.h>
#include <string.h>

int boot(struct config *cfg, const char *path, const char *prog)
{
    char err[1024];
    if (!path)
        path = config_default_path();
    if (config_load(cfg, path, err, sizeof err) < 0) {
        fprintf(stderr, "%s: configuration: %s\n", prog, err);
        return -1;
    }
    g_config = cfg;
    if (!cfg->master_key_file[0]) {
        fprintf(stderr,
                "%s: master_key_file is not set: set it to this installation's master key file. "
                "Only for a new installation, create a key in a new file: (set -o noclobber; "
                "umask 077; head -c 32 /dev/urandom > NEW-FILE) and set master_key_file to it.\n",
                prog);
        return -1;
    }
    if (crypto_master_key_load(cfg->master_key_file, g_master_key, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return -1;
    }
    if (crypto_hkdf(g_master_key, "authz secret hash v1", strlen("authz secret hash v1"),
                    g_secret_pepper, sizeof g_secret_pepper) < 0) {
        fprintf(stderr, "%s: key derivation failed\n", prog);
        return -1;
    }
    g_public_url = cfg->public_url;
    return 0;
}
