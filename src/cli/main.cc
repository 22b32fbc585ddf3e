#include "cli/app.h"

int main(int argc, char** argv) { return banger::cli::run(argc, argv); }
