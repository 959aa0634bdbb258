#ifndef ZC_CLIENT_PRIVATE_H
#define ZC_CLIENT_PRIVATE_H

#include "zc-client.h"

#if defined(__GNUC__)
#define ZCC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ZCC_PRINTF(a, b)
#endif

void zcc_client_set_error(struct zcc_client *client, const char *fmt, ...) ZCC_PRINTF(2, 3);

#endif
