# Who may include whom (docs/ARCHITECTURE.md, "Layers"): run by the build (target check_layers),
# fails it when a file includes a header of a layer above its own or of another command.
#   cmake -DSOURCE_DIR=<repo> -P cmake/check_layers.cmake
cmake_minimum_required(VERSION 3.20)
# Each layer lists the layers its files may include, itself included.
set(allowed_base      "base")
set(allowed_wal       "base;wal")
set(allowed_store     "base;store")
set(allowed_sftp      "base;store;store/sftp")
set(allowed_archive   "base;wal;store;archive")
set(allowed_pg        "base;pg")
set(allowed_cli       "base;wal;store;store/sftp;archive;pg;cli")
set(commands_may      "base;wal;store;store/sftp;archive;pg;cli")
set(allowed_archive_push  "${commands_may};archive_push")
set(allowed_archive_fetch "${commands_may};archive_fetch")
set(allowed_cleanup       "${commands_may};cleanup")
set(allowed_status        "${commands_may};status")

set(layers "common/base:base" "common/wal:wal" "common/store/sftp:sftp" "common/store:store"
           "common/archive:archive" "common/pg:pg" "common/cli:cli"
           "archive_push:archive_push" "archive_fetch:archive_fetch" "cleanup:cleanup"
           "status:status")

set(violations 0)
foreach(entry ${layers})
  string(REPLACE ":" ";" parts "${entry}")
  list(GET parts 0 dir)
  list(GET parts 1 name)
  file(GLOB files "${SOURCE_DIR}/${dir}/*.h" "${SOURCE_DIR}/${dir}/*.cpp")
  foreach(file ${files})
    file(STRINGS "${file}" includes REGEX "^#include \"")
    foreach(line ${includes})
      string(REGEX REPLACE "^#include \"([^\"]*)\".*" "\\1" header "${line}")
      get_filename_component(header_dir "${header}" DIRECTORY)
      if(header_dir STREQUAL "")
        message(SEND_ERROR "${file}: #include \"${header}\" is not folder-qualified")
        math(EXPR violations "${violations} + 1")
      elseif(NOT header_dir IN_LIST allowed_${name})
        message(SEND_ERROR "${file}: #include \"${header}\": layer ${name} may include only "
                           "${allowed_${name}}")
        math(EXPR violations "${violations} + 1")
      endif()
    endforeach()
  endforeach()
endforeach()
if(violations GREATER 0)
  message(FATAL_ERROR "${violations} include(s) break the layering")
endif()
