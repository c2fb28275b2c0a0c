#include "data/lecl_views.h"

#include <algorithm>
#include <cmath>

#include <opencv2/core.hpp>

#include "common/check.h"
#include "data/resize.h"

namespace radclear::data {

int box_crop_origin(double lo, double hi, int len, SampleRng& rng) {
  const int first = static_cast<int>(std::ceil(hi)) - len;  // crop end >= hi
  const int last = static_cast<int>(std::floor(lo));        // crop start <= lo
  if (first <= last) return static_cast<int>(rng.uniform_int(first, last));
  return static_cast<int>(std::lround((lo + hi) / 2.0 - len / 2.0));
}

LeclViewSpec lecl_view_spec(int out_size, double crop_min) {
  LeclViewSpec spec;
  spec.out_size = out_size;
  spec.crop_min = crop_min;
  for (AugmentSpec* aug : {&spec.aug1, &spec.aug2}) {
    aug->blur_sigma_min *= out_size / 224.0;
    aug->blur_sigma_max *= out_size / 224.0;
  }
  return spec;
}

cv::Rect lesion_crop_rect(int height, int width, const LesionBox& box, double crop_min, SampleRng& rng) {
  RADCLEAR_CHECK(crop_min > 0 && crop_min <= 1, "crop_min {} not in (0, 1]", crop_min);
  const double f = std::sqrt(crop_min);
  const int w = std::max(1, static_cast<int>(rng.uniform(f * width, width)));
  const int h = std::max(1, static_cast<int>(rng.uniform(f * height, height)));
  const int x0 = box_crop_origin(box.x1, box.x2, w, rng);
  const int y0 = box_crop_origin(box.y1, box.y2, h, rng);
  return {x0, y0, w, h};
}

cv::Mat crop_with_fill(const cv::Mat& img, const cv::Rect& rect, double fill) {
  const cv::Rect inside = rect & cv::Rect(0, 0, img.cols, img.rows);
  if (inside == rect) return img(rect);
  cv::Mat out(rect.size(), img.type(), cv::Scalar::all(fill));
  if (inside.area() > 0) img(inside).copyTo(out(inside - rect.tl()));
  return out;
}

ViewGeometry make_lecl_views(const cv::Mat& img8, uint8_t air, const SliceSample& sample, const LeclViewSpec& spec,
                             SampleRng& rng, float* view1, float* view2) {
  RADCLEAR_CHECK(img8.type() == CV_8UC1 || img8.type() == CV_8UC3, "{}: views need an 8-bit image, got type {}",
                 sample.path, img8.type());
  const int out = spec.out_size;
  const cv::Size out_size(out, out);
  ViewGeometry g;
  cv::Mat v1, v2;
  if (!sample.boxes.empty()) {
    g.lesion_views = true;
    const LesionBox& box =
        sample.boxes.size() == 1 ? sample.boxes[0]
                                 : sample.boxes[rng.uniform_int(0, static_cast<int64_t>(sample.boxes.size()) - 1)];
    g.crop2 = lesion_crop_rect(img8.rows, img8.cols, box, spec.crop_min, rng);
    g.crop1 = cv::Rect(0, 0, img8.cols, img8.rows);
    v1 = resize_bilinear(img8, out_size);
    v2 = resize_bilinear(crop_with_fill(img8, g.crop2, air), out_size);
  } else {
    RandomResizedCropSpec rrc;
    rrc.scale_min = spec.crop_min;
    for (int i = 0; i < 2; ++i) {
      const CropParams c = random_resized_crop_params(img8.rows, img8.cols, rrc, rng);
      (i == 0 ? g.crop1 : g.crop2) = cv::Rect(c.left, c.top, c.width, c.height);
      (i == 0 ? v1 : v2) = resized_crop(img8, c, out);
    }
  }
  const AugmentDraw d1 = draw_augment(spec.aug1, rng);
  const AugmentDraw d2 = draw_augment(spec.aug2, rng);
  write_normalized(apply_augment(v1, d1), spec.norm, d1.flip, view1);
  write_normalized(apply_augment(v2, d2), spec.norm, d2.flip, view2);
  return g;
}

}  // namespace radclear::data
