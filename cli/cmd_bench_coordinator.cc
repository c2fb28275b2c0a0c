// `radclear bench coordinator`: issue 20's three speed targets on this
// machine, through ZeroMQ to a served coordinator with a real, synced job
// table (coordinator/synthetic_load.h): durable job state transitions/s
// (target >= 10,000), `status` latency with 100,000 jobs (< 50 ms), and the
// coordinator's CPU for 1,000 workers heartbeating every 5 s (< 5% of a
// core). The clients run on the same cores as the coordinator, so on a
// small machine the transitions figure is a lower bound.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "cli/exit_code.h"
#include "coordinator/synthetic_load.h"

namespace radclear::cli {

namespace fs = std::filesystem;

Runner setup_bench_coordinator(CLI::App& app) {
  struct Flags {
    std::vector<int> clients = {8, 32};
    int jobs_per_client = 200;
    int64_t status_jobs = 100000;
    int workers = 1000;
    double heartbeat_s = 5;
    double heartbeat_seconds = 10;
    fs::path dir = fs::temp_directory_path();
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  app.add_option("--clients", f->clients, "Worker groups (client threads) for the transitions load, one run each")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--jobs-per-client", f->jobs_per_client, "Jobs each client finishes")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--status-jobs", f->status_jobs, "Jobs in the table for the status latency")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1000}, int64_t{10000000}));
  app.add_option("--workers", f->workers, "Heartbeating workers")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--heartbeat", f->heartbeat_s, "Seconds between one worker's heartbeats")->capture_default_str();
  app.add_option("--heartbeat-seconds", f->heartbeat_seconds, "How long to measure the heartbeat load")
      ->capture_default_str();
  app.add_option("--dir", f->dir, "Where the scratch job tables go (fsync speed is the disk's)")->capture_default_str();
  app.add_flag("--json", f->json, "Print the figures as JSON");
  app.footer(
      "Example:\n"
      "  radclear bench coordinator --clients 8,32,128 --dir /scratch/$USER");
  return [f] {
    auto scratch = [&](const char* what) { return f->dir / fmt::format("radclear_bench_coord_{}_{}", what, ::getpid()); };
    nlohmann::json out;
    out["transitions"] = nlohmann::json::array();
    for (int clients : f->clients) {
      for (bool next : {false, true}) {
        spdlog::info("transitions: {} clients, {}", clients, next ? "done leases the next job" : "lease, then done");
        auto fig = coordinator::measure_transitions(scratch("transitions"), clients, f->jobs_per_client, next);
        if (!fig.ok()) {
          spdlog::error("{}", fig.status().to_string());
          return exit_code(fig.status());
        }
        const auto& v = fig.value();
        out["transitions"].push_back({{"clients", clients},
                                      {"done_leases_next", next},
                                      {"transitions", v.transitions},
                                      {"seconds", v.seconds},
                                      {"per_second", v.per_second},
                                      {"loop_cpu_per_second", v.loop_cpu_per_second},
                                      {"records_per_commit", v.records_per_commit}});
        if (!f->json)
          std::cout << fmt::format(
              "transitions  {:>4} clients  {:<17} {:>8.0f}/s durable  ({} in {:.2f} s; {:.1f} records per fsync; "
              "the coordinator thread alone could do {:.0f}/s)\n",
              clients, next ? "done+next lease" : "lease, done", v.per_second, v.transitions, v.seconds,
              v.records_per_commit, v.loop_cpu_per_second);
      }
    }
    spdlog::info("status: {} jobs", f->status_jobs);
    auto st = coordinator::measure_status(scratch("status"), f->status_jobs, 9);
    if (!st.ok()) {
      spdlog::error("{}", st.status().to_string());
      return exit_code(st.status());
    }
    out["status"] = {{"jobs", st.value().jobs},
                     {"all_ms", st.value().served_ms},
                     {"sweep_ms", st.value().sweep_ms},
                     {"trial_ms", st.value().trial_ms}};
    if (!f->json)
      std::cout << fmt::format("status       {} jobs: whole table {:.1f} ms, one sweep {:.1f} ms, one trial {:.2f} ms "
                               "(median of 9, over ZeroMQ)\n",
                               st.value().jobs, st.value().served_ms, st.value().sweep_ms, st.value().trial_ms);
    spdlog::info("heartbeats: {} workers every {} s for {} s", f->workers, f->heartbeat_s, f->heartbeat_seconds);
    auto hb = coordinator::measure_heartbeats(scratch("heartbeats"), f->workers, f->heartbeat_s, f->heartbeat_seconds);
    if (!hb.ok()) {
      spdlog::error("{}", hb.status().to_string());
      return exit_code(hb.status());
    }
    out["heartbeats"] = {{"workers", hb.value().workers},
                         {"period_s", hb.value().period_s},
                         {"beats", hb.value().beats},
                         {"seconds", hb.value().seconds},
                         {"coordinator_core_share", hb.value().loop_core_share},
                         {"process_core_share", hb.value().process_core_share}};
    if (f->json) {
      std::cout << out.dump(2) << "\n";
    } else {
      std::cout << fmt::format("heartbeats   {} workers every {} s: {} beats in {:.1f} s; coordinator thread {:.2f}% "
                               "of a core (whole process, clients and ZeroMQ I/O included: {:.2f}%)\n",
                               hb.value().workers, hb.value().period_s, hb.value().beats, hb.value().seconds,
                               100 * hb.value().loop_core_share, 100 * hb.value().process_core_share);
    }
    return kExitOk;
  };
}

}  // namespace radclear::cli
