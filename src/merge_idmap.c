/*
 * tcplens merge: the new id of each of a sorted shard's connections by
 * its local id (merge_int.h's struct idmap), for port_reuse's
 * previous_id.
 */
#include "merge_int.h"

#include <stdlib.h>


static void idmap_push(struct idmap *m, uint64_t id);

/* Keeps local id local's new id; they must rise (1, 2, …). A local id
 * passed over (a connection an earlier unit has whole) is kept as the
 * one before's id: it is looked up elsewhere (struct shard's claimed). */
void mg_idmap_add(struct idmap *m, uint64_t local, uint64_t id)
{
    if (m->broken || local <= m->n || id <= m->last) {
        m->broken = true;
        return;
    }
    while (!m->broken && m->n + 1 < local)
        idmap_push(m, m->last);
    if (!m->broken)
        idmap_push(m, id);
}

/* Keeps the next local id's new id, id (no less than the last). */
static void idmap_push(struct idmap *m, uint64_t id)
{
    if (m->n % IDMAP_STEP == 0) {
        if (!mg_grow((void **)&m->mark, &m->capmark, m->nmark + 1, sizeof *m->mark) ||
            !mg_grow((void **)&m->mark_at, &m->capmark_at, m->nmark + 1, sizeof *m->mark_at)) {
            m->broken = true;
            return;
        }
        m->mark[m->nmark] = id;
        m->mark_at[m->nmark++] = m->len;
    }
    if (!mg_grow((void **)&m->bytes, &m->cap, m->len + 10, 1)) {
        m->broken = true;
        return;
    }
    for (uint64_t d = id - m->last;; d >>= 7) {
        m->bytes[m->len++] = (uint8_t)((d & 0x7f) | (d > 0x7f ? 0x80 : 0));
        if (d <= 0x7f)
            break;
    }
    m->n++;
    m->last = id;
}

/* The new id of local id local; 0 when not kept. */
uint64_t mg_idmap_get(const struct idmap *m, uint64_t local)
{
    if (m->broken || local == 0 || local > m->n)
        return 0;
    size_t k = (size_t)((local - 1) / IDMAP_STEP), at = m->mark_at[k];
    uint64_t id = m->mark[k];
    for (uint64_t i = (uint64_t)k * IDMAP_STEP + 1; i <= local; i++) {
        uint64_t d = 0;
        for (int shift = 0; at < m->len; shift += 7) {
            uint8_t b = m->bytes[at++];
            d |= (uint64_t)(b & 0x7f) << shift;
            if (!(b & 0x80) || shift > 56)
                break;
        }
        if (i > (uint64_t)k * IDMAP_STEP + 1)
            id += d;
    }
    return id;
}

void mg_idmap_free(struct idmap *m)
{
    free(m->bytes);
    free(m->mark);
    free(m->mark_at);
}

bool mg_grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 256;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * size);
    if (q == NULL)
        return false;
    *p = q;
    *cap = c;
    return true;
}
