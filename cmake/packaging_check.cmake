# Read by cpack before it packages (CPACK_PROJECT_CONFIG_FILE): a Debian package installs into
# /usr, and the paths configured into its files (the systemd unit's ExecStart) must say so.
if(CPACK_GENERATOR STREQUAL "DEB" AND NOT CPACK_PACKAGING_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "the Debian package needs a build configured with "
                      "-DCMAKE_INSTALL_PREFIX=/usr (this one installs into "
                      "${CPACK_PACKAGING_INSTALL_PREFIX}); see scripts/package.sh")
endif()
