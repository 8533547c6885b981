# The sftp:// and s3:// backends as loadable modules (common/store/store_module.h), loaded by the
# commands only when a call opens such a store (common/cli/store_modules.cpp).
#
# Where they are: a fixed place relative to the executable, the same in the build tree as in
# the installed package: <bindir>/WALFERRY_MODULE_RELDIR, e.g. ../lib/x86_64-linux-gnu/walferry
# for /usr/bin (installed: /usr/lib/x86_64-linux-gnu/walferry; build tree: lib/<same>/walferry).
file(RELATIVE_PATH WALFERRY_MODULE_RELDIR ${CMAKE_INSTALL_FULL_BINDIR}
     ${CMAKE_INSTALL_FULL_LIBDIR}/walferry)
set(WALFERRY_MODULE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/walferry)
get_filename_component(WALFERRY_MODULE_BUILD_DIR ${CMAKE_BINARY_DIR}/bin/${WALFERRY_MODULE_RELDIR}
                       ABSOLUTE)

# store/module_abi.h: the build's identity, which a module must match (cmake/module_abi.cmake).
file(GLOB_RECURSE WALFERRY_MODULE_ABI_HEADERS CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/common/base/*.h ${PROJECT_SOURCE_DIR}/common/wal/*.h
     ${PROJECT_SOURCE_DIR}/common/store/*.h ${PROJECT_SOURCE_DIR}/common/archive/*.h)
string(TOUPPER "${CMAKE_BUILD_TYPE}" build_type)
set(WALFERRY_MODULE_BUILD
    "${PROJECT_VERSION} ${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION} ${CMAKE_BUILD_TYPE} ${CMAKE_CXX_FLAGS} ${CMAKE_CXX_FLAGS_${build_type}} sanitize=${WALFERRY_SANITIZE}")
set(WALFERRY_MODULE_ABI_H ${CMAKE_BINARY_DIR}/generated/store/module_abi.h)
add_custom_command(
  OUTPUT ${WALFERRY_MODULE_ABI_H}
  COMMAND ${CMAKE_COMMAND} -DOUT=${WALFERRY_MODULE_ABI_H} "-DBUILD=${WALFERRY_MODULE_BUILD}"
          "-DHEADERS=${WALFERRY_MODULE_ABI_HEADERS}" -P ${PROJECT_SOURCE_DIR}/cmake/module_abi.cmake
  DEPENDS ${WALFERRY_MODULE_ABI_HEADERS} ${PROJECT_SOURCE_DIR}/cmake/module_abi.cmake
  COMMENT "Writing store/module_abi.h"
  VERBATIM)
add_custom_target(walferry_module_abi_header DEPENDS ${WALFERRY_MODULE_ABI_H})
add_library(walferry_module_abi INTERFACE)
target_include_directories(walferry_module_abi INTERFACE ${CMAKE_BINARY_DIR}/generated)
add_dependencies(walferry_module_abi walferry_module_abi_header)

# walferry_add_store_module(<scheme> <backend library> SOURCES <entry point> LIBS <libraries>):
# lib/walferry/store-<scheme>.so from every object of the backend's static library (built
# position-independent) and the entry point, linked with the libraries only the backend uses.
# The layers below (base, wal, store, archive) are not in it: the executable exports them
# (walferry_store_modules in common/cli/CMakeLists.txt).
function(walferry_add_store_module scheme backend)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "" "SOURCES;LIBS")
  set(target walferry_store_${scheme})
  set_target_properties(${backend} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  add_library(${target} MODULE ${arg_SOURCES} $<TARGET_OBJECTS:${backend}>)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/common)
  target_link_libraries(${target} PRIVATE walferry_module_abi ${arg_LIBS})
  target_link_options(${target} PRIVATE
                      LINKER:--version-script=${PROJECT_SOURCE_DIR}/cmake/store_module.map)
  set_target_properties(${target} PROPERTIES
    PREFIX "" OUTPUT_NAME store-${scheme}
    LIBRARY_OUTPUT_DIRECTORY ${WALFERRY_MODULE_BUILD_DIR}
    LINK_DEPENDS ${PROJECT_SOURCE_DIR}/cmake/store_module.map)
  install(TARGETS ${target} LIBRARY DESTINATION ${WALFERRY_MODULE_INSTALL_DIR})
  set_property(GLOBAL APPEND PROPERTY WALFERRY_STORE_MODULES ${target})
endfunction()
