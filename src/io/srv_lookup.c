/* SPDX-License-Identifier: MIT */
/* DNS SRV lookups on libuv's worker pool (design.md: blocking work never runs on the loop):
 * res_nquery with a private resolver state (resolv.conf, or upstream.dns_servers), the answer
 * parsed with libresolv's ns_* functions, the result handed back on the loop thread. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>

#include "io.h"
#include "xgw/alloc.h"

struct xgw_srv_job {
    uv_work_t work;
    struct xgw_io *io;
    xgw_srv_cb cb;
    void *arg;
    char name[XGW_SRV_HOST_MAX + 32];
    struct xgw_srv_result result;
};

/* Collects the SRV records of an answer; the rest (CNAMEs, other types) is skipped. */
static void parse_answer(const unsigned char *answer, int len, struct xgw_srv_result *r)
{
    ns_msg msg;
    if (ns_initparse(answer, len, &msg) < 0) {
        snprintf(r->error, sizeof(r->error), "unparsable DNS answer");
        return;
    }
    int count = ns_msg_count(msg, ns_s_an);
    for (int i = 0; i < count && r->count < XGW_SRV_MAX_TARGETS; i++) {
        ns_rr rr;
        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 || ns_rr_type(rr) != ns_t_srv ||
            ns_rr_rdlen(rr) < 7)
            continue;
        const unsigned char *rd = ns_rr_rdata(rr);
        struct xgw_srv_target *t = &r->targets[r->count];
        t->priority = (uint16_t)ns_get16(rd);
        t->weight = (uint16_t)ns_get16(rd + 2);
        t->port = (uint16_t)ns_get16(rd + 4);
        if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 6, t->host, sizeof(t->host)) < 0)
            continue;
        if (t->host[0] == '\0') /* the root name: "." (no service) */
            snprintf(t->host, sizeof(t->host), ".");
        r->count++;
    }
}

static void srv_work(uv_work_t *work)
{
    struct xgw_srv_job *job = work->data;
    const struct xgw_config *cfg = job->io->cfg;
    struct __res_state state;
    memset(&state, 0, sizeof(state));
    if (res_ninit(&state) != 0) {
        snprintf(job->result.error, sizeof(job->result.error), "cannot initialise the resolver");
        return;
    }
    if (cfg->dns_server_count > 0) {
        state.nscount = (int)cfg->dns_server_count;
        for (size_t i = 0; i < cfg->dns_server_count; i++) {
            struct sockaddr_in *sa = &state.nsaddr_list[i];
            memset(sa, 0, sizeof(*sa));
            sa->sin_family = AF_INET;
            sa->sin_port = htons(cfg->dns_servers[i].port);
            (void)inet_pton(AF_INET, cfg->dns_servers[i].host, &sa->sin_addr);
        }
    }
    unsigned char answer[8192];
    int len = res_nquery(&state, job->name, ns_c_in, ns_t_srv, answer, sizeof(answer));
    if (len < 0)
        snprintf(job->result.error, sizeof(job->result.error), "%s", hstrerror(state.res_h_errno));
    else
        parse_answer(answer, len, &job->result);
    res_nclose(&state);
}

static void srv_done(uv_work_t *work, int status)
{
    struct xgw_srv_job *job = work->data;
    job->result.cancelled = status == UV_ECANCELED;
    job->cb(job->arg, &job->result);
    xgw_free(job);
}

struct xgw_srv_job *xgw_srv_lookup(struct xgw_io *io, const char *name, xgw_srv_cb cb, void *arg)
{
    struct xgw_srv_job *job = xgw_calloc(1, sizeof(*job));
    job->io = io;
    job->cb = cb;
    job->arg = arg;
    job->work.data = job;
    snprintf(job->name, sizeof(job->name), "%s", name);
    if (uv_queue_work(&io->loop, &job->work, srv_work, srv_done) != 0) {
        xgw_free(job);
        return NULL;
    }
    return job;
}

void xgw_srv_cancel(struct xgw_srv_job *job)
{
    (void)uv_cancel((uv_req_t *)&job->work); /* fails once it runs; srv_done comes either way */
}
