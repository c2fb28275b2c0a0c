#include "storage/checkpoint/optimizer_state.h"

#include <torch/optim/adamw.h>

#include <memory>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/check.h"

namespace radclear::storage {
namespace {

std::string state_key(const at::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }

std::string shape(const at::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

}  // namespace

PyValue adamw_state_to_py(const torch::optim::AdamW& optimizer) {
  PyValue state = PyValue::dict();
  PyValue groups = PyValue::list();
  int64_t index = 0;
  for (const auto& group : optimizer.param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    PyValue g = PyValue::dict();
    g.set("lr", PyValue::real(o.lr()));
    g.set("betas", PyValue::tuple({PyValue::real(std::get<0>(o.betas())), PyValue::real(std::get<1>(o.betas()))}));
    g.set("eps", PyValue::real(o.eps()));
    g.set("weight_decay", PyValue::real(o.weight_decay()));
    g.set("amsgrad", PyValue::boolean(o.amsgrad()));
    g.set("foreach", PyValue::none());
    g.set("maximize", PyValue::boolean(false));
    g.set("capturable", PyValue::boolean(false));
    PyValue params = PyValue::list();
    for (const auto& p : group.params()) {
      params.append(PyValue::integer(index));
      const auto it = optimizer.state().find(state_key(p));
      if (it != optimizer.state().end()) {
        const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
        PyValue entry = PyValue::dict();
        entry.set("step", PyValue::tensor(torch::tensor(static_cast<float>(s.step()))));
        entry.set("exp_avg", PyValue::tensor(s.exp_avg()));
        entry.set("exp_avg_sq", PyValue::tensor(s.exp_avg_sq()));
        if (s.max_exp_avg_sq().defined()) entry.set("max_exp_avg_sq", PyValue::tensor(s.max_exp_avg_sq()));
        state.set(PyValue::integer(index), std::move(entry));
      }
      ++index;
    }
    g.set("params", std::move(params));
    groups.append(std::move(g));
  }
  PyValue out = PyValue::dict();
  out.set("state", std::move(state));
  out.set("param_groups", std::move(groups));
  return out;
}

void adamw_state_from_py(torch::optim::AdamW& optimizer, const PyValue& value, const std::string& what) {
  auto fail = [&](const std::string& msg) { throw CorruptData(fmt::format("{}: optimizer state: {}", what, msg)); };
  if (!value.is_dict() || !value.find(std::string("state")) || !value.find(std::string("param_groups"))) {
    fail(fmt::format("expected {{'state', 'param_groups'}}, found {}", value.repr()));
  }
  const PyValue& state = value.at("state");
  const PyValue& groups = value.at("param_groups");
  if (!state.is_dict() || groups.kind() != PyValue::Kind::kList) fail("malformed 'state' or 'param_groups'");
  auto& own_groups = optimizer.param_groups();
  if (groups.size() != own_groups.size()) {
    fail(fmt::format("{} parameter groups saved, optimizer has {}", groups.size(), own_groups.size()));
  }

  // Validate everything first, then apply.
  struct Pending {
    at::Tensor param;
    std::unique_ptr<torch::optim::AdamWParamState> state;
  };
  std::vector<Pending> pending;
  std::vector<torch::optim::AdamWOptions> options;
  for (size_t gi = 0; gi < own_groups.size(); ++gi) {
    const PyValue& g = groups.items()[gi];
    const auto& params = own_groups[gi].params();
    try {
      if (g.at("params").size() != params.size()) {
        fail(fmt::format("group {} has {} parameters saved, optimizer has {}", gi, g.at("params").size(),
                         params.size()));
      }
      const auto& betas = g.at("betas").items();
      if (betas.size() != 2) fail(fmt::format("group {}: betas must have 2 values", gi));
      torch::optim::AdamWOptions o(g.at("lr").as_float());
      o.betas({betas[0].as_float(), betas[1].as_float()});
      o.eps(g.at("eps").as_float());
      o.weight_decay(g.at("weight_decay").as_float());
      o.amsgrad(g.at("amsgrad").as_bool());
      options.push_back(o);
      for (size_t j = 0; j < params.size(); ++j) {
        const PyValue& idx = g.at("params").items()[j];
        const PyValue* s = state.find(idx);
        if (s == nullptr) continue;  // never stepped (no grad yet, or frozen)
        const at::Tensor& p = params[j];
        auto ps = std::make_unique<torch::optim::AdamWParamState>();
        const PyValue& step = s->at("step");
        ps->step(step.kind() == PyValue::Kind::kTensor ? static_cast<int64_t>(step.as_tensor().item<double>())
                                                        : static_cast<int64_t>(step.as_float()));
        auto moment = [&](const char* name) {
          const at::Tensor& t = s->at(name).as_tensor();
          if (t.sizes() != p.sizes()) {
            fail(fmt::format("parameter {} ({}): {} has shape {}, the parameter {}", idx.repr(), j, name,
                             shape(t), shape(p)));
          }
          return t.to(p.options()).clone();
        };
        ps->exp_avg(moment("exp_avg"));
        ps->exp_avg_sq(moment("exp_avg_sq"));
        if (s->find(std::string("max_exp_avg_sq"))) ps->max_exp_avg_sq(moment("max_exp_avg_sq"));
        pending.push_back({p, std::move(ps)});
      }
    } catch (const InvalidArgument& e) {
      fail(fmt::format("group {}: {}", gi, e.what()));
    } catch (const NotFound& e) {
      fail(fmt::format("group {}: {}", gi, e.what()));
    }
  }
  for (size_t gi = 0; gi < own_groups.size(); ++gi) {
    static_cast<torch::optim::AdamWOptions&>(own_groups[gi].options()) = options[gi];
  }
  optimizer.state().clear();
  for (auto& p : pending) optimizer.state()[state_key(p.param)] = std::move(p.state);
}

}  // namespace radclear::storage
