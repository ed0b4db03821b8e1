/*
 * pdmv2-decrypt: a Wireshark plugin that opens encrypted PDMv2 options
 * (docs/PROTOCOL.md §1.2, §5) with an analyzer key file, next to the Lua
 * dissector (analyzer/wireshark/pdmv2.lua), which it needs: Lua has no AES,
 * so the decryption lives here, in C against libwireshark and libgcrypt.
 *
 * It is a post-dissector. The Lua dissector has already found the option
 * (the pdmv2.ciphertext field says where it is in the frame); this plugin
 * reads the packet's 5-tuple from the IPv6 and transport fields, derives the
 * session temporary key as pdmv2-analyze does (analyzer/src/keys.ts), opens
 * the option with AES-GCM (12-octet tag) and adds the metrics under the same
 * field names the Lua dissector uses for the clear form (pdmv2.psnlr,
 * pdmv2.dtlr_ns, ...), so one display filter covers clear and opened options.
 *
 * Key file: the plaintext AnalyzerKeys JSON (docs/PROTOCOL.md §7.8), the file
 * `pdmv2-analyze ... --keys FILE` reads; preference pdmv2_decrypt.keys_file.
 * Sealed key files (HPKE envelopes) are refused with a message: open them with
 * pdmv2-analyze. Key material is wiped when the file is reloaded or unloaded.
 *
 * Build and install: analyzer/wireshark/decrypt/Makefile, docs/analyzer.md.
 */
#define WS_BUILD_DLL
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <math.h>
#include <glib.h>
#include <gcrypt.h>

#include <wireshark.h>
#include <epan/packet.h>
#include <epan/proto.h>
#include <epan/prefs.h>
#include <epan/expert.h>
#include <wsutil/wsjson.h>
#include <wsutil/report_message.h>

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "1.0"
#endif

WS_DLL_PUBLIC_DEF const gchar plugin_version[] = PLUGIN_VERSION;
WS_DLL_PUBLIC_DEF const int plugin_want_major = WIRESHARK_VERSION_MAJOR;
WS_DLL_PUBLIC_DEF const int plugin_want_minor = WIRESHARK_VERSION_MINOR;
WS_DLL_PUBLIC void plugin_register(void);

#define AEAD_AES_128_GCM 1
#define AEAD_AES_256_GCM 2
#define SECRET_LEN 32
#define OPTION_LEN 36
#define MAX_PREFIXES 64
#define MAX_GENERATIONS 64
#define MAX_CANDIDATES MAX_GENERATIONS

static int proto_pdmv2_decrypt = -1;
static int hf_status = -1;
static int hf_key = -1;
static int hf_psnlr = -1;
static int hf_gp = -1;
static int hf_scale_dtlr = -1;
static int hf_scale_dtls = -1;
static int hf_reserved = -1;
static int hf_delta_tlr = -1;
static int hf_delta_tls = -1;
static int hf_dtlr_ns = -1;
static int hf_dtls_ns = -1;
static gint ett_pdmv2_decrypt = -1;
static expert_field ei_tag_mismatch = EI_INIT;
static expert_field ei_no_key = EI_INIT;
static expert_field ei_key_file = EI_INIT;
static dissector_handle_t decrypt_handle;

static const char *pref_keys_file = "";

/* Fields of other dissectors this one reads; looked up once all are registered. */
static int hf_ciphertext = -1;
static int hf_dstopts_nxt = -1;
static int hf_ipv6_src = -1;
static int hf_ipv6_dst = -1;
static int hf_udp_srcport = -1;
static int hf_udp_dstport = -1;
static int hf_tcp_srcport = -1;
static int hf_tcp_dstport = -1;
static int hf_icmpv6_type = -1;
static int hf_icmpv6_echo_id = -1;

/* ------------------------------------------------------------------------------------------ */
/* The key file */

typedef struct {
    guint8 address[16];
    int length;
} prefix_t;

typedef struct {
    prefix_t prefix;
    guint8 secret[SECRET_LEN]; /* CS(P) */
} prefix_secret_t;

