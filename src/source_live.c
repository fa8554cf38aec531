/*
 * A live interface as a capture source: pcap_create, snap length, immediate
 * mode (each packet as it arrives, not when a buffer fills), a kernel BPF
 * filter, then non-blocking reads polled on pcap_get_selectable_fd(). The
 * frames come out of tl_source_next() exactly as from a file.
 */
#include "tcplens/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source_int.h"

#define DEFAULT_SNAPLEN 262144
/* The read timeout only bounds how long libpcap may hold packets back;
 * immediate mode already hands each over at once. */
#define READ_TIMEOUT_MS 100

/* Says why pcap_activate() failed or warned, in one line. */
static enum tl_status activate(pcap_t *p, const char *iface, struct tl_diag *d)
{
    int rc = pcap_activate(p);
    if (rc >= 0)
        return TL_OK;
    const char *why = pcap_geterr(p);
    if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
        tl_diag_set(d, "%s: no such interface (%s)", iface, why);
    else if (rc == PCAP_ERROR_PERM_DENIED)
        tl_diag_set(d, "%s: permission denied: capturing needs root or CAP_NET_RAW (%s)", iface,
                    why);
    else
        tl_diag_set(d, "%s: %s", iface, why);
    return TL_EPCAP;
}

static enum tl_status configure(pcap_t *p, const struct tl_live_cfg *cfg, struct tl_diag *d)
{
    int snap = cfg->snaplen > 0 ? cfg->snaplen : DEFAULT_SNAPLEN;
    if (pcap_set_snaplen(p, snap) != 0 || pcap_set_immediate_mode(p, 1) != 0 ||
        pcap_set_timeout(p, READ_TIMEOUT_MS) != 0) {
        tl_diag_set(d, "%s: cannot configure the capture: %s", cfg->iface, pcap_geterr(p));
        return TL_EPCAP;
    }
    enum tl_status st = activate(p, cfg->iface, d);
    if (st != TL_OK)
        return st;
    int lt = pcap_datalink(p);
    if (cfg->accept_linktype != NULL && !cfg->accept_linktype(lt)) {
        const char *name = pcap_datalink_val_to_name(lt);
        tl_diag_set(d, "%s: unsupported link type %d (%s)", cfg->iface, lt,
                    name != NULL ? name : "unknown");
        return TL_ELINKTYPE;
    }
    return TL_OK;
}

/* The filter runs in the kernel: packets it rejects never reach us (nor the
 * -w file), so packet numbers match a replay of that file. */
static enum tl_status kernel_filter(pcap_t *p, const char *filter, struct tl_diag *d)
{
    if (filter == NULL || filter[0] == '\0')
        return TL_OK;
    struct bpf_program prog;
    if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        tl_diag_set(d, "bad filter expression '%s': %s", filter, pcap_geterr(p));
        return TL_EINVAL;
    }
    int rc = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
        tl_diag_set(d, "cannot apply filter '%s': %s", filter, pcap_geterr(p));
        return TL_EINVAL;
    }
    return TL_OK;
}

static enum tl_status finish_open(struct tl_source *src, const struct tl_live_cfg *cfg,
                                  struct tl_diag *d)
{
    struct input *in = &src->in[0];
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    enum tl_status st = configure(in->pcap, cfg, d);
    if (st == TL_OK)
        st = kernel_filter(in->pcap, cfg->filter, d);
    if (st == TL_OK && pcap_setnonblock(in->pcap, 1, errbuf) != 0) {
        tl_diag_set(d, "%s: cannot read without blocking: %s", cfg->iface, errbuf);
        st = TL_EPCAP;
    }
    if (st == TL_OK && cfg->dump_path != NULL) {
        src->dump = pcap_dump_open(in->pcap, cfg->dump_path);
        if (src->dump == NULL) {
            tl_diag_set(d, "%s: cannot write: %s", cfg->dump_path, pcap_geterr(in->pcap));
            st = TL_EIO;
        }
    }
    in->info.linktype = pcap_datalink(in->pcap);
    in->info.linktype_name = pcap_datalink_val_to_name(in->info.linktype);
    return st;
}

enum tl_status tl_source_open_live(struct tl_source **out, const struct tl_live_cfg *cfg,
                                   struct tl_diag *d)
{
    *out = NULL;
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    struct tl_source *src = calloc(1, sizeof *src);
    struct input *in = calloc(1, sizeof *in);
    if (src == NULL || in == NULL) {
        free(src);
        free(in);
        return TL_ENOMEM;
    }
    src->in = in;
    src->n = 1;
    src->nown = 1;
    src->hi = 1;
    src->live = true;
    src->max_packets = cfg->max_packets;
    in->info.name = cfg->iface;
    in->pcap = pcap_create(cfg->iface, errbuf);
    enum tl_status st = TL_EPCAP;
    if (in->pcap == NULL)
        tl_diag_set(d, "%s: %s", cfg->iface, errbuf);
    else
        st = finish_open(src, cfg, d);
    if (st != TL_OK) {
        tl_source_free(src);
        return st;
    }
    *out = src;
    return TL_OK;
}

int tl_source_fd(const struct tl_source *src)
{
    if (!src->live || src->in[0].pcap == NULL)
        return -1;
    return pcap_get_selectable_fd(src->in[0].pcap);
}

void tl_source_flush(struct tl_source *src)
{
    if (src->dump != NULL)
        pcap_dump_flush(src->dump);
}

bool tl_source_stats(const struct tl_source *src, struct tl_capture_stats *out)
{
    struct pcap_stat ps;
    if (!src->live || src->in[0].pcap == NULL || pcap_stats(src->in[0].pcap, &ps) != 0)
        return false;
    out->received = ps.ps_recv;
    out->dropped = ps.ps_drop;
    out->if_dropped = ps.ps_ifdrop;
    return true;
}
