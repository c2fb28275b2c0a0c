#pragma once
// The two LeCL views of a slice (reference.md §2).
//  - Slice without a lesion box: two independent RandomResizedCrop(out,
//    scale = (crop_min, 1)) views.
//  - Slice with a lesion box: view 2 ("t") is a crop around the lesion,
//    width and height each drawn uniformly in [sqrt(crop_min) * side, side),
//    placed so that the box lies inside the crop when it fits (the crop
//    origin is uniform over those positions, so it is centred on the box on
//    average; a box larger than the crop gets a crop centred on it), padded
//    with air outside the image and resized to out x out; view 1 ("s") is
//    the whole slice resized to out x out. The reference centres the crop on
//    the box corner (x1, y2); that bug is not reproduced. A slice with
//    several boxes uses one of them, drawn uniformly.
// View 1 then goes through augmentation 1, view 2 through augmentation 2.
#include <opencv2/core/mat.hpp>

#include "data/rng.h"
#include "data/sample.h"
#include "data/transforms.h"

namespace radclear::data {

struct LeclViewSpec {
  int out_size = 224;     // output side, pixels
  double crop_min = 0.08;  // RandomResizedCrop minimum area fraction
  AugmentSpec aug1 = augmentation1();
  AugmentSpec aug2 = augmentation2();
  Normalization norm;
};

// The views for `out_size` px outputs. MoCo v3's blur sigmas (0.1-2 px) are
// for 224 px views: they scale by out_size / 224, so the blur stays the same
// relative to the view (2 px wipes out the few-pixel lesions of a 96 px view).
LeclViewSpec lecl_view_spec(int out_size, double crop_min = 0.08);

// Origin of a crop of length `len` on an axis holding the box [lo, hi]:
// uniform over the positions that keep the box inside when it fits, else
// centred on the box.
int box_crop_origin(double lo, double hi, int len, SampleRng& rng);

// Integer crop rectangle for the lesion view of a height x width slice; may
// extend outside the image.
cv::Rect lesion_crop_rect(int height, int width, const LesionBox& box, double crop_min, SampleRng& rng);

// img(rect), with the part of `rect` outside `img` filled with `fill` (any
// pixel type: -1024 pads a HU slice with air).
cv::Mat crop_with_fill(const cv::Mat& img, const cv::Rect& rect, double fill);

struct ViewGeometry {
  bool lesion_views = false;  // lesion crop + whole slice, else two random crops
  cv::Rect crop1, crop2;      // source rectangles of view 1 and view 2
};

// Makes both views of an 8-bit slice (CV_8UC1 or CV_8UC3) and writes them
// normalised as 3 x out x out float32 CHW into view1 / view2. `air` is the
// 8-bit value of air for padding. Draws everything from `rng`.
ViewGeometry make_lecl_views(const cv::Mat& img8, uint8_t air, const SliceSample& sample, const LeclViewSpec& spec,
                             SampleRng& rng, float* view1, float* view2);

}  // namespace radclear::data
