// Must not compile: resources is the pure model and sees no drivers.
#include "resources/model.h"
#include "drivers/netlink.h"
