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

/// True when the Gatehouse filter is registered under "Credential Provider Filters" (in this
/// process's registry view): without it nothing hides the other tiles.
bool filterRegistered();

}  // namespace gh
