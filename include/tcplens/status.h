/* Status codes for recoverable API failures. A malformed packet is not one. */
#ifndef TCPLENS_STATUS_H
#define TCPLENS_STATUS_H

#include "tcplens/types.h"

enum tl_status {
    TL_OK = 0,
    TL_ENOMEM,    /* an allocation failed */
    TL_EIO,       /* reading or writing a file failed */
    TL_EPCAP,     /* libpcap refused (open, filter, read) */
    TL_EFORMAT,   /* the input is not a capture, or is cut short */
    TL_ELINKTYPE, /* the capture's link type is not one we decode */
    TL_EINVAL,    /* a bad argument (option value, filter text) */
    TL_EOF,       /* no more packets: not a failure */
    TL_EAGAIN,    /* a live source has nothing right now: poll and retry */
    TL_NSTATUS
};

/* A short constant description, e.g. "out of memory". */
const char *tl_status_str(enum tl_status st);

/* printf into d->msg (truncating); a NULL d is allowed and ignored. */
void tl_diag_set(struct tl_diag *d, const char *fmt, ...) TL_PRINTF(2, 3);

#endif
