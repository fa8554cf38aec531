/* Private to tcplens merge (src/merge.c, merge_units.c, merge_idmap.c):
 * the shards as read, the merge's state, and what its parts share. */
#ifndef TCPLENS_MERGE_INT_H
#define TCPLENS_MERGE_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "merge.h"
#include "merge_cross.h"
#include "merge_run.h"
#include "merge_view.h"
#include "report_int.h"
#include "tcplens/report.h"

#define CONN_PREFIX "{\"record\":\"connection\",\"id\":"
#define SUMMARY_PREFIX "{\"record\":\"summary\""
#define FIRST_PACKET_KEY "\"first_packet\":"
#define PREVIOUS_KEY "\"previous_id\":"
#define PREVIOUS_TEXT "the 4-tuple of connection "

/* A connection as the first pass saw it. */
struct seen {
    uint64_t key;   /* first_packet (global list) or local id (a shard's) */
    uint64_t other; /* the shard's index in the list, or first_packet */
};

/*
 * The new id of each of a shard's connections, by its local id, for
 * port_reuse's previous_id, when the shard came in first_packet order: its
 * local ids then come 1, 2, 3… and the new ones rise too, by about N each
 * (N shards), so each is kept as its difference from the one before in a
 * byte or two (7 bits a byte), with the sum so far every IDMAP_STEP of
 * them to start a lookup from: a million connections cost about a
 * mebibyte, not the 16 bytes each of a table.
 */
#define IDMAP_STEP 64u

struct idmap {
    uint8_t *bytes;
    size_t len, cap;
    uint64_t *mark;  /* mark[k]: the new id of local id k * IDMAP_STEP + 1 */
    size_t *mark_at; /* and where its difference starts in bytes */
    size_t nmark, capmark, capmark_at;
    uint64_t n, last; /* local ids kept, the last one's new id */
    bool broken;      /* a local id out of turn, or out of memory: no lookups */
};

struct shard {
    const char *name;
    FILE *err; /* where errors are said */
    FILE *f;
    FILE *own; /* f, when it is the NDJSON made of a JSON document */
    char *line;
    size_t cap, len;
    uint64_t lineno;
    uint64_t first_packet; /* of the line held */
    bool held;             /* pass 2: a connection line is held */
    bool seen_summary;
    uint32_t index, count; /* its capture.shard (1/1 for a run unsharded) */
    json_t *inputs;        /* its summary's "inputs" */
    json_t *capture;       /* its summary's "capture" */
    json_t *read;          /* its capture's times and packet counts */
    struct seen *local;    /* local id -> first_packet, sorted by local id */
    size_t nlocal, caplocal;
    bool sorted;         /* its connections come in first_packet order */
    uint64_t top_packet; /* the highest first_packet so far (pass 1) */
    struct idmap ids;    /* pass 2, sorted shards: its local ids' new ones */
    /* Its unit (merge_run.h: the shards over the same inputs), from its
     * summary read ahead: the unit's rank in time, the frames of the
     * units before it (its packet numbers move by them), its own last
     * frame's time (a connection with a later segment went on past its
     * inputs, --follow). */
    json_t *unit_inputs;
    json_t *unit_follow; /* its capture.follow.inputs (--follow), or NULL */
    int64_t unit_last_ts;
    uint32_t unit;
    uint64_t offset;
    /* Its connections an earlier unit's record has whole: their local ids
     * and that record's id, for port_reuse's previous_id. */
    struct {
        uint64_t local, id;
    } * claimed;
    size_t nclaimed, capclaimed;
};

enum {
    OUT_NDJSON = TL_MERGE_NDJSON,
    OUT_JSON = TL_MERGE_JSON,
    OUT_TEXT = TL_MERGE_TEXT,
    OUT_HTML = TL_MERGE_HTML,
    NOUTS = TL_MERGE_NOUTS
};

