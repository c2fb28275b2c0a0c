#include "cli/doctor.h"

#include <dlfcn.h>
#include <link.h>
#include <mpi.h>
#include <zmq.h>

#include <H5public.h>
#include <rocksdb/version.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/core/version.hpp>

#include "common/parallel.h"
#include "common/version.h"

#ifdef RADCLEAR_HAVE_NCCL
#include "worker/comm/nccl_communicator.h"
#endif

namespace radclear::cli {
namespace {

int collect_blas_path(struct dl_phdr_info* info, size_t, void* data) {
  auto* out = static_cast<std::string*>(data);
  const std::string name = info->dlpi_name ? info->dlpi_name : "";
  const auto base = std::filesystem::path(name).filename().string();
  if (out->empty() && (base.rfind("libblas", 0) == 0 || base.rfind("libopenblas", 0) == 0 ||
                       base.rfind("libmkl_rt", 0) == 0)) {
    *out = name;
  }
  return 0;
}

void read_cpu(DoctorReport& r) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  std::set<std::string> flags;
  while (std::getline(in, line)) {
    if (r.cpu_model.empty() && line.rfind("model name", 0) == 0) r.cpu_model = line.substr(line.find(':') + 2);
    if (flags.empty() && line.rfind("flags", 0) == 0) {
      std::string f;
      for (char c : line.substr(line.find(':') + 1) + " ") {
        if (c == ' ') {
          if (!f.empty()) flags.insert(f);
          f.clear();
        } else {
          f.push_back(c);
        }
      }
    }
  }
  for (const char* s : {"avx512f", "avx2", "avx", "sse4_2"}) {
    if (flags.count(s)) {
      r.cpu_simd = s;
      break;
    }
  }
}

}  // namespace

void collect_system_info(DoctorReport& r) {
  r.radclear_version = version_string();
  r.opencv_version = CV_VERSION;
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  r.hdf5_version = fmt::format("{}.{}.{}", maj, min, rel);
  r.rocksdb_version = fmt::format("{}.{}.{}", ROCKSDB_MAJOR, ROCKSDB_MINOR, ROCKSDB_PATCH);
  int zmaj = 0, zmin = 0, zpat = 0;
  zmq_version(&zmaj, &zmin, &zpat);
  r.zeromq_version = fmt::format("{}.{}.{}", zmaj, zmin, zpat);
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(mpi, &len);  // allowed before MPI_Init
  std::string mpi_s(mpi, static_cast<size_t>(len));
  r.mpi_version = mpi_s.substr(0, mpi_s.find_first_of(",\n"));
#ifdef RADCLEAR_HAVE_NCCL
  r.nccl_compiled = true;
  r.nccl_version = worker::nccl_version_string();
#endif
  r.hardware_threads = hardware_threads();
  read_cpu(r);

  dl_iterate_phdr(&collect_blas_path, &r.blas_library);
  if (!r.blas_library.empty()) {
    std::error_code ec;
    const auto resolved = std::filesystem::canonical(r.blas_library, ec);
    if (!ec) r.blas_library = resolved.string();
  }
  using CharFn = char* (*)();
  using IntFn = int (*)();
  auto corename = reinterpret_cast<CharFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  auto config = reinterpret_cast<CharFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  auto threads = reinterpret_cast<IntFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (corename) {
    r.blas_kind = "openblas";
    r.openblas_corename = corename();
    if (config) r.openblas_config = config();
    if (threads) r.openblas_threads = threads();
  } else if (r.blas_library.find("mkl") != std::string::npos) {
    r.blas_kind = "mkl";
  } else if (r.blas_library.find("/blas/") != std::string::npos) {
    r.blas_kind = "reference";
  } else {
    r.blas_kind = r.blas_library.empty() ? "none loaded" : "unknown";
  }
  if (const char* env = std::getenv("OPENBLAS_CORETYPE")) r.openblas_coretype_env = env;
}

