// Fault injection for the crash tests: banger dies at a named step exactly
// as kill -9 would kill it (SIGKILL to itself: no unwinding, no destructors,
// no flush), so a test can prove that the next run converges from there.
//
// Only a build with BANGER_FAULTS (cmake -DBANGER_FAULTS=ON; `make test`
// turns it on) has the points; elsewhere fault_point() is empty and inlined
// away. At run time, with the points built in:
//   BANGER_FAULT=before:tap.ensure    die before the first tap.ensure
//   BANGER_FAULT=after:process.start#2  die after the second process.start
//   BANGER_FAULT_TRACE=FILE           append each point reached ("before:x")
#pragma once

#include <string>

namespace banger {

#ifdef BANGER_FAULTS
void fault_point(const char* when, const std::string& step);
#else
inline void fault_point(const char*, const std::string&) {}
#endif

}  // namespace banger
