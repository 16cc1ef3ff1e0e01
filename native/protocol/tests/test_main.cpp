#include <cstdio>
#include <cstring>

#include "gatehouse/utf.h"
#include "test.h"

namespace testing {

std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

static int g_failures = 0;

void fail(const char* file, int line, const std::string& what) {
  ++g_failures;
  std::cout << "    FAILED " << file << ":" << line << ": " << what << "\n";
}

std::string show(const std::u16string& s) { return "u\"" + gatehouse::utf16ToUtf8(s) + "\""; }

}  // namespace testing

int main(int argc, char** argv) {
  const char* filter = argc > 1 ? argv[1] : nullptr;
  int passed = 0;
  int failed = 0;
  for (const auto& c : testing::registry()) {
    if (filter != nullptr && std::strstr(c.name, filter) == nullptr) continue;
    const int before = testing::g_failures;
    try {
      c.fn();
    } catch (const testing::Abort&) {
    } catch (const std::exception& e) {
      testing::fail("(exception)", 0, e.what());
    }
    if (testing::g_failures == before) {
      ++passed;
      std::cout << "ok   " << c.name << "\n";
    } else {
      ++failed;
      std::cout << "FAIL " << c.name << "\n";
    }
  }
  std::cout << passed << " passed, " << failed << " failed" << std::endl;
  return failed == 0 && passed > 0 ? 0 : 1;
}
