// Must not compile: state keeps records and knows nothing of the reconciler.
#include "state/store.h"
#include "reconciler/spec.h"