struct merge {
    struct shard *s; /* s[0].err says the errors that are no one shard's */
    size_t n;
    struct seen *all; /* first_packet -> shard, sorted by first_packet */
    size_t nall, capall;
    struct tl_report *out[NOUTS]; /* NULL: not written */
    struct report_summary sum;    /* every connection's tallies */
    struct tl_hosts *hosts;       /* host-level detection */
    /* The connection being written, read back: whole when the text or
     * HTML report is written (views), which print its timeline. */
    struct tl_merge_view mv;
    bool views;
    struct tl_merge_peak peak;
    char *text; /* its line, id renumbered */
    size_t len, cap;
    char *spare; /* another line's room (mg_shift_line()) */
    size_t spare_cap;
    /* A shard's connections out of first_packet order: ranks and
     * previous_id from the tables (all, each shard's local) of pass 1.
     * Else the ids are counted as the k-way merge writes them. */
    bool tables;
    uint64_t written, last_packet; /* connections written, the last's first_packet */
    /* Units in time (more than one: merge_cross.h). */
    uint32_t nunits;
    struct tl_merge_cross *cross;
    uint64_t followed, split; /* later units' records of earlier connections */
    /* The followed ones' duplicates, ICMP errors, idle ends: counted by
     * the earlier unit too. */
    uint64_t followed_dups, followed_icmp, followed_idle;
};

#define NOT_READ_BACK \
    "a connection record that cannot be read back (written by another tcplens version?)"

void mg_idmap_add(struct idmap *m, uint64_t local, uint64_t id);
uint64_t mg_idmap_get(const struct idmap *m, uint64_t local); /* 0: not kept */
void mg_idmap_free(struct idmap *m);
/* *p, of *cap items of size bytes, grown to hold need; false short of memory. */
bool mg_grow(void **p, size_t *cap, size_t need, size_t size);

/* Says why a shard's input cannot be merged, with where; false. */
bool mg_bad(const struct shard *s, const char *why);
/* Says why writing failed; false. */
bool mg_write_failed(const struct merge *m, enum tl_status st);
/* The number after key in line; false when it is not there. */
bool mg_number_after(const char *line, const char *key, uint64_t *out);
/* Appends n bytes of p to m's line; false short of memory. */
bool mg_put(struct merge *m, const char *p, size_t n);
/* A connection's id: its rank in first-seen order (the tables). */
uint64_t mg_rank_of(const struct merge *m, uint64_t first_packet);
/* The id in the merge of s's connection of local id local; 0 when not
 * known. */
uint64_t mg_new_id_of(const struct merge *m, const struct shard *s, uint64_t local);
/* s's held line into m->text with id, and port_reuse's previous_id as
 * that connection's id in the merge; false short of memory. */
bool mg_format_conn(struct merge *m, const struct shard *s, uint64_t id);
/* m->text read back (whole for the text and HTML reports); NULL when it
 * cannot be. */
const struct tl_conn_view *mg_read_back(struct merge *m);
/* One connection, v, its line m->text, to every count and output. */
bool mg_write_conn(struct merge *m, const struct tl_conn_view *v);

/* Units in time (merge_units.c). */
bool mg_find_units(struct merge *m);
bool mg_may_cross(const struct merge *m, const struct shard *s);
/* s's connection line into the earlier units' table (merge_cross.h), fp
 * its first frame in the merge; false when it cannot be read back, or
 * short of memory. */
bool mg_cross_add(struct merge *m, const struct shard *s, uint64_t fp);
/* Whether s's connection line is one an earlier unit's record has whole
 * (--follow). */
bool mg_followed(struct merge *m, const struct shard *s);
bool mg_one_unit(const struct merge *m, uint32_t u);
bool mg_units_apart(const struct merge *m);
/* What s's connection line is to the earlier units' records
 * (merge_cross.h; TL_CROSS_OWN when the units are not in time), read
 * (its head, into m->mv) only when an earlier record has its endpoints;
 * *id that record's id when known. */
enum tl_merge_cross_is mg_claim(struct merge *m, const struct shard *s, uint64_t *id);
/* s's connection line, of local id local, claimed (followed) by the
 * record of id earlier, read by mg_claim(): left out, with what its unit
 * counted of it; false short of memory. */
bool mg_leave_out(struct merge *m, struct shard *s, uint64_t local, uint64_t earlier);
void mg_take_back_followed(const struct merge *m, struct tl_capture_info *cap);
/* m's line (a connection record) with every frame number it names moved
 * on by packets: its members' (first_packet, released_packet, the
 * timeline's, the anomalies' packets and evidence) and its texts'
 * ("packet N"); false short of memory. */
bool mg_shift_line(struct merge *m, uint64_t packets);

#endif
