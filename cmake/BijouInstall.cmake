# Install rules: headers under include/bijou, the bijou::bijou target and a package config, so that
# another project can find_package(bijou) and link bijou::bijou; likewise the experiment kit
# (bijou::experiment_kit, bijou_add_experiment).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY engine dsl flows DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/bijou FILES_MATCHING PATTERN "*.hpp")
install(FILES bijou.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/bijou)
install(TARGETS bijou EXPORT bijouTargets)
install(TARGETS bijou_experiment_kit EXPORT bijouTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
if(TARGET bijou_precompiled)
  install(TARGETS bijou_precompiled EXPORT bijouTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
# The experiment kit: its headers, the data its loaders read, and bijou_add_experiment() (BijouExperiment.cmake,
# included by the package config).
install(DIRECTORY examples/common/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/bijou/examples/common
        FILES_MATCHING PATTERN "*.hpp")
install(FILES data/digits.csv.gz data/README.md DESTINATION ${BIJOU_INSTALL_DATADIR})
install(EXPORT bijouTargets NAMESPACE bijou:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bijou)

configure_package_config_file(cmake/bijouConfig.cmake.in ${CMAKE_BINARY_DIR}/bijouConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bijou)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/bijouConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/bijouConfig.cmake ${CMAKE_BINARY_DIR}/bijouConfigVersion.cmake
              cmake/BijouDependencies.cmake cmake/BijouExperiment.cmake DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bijou)
