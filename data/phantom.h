#pragma once
// A procedural torso phantom: the anatomy of one synthetic CT study and its
// lesions, rendered slice by slice in Hounsfield units. Everything derives
// from (seed, patient, study), so rendering is deterministic and any slice
// can be re-rendered on its own (tests do, to check boxes against pixels).
#include <array>
#include <cstdint>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace radclear::data {

// Patient-level attributes shared by all studies of a patient.
struct PhantomPatient {
  int index = 1;              // 1-based, DeepLesion Patient_index
  bool female = false;
  int age = 50;
  double body_scale = 1.0;    // overall size
  double body_length_mm = 520;
  double fat_mm = 15;         // subcutaneous fat thickness
  uint64_t anatomy_seed = 0;  // organ jitter and bowel layout
};

// A lesion as an ellipsoid in study coordinates.
struct PhantomLesion {
  int coarse_type = 1;          // 1..8, DeepLesion Coarse_lesion_type
  double cx_px = 0, cy_px = 0;  // in-plane centre, pixels
  double z_slice = 0;           // centre along z, in slice units (0-based)
  double ra_px = 1, rb_px = 1;  // in-plane semi-axes, pixels, ra >= rb
  double rz_slices = 1;         // z semi-axis, in slices
  double angle_deg = 0;         // in-plane rotation of the long axis
  float hu = 0;                 // lesion attenuation
  int key_slice = 0;            // 0-based slice with the largest section
  double t_body = 0;            // body position of the centre, 0 apex .. 1 pelvis
};

// One study: geometry plus lesions.
struct PhantomStudy {
  PhantomPatient patient;
  int study = 1;                // 1-based, DeepLesion Study_index
  int slices = 64;
  int size = 512;
  double pixel_mm = 0.8;        // in-plane spacing
  double slice_mm = 5.0;        // z spacing
  double t_first = 0, t_last = 1;  // body range covered (0 apex .. 1 pelvis)
  uint64_t noise_seed = 0;
  std::vector<PhantomLesion> lesions;

  double t_of_slice(int k) const;
};

PhantomPatient make_phantom_patient(uint64_t seed, int patient_index);
// Lays out a study and places 1..max_lesions lesions, each inside its own
// host anatomy.
PhantomStudy make_phantom_study(uint64_t seed, const PhantomPatient& patient, int study_index, int slices,
                                int size, int max_lesions);

struct RenderedSlice {
  cv::Mat hu;      // CV_32F holding whole Hounsfield units in [-1024, 3071]
  cv::Mat labels;  // CV_8U, 0 = no lesion, i + 1 = study.lesions[i]
};

// Renders slice k (0-based). `with_lesions = false` gives the same slice,
// same noise, without lesions.
RenderedSlice render_phantom_slice(const PhantomStudy& study, int k, bool with_lesions = true);

// Tight box [x1, y1, x2, y2] (inclusive pixel indices) of lesion i on its key
// slice, from the rendered label map. Empty box -> all -1.
std::array<double, 4> lesion_box(const RenderedSlice& key_slice, int lesion_index);

}  // namespace radclear::data
