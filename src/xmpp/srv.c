/* SPDX-License-Identifier: MIT */
/* RFC 2782 ordering of SRV targets: by priority, and within one priority by the weighted
 * selection of §"Usage rules" (zero weights first, a running sum, a random number in
 * [0, sum], the first record whose running sum reaches it). */
#include "xgw/srv.h"

#include <string.h>

bool xgw_srv_no_service(const struct xgw_srv_target *targets, size_t count)
{
    return count == 1 && strcmp(targets[0].host, ".") == 0;
}

static void swap(struct xgw_srv_target *a, struct xgw_srv_target *b)
{
    struct xgw_srv_target tmp = *a;
    *a = *b;
    *b = tmp;
}

/* Orders targets[0..n) that share one priority. */
static void order_weighted(struct xgw_srv_target *t, size_t n,
                           unsigned (*rand_below)(void *ctx, unsigned bound), void *ctx)
{
    /* Zero-weight records first, so that they have a very small chance of being selected. */
    size_t zeros = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i].weight == 0)
            swap(&t[i], &t[zeros++]);
    for (size_t done = 0; done + 1 < n; done++) {
        unsigned sum = 0;
        for (size_t i = done; i < n; i++)
            sum += t[i].weight;
        unsigned pick = rand_below(ctx, sum);
        unsigned running = 0;
        size_t chosen = n - 1;
        for (size_t i = done; i < n; i++) {
            running += t[i].weight;
            if (running >= pick) {
                chosen = i;
                break;
            }
        }
        /* Keep the remaining order stable: move the chosen one to the front. */
        struct xgw_srv_target pickd = t[chosen];
        memmove(&t[done + 1], &t[done], (chosen - done) * sizeof(*t));
        t[done] = pickd;
    }
}

void xgw_srv_order(struct xgw_srv_target *targets, size_t count,
                   unsigned (*rand_below)(void *ctx, unsigned bound), void *ctx)
{
    /* Insertion sort by priority: a handful of records, stable. */
    for (size_t i = 1; i < count; i++) {
        struct xgw_srv_target cur = targets[i];
        size_t j = i;
        while (j > 0 && targets[j - 1].priority > cur.priority) {
            targets[j] = targets[j - 1];
            j--;
        }
        targets[j] = cur;
    }
    for (size_t start = 0; start < count;) {
        size_t end = start + 1;
        while (end < count && targets[end].priority == targets[start].priority)
            end++;
        order_weighted(&targets[start], end - start, rand_below, ctx);
        start = end;
    }
}
