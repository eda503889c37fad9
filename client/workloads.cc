#include "client/workloads.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "common/json.h"

namespace sluice::client {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr std::array<const char*, 8> kPages = {"/",
                                               "/products/widget-a",
                                               "/products/widget-b",
                                               "/products/gadget-pro",
                                               "/category/widgets",
                                               "/cart",
                                               "/checkout",
                                               "/search"};
constexpr std::array<const char*, 4> kReferrers = {
    "https://www.google.com/", "https://www.bing.com/", "direct",
    "https://news.ycombinator.com/"};
constexpr std::array<const char*, 3> kDevices = {"desktop", "mobile", "tablet"};
constexpr std::array<const char*, 5> kProducts = {
    "widget-a", "widget-b", "gadget-pro", "gizmo-max", "doohickey"};
constexpr std::array<const char*, 4> kErrorCodes = {
    "PAYMENT_DECLINED", "TIMEOUT", "NOT_FOUND", "INTERNAL"};
constexpr std::array<const char*, 4> kLocations = {"US", "DE", "JP", "BR"};

// "2026-12-02T07:46:01.149Z", now.
std::string IsoNow() {
  const auto now = std::chrono::system_clock::now();
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                          now.time_since_epoch())
                          .count();
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];  // room for any int the compiler imagines
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                utc.tm_min, utc.tm_sec, static_cast<int>(millis % 1000));
  return text;
}

// A random UUID-shaped id from `random` (so a seed reproduces it).
std::string Uuid(std::mt19937_64& random) {
  const uint64_t high = random();
  const uint64_t low = random();
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-4%03x-%04x-%012llx",
                static_cast<unsigned>(high >> 32),
                static_cast<unsigned>((high >> 16) & 0xffff),
                static_cast<unsigned>(high & 0xfff),
                static_cast<unsigned>(0x8000 | (low >> 50)),
                static_cast<unsigned long long>(low & 0xffffffffffffULL));
  return text;
}

template <size_t N>
const char* Pick(std::mt19937_64& random,
                 const std::array<const char*, N>& of) {
  return of[random() % N];
}

double Uniform(std::mt19937_64& random, double low, double high) {
  return std::uniform_real_distribution<double>(low, high)(random);
}

// A price in whole cents, as a number with two decimals.
double Money(std::mt19937_64& random, double low, double high) {
  return static_cast<double>(
             static_cast<int64_t>(Uniform(random, low, high) * 100.0)) /
         100.0;
}

void Corners(Writer& out, const char* name, double low, double high,
             std::mt19937_64& random) {
  out.Key(name);
  out.StartObject();
  for (const char* corner :
       {"front_left", "front_right", "rear_left", "rear_right"}) {
    out.Key(corner);
    out.Double(Money(random, low, high));
  }
  out.EndObject();
}

std::string Finish(rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

EcommerceEvents::EcommerceEvents(uint64_t seed, int users)
    : random_(seed), users_(users < 1 ? 1 : users) {}

GeneratedRecord EcommerceEvents::Next() {
  std::string user = "user-";
  user += std::to_string(random_() % static_cast<uint64_t>(users_));
  const uint64_t roll = random_() % 100;
  const char* type = roll < 70   ? "page_view"
                     : roll < 85 ? "add_to_cart"
                     : roll < 95 ? "purchase"
                                 : "error";
  rapidjson::StringBuffer buffer;
  Writer out(buffer);
  out.StartObject();
  out.Key("event_id");
  out.String(Uuid(random_));
  out.Key("event_type");
  out.String(type);
  out.Key("timestamp");
  out.String(IsoNow());
  out.Key("user_id");
  out.String(user);
  out.Key("data");
  out.StartObject();
  const std::string_view kind = type;
  if (kind == "page_view") {
    out.Key("page");
    out.String(Pick(random_, kPages));
    out.Key("referrer");
    out.String(Pick(random_, kReferrers));
    out.Key("device");
    out.String(Pick(random_, kDevices));
  } else if (kind == "add_to_cart") {
    out.Key("product_id");
    out.String(Pick(random_, kProducts));
    out.Key("quantity");
    out.Int(static_cast<int>(1 + random_() % 4));
    out.Key("price");
    out.Double(Money(random_, 5, 200));
  } else if (kind == "purchase") {
    out.Key("product_id");
    out.String(Pick(random_, kProducts));
    // Most orders are small; about one in six is a high-value one.
    out.Key("amount");
    out.Double(random_() % 6 == 0 ? Money(random_, 500.01, 1200)
                                  : Money(random_, 5, 300));
    out.Key("currency");
    out.String("USD");
    out.Key("location");
    out.String(Pick(random_, kLocations));
  } else {
    out.Key("error_code");
    out.String(Pick(random_, kErrorCodes));
    out.Key("message");
    std::string message = "request failed while serving ";
    message += Pick(random_, kPages);
    out.String(message);
  }
  out.EndObject();
  out.EndObject();
  return {user, Finish(buffer)};
}

TelemetryRecords::TelemetryRecords(uint64_t seed, int cars)
    : random_(seed), cars_(cars < 1 ? 1 : cars) {}

GeneratedRecord TelemetryRecords::Next() {
  std::string car = "car-";
  car += std::to_string(random_() % static_cast<uint64_t>(cars_));
  const double speed = Money(random_, 60, 250);
  rapidjson::StringBuffer buffer;
  Writer out(buffer);
  out.StartObject();
  out.Key("car_id");
  out.String(car);
  out.Key("speed");
  out.Double(speed);
  out.Key("rpm");
  out.Int(static_cast<int>(4000 + speed * 40 + Uniform(random_, 0, 500)));
  out.Key("gear");
  out.Int(static_cast<int>(1 + speed / 40));
  out.Key("throttle");
  out.Double(Money(random_, 0, 1));
  out.Key("brakes");
  out.Double(Money(random_, 0, 1));
  out.Key("steering_angle");
  out.Double(Money(random_, -1, 1));
  out.Key("suspension");
  out.StartObject();
  out.Key("ride_height");
  out.Double(Money(random_, 20, 40));
  Corners(out, "damper_settings", 1, 10, random_);
  out.EndObject();
  out.Key("temperatures");
  out.StartObject();
  out.Key("engine");
  out.Double(Money(random_, 85, 115));
  Corners(out, "brakes", 300, 900, random_);
  Corners(out, "tires", 80, 110, random_);
  out.EndObject();
  out.Key("pressures");
  out.StartObject();
  out.Key("engine");
  out.Double(Money(random_, 3, 6));
  Corners(out, "brakes", 20, 60, random_);
  Corners(out, "tires", 1.6, 2.2, random_);
  out.EndObject();
  out.Key("fuel_consumption");
  out.Double(Money(random_, 0.5, 3.0));
  out.Key("lap_time");
  out.Double(Money(random_, 80, 95));
  out.EndObject();
  return {car, Finish(buffer)};
}

}  // namespace sluice::client
