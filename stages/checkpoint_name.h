#pragma once
// The file name of a MoCo checkpoint, torch-free: the trainer writes it
// (storage/checkpoint uses this one definition) and the coordinator names
// a pretrain job's final checkpoint as an extract job's input before the
// file exists.
#include <cstdint>
#include <filesystem>
#include <string>

namespace radclear::stages {

struct PretrainSpec;

// "{arch}-moco-lecl-1-{name}-checkpoint_{epoch:04d}.pth.tar"; throws
// InvalidArgument for an empty arch/name, a '/' in them or a negative epoch.
std::string moco_checkpoint_file_name(const std::string& arch, const std::string& name, int64_t epoch);

// The checkpoint a finished run of `spec` leaves: out / name at spec.epochs.
std::filesystem::path final_checkpoint(const PretrainSpec& spec);

}  // namespace radclear::stages
