#pragma once
// torch::optim::AdamW state <-> Python's optimizer.state_dict() layout:
//   {'state': {index: {'step': tensor(float), 'exp_avg': T, 'exp_avg_sq': T
//                      [, 'max_exp_avg_sq': T]}},
//    'param_groups': [{'lr', 'betas': (b1, b2), 'eps', 'weight_decay',
//                      'amsgrad', 'foreach': None, 'maximize': False,
//                      'capturable': False, 'params': [index, ...]}]}
// Indexes count parameters across the groups in order, as Python does, so
// the C++ optimizer must hold the parameters in the order the Python
// optimizer got them (model.parameters(): MoCo registers its submodules in
// Python's order for this).
#include <string>

#include "storage/checkpoint/py_value.h"

namespace torch::optim {
class AdamW;
}

namespace radclear::storage {

PyValue adamw_state_to_py(const torch::optim::AdamW& optimizer);

// Replaces `optimizer`'s hyper-parameters and per-parameter state with
// `state`. Throws CorruptData naming `what` when the group or parameter
// counts differ or a moment's shape differs from its parameter's; nothing is
// changed then.
void adamw_state_from_py(torch::optim::AdamW& optimizer, const PyValue& state, const std::string& what);

}  // namespace radclear::storage
