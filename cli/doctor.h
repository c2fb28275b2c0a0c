#pragma once
// `radclear doctor`: what a user on a new cluster node needs to know before
// a long run. Collected once into a plain struct, printed as text or JSON.
#include <string>
#include <vector>

namespace radclear::cli {

struct DoctorReport {
  std::string radclear_version;
  std::string torch_version;
  std::string opencv_version;
  std::string hdf5_version;
  std::string rocksdb_version;
  std::string zeromq_version;
  std::string mpi_version;
  bool nccl_compiled = false;
  std::string nccl_version;       // when compiled in
  bool torch_has_cuda = false;
  int gpus_seen = 0;
  std::string blas_library;       // resolved path of the BLAS torch loaded
  std::string blas_kind;          // "openblas", "reference", "mkl", "unknown"
  std::string openblas_corename;  // openblas_get_corename(), when OpenBLAS
  std::string openblas_config;    // openblas_get_config()
  int openblas_threads = 0;
  std::string openblas_coretype_env;  // OPENBLAS_CORETYPE if set
  std::string cpu_model;
  std::string cpu_simd;           // best of avx512f / avx2 / avx / sse4_2
  int hardware_threads = 0;
  int torch_threads = 0;
  double sgemm_gflops = 0;        // measured over ~2 s
  int sgemm_size = 0;
  std::vector<std::string> warnings;  // each says how to fix it
};

// Fills everything except the torch fields.
void collect_system_info(DoctorReport& report);
// Torch fields and the SGEMM measurement (doctor_torch.cc keeps LibTorch
// out of the other files).
void collect_torch_info(DoctorReport& report, double sgemm_seconds);
// Warnings (BLAS, threads), each with its fix, from the fields above.
void add_warnings(DoctorReport& report);

std::string doctor_text(const DoctorReport& report);
std::string doctor_json(const DoctorReport& report);

}  // namespace radclear::cli
