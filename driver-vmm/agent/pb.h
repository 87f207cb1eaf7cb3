/* The few protobuf wire-format pieces the agent needs: a field reader and a growable writer. */
#ifndef KUASAR_PB_H
#define KUASAR_PB_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *p, *end;
} pb_reader;

/* One decoded field: varints fill v, length-delimited fields fill data/len. */
typedef struct {
    uint32_t num;
    uint32_t wire;
    uint64_t v;
    const uint8_t *data;
    size_t len;
} pb_field;

typedef struct {
    uint8_t *buf;
    size_t len, cap;
} pb_buf;

/* 1: a field was read, 0: end of message, -1: malformed. */
int pb_next(pb_reader *r, pb_field *f);
/* A NUL-terminated copy of a string field, truncated to cap-1 bytes. */
void pb_copy_str(const pb_field *f, char *dst, size_t cap);

void pb_put_raw(pb_buf *b, const void *p, size_t n);
void pb_put_varint(pb_buf *b, uint64_t v);
void pb_put_u64(pb_buf *b, uint32_t num, uint64_t v);       /* omitted when 0, as proto3 does */
void pb_put_bytes(pb_buf *b, uint32_t num, const void *p, size_t n);
void pb_put_str(pb_buf *b, uint32_t num, const char *s);    /* omitted when empty */
void pb_free(pb_buf *b);
#endif
