#include "coordinator/auth.h"

#include <sys/stat.h>

#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

namespace radclear::coordinator {

bool is_loopback_endpoint(const std::string& endpoint) {
  if (endpoint.rfind("ipc://", 0) == 0 || endpoint.rfind("inproc://", 0) == 0) return true;
  static const std::regex kTcp(R"(^tcp://(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):(\d+|\*)$)");
  return std::regex_match(endpoint, kTcp);
}

Result<CurveKeys> make_curve_keys() {
  if (!zmq_has("curve")) return Status::Internal("this libzmq was built without CURVE (libsodium)");
  char pub[41] = {}, sec[41] = {};
  if (zmq_curve_keypair(pub, sec) != 0)
    return Status::Internal(fmt::format("zmq_curve_keypair: {}", zmq_strerror(zmq_errno())));
  return CurveKeys{pub, sec};
}

Status save_curve_keys(const std::filesystem::path& path, const CurveKeys& keys) {
  {
    std::ofstream out(path, std::ios::trunc);
    if (!out) return Status::IoError(fmt::format("cannot write {}", path.string()));
    out << "# radclear coordinator CURVE keys; keep the secret to yourself\n";
    out << "public: \"" << keys.public_key << "\"\n";
    if (!keys.secret_key.empty()) out << "secret: \"" << keys.secret_key << "\"\n";
    if (!out.flush()) return Status::IoError(fmt::format("cannot write {}", path.string()));
  }
  if (chmod(path.c_str(), 0600) != 0) return Status::IoError(fmt::format("chmod 0600 {}", path.string()));
  return Status::Ok();
}

Result<CurveKeys> load_curve_keys(const std::filesystem::path& path) {
  try {
    const YAML::Node n = YAML::LoadFile(path.string());
    CurveKeys k;
    k.public_key = n["public"].as<std::string>("");
    k.secret_key = n["secret"].as<std::string>("");
    if (k.public_key.size() != 40 || (!k.secret_key.empty() && k.secret_key.size() != 40))
      return Status::InvalidArgument(
          fmt::format("{}: 'public' (and 'secret' if present) must be 40-character Z85 CURVE keys", path.string()));
    return k;
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("{}: not a key file: {}", path.string(), e.what()));
  }
}

const char* role_name(Role r) {
  switch (r) {
    case Role::kRead: return "read";
    case Role::kWorker: return "worker";
    case Role::kAdmin: return "admin";
  }
  return "?";
}

std::optional<Role> parse_role(const std::string& name) {
  if (name == "read") return Role::kRead;
  if (name == "worker") return Role::kWorker;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

Result<std::map<std::string, Role>> load_authorized_keys(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("cannot read authorized keys {}", path.string()));
  std::map<std::string, Role> out;
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    // '#' is also a Z85 digit: a first word of 40 characters is a key even
    // when it starts with '#'; anything else starting with '#' is a comment.
    std::istringstream fields(line);
    std::string key, role_text;
    if (!(fields >> key) || (key[0] == '#' && key.size() != 40)) continue;
    fields >> role_text;
    const auto role = parse_role(role_text.empty() ? "worker" : role_text);
    if (key.size() != 40 || !role)
      return Status::InvalidArgument(fmt::format(
          "{}:{}: expected '<40-character Z85 public key> <read|worker|admin>'", path.string(), lineno));
    out[key] = *role;
  }
  return out;
}

ZapHandler::ZapHandler(zmq::context_t& ctx, std::map<std::string, Role> authorized)
    : sock_(std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::rep)), authorized_(std::move(authorized)) {
  sock_->set(zmq::sockopt::linger, 0);
  sock_->bind("inproc://zeromq.zap.01");
}

ZapHandler::~ZapHandler() = default;

zmq::socket_t& ZapHandler::socket() { return *sock_; }

void ZapHandler::HandleOne() {
  std::vector<zmq::message_t> req;
  if (!zmq::recv_multipart(*sock_, std::back_inserter(req), zmq::recv_flags::dontwait)) return;
  // version, request id, domain, address, identity, mechanism, credentials...
  const std::string version = req.size() > 0 ? req[0].to_string() : "";
  const std::string request_id = req.size() > 1 ? req[1].to_string() : "";
  const std::string address = req.size() > 3 ? req[3].to_string() : "?";
  const std::string mechanism = req.size() > 5 ? req[5].to_string() : "";
  std::string status = "400", text = "unknown key", user;
  if (version == "1.0" && mechanism == "CURVE" && req.size() > 6 && req[6].size() == 32) {
    char z85[41] = {};
    zmq_z85_encode(z85, static_cast<const uint8_t*>(req[6].data()), 32);
    auto it = authorized_.find(z85);
    if (it != authorized_.end()) {
      status = "200";
      text = "OK";
      user = role_name(it->second);
    } else {
      spdlog::warn("coordinator: refused CURVE key {} from {}: not in the authorized keys", z85, address);
    }
  } else {
    text = "CURVE required";
  }
  (status == "200" ? admitted_ : denied_)++;
  std::array<zmq::const_buffer, 6> reply = {zmq::buffer(version), zmq::buffer(request_id), zmq::buffer(status),
                                            zmq::buffer(text), zmq::buffer(user), zmq::const_buffer()};
  zmq::send_multipart(*sock_, reply);
}

}  // namespace radclear::coordinator