void add_warnings(DoctorReport& r) {
  if (r.blas_kind == "reference") {
    r.warnings.push_back(fmt::format(
        "torch uses the reference BLAS ({}), ~15x slower for GEMM. Fix: apt-get install libopenblas0-pthread "
        "(or update-alternatives --config libblas.so.3-x86_64-linux-gnu)",
        r.blas_library));
  }
  if (r.blas_kind == "openblas") {
    std::string core = r.openblas_corename;
    for (auto& c : core) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    static const std::set<std::string> pre_avx2 = {"katmai", "coppermine", "northwood", "prescott", "banias",
                                                   "core2", "penryn", "dunnington", "nehalem", "atom",
                                                   "opteron", "barcelona", "bobcat", "sandybridge", "bulldozer",
                                                   "piledriver", "steamroller", "excavator"};
    static const std::set<std::string> avx512 = {"skylakex", "cooperlake", "sapphirerapids"};
    const bool cpu_avx2 = r.cpu_simd == "avx2" || r.cpu_simd == "avx512f";
    if (cpu_avx2 && pre_avx2.count(core)) {
      r.warnings.push_back(fmt::format(
          "OpenBLAS picked the '{}' kernels but this CPU supports {}: GEMM runs far below what it could. "
          "Fix: export OPENBLAS_CORETYPE={} (check results once: older OpenBLAS builds mis-detect some CPUs)",
          r.openblas_corename, r.cpu_simd, r.cpu_simd == "avx512f" ? "SkylakeX" : "Haswell"));
    } else if (r.cpu_simd == "avx512f" && !avx512.count(core) && !core.empty() && core != "zen") {
      r.warnings.push_back(fmt::format(
          "OpenBLAS uses '{}' kernels on an AVX-512 CPU; OPENBLAS_CORETYPE=SkylakeX may be faster (measure)",
          r.openblas_corename));
    }
  }
  if (r.torch_threads > 0 && r.torch_threads < r.hardware_threads) {
    r.warnings.push_back(fmt::format(
        "torch uses {} intra-op thread(s) on {} hardware threads (OpenMP default here). Fix for your own runs: "
        "export OMP_NUM_THREADS={}; radclear's stages set threads per rank themselves",
        r.torch_threads, r.hardware_threads, r.hardware_threads));
  }
  if (r.blas_kind == "none loaded" || r.blas_kind == "unknown") {
    r.warnings.push_back("could not identify the BLAS library torch loaded; GEMM speed is unknown");
  }
}

std::string doctor_text(const DoctorReport& r) {
  std::string s;
  auto row = [&s](const char* k, const std::string& v) { s += fmt::format("  {:<22} {}\n", k, v); };
  s += "radclear doctor\n";
  row("radclear", r.radclear_version);
  row("LibTorch", r.torch_version + (r.torch_has_cuda ? " (CUDA)" : " (CPU only)"));
  row("OpenCV", r.opencv_version);
  row("HDF5", r.hdf5_version);
  row("RocksDB", r.rocksdb_version);
  row("ZeroMQ", r.zeromq_version);
  row("MPI", r.mpi_version);
  row("NCCL communicator", r.nccl_compiled ? "compiled in (NCCL " + r.nccl_version + ")" : "not compiled in");
  row("GPUs seen", std::to_string(r.gpus_seen) + (r.torch_has_cuda ? "" : " (LibTorch has no CUDA)"));
  row("CPU", r.cpu_model + " [" + r.cpu_simd + "]");
  row("hardware threads", std::to_string(r.hardware_threads));
  row("torch intra-op threads", std::to_string(r.torch_threads));
  row("BLAS", r.blas_kind + " " + r.blas_library);
  if (r.blas_kind == "openblas") {
    row("OpenBLAS core", r.openblas_corename + (r.openblas_coretype_env.empty()
                                                     ? ""
                                                     : " (OPENBLAS_CORETYPE=" + r.openblas_coretype_env + ")"));
    row("OpenBLAS threads", std::to_string(r.openblas_threads));
    row("OpenBLAS config", r.openblas_config);
  }
  row("SGEMM", fmt::format("{:.1f} GFLOP/s ({}x{} float32, torch::mm)", r.sgemm_gflops, r.sgemm_size, r.sgemm_size));
  for (const auto& w : r.warnings) s += "WARNING: " + w + "\n";
  if (r.warnings.empty()) s += "no problems found\n";
  return s;
}

std::string doctor_json(const DoctorReport& r) {
  nlohmann::json j;
  j["radclear"] = r.radclear_version;
  j["versions"] = {{"libtorch", r.torch_version}, {"opencv", r.opencv_version}, {"hdf5", r.hdf5_version},
                   {"rocksdb", r.rocksdb_version}, {"zeromq", r.zeromq_version}, {"mpi", r.mpi_version}};
  j["nccl"] = {{"compiled", r.nccl_compiled}, {"version", r.nccl_version}};
  j["cuda"] = {{"torch_has_cuda", r.torch_has_cuda}, {"gpus", r.gpus_seen}};
  j["cpu"] = {{"model", r.cpu_model}, {"simd", r.cpu_simd}, {"hardware_threads", r.hardware_threads}};
  j["threads"] = {{"torch_intra_op", r.torch_threads}, {"openblas", r.openblas_threads}};
  j["blas"] = {{"kind", r.blas_kind},
               {"library", r.blas_library},
               {"openblas_corename", r.openblas_corename},
               {"openblas_config", r.openblas_config},
               {"openblas_coretype_env", r.openblas_coretype_env}};
  j["sgemm"] = {{"gflops", r.sgemm_gflops}, {"size", r.sgemm_size}};
  j["warnings"] = r.warnings;
  return j.dump(2);
}

}  // namespace radclear::cli