typedef struct {
    guint32 generation;
    gboolean has_sgs;
    guint8 sgs[SECRET_LEN];
    int n_secrets;
    prefix_secret_t secrets[MAX_PREFIXES];
} generation_t;

typedef struct {
    char pairing[32];
    int aead;
    int n_client_prefixes;
    prefix_t client_prefixes[MAX_PREFIXES];
    int n_generations;
    generation_t generations[MAX_GENERATIONS];
} key_file_t;

static key_file_t *keys;            /* NULL: no key file loaded */
static char *keys_error;            /* why the configured key file was not loaded */

/* Overwrites secrets in a way the compiler may not drop as a dead store. */
static void wipe(void *p, size_t n)
{
    volatile guint8 *v = (volatile guint8 *)p;
    while (n--) *v++ = 0;
}

static void drop_keys(void)
{
    if (keys) {
        wipe(keys, sizeof *keys);
        g_free(keys);
        keys = NULL;
    }
    g_free(keys_error);
    keys_error = NULL;
}

static gboolean parse_hex(const char *text, guint8 *out, size_t n)
{
    if (!text || strlen(text) != 2 * n) return FALSE;
    for (size_t i = 0; i < n; i++) {
        int hi = g_ascii_xdigit_value(text[2 * i]);
        int lo = g_ascii_xdigit_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) return FALSE;
        out[i] = (guint8)(hi << 4 | lo);
    }
    return TRUE;
}

/* "2001:db8:1::/64": canonical, host bits zero (as the key schedule requires). */
static gboolean parse_prefix(const char *text, prefix_t *p)
{
    const char *slash = text ? strchr(text, '/') : NULL;
    if (!slash || slash - text > 45) return FALSE;
    char addr[46];
    memcpy(addr, text, (size_t)(slash - text));
    addr[slash - text] = '\0';
    char *end;
    long len = strtol(slash + 1, &end, 10);
    if (*end != '\0' || end == slash + 1 || len < 0 || len > 128) return FALSE;
    if (!ws_inet_pton6(addr, (ws_in6_addr *)p->address)) return FALSE;
    p->length = (int)len;
    for (int bit = p->length; bit < 128; bit++)
        if (p->address[bit >> 3] & (0x80 >> (bit & 7))) return FALSE;
    return TRUE;
}

static gboolean prefix_contains(const prefix_t *p, const guint8 *address)
{
    int full = p->length >> 3;
    if (memcmp(p->address, address, (size_t)full) != 0) return FALSE;
    int rest = p->length & 7;
    if (rest == 0) return TRUE;
    guint8 mask = (guint8)(0xff << (8 - rest));
    return (p->address[full] & mask) == (address[full] & mask);
}

/* The string token `t` of buf, NUL-terminated and unescaped in place. */
static char *token_string(char *buf, jsmntok_t *t)
{
    if (!t || t->type != JSMN_STRING) return NULL;
    buf[t->end] = '\0';
    char *s = buf + t->start;
    return json_decode_string_inplace(s) ? s : NULL;
}

static gboolean get_number(char *buf, jsmntok_t *obj, const char *name, double lo, double hi, double *out)
{
    return json_get_double(buf, obj, name, out) && *out >= lo && *out <= hi && *out == (double)(gint64)*out;
}

