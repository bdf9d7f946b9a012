# The Debian package: `cpack -G DEB` in a build directory makes
# cursord_<version>-1_<arch>.deb with
#
#   /usr/bin/cursord, /usr/bin/cursorctl      (the install(TARGETS) rules)
#   /lib/systemd/system/cursord.service       (hardened; runs as user cursord)
#   /etc/default/cursord                      (a conffile, 0600: every flag)
#   /usr/share/doc/cursord/*.md
#
# and a postinst that creates the cursord system user. Dependencies come
# from dpkg-shlibdeps (Debian's gRPC, protobuf, abseil, OpenSSL, hiredis)
# plus adduser for the postinst. tests/deploy/package_test.sh builds and
# inspects it. Included from the top-level CMakeLists.txt.

# The extra files are a component of their own, left out of a plain
# `cmake --install` (which keeps installing only the binaries, under
# CMAKE_INSTALL_PREFIX): absolute paths such as /etc belong to a package.
set(_cursord_debian "${CMAKE_CURRENT_LIST_DIR}")
install(FILES "${_cursord_debian}/cursord.service"
        DESTINATION /lib/systemd/system
        COMPONENT debian EXCLUDE_FROM_ALL)
install(FILES "${_cursord_debian}/cursord.default"
        DESTINATION /etc/default RENAME cursord
        PERMISSIONS OWNER_READ OWNER_WRITE
        COMPONENT debian EXCLUDE_FROM_ALL)
install(FILES "${PROJECT_SOURCE_DIR}/README.md"
              "${PROJECT_SOURCE_DIR}/docs/OPERATIONS.md"
              "${PROJECT_SOURCE_DIR}/docs/PROTOCOL.md"
              "${PROJECT_SOURCE_DIR}/docs/CONTROL_API.md"
        DESTINATION share/doc/cursord
        COMPONENT debian EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cursord)
set(CPACK_PACKAGE_VENDOR cursord)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "live multiplayer cursors over WebSocket")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Every component (the binaries' "Unspecified" and "debian") in one .deb.
set(CPACK_COMPONENTS_ALL Unspecified debian)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
# Debug information belongs in a -dbgsym package, not in the service's.
set(CPACK_STRIP_FILES ON)

set(CURSORD_PACKAGE_MAINTAINER "cursord maintainers <root@localhost>" CACHE STRING
    "Maintainer field of the Debian package (cpack -G DEB)")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CURSORD_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_NAME cursord)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "live multiplayer cursors over WebSocket
 cursord fans cursor positions out to every member of a room over a small
 binary WebSocket protocol, with a gRPC control plane (cursorctl), signed
 join tokens and rooms spanning several instances through Redis.")
# Shared libraries: dpkg-shlibdeps names the Debian packages the binaries
# link (libgrpc++1.51, libprotobuf32, libabsl20220623, libssl3,
# libprometheus-cpp-core1.0 for /metrics, ...).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The postinst's adduser; the rest of it is Essential (sh, getent).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nginx, redis-server")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${_cursord_debian}/conffiles"
    "${_cursord_debian}/postinst"
    "${_cursord_debian}/prerm"
    "${_cursord_debian}/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
