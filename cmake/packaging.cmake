# `make package`: a .deb built by CPack from the install rules below.
#   /usr/bin/banger, /usr/bin/banger-launch       (banger finds the launcher beside itself)
#   /lib/systemd/system/banger-watch.service      (ExecStart names /usr/bin/banger)
#   /etc/default/banger-watch                     (a conffile: dpkg keeps local edits)
#   /usr/share/banger/schemas/*.schema.json
#   bash, zsh and fish completions                (banger completion, at build time)
#   /usr/share/man/man1/banger.1.gz               (help2man from --help, plus packaging/banger.h2m)
#   postinst: makes the group banger (readers without root)
# Depends: what dpkg-shlibdeps finds in the binaries, plus the libraries
# banger opens on first use (common/lazy_lib.h: dpkg-shlibdeps cannot see
# them) and the tools it runs.
include(GNUInstallDirs)

install(TARGETS banger banger-launch RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The unit is the package's (make install writes its own, for /usr/local):
# it runs the packaged binary.
set(BANGER_BINDIR /usr/${CMAKE_INSTALL_BINDIR})
configure_file(packaging/banger-watch.service.in ${CMAKE_BINARY_DIR}/packaging/banger-watch.service @ONLY)
# Debian 12 keeps units in /lib/systemd/system (usr-merged, but dpkg and
# lintian go by the path in the package).
install(FILES ${CMAKE_BINARY_DIR}/packaging/banger-watch.service DESTINATION /lib/systemd/system)
install(FILES packaging/banger-watch.env DESTINATION /etc/default RENAME banger-watch)
install(DIRECTORY schemas/ DESTINATION ${CMAKE_INSTALL_DATADIR}/banger/schemas FILES_MATCHING PATTERN "*.json")

# Completions and the man page come from the binary itself, so they list
# what this build has.
set(GEN ${CMAKE_BINARY_DIR}/generated/share)
add_custom_command(
  OUTPUT ${GEN}/banger.bash ${GEN}/_banger ${GEN}/banger.fish
  COMMAND ${CMAKE_COMMAND} -E make_directory ${GEN}
  COMMAND sh -c "$<TARGET_FILE:banger> completion bash > ${GEN}/banger.bash"
  COMMAND sh -c "$<TARGET_FILE:banger> completion zsh > ${GEN}/_banger"
  COMMAND sh -c "$<TARGET_FILE:banger> completion fish > ${GEN}/banger.fish"
  DEPENDS banger
  COMMENT "Writing shell completions"
  VERBATIM)
add_custom_target(completions ALL DEPENDS ${GEN}/banger.bash ${GEN}/_banger ${GEN}/banger.fish)
install(FILES ${GEN}/banger.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME banger)
install(FILES ${GEN}/_banger DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${GEN}/banger.fish DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)

find_program(HELP2MAN help2man)
if(HELP2MAN)
  add_custom_command(
    OUTPUT ${GEN}/banger.1.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${GEN}
    COMMAND sh -c "${HELP2MAN} --no-info --no-discard-stderr --name='keep Firecracker microVMs equal to YAML manifests' --include=${PROJECT_SOURCE_DIR}/packaging/banger.h2m $<TARGET_FILE:banger> | gzip -9n > ${GEN}/banger.1.gz"
    DEPENDS banger ${PROJECT_SOURCE_DIR}/packaging/banger.h2m
    COMMENT "Writing the man page"
    VERBATIM)
  add_custom_target(manpage ALL DEPENDS ${GEN}/banger.1.gz)
  install(FILES ${GEN}/banger.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

install(FILES packaging/copyright DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/banger)
add_custom_command(
  OUTPUT ${GEN}/changelog.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${GEN}
  COMMAND sh -c "gzip -9n -c ${PROJECT_SOURCE_DIR}/packaging/changelog.Debian > ${GEN}/changelog.gz"
  DEPENDS ${PROJECT_SOURCE_DIR}/packaging/changelog.Debian
  VERBATIM)
# A native package (no Debian revision): its changelog is changelog.gz.
add_custom_target(debian_changelog ALL DEPENDS ${GEN}/changelog.gz)
install(FILES ${GEN}/changelog.gz DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/banger)
install(FILES packaging/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME banger)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME banger)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "keep Firecracker microVMs equal to YAML manifests")
set(CPACK_PACKAGE_DESCRIPTION
    "banger observes a host's microVMs (processes, taps, bridges, disks, NAT rules),\ndiffs them against YAML manifests and converges the host with idempotent\ndrivers: apply at a terminal, diff in CI, watch as a GitOps service.")
set(CPACK_PACKAGE_CONTACT "banger developers <maintainers@banger.dev>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/banger-dev/banger")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libcurl4, libnftables1, libdevmapper1.02.1, libarchive13, libext2fs2, libsystemd0, libssl3, libgit2-1.5, dnsmasq-base, e2fsprogs, passwd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "qemu-system-x86, openssh-client")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${PROJECT_SOURCE_DIR}/packaging/conffiles;${PROJECT_SOURCE_DIR}/packaging/postinst")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)  # the build keeps its debug info; the package does not
include(CPack)