/* Parses the AnalyzerKeys JSON into `k`; on failure returns a message (g_free it). */
static char *parse_key_json(char *buf, gsize len, key_file_t *k)
{
    int n = json_parse(buf, NULL, 0);
    if (n <= 0) return g_strdup("not JSON");
    jsmntok_t *tokens = g_new0(jsmntok_t, n);
    char *err = NULL;
    if (json_parse(buf, tokens, (unsigned)n) != n || tokens[0].type != JSMN_OBJECT) {
        err = g_strdup("not a JSON object");
        goto out;
    }
    (void)len;
    jsmntok_t *root = &tokens[0];
    double v;
    if (!json_get_double(buf, root, "v", &v) || v != 1) {
        err = g_strdup("\"v\" must be 1");
        goto out;
    }
    const char *type = json_get_string(buf, root, "type");
    if (!type || strcmp(type, "analyzer-keys") != 0) {
        err = g_strdup("\"type\" must be \"analyzer-keys\"");
        goto out;
    }
    const char *pairing = json_get_string(buf, root, "pairing");
    if (!pairing || strlen(pairing) >= sizeof k->pairing) {
        err = g_strdup("bad \"pairing\"");
        goto out;
    }
    g_strlcpy(k->pairing, pairing, sizeof k->pairing);
    double aead;
    if (!get_number(buf, root, "aead", 1, 2, &aead)) {
        err = g_strdup("\"aead\" must be 1 (AES-128-GCM) or 2 (AES-256-GCM)");
        goto out;
    }
    k->aead = (int)aead;
    jsmntok_t *cps = json_get_array(buf, root, "client_prefixes");
    if (!cps) {
        err = g_strdup("no \"client_prefixes\"");
        goto out;
    }
    for (int i = 0; i < json_get_array_len(cps); i++) {
        char *s = token_string(buf, json_get_array_index(cps, i));
        if (k->n_client_prefixes == MAX_PREFIXES || !parse_prefix(s, &k->client_prefixes[k->n_client_prefixes])) {
            err = g_strdup_printf("bad client prefix %s", s ? s : "(not a string)");
            goto out;
        }
        k->n_client_prefixes++;
    }
    jsmntok_t *list = json_get_array(buf, root, "keys");
    if (!list) {
        err = g_strdup("no \"keys\"");
        goto out;
    }
    for (int i = 0; i < json_get_array_len(list); i++) {
        jsmntok_t *entry = json_get_array_index(list, i);
        if (!entry || entry->type != JSMN_OBJECT || k->n_generations == MAX_GENERATIONS) {
            err = g_strdup_printf("bad key entry %d", i);
            goto out;
        }
        generation_t *g = &k->generations[k->n_generations];
        double gen;
        if (!get_number(buf, entry, "generation", 0, 4294967295.0, &gen)) {
            err = g_strdup_printf("key entry %d: bad \"generation\"", i);
            goto out;
        }
        g->generation = (guint32)gen;
        const char *sgs = json_get_string(buf, entry, "sgs");
        if (sgs) {
            if (!parse_hex(sgs, g->sgs, SECRET_LEN)) {
                err = g_strdup_printf("generation %u: \"sgs\" is not 64 hex digits", g->generation);
                goto out;
            }
            g->has_sgs = TRUE;
        }
        jsmntok_t *secrets = json_get_array(buf, entry, "secrets");
        for (int j = 0; secrets && j < json_get_array_len(secrets); j++) {
            jsmntok_t *s = json_get_array_index(secrets, j);
            if (!s || s->type != JSMN_OBJECT || g->n_secrets == MAX_PREFIXES) {
                err = g_strdup_printf("generation %u: bad secret entry %d", g->generation, j);
                goto out;
            }
            prefix_secret_t *ps = &g->secrets[g->n_secrets];
            if (!parse_prefix(json_get_string(buf, s, "prefix"), &ps->prefix) ||
                !parse_hex(json_get_string(buf, s, "secret"), ps->secret, SECRET_LEN)) {
                err = g_strdup_printf("generation %u: secret entry %d needs a canonical \"prefix\" and 64 hex digits of \"secret\"", g->generation, j);
                goto out;
            }
            g->n_secrets++;
        }
        if (!g->has_sgs && g->n_secrets == 0) {
            err = g_strdup_printf("generation %u has neither \"sgs\" nor \"secrets\"", g->generation);
            goto out;
        }
        k->n_generations++;
    }
out:
    g_free(tokens);
    return err;
}

