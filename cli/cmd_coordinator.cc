// `radclear coordinator`: the scheduler daemon (coordinator/server.h), the
// only writer of its RocksDB. Runs until SIGINT/SIGTERM.
#include <csignal>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "coordinator/server.h"

namespace radclear::cli {

namespace {

std::atomic<bool> g_stop{false};
void request_stop(int) { g_stop = true; }

int fail(const Status& s) {
  spdlog::error("{}", s.to_string());
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kFailedPrecondition ? 2 : 1;
}

}  // namespace

Runner setup_coordinator(CLI::App& app) {
  struct Flags {
    coordinator::CoordinatorOptions options;
    double lease_ttl_s = 30;
    std::string curve_keys, make_keys;
  };
  auto f = std::make_shared<Flags>();
  app.add_option("--db", f->options.db, "The coordinator's RocksDB directory (jobs, leases, sweeps); created when missing");
  app.add_option("--bind", f->options.bind, "ZeroMQ endpoint; non-loopback needs --curve-keys")->capture_default_str();
  app.add_option("--lease-ttl", f->lease_ttl_s, "Seconds a lease lives without a heartbeat")->capture_default_str();
  app.add_option("--max-attempts", f->options.scheduler.default_max_attempts, "Leases per job before it is FAILED")
      ->capture_default_str();
  app.add_option("--curve-keys", f->curve_keys, "This coordinator's CURVE key file (public + secret)");
  app.add_option("--authorized-keys", f->options.authorized_keys,
                 "Client public keys it admits: lines '<key> <read|worker|admin>'");
  app.add_option("--make-keys", f->make_keys, "Write a new CURVE key pair to this file and exit");
  app.footer(
      "Examples:\n"
      "  radclear coordinator --db runs/coord.db --bind tcp://127.0.0.1:5555\n"
      "  radclear coordinator --make-keys coord.key\n"
      "  radclear coordinator --db runs/coord.db --bind tcp://0.0.0.0:5555 --curve-keys coord.key "
      "--authorized-keys clients.txt\n");
  return [f] {
    if (!f->make_keys.empty()) {
      auto keys = coordinator::make_curve_keys();
      if (!keys.ok()) return fail(keys.status());
      Status s = coordinator::save_curve_keys(f->make_keys, keys.value());
      if (!s.ok()) return fail(s);
      std::cout << "wrote " << f->make_keys << "; public key: " << keys.value().public_key << "\n";
      return 0;
    }
    if (f->options.db.empty()) return fail(Status::InvalidArgument("--db is required"));
    coordinator::CoordinatorOptions options = f->options;
    options.scheduler.lease_ttl_ms = static_cast<int64_t>(f->lease_ttl_s * 1000);
    if (!f->curve_keys.empty()) {
      auto keys = coordinator::load_curve_keys(f->curve_keys);
      if (!keys.ok()) return fail(keys.status());
      options.curve = keys.value();
    }
    auto c = coordinator::Coordinator::Open(options);
    if (!c.ok()) return fail(c.status());
    std::signal(SIGINT, request_stop);
    std::signal(SIGTERM, request_stop);
    Status s = c.value()->Run(g_stop);
    if (!s.ok()) return fail(s);
    spdlog::info("coordinator: stopped");
    return 0;
  };
}

}  // namespace radclear::cli
