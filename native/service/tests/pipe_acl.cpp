// Test tool (not shipped): prints the security descriptor of a named pipe as SDDL, read back from
// the pipe itself, so that a test sees what the service really set (not what it meant to set).
//   gatehouse-pipe-acl.exe \\.\pipe\NAME   -> "D:P(A;;GA;;;SY)..." ; exit 2 when it cannot be read
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

#include <cstdio>
#include <cwchar>

int wmain(int argc, wchar_t** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: gatehouse-pipe-acl.exe \\\\.\\pipe\\NAME\n");
    return 64;
  }
  HANDLE h = CreateFileW(argv[1], READ_CONTROL, 0, nullptr, OPEN_EXISTING, 0, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    std::fprintf(stderr, "cannot open the pipe: error %lu\n", GetLastError());
    return 2;
  }
  PSECURITY_DESCRIPTOR sd = nullptr;
  const DWORD r = GetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, nullptr, nullptr, nullptr, nullptr, &sd);
  CloseHandle(h);
  if (r != ERROR_SUCCESS) {
    std::fprintf(stderr, "cannot read the security descriptor: error %lu\n", r);
    return 2;
  }
  wchar_t* text = nullptr;
  if (!ConvertSecurityDescriptorToStringSecurityDescriptorW(sd, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &text, nullptr)) {
    LocalFree(sd);
    return 2;
  }
  std::wprintf(L"%ls\n", text);
  LocalFree(text);
  LocalFree(sd);
  return 0;
}
