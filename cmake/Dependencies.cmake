# Every dependency comes from a Debian bookworm package (scripts/setup.sh
# installs them) and is found here, once, for the whole tree.

find_package(Threads REQUIRED)

# LibTorch (libtorch-dev). Its config adds the gloo headers as a dependency.
find_package(Torch REQUIRED)
# Debian's torch is CPU-only; GPU training needs a LibTorch built with CUDA.
set(RADCLEAR_TORCH_HAS_CUDA OFF)
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
  set(RADCLEAR_TORCH_HAS_CUDA ON)
endif()
message(STATUS "LibTorch ${Torch_VERSION} at ${Torch_DIR} (CUDA: ${RADCLEAR_TORCH_HAS_CUDA})")

find_package(MPI REQUIRED COMPONENTS C)
find_package(OpenCV REQUIRED COMPONENTS core imgproc imgcodecs)
find_package(HDF5 REQUIRED COMPONENTS C CXX)
find_package(RocksDB REQUIRED CONFIG)
find_package(cppzmq REQUIRED CONFIG)
find_package(yaml-cpp REQUIRED CONFIG)
find_package(CLI11 REQUIRED CONFIG)
find_package(fmt REQUIRED CONFIG)
find_package(spdlog REQUIRED CONFIG)
find_package(nlohmann_json REQUIRED CONFIG)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(ZLIB REQUIRED)  # CRC32 of records in checkpoints Python wrote

if(RADCLEAR_BUILD_TESTS)
  find_package(GTest REQUIRED CONFIG)
  include(GoogleTest)
endif()
if(RADCLEAR_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED CONFIG)
endif()

# NCCL: compiled and linked whenever the CUDA toolkit and NCCL are present,
# even on machines without a GPU, so the GPU path cannot rot.
set(RADCLEAR_HAVE_NCCL OFF)
if(RADCLEAR_WITH_NCCL)
  set(CUDAToolkit_ROOT "${RADCLEAR_CUDA_ROOT}")
  find_package(CUDAToolkit QUIET)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${RADCLEAR_CUDA_ROOT}/include ${CUDAToolkit_INCLUDE_DIRS})
  find_library(NCCL_LIBRARY nccl HINTS ${RADCLEAR_CUDA_ROOT}/lib64 ${RADCLEAR_CUDA_ROOT}/lib ${CUDAToolkit_LIBRARY_DIR})
  if(CUDAToolkit_FOUND AND NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(RADCLEAR_HAVE_NCCL ON)
    add_library(radclear_nccl INTERFACE)
    target_include_directories(radclear_nccl SYSTEM INTERFACE ${NCCL_INCLUDE_DIR})
    target_link_libraries(radclear_nccl INTERFACE ${NCCL_LIBRARY} CUDA::cudart)
    message(STATUS "NCCL: ${NCCL_LIBRARY} (CUDA ${CUDAToolkit_VERSION})")
  else()
    message(STATUS "NCCL: not found under ${RADCLEAR_CUDA_ROOT}; the NCCL communicator is not built")
  endif()
endif()

# One interface target per heavy dependency keeps target_link_libraries short
# and keeps LibTorch out of targets that must not see it.
add_library(radclear_torch INTERFACE)
target_link_libraries(radclear_torch INTERFACE torch)
target_compile_options(radclear_torch INTERFACE ${TORCH_CXX_FLAGS})

add_library(radclear_hdf5 INTERFACE)
target_include_directories(radclear_hdf5 SYSTEM INTERFACE ${HDF5_INCLUDE_DIRS})
target_link_libraries(radclear_hdf5 INTERFACE ${HDF5_LIBRARIES} ${HDF5_CXX_LIBRARIES})
target_compile_definitions(radclear_hdf5 INTERFACE ${HDF5_DEFINITIONS})

# Scanner data: GDCM decodes DICOM (JPEG lossless/baseline, JPEG-LS, RLE,
# JPEG 2000 through OpenJPEG), niftilib (libnifti2: NIfTI-1 and -2, .nii.gz
# through znzlib) reads NIfTI. GDCM's CMake package pulls in VTK settings,
# so both are found by file.
find_path(GDCM_INCLUDE_DIR gdcmImageReader.h PATH_SUFFIXES gdcm-3.0 REQUIRED)
find_library(GDCM_MSFF_LIBRARY gdcmMSFF REQUIRED)
find_library(GDCM_DSED_LIBRARY gdcmDSED REQUIRED)
find_library(GDCM_COMMON_LIBRARY gdcmCommon REQUIRED)
find_path(NIFTI_INCLUDE_DIR nifti2_io.h PATH_SUFFIXES nifti REQUIRED)
find_library(NIFTI2_LIBRARY nifti2 REQUIRED)
find_library(ZNZ_LIBRARY znz REQUIRED)
add_library(radclear_gdcm INTERFACE)
target_include_directories(radclear_gdcm SYSTEM INTERFACE ${GDCM_INCLUDE_DIR})
target_link_libraries(radclear_gdcm INTERFACE ${GDCM_MSFF_LIBRARY} ${GDCM_DSED_LIBRARY} ${GDCM_COMMON_LIBRARY})
add_library(radclear_nifti INTERFACE)
target_include_directories(radclear_nifti SYSTEM INTERFACE ${NIFTI_INCLUDE_DIR})
target_link_libraries(radclear_nifti INTERFACE ${NIFTI2_LIBRARY} ${ZNZ_LIBRARY} ZLIB::ZLIB m)

add_library(radclear_opencv INTERFACE)
target_include_directories(radclear_opencv SYSTEM INTERFACE ${OpenCV_INCLUDE_DIRS})
target_link_libraries(radclear_opencv INTERFACE opencv_core opencv_imgproc opencv_imgcodecs)

# Torch-heavy targets share one precompiled header: parsing <torch/torch.h>
# costs tens of seconds per translation unit on this class of machine.
add_library(radclear_torch_pch STATIC ${CMAKE_CURRENT_LIST_DIR}/torch_pch.cc)
target_link_libraries(radclear_torch_pch PUBLIC radclear_torch)
target_precompile_headers(radclear_torch_pch PRIVATE <torch/torch.h>)
function(radclear_use_torch_pch target)
  target_precompile_headers(${target} REUSE_FROM radclear_torch_pch)
endfunction()

# MPI from C++ through the C API only (Open MPI's C++ bindings are deprecated
# and need an extra library).
add_library(radclear_mpi INTERFACE)
target_link_libraries(radclear_mpi INTERFACE MPI::MPI_C)
target_compile_definitions(radclear_mpi INTERFACE OMPI_SKIP_MPICXX=1 MPICH_SKIP_MPICXX=1)
