// occurred_at timestamps (WIRE.md §1.4): formatted byte for byte as Go formats a UTC
// time.Time in JSON (RFC 3339 with nanoseconds, trailing zeros trimmed), and parsed
// leniently (any fraction length, Z or a ±hh:mm offset) then normalised to UTC.
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "generated_text.h"
#include "oaio/envelope.h"

namespace oaio {
namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
constexpr std::int64_t kSecondsPerDay = 86'400;

// Floor division, so times before 1970 split into a negative day and a positive
// time of day.
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

constexpr Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

constexpr bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr unsigned days_in_month(std::int64_t y, unsigned m) {
  constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

char* put_digits(char* p, std::int64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + width;
}

// Reads exactly `width` digits at text[*pos]; false if any is not a digit.
bool take_digits(std::string_view text, std::size_t* pos, int width, int* out) {
  if (*pos + static_cast<std::size_t>(width) > text.size()) return false;
  int v = 0;
  for (int i = 0; i < width; ++i) {
    char c = text[*pos + static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += static_cast<std::size_t>(width);
  *out = v;
  return true;
}

bool take_char(std::string_view text, std::size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

// "YYYY-MM-DDTHH:MM:SS" of a Unix second.
constexpr std::size_t kSecondTextSize = 19;
void put_second(std::int64_t secs, char* out) {
  const std::int64_t days = floor_div(secs, kSecondsPerDay);
  const std::int64_t sod = secs - days * kSecondsPerDay;
  const Civil c = civil_from_days(days);
  // int64 nanoseconds span 1677..2262, so the year always has four digits.
  char* p = put_digits(out, c.year, 4);
  *p++ = '-';
  p = put_digits(p, c.month, 2);
  *p++ = '-';
  p = put_digits(p, c.day, 2);
  *p++ = 'T';
  p = put_digits(p, sod / 3600, 2);
  *p++ = ':';
  p = put_digits(p, sod / 60 % 60, 2);
  *p++ = ':';
  put_digits(p, sod % 60, 2);
}

}  // namespace

namespace detail {

std::size_t write_timestamp(SysNanos t, char (&buf)[kTimestampMaxSize]) {
  const std::int64_t ns = t.time_since_epoch().count();
  const std::int64_t secs = floor_div(ns, kNanosPerSecond);
  const std::int64_t nanos = ns - secs * kNanosPerSecond;

  // Every envelope sent gets the current time, and the calendar part changes once a
  // second: each thread keeps the last second it formatted (most of the cost).
  thread_local std::int64_t last_secs = std::numeric_limits<std::int64_t>::min();
  thread_local char last_text[kSecondTextSize];
  if (secs != last_secs) {
    put_second(secs, last_text);
    last_secs = secs;
  }
  std::memcpy(buf, last_text, kSecondTextSize);
  char* p = buf + kSecondTextSize;
  if (nanos != 0) {
    // Go's RFC3339Nano: nine digits, trailing zeros removed, no bare '.'.
    *p++ = '.';
    char* frac = p;
    p = put_digits(p, nanos, 9);
    while (p > frac && p[-1] == '0') --p;
  }
  *p++ = 'Z';
  return static_cast<std::size_t>(p - buf);
}

std::size_t write_now_timestamp(char (&buf)[kTimestampMaxSize]) {
  return write_timestamp(std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now()), buf);
}

}  // namespace detail

std::string format_timestamp(SysNanos t) {
  char buf[detail::kTimestampMaxSize];
  return std::string(buf, detail::write_timestamp(t, buf));
}

std::string now_timestamp() {
  char buf[detail::kTimestampMaxSize];
  return std::string(buf, detail::write_now_timestamp(buf));
}

std::optional<SysNanos> parse_timestamp(std::string_view text) {
  // ^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$ (WIRE.md §1.4)
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!take_digits(text, &pos, 4, &year) || !take_char(text, &pos, '-') ||
      !take_digits(text, &pos, 2, &month) || !take_char(text, &pos, '-') ||
      !take_digits(text, &pos, 2, &day) || !take_char(text, &pos, 'T') ||
      !take_digits(text, &pos, 2, &hour) || !take_char(text, &pos, ':') ||
      !take_digits(text, &pos, 2, &minute) || !take_char(text, &pos, ':') ||
      !take_digits(text, &pos, 2, &second)) {
    return std::nullopt;
  }
  std::int64_t nanos = 0;
  if (take_char(text, &pos, '.')) {
    // Any number of digits; beyond nine they are truncated, as Go does.
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 9) nanos = nanos * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 9; ++i) nanos *= 10;
  }
  std::int64_t offset_secs = 0;
  if (!take_char(text, &pos, 'Z')) {
    if (pos >= text.size() || (text[pos] != '+' && text[pos] != '-')) return std::nullopt;
    const bool west = text[pos++] == '-';
    int oh, om;
    if (!take_digits(text, &pos, 2, &oh) || !take_char(text, &pos, ':') || !take_digits(text, &pos, 2, &om)) {
      return std::nullopt;
    }
    if (oh > 23 || om > 59) return std::nullopt;
    offset_secs = (oh * 3600 + om * 60) * (west ? -1 : 1);
  }
  if (pos != text.size()) return std::nullopt;
  // Ranges as Go's time.Parse checks them (no leap second 60).
  if (month < 1 || month > 12 || day < 1 || static_cast<unsigned>(day) > days_in_month(year, month) ||
      hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  const std::int64_t secs = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * kSecondsPerDay +
                            hour * 3600 + minute * 60 + second - offset_secs;
  // Outside 1677..2262 the value does not fit int64 nanoseconds: treat as unparsable.
  std::int64_t ns;
  if (__builtin_mul_overflow(secs, kNanosPerSecond, &ns) || __builtin_add_overflow(ns, nanos, &ns)) {
    return std::nullopt;
  }
  return SysNanos(std::chrono::nanoseconds(ns));
}

}  // namespace oaio
