// A very small test framework: TEST(name) { CHECK(...); CHECK_EQ(a, b); REQUIRE(...); }.
// CHECK records a failure and goes on; REQUIRE ends the test. The runner prints one line per
// test and closes with "N passed, N failed".
#pragma once

#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace testing {

struct Case {
  const char* name;
  void (*fn)();
};

std::vector<Case>& registry();
void fail(const char* file, int line, const std::string& what);
struct Abort {};

struct Registrar {
  Registrar(const char* name, void (*fn)()) { registry().push_back({name, fn}); }
};

template <typename T>
std::string show(const T& v) {
  std::ostringstream o;
  o << v;
  return o.str();
}
inline std::string show(const std::string& s) { return "\"" + s + "\""; }
inline std::string show(const char* s) { return s ? "\"" + std::string(s) + "\"" : "null"; }
inline std::string show(bool b) { return b ? "true" : "false"; }
std::string show(const std::u16string& s);

}  // namespace testing

#define TEST(name)                                                   \
  static void test_##name();                                         \
  static ::testing::Registrar registrar_##name(#name, &test_##name); \
  static void test_##name()

#define CHECK(cond)                                         \
  do {                                                      \
    if (!(cond)) ::testing::fail(__FILE__, __LINE__, #cond); \
  } while (0)

#define REQUIRE(cond)                                        \
  do {                                                       \
    if (!(cond)) {                                           \
      ::testing::fail(__FILE__, __LINE__, #cond);            \
      throw ::testing::Abort{};                              \
    }                                                        \
  } while (0)

#define CHECK_EQ(a, b)                                                                                      \
  do {                                                                                                      \
    const auto& va_ = (a);                                                                                  \
    const auto& vb_ = (b);                                                                                  \
    if (!(va_ == vb_))                                                                                      \
      ::testing::fail(__FILE__, __LINE__, std::string(#a " == " #b "\n      left:  ") + ::testing::show(va_) + \
                                              "\n      right: " + ::testing::show(vb_));                    \
  } while (0)