static void load_keys(void)
{
    drop_keys();
    if (!pref_keys_file || !*pref_keys_file) return;
    gchar *text = NULL;
    gsize len = 0;
    GError *gerr = NULL;
    if (!g_file_get_contents(pref_keys_file, &text, &len, &gerr)) {
        keys_error = g_strdup_printf("cannot read: %s", gerr->message);
        g_error_free(gerr);
    } else {
        const char *p = text;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
        if (*p != '{') {
            keys_error = g_strdup(len >= 2 && (guint8)text[0] == 1 && text[1] == 5
                ? "a sealed key file: open it with pdmv2-analyze (--analyzer-key); this plugin reads the plaintext AnalyzerKeys JSON"
                : "not an analyzer key file (AnalyzerKeys JSON)");
        } else {
            key_file_t *k = g_new0(key_file_t, 1);
            char *err = parse_key_json(text, len, k);
            if (err) {
                keys_error = err;
                wipe(k, sizeof *k);
                g_free(k);
            } else {
                keys = k;
            }
        }
        wipe(text, len);
        g_free(text);
    }
    if (keys_error) report_failure("pdmv2-decrypt: %s: %s", pref_keys_file, keys_error);
}

/* ------------------------------------------------------------------------------------------ */
/* Key schedule (docs/PROTOCOL.md §5.1): KDF = HKDF-SHA-256, empty salt, info = label || 0 || context */

static gboolean hmac_sha256(const guint8 *key, size_t key_len, const guint8 *a, size_t a_len,
                            const guint8 *b, size_t b_len, guint8 out[32])
{
    gcry_md_hd_t h;
    if (gcry_md_open(&h, GCRY_MD_SHA256, GCRY_MD_FLAG_HMAC | GCRY_MD_FLAG_SECURE) != 0) return FALSE;
    gboolean ok = gcry_md_setkey(h, key, key_len) == 0;
    if (ok) {
        gcry_md_write(h, a, a_len);
        if (b_len) gcry_md_write(h, b, b_len);
        memcpy(out, gcry_md_read(h, GCRY_MD_SHA256), 32);
    }
    gcry_md_close(h);
    return ok;
}

/* Every output is at most 32 octets: HKDF-Expand is one HMAC block, T(1). */
static gboolean kdf(const guint8 parent[SECRET_LEN], const char *label, const guint8 *context, size_t context_len,
                    guint8 *out, size_t out_len)
{
    static const guint8 zero_salt[32];
    guint8 prk[32], okm[32], info[128];
    size_t label_len = strlen(label);
    if (out_len > 32 || label_len + 1 + context_len + 1 > sizeof info) return FALSE;
    memcpy(info, label, label_len);
    info[label_len] = 0;
    memcpy(info + label_len + 1, context, context_len);
    info[label_len + 1 + context_len] = 1; /* the block counter */
    gboolean ok = hmac_sha256(zero_salt, sizeof zero_salt, parent, SECRET_LEN, NULL, 0, prk) &&
                  hmac_sha256(prk, sizeof prk, info, label_len + 2 + context_len, NULL, 0, okm);
    if (ok) memcpy(out, okm, out_len);
    wipe(prk, sizeof prk);
    wipe(okm, sizeof okm);
    return ok;
}

static void put16(guint8 *p, unsigned v)
{
    p[0] = (guint8)(v >> 8);
    p[1] = (guint8)v;
}

typedef struct {
    guint8 src[16];
    guint8 dst[16];
    unsigned sport, dport, protocol;
} tuple_t;

typedef struct {
    const generation_t *gen;
    int prefix_length;
    guint8 stk[32];
} candidate_t;

/* The longest prefix of generation g (its secrets' prefixes, and the pairing's
 * client prefixes when it has an SGS) holding `address`; its CS in `cs`. */
static int client_secret(const generation_t *g, const guint8 *address, guint8 cs[SECRET_LEN])
{
    int best = -1;
    const prefix_secret_t *best_secret = NULL;
    const prefix_t *best_prefix = NULL;
    for (int i = 0; i < g->n_secrets; i++) {
        if (prefix_contains(&g->secrets[i].prefix, address) && g->secrets[i].prefix.length > best) {
            best = g->secrets[i].prefix.length;
            best_secret = &g->secrets[i];
            best_prefix = NULL;
        }
    }
    for (int i = 0; g->has_sgs && i < keys->n_client_prefixes; i++) {
        if (prefix_contains(&keys->client_prefixes[i], address) && keys->client_prefixes[i].length > best) {
            best = keys->client_prefixes[i].length;
            best_prefix = &keys->client_prefixes[i];
            best_secret = NULL;
        }
    }
    if (best_secret) {
        memcpy(cs, best_secret->secret, SECRET_LEN);
    } else if (best_prefix) {
        guint8 context[17];
        memcpy(context, best_prefix->address, 16);
        context[16] = (guint8)best_prefix->length;
        if (!kdf(g->sgs, "pdmv2 v1 cs", context, sizeof context, cs, SECRET_LEN)) return -1;
    }
    return best;
}

