/* mcore/version.h: which mcore this is, and which generated code it takes.
 *
 * Two numbers matter to a program:
 *
 * - MC_VERSION_MAJOR, _MINOR, _PATCH (and MC_VERSION_STRING): the release
 *   of these headers.  mc_version() returns the release of the library
 *   actually linked, which may differ from the headers a program was
 *   compiled with when it links libmcore.so.
 *
 * - MC_ABI_VERSION: the contract between code that mcidl generates and the
 *   runtime: the layout of mc_type and mc_ptr_field (mcore/type.h), what
 *   the generated copy, trace and marshal functions may call, and how type
 *   ids are computed.  It changes whenever that contract does.  Every
 *   header mcidl writes starts with
 *
 *       #if !defined(MC_ABI_VERSION) || MC_ABI_VERSION != N
 *       #error "..."
 *
 *   so that code generated for one contract fails to compile against a
 *   runtime of another, instead of misbehaving at run time.  The remedy
 *   is to run the mcidl of the same release again.
 */
#ifndef MCORE_VERSION_H
#define MCORE_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

#define MC_VERSION_MAJOR 0
#define MC_VERSION_MINOR 1
#define MC_VERSION_PATCH 0
#define MC_VERSION_STRING "0.1.0"

/** The generated-code contract (see above). */
#define MC_ABI_VERSION 1

/** The release of the linked library, as "MAJOR.MINOR.PATCH" (static,
 *  never NULL).  May be called at any time, from any process or thread. */
const char *mc_version(void);

#ifdef __cplusplus
}
#endif
#endif
