# walferry_add_command(<library> <executable> [LIBS ...]): a command folder's
# code as a static library that unit tests can drive (every *.cpp but main.cpp), and its binary
# from main.cpp. The binary loads the sftp:// and s3:// backends as modules when a call needs
# them (cmake/store_modules.cmake).
function(walferry_add_command library executable)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "" "LIBS")
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  list(REMOVE_ITEM sources ${CMAKE_CURRENT_SOURCE_DIR}/main.cpp)
  add_library(${library} STATIC ${sources})
  target_include_directories(${library} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${library} PUBLIC walferry_cli PRIVATE ${arg_LIBS})
  add_executable(${executable} main.cpp)
  target_link_libraries(${executable} PRIVATE ${library} walferry_store_modules)
  add_dependencies(${executable} walferry_store_sftp walferry_store_s3)
  set_property(GLOBAL APPEND PROPERTY WALFERRY_MODULAR_COMMANDS ${executable})
  install(TARGETS ${executable} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endfunction()
