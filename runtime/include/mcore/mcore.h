/* mcore/mcore.h: everything.  Include the single-concept headers instead to
 * keep dependencies visible. */
#ifndef MCORE_MCORE_H
#define MCORE_MCORE_H
#include "mcore/version.h"
#include "mcore/error.h"
#include "mcore/process.h"
#include "mcore/resource.h"
#include "mcore/startup.h"
#include "mcore/pool.h"
#include "mcore/type.h"
#include "mcore/heap.h"
#include "mcore/sref.h"
#include "mcore/sarray.h"
#include "mcore/smatrix.h"
#include "mcore/sbuffer.h"
#include "mcore/shashtbl.h"
#include "mcore/squeue.h"
#include "mcore/marshal.h"
#include "mcore/tprocess.h"
#include "mcore/camlbox.h"
#include "mcore/mutex.h"
#include "mcore/sem.h"
#include "mcore/cond.h"
#include "mcore/sync.h"
#endif
