#include "data/phantom.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "common/check.h"
#include "data/window.h"

namespace radclear::data {
namespace {

constexpr double kPi = 3.14159265358979323846;

// SplitMix64: a tiny, well-mixed, platform-independent generator. Standard
// library distributions differ between implementations; these do not.
struct Rng {
  uint64_t state;
  explicit Rng(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int integer(int lo, int hi) { return lo + static_cast<int>(uniform() * (hi - lo + 1)); }  // inclusive
};

uint64_t mix(uint64_t a, uint64_t b) { return Rng(a * 0x2545F4914F6CDD1DULL ^ (b + 0x632BE59BD9B4E019ULL)).next(); }

// Smooth 0..1 profile over [t0, t1] with rounded ends: organs grow and
// shrink along z instead of popping in and out.
double profile(double t, double t0, double t1) {
  if (t <= t0 || t >= t1) return 0.0;
  const double u = (t - t0) / (t1 - t0);
  return std::sqrt(std::sin(kPi * u));
}

// An ellipse in millimetres relative to the image centre (y grows posterior).
struct Ellipse {
  double cx, cy, a, b, angle_deg;
};

struct Geometry {
  double ax, ay;        // body half-axes, mm
  double ax_in, ay_in;  // body cavity half-axes, mm
};

Geometry body_at(const PhantomPatient& p, double t) {
  Geometry g;
  g.ax = p.body_scale * (158.0 + 8.0 * std::cos(2 * kPi * t));
  g.ay = p.body_scale * (106.0 + 8.0 * std::sin(kPi * t));
  g.ax_in = g.ax - p.fat_mm - 12.0;
  g.ay_in = g.ay - p.fat_mm - 12.0;
  return g;
}

// Anatomy in fractions of the cavity half-axes; t ranges in body position.
struct Organ {
  double t0, t1;
  double fx, fy;  // centre
  double sx, sy;  // semi-axes
  double angle;
  float hu;
};

constexpr Organ kLungRight{0.0, 0.36, -0.45, -0.05, 0.40, 0.72, 0, -850.f};  // image left = patient right
constexpr Organ kLungLeft{0.0, 0.40, 0.45, -0.05, 0.40, 0.72, 0, -850.f};
constexpr Organ kMediastinum{0.02, 0.40, 0.03, -0.05, 0.20, 0.55, 0, -90.f};
constexpr Organ kHeart{0.18, 0.40, 0.12, -0.15, 0.30, 0.40, 20, 40.f};
constexpr Organ kLiver{0.28, 0.58, -0.38, 0.0, 0.50, 0.70, 0, 60.f};
constexpr Organ kSpleen{0.30, 0.48, 0.55, 0.35, 0.18, 0.30, -30, 50.f};
constexpr Organ kStomach{0.32, 0.47, 0.30, -0.30, 0.25, 0.25, 0, 20.f};
constexpr Organ kKidneyRight{0.44, 0.62, -0.42, 0.45, 0.14, 0.22, 25, 160.f};
constexpr Organ kKidneyLeft{0.44, 0.62, 0.42, 0.45, 0.14, 0.22, -25, 160.f};
constexpr Organ kPsoasRight{0.50, 0.85, -0.22, 0.50, 0.10, 0.14, 0, 50.f};
constexpr Organ kPsoasLeft{0.50, 0.85, 0.22, 0.50, 0.10, 0.14, 0, 50.f};
constexpr Organ kIliacRight{0.72, 0.90, -0.58, 0.25, 0.12, 0.35, 35, 900.f};
constexpr Organ kIliacLeft{0.72, 0.90, 0.58, 0.25, 0.12, 0.35, -35, 900.f};
constexpr Organ kSacrum{0.74, 0.92, 0.0, 0.55, 0.22, 0.14, 0, 400.f};
constexpr Organ kBladder{0.82, 1.0, 0.0, -0.25, 0.22, 0.30, 0, 8.f};
constexpr double kSpineEnd = 0.76;

Ellipse organ_at(const Organ& o, const Geometry& g, double t, double jitter = 0.0) {
  const double p = profile(t, o.t0, o.t1);
  return {o.fx * g.ax_in * (1 + jitter), o.fy * g.ay_in, o.sx * g.ax_in * p, o.sy * g.ay_in * p, o.angle};
}

class Canvas {
 public:
  Canvas(cv::Mat& img, const PhantomStudy& s) : img_(img), s_(s) {}
  double to_px_x(double mm) const { return s_.size * 0.5 + mm / s_.pixel_mm; }
  double to_px_y(double mm) const { return s_.size * 0.5 + mm / s_.pixel_mm; }
  void fill(const Ellipse& e, float value) {
    const double a = e.a / s_.pixel_mm, b = e.b / s_.pixel_mm;
    if (a < 0.5 || b < 0.5) return;
    cv::ellipse(img_, cv::RotatedRect(cv::Point2f(static_cast<float>(to_px_x(e.cx)), static_cast<float>(to_px_y(e.cy))),
                                      cv::Size2f(static_cast<float>(2 * a), static_cast<float>(2 * b)),
                                      static_cast<float>(e.angle_deg)),
                cv::Scalar(value), -1, cv::LINE_8);
  }
  // A bone: cortex of `cortex_mm` around a cancellous core.
  void bone(const Ellipse& e, float cortex_hu, float core_hu, double cortex_mm) {
    fill(e, cortex_hu);
    fill({e.cx, e.cy, e.a - cortex_mm, e.b - cortex_mm, e.angle_deg}, core_hu);
  }

