// A shared library opened on first use instead of at process start.
//
// libcurl, libnftables, libdevmapper and libcrypto bring 38 more libraries
// with them (gnutls, krb5, ldap, jansson, udev, ...). Linked normally, the
// dynamic loader maps and relocates all of them before main(): 12 ms of the
// 18 ms a start took here, paid by `validate`, `get` and `diff --against`,
// which never call them. Opened here, only the run that needs one pays.
#pragma once

#include <string>

namespace banger {

class LazyLib {
 public:
  /// Opens `soname` (RTLD_NOW, so a missing symbol fails here and not in the
  /// middle of a call). Throws HostError(NotFound) naming the library and
  /// the Debian package that provides it.
  LazyLib(const char* soname, const char* package);
  LazyLib(const LazyLib&) = delete;
  LazyLib& operator=(const LazyLib&) = delete;

  /// The address of `name`, as F. Throws HostError naming the library when
  /// the installed version lacks it.
  template <class F>
  F symbol(const char* name) const {
    return reinterpret_cast<F>(raw_symbol(name));
  }

 private:
  void* raw_symbol(const char* name) const;
  void* handle_ = nullptr;  // never closed: the process keeps it until exit
  std::string soname_;
  std::string package_;
};

}  // namespace banger

// A table of a library's functions, each member named and typed after the
// function it holds: table.curl_easy_setopt(h, opt, v) is the same call as
// curl_easy_setopt(h, opt, v), varargs included. SYMBOLS is an X-macro list
// of the names.
#define BANGER_LAZY_MEMBER_(name) decltype(&::name) name;
#define BANGER_LAZY_MEMBERS(SYMBOLS) SYMBOLS(BANGER_LAZY_MEMBER_)

// Defines `const Table& accessor()`: opens `soname` on the first call (a
// static's initializer runs once, thread-safely; if it throws, the next call
// tries again) and resolves every member of Table.
#define BANGER_LAZY_RESOLVE_(name) table.name = so.symbol<decltype(&::name)>(#name);
#define BANGER_LAZY_TABLE(Table, accessor, SYMBOLS, soname, package)   \
  const Table& accessor() {                                             \
    static const Table lib = [] {                                       \
      static const ::banger::LazyLib so(soname, package);               \
      Table table{};                                                    \
      SYMBOLS(BANGER_LAZY_RESOLVE_)                                     \
      return table;                                                     \
    }();                                                                \
    return lib;                                                         \
  }
