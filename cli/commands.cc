#include "cli/command.h"

namespace radclear::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"quickstart", "The whole pipeline on generated data: synth, index, pretrain, extract, crossval", &setup_quickstart},
      {"synth", "Generate a DeepLesion-style synthetic CT data set", &setup_synth},
      {"index", "Index a DeepLesion or CLEAR data root, DICOM series or NIfTI volumes into the RocksDB slice index", &setup_index},
      {"convert", "Write an index's DICOM/NIfTI slices as DeepLesion PNGs (convert --to deeplesion)", &setup_convert},
      {"index-stats", "Counts of patients, studies, slices and lesions in a slice index", &setup_index_stats},
      {"bench", "Measure throughput: bench loader, step, extract, pretrain, coordinator", &setup_bench},
      {"pretrain", "LeCL pretraining (MoCo v3 + lesion negatives), one process or under mpirun", &setup_pretrain},
      {"extract", "Embed every slice of every study with a trained encoder: one HDF5 file per study", &setup_extract},
      {"features-stats", "Feature sets in a slice index and how many of their studies are finished", &setup_features_stats},
      {"crossval", "Attention-MIL cross-validation on study features: folds, training, stats, plots", &setup_crossval},
      {"deploy", "Run the fold models of a crossval run on an external test set, plus their ensemble", &setup_deploy},
      {"coordinator", "The job scheduler: RocksDB job table, leases, ZeroMQ endpoint for workers and clients", &setup_coordinator},
      {"worker", "Serve a coordinator: the ranks of this mpirun/srun world run the jobs it leases", &setup_worker},
      {"submit", "Send a sweep (trials of pretrain, extract, crossval) to a running coordinator", &setup_submit},
      {"run", "Run a sweep on this machine: coordinator and one worker group in one process tree", &setup_run},
      {"status", "Sweeps, trials and jobs: state, group, progress, ETA, attempts, errors", &setup_status},
      {"cancel", "Cancel a job, trial or sweep and what depends on it", &setup_cancel},
      {"retry", "Queue failed or cancelled jobs of a job, trial or sweep again", &setup_retry},
      {"doctor", "Check this node: library versions, BLAS, threads, GPUs, SGEMM speed", &setup_doctor},
  };
  return table;
}

}  // namespace radclear::cli