/* Keys that may open an option of this packet, best first (analyzer/src/keys.ts: longest client prefix, newest generation). */
static int candidates(const tuple_t *t, unsigned epoch, candidate_t *out)
{
    int n = 0;
    size_t nk = keys->aead == AEAD_AES_256_GCM ? 32 : 16;
    for (int i = 0; i < keys->n_generations; i++) {
        const generation_t *g = &keys->generations[i];
        if ((g->generation & 0xf) != epoch >> 8) continue;
        guint8 cs[SECRET_LEN], hs[SECRET_LEN];
        const guint8 *client = t->src;
        int len = client_secret(g, client, cs);
        if (len < 0) {
            client = t->dst;
            len = client_secret(g, client, cs);
        }
        if (len < 0) continue;
        guint8 ctx[2 + 2 + 16 + 16 + 2 + 2 + 1];
        put16(ctx, (unsigned)keys->aead);
        put16(ctx + 2, epoch);
        memcpy(ctx + 4, t->src, 16);
        memcpy(ctx + 20, t->dst, 16);
        put16(ctx + 36, t->sport);
        put16(ctx + 38, t->dport);
        ctx[40] = (guint8)t->protocol;
        candidate_t c = { g, len, { 0 } };
        gboolean ok = kdf(cs, "pdmv2 v1 hs", client, 16, hs, SECRET_LEN) &&
                      kdf(hs, "pdmv2 v1 stk", ctx, sizeof ctx, c.stk, nk);
        wipe(cs, sizeof cs);
        wipe(hs, sizeof hs);
        if (!ok) continue;
        int at = n++;
        while (at > 0 && (out[at - 1].prefix_length < c.prefix_length ||
                          (out[at - 1].prefix_length == c.prefix_length && out[at - 1].gen->generation < g->generation))) {
            out[at] = out[at - 1];
            at--;
        }
        out[at] = c;
        wipe(&c, sizeof c);
    }
    return n;
}

/* docs/PROTOCOL.md §5.4: nonce = 0^6 || Version|Epoch || PSNTP, AAD = octets 0-7, 12-octet tag. */
static gboolean open_option(const guint8 *stk, int aead, const guint8 option[OPTION_LEN], guint8 plain[16])
{
    gcry_cipher_hd_t h;
    int algo = aead == AEAD_AES_256_GCM ? GCRY_CIPHER_AES256 : GCRY_CIPHER_AES128;
    if (gcry_cipher_open(&h, algo, GCRY_CIPHER_MODE_GCM, GCRY_CIPHER_SECURE) != 0) return FALSE;
    guint8 nonce[12] = { 0 };
    memcpy(nonce + 6, option + 2, 6);
    gboolean ok = gcry_cipher_setkey(h, stk, aead == AEAD_AES_256_GCM ? 32 : 16) == 0 &&
                  gcry_cipher_setiv(h, nonce, sizeof nonce) == 0 &&
                  gcry_cipher_authenticate(h, option, 8) == 0 &&
                  gcry_cipher_decrypt(h, plain, 16, option + 8, 16) == 0 &&
                  gcry_cipher_checktag(h, option + 24, 12) == 0;
    gcry_cipher_close(h);
    if (!ok) wipe(plain, 16);
    return ok;
}

/* ------------------------------------------------------------------------------------------ */
/* Dissection */

static field_info *first_field(proto_tree *tree, int hf)
{
    if (hf < 0) return NULL;
    GPtrArray *found = proto_find_first_finfo(tree, hf);
    field_info *fi = found && found->len > 0 ? (field_info *)g_ptr_array_index(found, 0) : NULL;
    if (found) g_ptr_array_free(found, TRUE);
    return fi;
}

