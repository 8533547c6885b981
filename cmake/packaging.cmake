# The Debian package: `cpack -G DEB` in a build configured with -DCMAKE_INSTALL_PREFIX=/usr
# (scripts/package.sh builds, installs and checks it). It holds what `cmake --install` installs:
# the four binaries (not the test tools), the sftp:// and s3:// store modules they load
# (lib/<multiarch>/walferry/store-*.so, cmake/store_modules.cmake), their man pages, the systemd
# units, the cron example and the example config below. Depends comes from dpkg-shlibdeps
# (package dpkg-dev), which reads the modules too: libssh2 and libcurl stay in it.
install(FILES ${PROJECT_SOURCE_DIR}/docs/walferry.toml DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_PACKAGE_NAME walferry)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR walferry)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "WAL archiving for PostgreSQL: archive, restore and clean up WAL files")
# No double quotes in it: CPack passes the text through a list, which mangles them.
set(CPACK_PACKAGE_DESCRIPTION
    "walferry-push (archive_command) compresses, checksums and durably stores
each WAL file in every destination (local directories, sftp://) and never
overwrites one. walferry-fetch (restore_command) verifies size and checksum
before handing a file to PostgreSQL and tells a file not archived yet from a
broken one. walferry-cleanup (archive_cleanup_command, cron, systemd timer) is
a timeline-aware drop-in for pg_archivecleanup. walferry-status shows what
every archive holds per timeline, gaps, damage, backlog and lag, as text, JSON
or Prometheus metrics, with monitoring-plugin exit statuses.")
set(WALFERRY_PACKAGE_MAINTAINER
    "walferry maintainers <maintainers@users.noreply.b-seed-89b91a55.example>"
    CACHE STRING "Maintainer field of the Debian package")
set(CPACK_PACKAGE_CONTACT ${WALFERRY_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${WALFERRY_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS postgresql)
set(CPACK_STRIP_FILES ON)
# Files land where the build was configured to put them: the unit's ExecStart names that bindir.
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/cmake/packaging_check.cmake)
set(CPACK_GENERATOR DEB)
include(CPack)
