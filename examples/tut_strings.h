/* tut_strings.h: the record of two strings used by tut_swap and tut_pin,
 * described by hand (mcidl generates this from `record u { data1: string;
 * data2: string; }`). */
#ifndef TUT_STRINGS_H
#define TUT_STRINGS_H

#include "mcore/type.h"

typedef struct u {
    char *data1;
    char *data2;
} u;

static int u_copy(mc_copier *c, void *dst, const void *src)
{
    const u *s = src;
    u *d = dst;
    int rc = mc_copy_str(c, &s->data1, &d->data1);
    return rc ? rc : mc_copy_str(c, &s->data2, &d->data2);
}

static void u_trace(mc_tracer *tr, const void *obj)
{
    const u *v = obj;
    mc_trace_ptr(tr, v->data1);
    mc_trace_ptr(tr, v->data2);
}

static const mc_type u_type = {
    .name = "u", .id = 0x8a41f0c3d2e5b697ull,
    .size = sizeof(u), .align = _Alignof(u),
    .copy = u_copy, .trace = u_trace,
};

#endif