static gboolean read_u16_field(proto_tree *tree, int hf, unsigned *out)
{
    field_info *fi = first_field(tree, hf);
    if (!fi || fi->length < 2) return FALSE;
    *out = tvb_get_ntohs(fi->ds_tvb, fi->start);
    return TRUE;
}

/* The packet's 5-tuple as the key schedule takes it (§5.1: ports for TCP and UDP, the echo identifier for ICMPv6 echo). */
static gboolean packet_tuple(proto_tree *tree, tuple_t *t)
{
    field_info *src = first_field(tree, hf_ipv6_src);
    field_info *dst = first_field(tree, hf_ipv6_dst);
    field_info *nxt = first_field(tree, hf_dstopts_nxt);
    if (!src || !dst || src->length != 16 || dst->length != 16 || !nxt) return FALSE;
    tvb_memcpy(src->ds_tvb, t->src, src->start, 16);
    tvb_memcpy(dst->ds_tvb, t->dst, dst->start, 16);
    t->protocol = tvb_get_guint8(nxt->ds_tvb, nxt->start);
    t->sport = t->dport = 0;
    if (t->protocol == 17) return read_u16_field(tree, hf_udp_srcport, &t->sport) && read_u16_field(tree, hf_udp_dstport, &t->dport);
    if (t->protocol == 6) return read_u16_field(tree, hf_tcp_srcport, &t->sport) && read_u16_field(tree, hf_tcp_dstport, &t->dport);
    if (t->protocol == 58) {
        field_info *type = first_field(tree, hf_icmpv6_type);
        if (!type) return FALSE;
        unsigned ty = tvb_get_guint8(type->ds_tvb, type->start);
        if ((ty == 128 || ty == 129) && read_u16_field(tree, hf_icmpv6_echo_id, &t->sport)) t->dport = t->sport;
    }
    return TRUE;
}

