/* The jansson reference form of a connection (json_ref.c). */
#ifndef TCPLENS_TEST_JSON_REF_H
#define TCPLENS_TEST_JSON_REF_H

#include <jansson.h>

#include "report_int.h"

/* The connection as a jansson object (a new reference, NULL when out of
 * memory), as tl_report_json_format_conn() must write it. */
json_t *tl_report_conn_json(const struct tl_conn_view *v);

#endif