 private:
  cv::Mat& img_;
  const PhantomStudy& s_;
};

Ellipse vertebral_body(const Geometry& g, const PhantomPatient& p) { return {0, 0.55 * g.ay_in, 17 * p.body_scale, 15 * p.body_scale, 0}; }

void draw_anatomy(Canvas& c, const PhantomStudy& s, double t) {
  const PhantomPatient& p = s.patient;
  const Geometry g = body_at(p, t);
  Rng layout(p.anatomy_seed);
  const double jitter = layout.uniform(-0.06, 0.06);

  c.fill({0, 0, g.ax, g.ay, 0}, -100.f);                                        // subcutaneous fat
  c.fill({0, 0, g.ax - p.fat_mm, g.ay - p.fat_mm, 0}, 50.f);                    // muscle wall
  c.fill({0, 0, g.ax_in, g.ay_in, 0}, -70.f);                                   // visceral fat
  for (const Organ* o : {&kLungRight, &kLungLeft}) c.fill(organ_at(*o, g, t), o->hu);
  c.fill(organ_at(kMediastinum, g, t), kMediastinum.hu);
  c.fill(organ_at(kHeart, g, t, jitter), kHeart.hu);
  if (t > 0.05 && t < 0.80) c.fill({0.10 * g.ax_in, 0.30 * g.ay_in, 12, 12, 0}, 45.f);  // aorta
  c.fill(organ_at(kLiver, g, t, jitter), kLiver.hu);
  c.fill(organ_at(kSpleen, g, t), kSpleen.hu);
  const Ellipse stomach = organ_at(kStomach, g, t);
  c.fill(stomach, kStomach.hu);
  c.fill({stomach.cx, stomach.cy - 0.6 * stomach.b, 0.5 * stomach.a, 0.25 * stomach.b, 0}, -1000.f);  // air
  for (const Organ* o : {&kKidneyRight, &kKidneyLeft}) {
    const Ellipse k = organ_at(*o, g, t);
    c.fill(k, o->hu);                                                   // enhancing cortex
    c.fill({k.cx, k.cy, 0.55 * k.a, 0.55 * k.b, k.angle_deg}, 30.f);    // medulla / sinus
  }
  for (const Organ* o : {&kPsoasRight, &kPsoasLeft}) c.fill(organ_at(*o, g, t), o->hu);
  // Bowel loops drift smoothly with z; layout is per patient.
  for (int i = 0; i < 12; ++i) {
    const double u = layout.uniform(-0.55, 0.55), v = layout.uniform(-0.5, 0.3);
    const double r = layout.uniform(9, 18), phase = layout.uniform(0, 2 * kPi);
    const bool air = layout.uniform() < 0.3;
    const double t0 = layout.uniform(0.48, 0.6), t1 = layout.uniform(0.75, 0.9);
    const double pr = profile(t, t0, t1);
    if (pr <= 0) continue;
    const double cx = (u + 0.08 * std::sin(phase + 9 * t)) * g.ax_in;
    const double cy = (v + 0.08 * std::cos(phase + 7 * t)) * g.ay_in;
    c.fill({cx, cy, r * pr, r * pr, 0}, 45.f);
    c.fill({cx, cy, (r - 3) * pr, (r - 3) * pr, 0}, air ? -1000.f : 15.f);
  }
  c.fill(organ_at(kBladder, g, t), kBladder.hu);
  // Skeleton.
  if (t < 0.50) {  // ribs around the chest wall, not at the spine or sternum
    for (int deg = 10; deg < 360; deg += 22) {
      if (std::abs(deg - 90) < 30 || std::abs(deg - 270) < 25) continue;
      const double th = deg * kPi / 180.0;
      const double rx = (g.ax_in + 5) * std::cos(th), ry = (g.ay_in + 5) * std::sin(th);
      c.bone({rx, ry, 7 * profile(t, 0.0, 0.5), 4, static_cast<double>(deg + 90)}, 750.f, 250.f, 1.5);
    }
  }
  if (t > 0.05 && t < 0.35) c.bone({0, -(g.ay_in + 3), 14, 5, 0}, 650.f, 220.f, 1.5);  // sternum
  if (t < kSpineEnd) {
    const Ellipse vb = vertebral_body(g, p);
    // Adult trabecular bone is 100-250 HU; at 230 it saturates the abdomen
    // window like a sclerotic lesion would, hiding such lesions.
    c.bone(vb, 800.f, 160.f, 2.5);
    c.fill({0, vb.cy + vb.b + 8, 7, 7, 0}, 15.f);                        // spinal canal
    c.bone({0, vb.cy + vb.b + 22, 5, 10, 0}, 700.f, 250.f, 1.5);         // spinous process
  }
  c.bone(organ_at(kSacrum, g, t), 750.f, 300.f, 2.0);
  for (const Organ* o : {&kIliacRight, &kIliacLeft}) c.bone(organ_at(*o, g, t), o->hu, 330.f, 2.5);
  if (t > 0.88) {
    for (double side : {-1.0, 1.0}) c.bone({side * 0.55 * g.ax_in, 0.15 * g.ay_in, 22, 22, 0}, 900.f, 330.f, 2.5);
  }
}

// Where a lesion of a coarse type may sit at body position t: a host
// ellipse (mm), the radius range (mm) and the lesion's attenuation.
struct Host {
  Ellipse region;
  double r_min, r_max;
  float hu;
};

// Body positions where each coarse type has its host anatomy (mirrors host_for).
bool host_active(int type, double t) {
  switch (type) {
    case 1: return t < kSpineEnd - 0.02 || (t > 0.75 && t < 0.87);
    case 2: return t >= 0.50 && t <= 0.78;
    case 3: return t >= 0.06 && t <= 0.34;
    case 4: return t >= 0.33 && t <= 0.53;
    case 5: return t >= 0.06 && t <= 0.32;
    case 6: return t >= 0.48 && t <= 0.58;
    case 7: return true;
    case 8: return t >= 0.80 && t <= 0.97;
    default: return false;
  }
}

bool host_for(int type, const PhantomPatient& p, double t, Rng& rng, Host& h) {
  if (!host_active(type, t)) return false;
  const Geometry g = body_at(p, t);
  auto inside = [](const Ellipse& e, double scale) {
    return Ellipse{e.cx, e.cy, e.a * scale, e.b * scale, e.angle_deg};
  };
  switch (type) {
    case 1:  // bone: vertebral body or iliac wing; lytic or sclerotic
      if (t < kSpineEnd - 0.02) {
        h = {inside(vertebral_body(g, p), 0.3), 4, 12, rng.uniform() < 0.5 ? 60.f : 1200.f};
      } else if (t > 0.75 && t < 0.87) {
        h = {inside(organ_at(rng.uniform() < 0.5 ? kIliacLeft : kIliacRight, g, t), 0.4), 4, 11,
             rng.uniform() < 0.5 ? 60.f : 1200.f};
      } else {
        return false;
      }
      return true;
    case 2:  // abdomen: mesenteric / retroperitoneal mass in visceral fat
      if (t < 0.50 || t > 0.78) return false;
      h = {{rng.uniform() < 0.5 ? -0.2 * g.ax_in : 0.2 * g.ax_in, -0.15 * g.ay_in, 0.2 * g.ax_in, 0.25 * g.ay_in, 0},
           8, 30, 45.f};
      return true;
    case 3:  // mediastinum: lymph node in mediastinal fat
      if (t < 0.06 || t > 0.34) return false;
      h = {inside(organ_at(kMediastinum, g, t), 0.5), 5, 18, 40.f};
      return true;
    case 4:  // liver: hypodense lesion
      if (t < 0.33 || t > 0.53) return false;
      h = {inside(organ_at(kLiver, g, t), 0.55), 5, 30, 22.f};
      return true;
    case 5:  // lung: solid nodule
      if (t < 0.06 || t > 0.32) return false;
      h = {inside(organ_at(rng.uniform() < 0.5 ? kLungLeft : kLungRight, g, t), 0.6), 2.5, 15, 30.f};
      return true;
    case 6:  // kidney: hypoenhancing mass or cyst against enhancing cortex
      if (t < 0.48 || t > 0.58) return false;
      h = {inside(organ_at(rng.uniform() < 0.5 ? kKidneyLeft : kKidneyRight, g, t), 0.45), 5, 18, 15.f};
      return true;
    case 7: {  // soft tissue: in the body wall (fat / muscle layer)
      const double th = rng.uniform(0, 2 * kPi);
      const double rr = 1.0 - (p.fat_mm * 0.5 + 6) / g.ax;
      h = {{rr * g.ax * std::cos(th), rr * g.ay * std::sin(th), 4, 4, 0}, 5, 22, 45.f};
      return true;
    }
    case 8:  // pelvis: pelvic side-wall node or mass
      if (t < 0.80 || t > 0.97) return false;
      h = {{rng.uniform() < 0.5 ? -0.33 * g.ax_in : 0.33 * g.ax_in, 0.0, 0.08 * g.ax_in, 0.15 * g.ay_in, 0}, 8, 25,
           45.f};
      return true;
    default:
      return false;
  }
}

// The anatomy of slice k without noise or lesions.
cv::Mat render_anatomy(const PhantomStudy& s, int k) {
  cv::Mat hu(s.size, s.size, CV_32F, cv::Scalar(-1000.f));
  Canvas canvas(hu, s);
  draw_anatomy(canvas, s, s.t_of_slice(k));
  return hu;
}

// Whether lesion `l` changes its key section by >= kMinContrast gray levels
// on average in the abdomen or the lung window (the quickstart's feature
// windows, and the usual reading windows for these lesions).
constexpr double kMinContrast = 20;  // ~31 HU in the abdomen window
bool visible_in_feature_windows(const PhantomStudy& s, const PhantomLesion& l) {
  static const CtWindow kAbdomen = parse_ct_window("abdomen"), kLung = parse_ct_window("lung");
  const int lesion_abdomen = window_value(kAbdomen, l.hu), lesion_lung = window_value(kLung, l.hu);
  const cv::Mat host = render_anatomy(s, l.key_slice);
  cv::Mat mask = cv::Mat::zeros(s.size, s.size, CV_8U);
  cv::ellipse(mask,
              cv::RotatedRect(cv::Point2f(static_cast<float>(l.cx_px), static_cast<float>(l.cy_px)),
                              cv::Size2f(static_cast<float>(2 * l.ra_px), static_cast<float>(2 * l.rb_px)),
                              static_cast<float>(l.angle_deg)),
              cv::Scalar(255), -1, cv::LINE_8);
  double abdomen = 0, lung = 0;
  int n = 0;
  for (int y = 0; y < s.size; ++y) {
    const uint8_t* m = mask.ptr<uint8_t>(y);
    const float* h = host.ptr<float>(y);
    for (int x = 0; x < s.size; ++x) {
      if (!m[x]) continue;
      abdomen += std::abs(lesion_abdomen - window_value(kAbdomen, h[x]));
      lung += std::abs(lesion_lung - window_value(kLung, h[x]));
      ++n;
    }
  }
  return n > 0 && std::max(abdomen, lung) / n >= kMinContrast;
}

}  // namespace

double PhantomStudy::t_of_slice(int k) const {
  return slices > 1 ? t_first + (t_last - t_first) * k / (slices - 1) : 0.5 * (t_first + t_last);
}

PhantomPatient make_phantom_patient(uint64_t seed, int patient_index) {
  Rng rng(mix(seed, static_cast<uint64_t>(patient_index)));
  PhantomPatient p;
  p.index = patient_index;
  p.female = rng.uniform() < 0.5;
  p.age = rng.integer(22, 88);
  p.body_scale = rng.uniform(0.88, 1.08);
  p.body_length_mm = rng.uniform(480, 560);
  p.fat_mm = rng.uniform(8, 24);
  p.anatomy_seed = rng.next();
  return p;
}

PhantomStudy make_phantom_study(uint64_t seed, const PhantomPatient& patient, int study_index, int slices, int size,
                                int max_lesions) {
  Rng rng(mix(mix(seed, static_cast<uint64_t>(patient.index)), static_cast<uint64_t>(study_index) + 1000));
  PhantomStudy s;
  s.patient = patient;
  s.study = study_index;
  s.slices = slices;
  s.size = size;
  // Field of view 380-440 mm whatever the matrix size.
  s.pixel_mm = rng.uniform(380, 440) / size;
  const double coverage = rng.uniform();
  if (coverage < 0.5) {
    s.t_first = 0.0, s.t_last = 1.0;   // chest-abdomen-pelvis
  } else if (coverage < 0.75) {
    s.t_first = 0.0, s.t_last = 0.65;  // chest and upper abdomen
  } else {
    s.t_first = 0.35, s.t_last = 1.0;  // abdomen and pelvis
  }
  s.slice_mm = slices > 1 ? (s.t_last - s.t_first) * patient.body_length_mm / (slices - 1) : 5.0;
  s.noise_seed = rng.next();

  const int wanted = rng.integer(1, std::max(1, max_lesions));
  // Feasible key slices per type (away from the stack ends); types are drawn
  // uniformly among those this study's coverage contains.
  std::vector<std::vector<int>> feasible(9);
  std::vector<int> types;
  for (int type = 1; type <= 8; ++type) {
    for (int k = std::min(2, slices - 1); k <= std::max(0, slices - 3); ++k) {
      if (host_active(type, s.t_of_slice(k))) feasible[type].push_back(k);
    }
    if (!feasible[type].empty()) types.push_back(type);
  }
  for (int attempt = 0; attempt < 200 && !types.empty() && static_cast<int>(s.lesions.size()) < wanted; ++attempt) {
    const int type = types[rng.integer(0, static_cast<int>(types.size()) - 1)];
    const int key = feasible[type][rng.integer(0, static_cast<int>(feasible[type].size()) - 1)];
    const double t = s.t_of_slice(key);
    Host host;
    if (!host_for(type, patient, t, rng, host)) continue;
    // Uniform point inside the host ellipse.
    const double rad = std::sqrt(rng.uniform()), phi = rng.uniform(0, 2 * kPi);
    const double th = host.region.angle_deg * kPi / 180.0;
    const double ux = host.region.a * rad * std::cos(phi), uy = host.region.b * rad * std::sin(phi);
    const double cx_mm = host.region.cx + ux * std::cos(th) - uy * std::sin(th);
    const double cy_mm = host.region.cy + ux * std::sin(th) + uy * std::cos(th);
    PhantomLesion l;
    l.coarse_type = type;
    const double ra_mm = rng.uniform(host.r_min, host.r_max);
    l.ra_px = std::max(1.2, ra_mm / s.pixel_mm);
    l.rb_px = std::max(1.2, l.ra_px * rng.uniform(0.65, 1.0));
    l.angle_deg = rng.uniform(0, 180);
    l.cx_px = size * 0.5 + cx_mm / s.pixel_mm;
    l.cy_px = size * 0.5 + cy_mm / s.pixel_mm;
    l.z_slice = key;
    l.key_slice = key;
    l.rz_slices = std::max(1.6, ra_mm * rng.uniform(0.7, 1.1) / s.slice_mm);
    l.hu = host.hu + static_cast<float>(rng.uniform(-8, 8));
    l.t_body = t;
    // Only lesions a reader could see: a nodule of its host's density (a
    // 15 HU mass in 30 HU renal medulla, a node inside the heart) would be a
    // label no image can support.
    if (!visible_in_feature_windows(s, l)) continue;
    // Keep lesions apart so none hides another's key section.
    bool clash = false;
    for (const auto& o : s.lesions) {
      const double dx = (o.cx_px - l.cx_px) * s.pixel_mm, dy = (o.cy_px - l.cy_px) * s.pixel_mm;
      const bool overlap_xy = std::sqrt(dx * dx + dy * dy) < (o.ra_px + l.ra_px) * s.pixel_mm + 3.0;
      const bool overlap_z = std::abs(o.z_slice - l.z_slice) < o.rz_slices + l.rz_slices + 1.0;
      if (overlap_xy && overlap_z) clash = true;
    }
    if (!clash) s.lesions.push_back(l);
  }
  return s;
}

RenderedSlice render_phantom_slice(const PhantomStudy& s, int k, bool with_lesions) {
  RADCLEAR_CHECK(k >= 0 && k < s.slices, "slice {} outside 0..{}", k, s.slices - 1);
  RenderedSlice out;
  out.labels = cv::Mat::zeros(s.size, s.size, CV_8U);
  out.hu = render_anatomy(s, k);
  if (with_lesions) {
    for (size_t i = 0; i < s.lesions.size(); ++i) {
      const PhantomLesion& l = s.lesions[i];
      const double dz = (k - l.z_slice) / l.rz_slices;
      if (std::abs(dz) >= 1.0) continue;
      const double f = std::sqrt(1.0 - dz * dz);
      const double a = l.ra_px * f, b = l.rb_px * f;
      if (a < 0.5 || b < 0.5) continue;
      const cv::RotatedRect box(cv::Point2f(static_cast<float>(l.cx_px), static_cast<float>(l.cy_px)),
                                cv::Size2f(static_cast<float>(2 * a), static_cast<float>(2 * b)),
                                static_cast<float>(l.angle_deg));
      cv::Mat mask = cv::Mat::zeros(s.size, s.size, CV_8U);
      cv::ellipse(mask, box, cv::Scalar(255), -1, cv::LINE_8);
      out.hu.setTo(cv::Scalar(l.hu), mask);
      out.labels.setTo(cv::Scalar(static_cast<double>(i + 1)), mask);
    }
  }
  // CT noise: white noise, slightly correlated like reconstructed images.
  cv::Mat noise(s.size, s.size, CV_32F);
  cv::RNG rng(mix(s.noise_seed, static_cast<uint64_t>(k)));
  rng.fill(noise, cv::RNG::NORMAL, 0.0, 1.0);
  cv::GaussianBlur(noise, noise, cv::Size(3, 3), 0.8);
  out.hu += noise * 30.0;  // ~11 HU after the blur
  cv::min(out.hu, 3071.0, out.hu);
  cv::max(out.hu, -1024.0, out.hu);
  // Whole HU, as CT scanners store them: the PNG then holds exactly this.
  cv::Mat whole;
  out.hu.convertTo(whole, CV_32S);
  whole.convertTo(out.hu, CV_32F);
  return out;
}

std::array<double, 4> lesion_box(const RenderedSlice& key, int lesion_index) {
  cv::Mat mask = key.labels == (lesion_index + 1);
  std::vector<cv::Point> pts;
  cv::findNonZero(mask, pts);
  if (pts.empty()) return {-1, -1, -1, -1};
  const cv::Rect r = cv::boundingRect(pts);
  return {static_cast<double>(r.x), static_cast<double>(r.y), static_cast<double>(r.x + r.width - 1),
          static_cast<double>(r.y + r.height - 1)};
}

}  // namespace radclear::data
