/*
 * boot.h: start-up shared by authzd and authzctl: configuration, master key
 * and the keys derived from it.
 */
#ifndef AUTHZ_BOOT_H
#define AUTHZ_BOOT_H

struct config;
/* Loads config (path NULL = default file) and the master key. Prints the
 * reason and returns -1 on failure. */
int boot(struct config *cfg, const char *path, const char *prog);

#endif
