#include "ringtrace/common/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <variant>

#include <fmt/format.h>

namespace ringtrace::common {

namespace {

bool valid_name(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  const auto head_ok = [&](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || (allow_colon && ch == ':');
  };
  if (!head_ok(name.front())) return false;
  return std::all_of(name.begin() + 1, name.end(), [&](char ch) { return head_ok(ch) || (ch >= '0' && ch <= '9'); });
}

/// Prometheus' float spelling: Go's ParseFloat reads fmt's shortest round-trip form, but the
/// special values have their own names.
std::string number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    if (ch == '\\') {
      out += "\\\\";
    } else if (ch == '\n') {
      out += "\\n";
    } else if (quote && ch == '"') {
      out += "\\\"";
    } else {
      out += ch;
    }
  }
  return out;
}

/// `{a="x",b="y"}` with an optional extra pair (a histogram's `le`); empty when there are no labels.
std::string label_text(const Labels& labels, std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return {};
  std::string out = "{";
  bool first = true;
  const auto put = [&](std::string_view name, std::string_view value) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    out += escape(value, true);
    out += '"';
  };
  for (const auto& [name, value] : labels) put(name, value);
  if (!extra_name.empty()) put(extra_name, extra_value);
  out += '}';
  return out;
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      throw std::invalid_argument("histogram bounds must be finite and strictly ascending");
    }
  }
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double value) noexcept {
  if (std::isnan(value)) return;  // it has no bucket and would poison the sum
  const auto index = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snap;
  snap.bounds = bounds_;
  snap.cumulative.resize(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snap.cumulative[i] = running;
  }
  // `count` must equal the +Inf bucket for scrapers; reading it from the buckets keeps them equal
  // even while observations race with the scrape.
  snap.count = running;
  snap.sum = sum_.load(std::memory_order_relaxed);
  return snap;
}

std::function<double()> read_atomic(const std::atomic<std::uint64_t>& count) {
  return [&count] { return static_cast<double>(count.load(std::memory_order_relaxed)); };
}

std::vector<double> latency_buckets() {
  return {50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1.0, 2.5, 5.0, 10.0};
}

struct MetricsRegistry::Series {
  Labels labels;
  std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>, std::unique_ptr<Histogram>, std::function<double()>>
      value;
};

struct MetricsRegistry::Family {
  std::string name;
  std::string help;
  std::string type;
  std::vector<std::unique_ptr<Series>> series;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Series& MetricsRegistry::add(const std::string& name, const std::string& help, std::string_view type,
                                              Labels labels) {
  if (!valid_name(name, true)) throw std::invalid_argument("bad metric name '" + name + "'");
  for (const auto& [label, value] : labels) {
    if (!valid_name(label, false) || label.starts_with("__") || label == "le") {
      throw std::invalid_argument("metric " + name + ": bad label name '" + label + "'");
    }
  }
  std::lock_guard lock(mutex_);
  auto it = std::find_if(families_.begin(), families_.end(), [&](const auto& f) { return f->name == name; });
  if (it == families_.end()) {
    families_.push_back(std::make_unique<Family>(Family{name, help, std::string(type), {}}));
    it = std::prev(families_.end());
  } else if ((*it)->type != type || (*it)->help != help) {
    throw std::invalid_argument("metric " + name + " already registered as another " + (*it)->type);
  }
  auto& family = **it;
  if (std::any_of(family.series.begin(), family.series.end(), [&](const auto& s) { return s->labels == labels; })) {
    throw std::invalid_argument("metric " + name + label_text(labels) + " registered twice");
  }
  family.series.push_back(std::make_unique<Series>(Series{std::move(labels), {}}));
  return *family.series.back();
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help, Labels labels) {
  auto& series = add(name, help, "counter", std::move(labels));
  auto owned = std::make_unique<Counter>();
  auto& ref = *owned;
  series.value = std::move(owned);
  return ref;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, Labels labels) {
  auto& series = add(name, help, "gauge", std::move(labels));
  auto owned = std::make_unique<Gauge>();
  auto& ref = *owned;
  series.value = std::move(owned);
  return ref;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                                      Labels labels) {
  auto owned = std::make_unique<Histogram>(std::move(bounds));  // validates before registering
  auto& series = add(name, help, "histogram", std::move(labels));
  auto& ref = *owned;
  series.value = std::move(owned);
  return ref;
}

void MetricsRegistry::counter_fn(const std::string& name, const std::string& help, std::function<double()> read,
                                 Labels labels) {
  add(name, help, "counter", std::move(labels)).value = std::move(read);
}

void MetricsRegistry::gauge_fn(const std::string& name, const std::string& help, std::function<double()> read,
                               Labels labels) {
  add(name, help, "gauge", std::move(labels)).value = std::move(read);
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(families_.size() * 256);
  for (const auto& family : families_) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", family->name, escape(family->help, false),
                   family->name, family->type);
    for (const auto& series : family->series) {
      const auto labels = label_text(series->labels);
      if (const auto* counter = std::get_if<std::unique_ptr<Counter>>(&series->value)) {
        fmt::format_to(std::back_inserter(out), "{}{} {}\n", family->name, labels, (*counter)->value());
      } else if (const auto* gauge = std::get_if<std::unique_ptr<Gauge>>(&series->value)) {
        fmt::format_to(std::back_inserter(out), "{}{} {}\n", family->name, labels, number((*gauge)->value()));
      } else if (const auto* read = std::get_if<std::function<double()>>(&series->value)) {
        fmt::format_to(std::back_inserter(out), "{}{} {}\n", family->name, labels, number((*read)()));
      } else if (const auto* histogram = std::get_if<std::unique_ptr<Histogram>>(&series->value)) {
        const auto snap = (*histogram)->snapshot();
        for (std::size_t i = 0; i < snap.bounds.size(); ++i) {
          fmt::format_to(std::back_inserter(out), "{}_bucket{} {}\n", family->name,
                         label_text(series->labels, "le", number(snap.bounds[i])), snap.cumulative[i]);
        }
        fmt::format_to(std::back_inserter(out), "{}_bucket{} {}\n", family->name,
                       label_text(series->labels, "le", "+Inf"), snap.cumulative.back());
        fmt::format_to(std::back_inserter(out), "{}_sum{} {}\n{}_count{} {}\n", family->name, labels,
                       number(snap.sum), family->name, labels, snap.count);
      }
    }
  }
  return out;
}

}  // namespace ringtrace::common
