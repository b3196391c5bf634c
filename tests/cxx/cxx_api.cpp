// tests/cxx/cxx_api.cpp: the public headers and a generated header, used
// from C++ (built with g++ and clang++, -std=c++17 -Wall -Wextra -Werror
// by tests/cxx/run.sh).  A value goes through the runtime's C entry points
// (local copy, marshal, unmarshal) and comes back equal, so the link with
// extern "C" is checked too, not only the compile.
#include "mcore/mcore.h"
#include "rt.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

static int fails;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,    \
                         __LINE__, #cond);                                 \
            fails++;                                                       \
        }                                                                  \
    } while (0)

int main()
{
    // Sync objects embed as opaque, 8-aligned bytes in C++ too.
    static_assert(alignof(mc_mutex) >= 8, "mc_mutex alignment");
    static_assert(alignof(mc_sem) >= 8, "mc_sem alignment");
    static_assert(alignof(mc_cond) >= 8, "mc_cond alignment");

    char s[] = "hello from C++";
    char name0[] = "a", name1[] = "bc";
    char *names[] = {name0, name1};
    rt_Texts t;
    std::memset(&t, 0, sizeof t);
    t.s = s;
    t.names.data = names;
    t.names.len = 2;

    void *copy = nullptr;
    CHECK(mc_local_copy(&rt_Texts_type, &t, &copy) == 0);
    const rt_Texts *c = static_cast<const rt_Texts *>(copy);
    CHECK(c && std::strcmp(c->s, s) == 0 && c->names.len == 2 &&
          std::strcmp(c->names.data[1], "bc") == 0);

    void *bytes = nullptr;
    size_t len = 0;
    CHECK(mc_marshal(&rt_Texts_type, copy, &bytes, &len) == 0);
    void *back = nullptr;
    CHECK(mc_unmarshal(&rt_Texts_type, bytes, len, &back) == 0);
    const rt_Texts *b = static_cast<const rt_Texts *>(back);
    CHECK(b && std::strcmp(b->s, s) == 0 && b->names.len == 2 &&
          std::strcmp(b->names.data[0], "a") == 0);

    // Errors are the C API's negative codes, named by mc_strerror.
    void *none = nullptr;
    CHECK(mc_unmarshal(&rt_Texts_type, "junk", 4, &none) == MC_EINVAL);
    CHECK(std::strlen(mc_strerror(MC_EINVAL)) > 0);

    std::free(bytes);
    mc_local_free(back);
    mc_local_free(copy);
    std::printf("%s\n", fails ? "cxx_api: FAILED" : "cxx_api: ok");
    return fails != 0;
}
