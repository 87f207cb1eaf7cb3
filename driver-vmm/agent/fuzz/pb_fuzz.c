/*
 * libFuzzer target: the guest agent's protobuf reader (pb.c), which parses every request the host sends.
 *
 * What must hold, besides what ASan and UBSan check:
 *   - pb_next never reads outside the message, always advances on a field and stops (0 or -1) at the end;
 *   - a length-delimited field lies wholly inside the message; pb_copy_str NUL-terminates within its buffer;
 *   - what was read re-encodes with the writer (pb_put_*) and reads back as the same fields (varints and
 *     length-delimited fields; fixed32/64 are skipped by design).
 */
#include "../pb.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 4096

static pb_field fields[MAX_FIELDS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    pb_reader r = {data, data + size};
    pb_field f;
    size_t n = 0;
    int rc;
    while ((rc = pb_next(&r, &f)) == 1) {
        assert(r.p <= data + size && r.p > data);
        assert(f.wire == 0 || f.wire == 1 || f.wire == 2 || f.wire == 5);
        if (f.wire == 2) {
            assert(f.data >= data && f.len <= size && f.data + f.len <= r.p);
            char small[8], big[128];
            pb_copy_str(&f, small, sizeof small);
            assert(strlen(small) < sizeof small);
            pb_copy_str(&f, big, sizeof big);
            assert(strlen(big) < sizeof big);
            assert(memcmp(big, f.data, strlen(big)) == 0);
        }
        if (n < MAX_FIELDS) fields[n++] = f;
    }
    assert(rc == 0 || rc == -1);
    if (rc == 0) assert(r.p == data + size);

    /* Round trip: the fields kept (varint and length-delimited) as the writer encodes them. */
    pb_buf out = {0};
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (fields[i].wire == 0) {
            pb_put_varint(&out, (uint64_t)fields[i].num << 3);
            pb_put_varint(&out, fields[i].v);
            kept++;
        } else if (fields[i].wire == 2) {
            pb_put_bytes(&out, fields[i].num, fields[i].data, fields[i].len);
            kept++;
        }
    }
    static const uint8_t nothing[1];
    pb_reader back = {out.buf ? out.buf : nothing, out.buf ? out.buf + out.len : nothing};
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (fields[i].wire != 0 && fields[i].wire != 2) continue;
        pb_field g;
        if (pb_next(&back, &g) != 1) {
            fprintf(stderr, "field %zu of %zu did not read back\n", j, kept);
            abort();
        }
        assert(g.num == fields[i].num && g.wire == fields[i].wire);
        if (g.wire == 0) assert(g.v == fields[i].v);
        else assert(g.len == fields[i].len && (!g.len || memcmp(g.data, fields[i].data, g.len) == 0));
        j++;
    }
    pb_field g;
    assert(pb_next(&back, &g) == 0);
    pb_free(&out);
    return 0;
}
