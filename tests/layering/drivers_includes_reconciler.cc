// Must not compile: drivers sit below the reconciler (tests/CMakeLists.txt,
// layering_* tests). The first include works, the second must not be found.
#include "drivers/tap.h"
#include "reconciler/diff.h"