static int dissect_pdmv2_decrypt(tvbuff_t *tvb _U_, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
    field_info *ct = first_field(tree, hf_ciphertext);
    if (!ct || ct->start < 8 || !tvb_bytes_exist(ct->ds_tvb, ct->start - 8, OPTION_LEN)) return 0;
    tvbuff_t *otvb = ct->ds_tvb;
    int at = ct->start - 8;
    guint8 option[OPTION_LEN];
    tvb_memcpy(otvb, option, at, OPTION_LEN);
    if (option[0] != 0x0f || option[1] != 34) return 0;
    unsigned epoch = ((unsigned)option[2] << 8 | option[3]) & 0xfff;

    proto_item *ti = proto_tree_add_item(tree, proto_pdmv2_decrypt, otvb, at, OPTION_LEN, ENC_NA);
    proto_tree *sub = proto_item_add_subtree(ti, ett_pdmv2_decrypt);
    if (!keys) {
        proto_item *s = proto_tree_add_string(sub, hf_status, otvb, at, OPTION_LEN, keys_error ? "KEY_FILE_ERROR" : "NO_KEY_FILE");
        proto_item_set_generated(s);
        if (keys_error) expert_add_info_format(pinfo, s, &ei_key_file, "Key file %s not loaded: %s", pref_keys_file, keys_error);
        return 0;
    }
    tuple_t t;
    candidate_t list[MAX_CANDIDATES];
    int n = packet_tuple(tree, &t) ? candidates(&t, epoch, list) : 0;
    guint8 plain[16];
    int opened = -1;
    for (int i = 0; i < n && opened < 0; i++)
        if (open_option(list[i].stk, keys->aead, option, plain)) opened = i;
    guint32 generation = opened >= 0 ? list[opened].gen->generation : 0;
    wipe(list, sizeof list);
    if (opened < 0) {
        const char *why = n == 0 ? "NO_KEY" : "TAG_MISMATCH";
        proto_item *s = proto_tree_add_string(sub, hf_status, otvb, at, OPTION_LEN, why);
        proto_item_set_generated(s);
        expert_add_info(pinfo, s, n == 0 ? &ei_no_key : &ei_tag_mismatch);
        proto_item_append_text(ti, ": %s", why);
        return 0;
    }

    /* The metrics block (§1.3) as a buffer of its own, so each field points at its octets. */
    guint8 *copy = (guint8 *)wmem_memdup(pinfo->pool, plain, sizeof plain);
    wipe(plain, sizeof plain);
    tvbuff_t *clear = tvb_new_child_real_data(otvb, copy, 16, 16);
    add_new_data_source(pinfo, clear, "Decrypted PDMv2 metrics");
    proto_item *s = proto_tree_add_string(sub, hf_status, otvb, at, OPTION_LEN, "ok");
    proto_item_set_generated(s);
    proto_item *k = proto_tree_add_string(sub, hf_key, otvb, at, OPTION_LEN, wmem_strdup_printf(pinfo->pool, "%s/%u", keys->pairing, generation));
    proto_item_set_generated(k);
    guint32 psnlr = tvb_get_ntohl(clear, 0);
    unsigned s_tlr = tvb_get_guint8(clear, 8), s_tls = tvb_get_guint8(clear, 9);
    double dtlr = tvb_get_ntohs(clear, 12) * ldexp(1.0, (int)s_tlr) / 1e9;
    double dtls = tvb_get_ntohs(clear, 14) * ldexp(1.0, (int)s_tls) / 1e9;
    proto_tree_add_item(sub, hf_psnlr, clear, 0, 4, ENC_BIG_ENDIAN);
    proto_tree_add_item(sub, hf_gp, clear, 4, 4, ENC_BIG_ENDIAN);
    proto_tree_add_item(sub, hf_scale_dtlr, clear, 8, 1, ENC_BIG_ENDIAN);
    proto_tree_add_item(sub, hf_scale_dtls, clear, 9, 1, ENC_BIG_ENDIAN);
    proto_tree_add_item(sub, hf_reserved, clear, 10, 2, ENC_BIG_ENDIAN);
    proto_tree_add_item(sub, hf_delta_tlr, clear, 12, 2, ENC_BIG_ENDIAN);
    proto_tree_add_item(sub, hf_delta_tls, clear, 14, 2, ENC_BIG_ENDIAN);
    proto_item_set_generated(proto_tree_add_double(sub, hf_dtlr_ns, clear, 12, 2, dtlr));
    proto_item_set_generated(proto_tree_add_double(sub, hf_dtls_ns, clear, 14, 2, dtls));
    proto_item_append_text(ti, ": psnlr=%u dtlr=%.0f ns dtls=%.0f ns", psnlr, dtlr, dtls);
    col_append_fstr(pinfo->cinfo, COL_INFO, " [decrypted psnlr=%u dtlr=%.0fns dtls=%.0fns]", psnlr, dtlr, dtls);
    return OPTION_LEN;
}

/* At the start of each file, once every dissector (the Lua one included) has registered its fields. */
static void init_fields(void)
{
    hf_ciphertext = proto_registrar_get_id_byname("pdmv2.ciphertext");
    hf_dstopts_nxt = proto_registrar_get_id_byname("pdmv2.dstopts.nxt");
    hf_ipv6_src = proto_registrar_get_id_byname("ipv6.src");
    hf_ipv6_dst = proto_registrar_get_id_byname("ipv6.dst");
    hf_udp_srcport = proto_registrar_get_id_byname("udp.srcport");
    hf_udp_dstport = proto_registrar_get_id_byname("udp.dstport");
    hf_tcp_srcport = proto_registrar_get_id_byname("tcp.srcport");
    hf_tcp_dstport = proto_registrar_get_id_byname("tcp.dstport");
    hf_icmpv6_type = proto_registrar_get_id_byname("icmpv6.type");
    hf_icmpv6_echo_id = proto_registrar_get_id_byname("icmpv6.echo.identifier");
    int wanted[] = { hf_ciphertext, hf_dstopts_nxt, hf_ipv6_src, hf_ipv6_dst, hf_udp_srcport, hf_udp_dstport,
                     hf_tcp_srcport, hf_tcp_dstport, hf_icmpv6_type, hf_icmpv6_echo_id };
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(int));
    for (size_t i = 0; i < G_N_ELEMENTS(wanted); i++)
        if (wanted[i] >= 0) g_array_append_val(ids, wanted[i]);
    /* Without the Lua dissector's fields there is nothing to open: then want nothing, and stay out of the way. */
    if (hf_ciphertext < 0) g_array_set_size(ids, 0);
    set_postdissector_wanted_hfids(decrypt_handle, ids);
}

