#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "cli/doctor.h"

namespace radclear::cli {

Runner setup_doctor(CLI::App& app) {
  struct Flags {
    bool json = false;
    double seconds = 2.0;
  };
  auto flags = std::make_shared<Flags>();
  app.add_flag("--json", flags->json, "Print the report as JSON");
  app.add_option("--sgemm-seconds", flags->seconds, "How long to measure SGEMM")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 60.0));
  return [flags] {
    DoctorReport report;
    collect_system_info(report);
    collect_torch_info(report, flags->seconds);
    add_warnings(report);
    std::cout << (flags->json ? doctor_json(report) + "\n" : doctor_text(report));
    return 0;
  };
}

}  // namespace radclear::cli
