// DLL-wide state: the module handle and the count of live objects and server locks that
// DllCanUnloadNow consults.
#pragma once

#include "cp_interfaces.h"

namespace gh {

extern HINSTANCE g_module;
void dllAddRef();
void dllRelease();

HRESULT createProvider(REFIID riid, void** ppv);
HRESULT createFilter(REFIID riid, void** ppv);

}  // namespace gh