static void proto_register_pdmv2_decrypt(void)
{
    /* The same names and types as the Lua dissector's clear-form fields: one filter for clear and opened options. */
    static hf_register_info hf[] = {
        { &hf_status, { "Decryption", "pdmv2_decrypt.status", FT_STRING, BASE_NONE, NULL, 0x0,
            "ok, TAG_MISMATCH (wrong key or altered option), NO_KEY (no key for this epoch and these addresses)", HFILL } },
        { &hf_key, { "Key (pairing/generation)", "pdmv2_decrypt.key", FT_STRING, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_psnlr, { "PSN Last Received", "pdmv2.psnlr", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_gp, { "Global Pointer", "pdmv2.gp", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_scale_dtlr, { "Scale DTLR", "pdmv2.scale_dtlr", FT_UINT8, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_scale_dtls, { "Scale DTLS", "pdmv2.scale_dtls", FT_UINT8, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_reserved, { "Reserved", "pdmv2.reserved", FT_UINT16, BASE_HEX, NULL, 0x0, NULL, HFILL } },
        { &hf_delta_tlr, { "Delta Time Last Received", "pdmv2.delta_tlr", FT_UINT16, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_delta_tls, { "Delta Time Last Sent", "pdmv2.delta_tls", FT_UINT16, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_dtlr_ns, { "Time Last Received (ns)", "pdmv2.dtlr_ns", FT_DOUBLE, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_dtls_ns, { "Time Last Sent (ns)", "pdmv2.dtls_ns", FT_DOUBLE, BASE_NONE, NULL, 0x0, NULL, HFILL } },
    };
    static gint *ett[] = { &ett_pdmv2_decrypt };
    static ei_register_info ei[] = {
        { &ei_tag_mismatch, { "pdmv2_decrypt.tag_mismatch", PI_SECURITY, PI_WARN,
            "No key of the key file opens this option: wrong keys, or the option was altered", EXPFILL } },
        { &ei_no_key, { "pdmv2_decrypt.no_key", PI_SECURITY, PI_NOTE,
            "The key file has no key for this generation and these addresses", EXPFILL } },
        { &ei_key_file, { "pdmv2_decrypt.key_file", PI_UNDECODED, PI_WARN, "The key file could not be loaded", EXPFILL } },
    };
    proto_pdmv2_decrypt = proto_register_protocol("PDMv2 decryption (analyzer key file)", "PDMv2-decrypt", "pdmv2_decrypt");
    proto_register_field_array(proto_pdmv2_decrypt, hf, array_length(hf));
    proto_register_subtree_array(ett, array_length(ett));
    expert_module_t *em = expert_register_protocol(proto_pdmv2_decrypt);
    expert_register_field_array(em, ei, array_length(ei));
    module_t *prefs = prefs_register_protocol(proto_pdmv2_decrypt, load_keys);
    prefs_register_filename_preference(prefs, "keys_file", "Analyzer key file",
        "The plaintext AnalyzerKeys JSON file (docs/PROTOCOL.md section 7.8), as pdmv2-analyze --keys reads it",
        &pref_keys_file, FALSE);
    register_init_routine(init_fields);
    register_shutdown_routine(drop_keys);
}

static void proto_reg_handoff_pdmv2_decrypt(void)
{
    decrypt_handle = create_dissector_handle(dissect_pdmv2_decrypt, proto_pdmv2_decrypt);
    register_postdissector(decrypt_handle);
}

void plugin_register(void)
{
    static proto_plugin plugin;
    plugin.register_protoinfo = proto_register_pdmv2_decrypt;
    plugin.register_handoff = proto_reg_handoff_pdmv2_decrypt;
    proto_register_plugin(&plugin);
}
