#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "common/progress.h"
#include "common/yaml_fields.h"
#include "data/synth.h"

namespace radclear::cli {

Runner setup_synth(CLI::App& app) {
  struct Flags {
    data::SynthSpec spec;
    std::string config;
    bool quiet = false;
  };
  auto f = std::make_shared<Flags>();
  app.add_option("--out", f->spec.out, "Output directory (created; must be empty unless --force)")->required();
  app.add_option("--config", f->config, "YAML file with these settings; flags given here override it");
  app.add_option("--patients", f->spec.patients, "Number of patients")->capture_default_str();
  app.add_option("--studies-per-patient", f->spec.studies_per_patient, "CT studies per patient")->capture_default_str();
  app.add_option("--slices", f->spec.slices, "Axial slices per study (1..999)")->capture_default_str();
  app.add_option("--size", f->spec.size, "Slice width and height in pixels")->capture_default_str();
  app.add_option("--max-lesions", f->spec.max_lesions_per_study, "Lesions per study: 1..N")->capture_default_str();
  app.add_option("--seed", f->spec.seed, "Random seed; same seed, same bytes")->capture_default_str();
  app.add_option("--threads", f->spec.threads, "Worker threads (0 = all cores)")->capture_default_str();
  app.add_flag("--force", f->spec.force, "Write into a non-empty directory, replacing earlier synth outputs");
  app.add_flag("--quiet", f->quiet, "No progress bar");
  app.footer(
      "Example:\n  radclear synth --out data/synth --patients 20 --studies-per-patient 2 --slices 64 --size 512\n"
      "Writes Images_png/<patient>_<study>_<series>/<slice>.png (16-bit, HU + 32768), DL_info.csv,\n"
      "lesions.csv and clinical.csv (CLEAR formats) and synth.yaml.");
  return [f, &app] {
    data::SynthSpec spec = f->spec;
    if (!f->config.empty()) {
      // Config first, then any flag given on the command line wins.
      data::SynthSpec from_file;
      from_file.merge_yaml(load_yaml_file(f->config), f->config);
      auto given = [&app](const char* flag) { return app.count(flag) > 0; };
      if (!given("--patients")) spec.patients = from_file.patients;
      if (!given("--studies-per-patient")) spec.studies_per_patient = from_file.studies_per_patient;
      if (!given("--slices")) spec.slices = from_file.slices;
      if (!given("--size")) spec.size = from_file.size;
      if (!given("--max-lesions")) spec.max_lesions_per_study = from_file.max_lesions_per_study;
      if (!given("--seed")) spec.seed = from_file.seed;
      if (!given("--threads")) spec.threads = from_file.threads;
    }
    spec.validate();
    ProgressBar bar(static_cast<int64_t>(spec.patients) * spec.studies_per_patient * spec.slices,
                    {"synth", "slices", !f->quiet});
    int64_t last = 0;
    const auto summary = data::generate_synth(spec, [&](int, int64_t slices_done) {
      bar.advance(slices_done - last);
      last = slices_done;
    });
    bar.finish();
    std::cout << "wrote " << spec.out.string() << "\n" << summary.to_text();
    return 0;
  };
}

}  // namespace radclear::cli
