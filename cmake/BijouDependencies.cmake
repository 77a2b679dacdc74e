# The libraries Bijou builds on, all from Debian's packages (scripts/setup installs them).
# Used by the build and, installed beside bijouConfig.cmake, by projects that find_package(bijou).
include(CMakeFindDependencyMacro)
find_dependency(xtl)
find_dependency(xsimd)
find_dependency(xtensor)
find_dependency(ZLIB)  # the experiment kit reads gzip-compressed data sets (the digits, Fashion-MNIST)
find_dependency(nlohmann_json)  # and metrics.json
find_dependency(CLI11)  # and parses command lines
if(NOT TARGET OpenBLAS::OpenBLAS)
  # Debian's OpenBLASConfig.cmake sets OpenBLAS_LIBRARIES and OpenBLAS_INCLUDE_DIRS but no target.
  find_package(OpenBLAS CONFIG QUIET)
  if(NOT OpenBLAS_LIBRARIES)
    find_library(OpenBLAS_LIBRARIES NAMES openblas REQUIRED)
    find_path(OpenBLAS_INCLUDE_DIRS NAMES cblas.h PATH_SUFFIXES openblas-pthread openblas REQUIRED)
  endif()
  add_library(OpenBLAS::OpenBLAS INTERFACE IMPORTED)
  set_target_properties(OpenBLAS::OpenBLAS PROPERTIES INTERFACE_LINK_LIBRARIES "${OpenBLAS_LIBRARIES}"
                        INTERFACE_INCLUDE_DIRECTORIES "${OpenBLAS_INCLUDE_DIRS}")
endif()
# Eigen: the optional gemm backend (BIJOU_GEMM=eigen) and a candidate in bench/gemm_shapes.
find_package(Eigen3 3.4 QUIET NO_MODULE)
if(BIJOU_GEMM STREQUAL "eigen" AND NOT TARGET Eigen3::Eigen)
  find_dependency(Eigen3 3.4 NO_MODULE)
endif()
# MPI: data-parallel training (BIJOU_MPI: AUTO, ON or OFF). Only the C API is used, not the deprecated C++ bindings.
if(NOT DEFINED BIJOU_MPI)
  set(BIJOU_MPI AUTO)
endif()
set(BIJOU_WITH_MPI OFF)
if(NOT BIJOU_MPI STREQUAL "OFF")
  set(MPI_CXX_SKIP_MPICXX ON)
  if(BIJOU_MPI STREQUAL "ON")
    find_dependency(MPI COMPONENTS CXX)
  else()
    find_package(MPI QUIET COMPONENTS CXX)
  endif()
  if(MPI_CXX_FOUND)
    set(BIJOU_WITH_MPI ON)
  endif()
endif()
