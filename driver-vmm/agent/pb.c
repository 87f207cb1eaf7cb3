/* Protobuf wire format: varints (type 0) and length-delimited fields (type 2); fixed32/64 are skipped. */
#include "pb.h"
#include <stdlib.h>
#include <string.h>

static int read_varint(pb_reader *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return -1;
        uint8_t byte = *r->p++;
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

int pb_next(pb_reader *r, pb_field *f)
{
    uint64_t key;
    if (r->p >= r->end)
        return 0;
    if (read_varint(r, &key) < 0)
        return -1;
    memset(f, 0, sizeof(*f));
    f->num = (uint32_t)(key >> 3);
    f->wire = (uint32_t)(key & 7);
    switch (f->wire) {
    case 0:
        return read_varint(r, &f->v) < 0 ? -1 : 1;
    case 2:
        if (read_varint(r, &f->v) < 0 || f->v > (uint64_t)(r->end - r->p))
            return -1;
        f->data = r->p;
        f->len = (size_t)f->v;
        r->p += f->len;
        return 1;
    case 1:
        if (r->end - r->p < 8)
            return -1;
        r->p += 8;
        return 1;
    case 5:
        if (r->end - r->p < 4)
            return -1;
        r->p += 4;
        return 1;
    default:
        return -1;
    }
}

void pb_copy_str(const pb_field *f, char *dst, size_t cap)
{
    size_t n = f->wire == 2 ? f->len : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, f->data, n);
    dst[n] = 0;
}

void pb_put_raw(pb_buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *grown = realloc(b->buf, cap);
        if (!grown)
            abort(); /* PID 1 without memory cannot answer anyway */
        b->buf = grown;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

void pb_put_varint(pb_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    pb_put_raw(b, tmp, n);
}

void pb_put_u64(pb_buf *b, uint32_t num, uint64_t v)
{
    if (!v)
        return;
    pb_put_varint(b, (uint64_t)num << 3);
    pb_put_varint(b, v);
}

void pb_put_bytes(pb_buf *b, uint32_t num, const void *p, size_t n)
{
    pb_put_varint(b, ((uint64_t)num << 3) | 2);
    pb_put_varint(b, n);
    if (n)
        pb_put_raw(b, p, n);
}

void pb_put_str(pb_buf *b, uint32_t num, const char *s)
{
    if (s && *s)
        pb_put_bytes(b, num, s, strlen(s));
}

void pb_free(pb_buf *b)
{
    free(b->buf);
    b->buf = NULL;
    b->len = b->cap = 0;
}
