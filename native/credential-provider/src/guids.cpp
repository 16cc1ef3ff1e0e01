#include <cstddef>

#include "../core/kerb_pack.h"
#include "cp_interfaces.h"

namespace gh {

const IID IID_ICredentialProvider = {0xd27c3481, 0x5a1c, 0x45b2, {0x8a, 0xaa, 0xc2, 0x0e, 0xbb, 0xe8, 0x22, 0x9e}};
const IID IID_ICredentialProviderCredential = {0x63913a93, 0x40c1, 0x481a, {0x81, 0x8d, 0x40, 0x72, 0xff, 0x8c, 0x70, 0xcc}};
const IID IID_ICredentialProviderCredential2 = {0xfd672c54, 0x40ea, 0x4d6e, {0x9b, 0x49, 0xcf, 0xb1, 0xa7, 0x50, 0x7b, 0xd7}};
const IID IID_ICredentialProviderCredentialEvents = {0xfa6fa76b, 0x66b7, 0x4b11, {0x95, 0xf1, 0x86, 0x17, 0x11, 0x18, 0xe8, 0x16}};
const IID IID_ICredentialProviderCredentialEvents2 = {0xb53c00b6, 0x9922, 0x4b78, {0xb1, 0xf4, 0xdd, 0xfe, 0x77, 0x4d, 0xc3, 0x9b}};
const IID IID_ICredentialProviderEvents = {0x34201e5a, 0xa787, 0x41a3, {0xa5, 0xa4, 0xbd, 0x6d, 0xcf, 0x2a, 0x85, 0x4e}};
const IID IID_ICredentialProviderFilter = {0xa5da53f9, 0xd475, 0x4080, {0xa1, 0x20, 0x91, 0x0c, 0x4a, 0x73, 0x98, 0x80}};
const IID IID_ICredentialProviderSetUserArray = {0x095c1484, 0x1c0c, 0x4388, {0x9c, 0x6d, 0x50, 0x0e, 0x61, 0xbf, 0x84, 0xbd}};
const IID IID_ICredentialProviderUserArray = {0x90c119ae, 0x0f18, 0x4520, {0xa1, 0xf1, 0x11, 0x43, 0x66, 0xa4, 0x0f, 0xe8}};
const IID IID_ICredentialProviderUser = {0x13793285, 0x3ea6, 0x40fd, {0xb4, 0x20, 0x15, 0xf4, 0x7d, 0xa4, 0x1f, 0xbb}};

const PROPERTYKEY PKEY_Identity_QualifiedUserName = {{0xda520e51, 0xf4e9, 0x4739, {0xac, 0x82, 0x02, 0xe0, 0xa9, 0x5c, 0x90, 0x30}}, 100};

const GUID CPFG_LOGON_USERNAME = {0xda15bbe8, 0x954d, 0x4fd3, {0xb0, 0xf4, 0x1f, 0xb5, 0xb9, 0x0b, 0x17, 0x4b}};
const GUID CPFG_LOGON_PASSWORD = {0x60624cfa, 0xa477, 0x47b1, {0x8a, 0x8e, 0x3a, 0x4a, 0x19, 0x98, 0x18, 0x27}};
const GUID CPFG_CREDENTIAL_PROVIDER_LOGO = {0x2d837775, 0xf6cd, 0x464e, {0xa7, 0x45, 0x48, 0x2f, 0xd0, 0xb4, 0x74, 0x93}};
const GUID CPFG_CREDENTIAL_PROVIDER_LABEL = {0x286bbff3, 0xbad4, 0x438f, {0xb0, 0x07, 0x79, 0xb7, 0x26, 0x7c, 0x3d, 0x48}};

const CLSID CLSID_GatehouseProvider = {0x34b716b4, 0x1ae3, 0x4c3e, {0x90, 0x1a, 0xad, 0x00, 0xb2, 0xee, 0x3e, 0x3f}};
const CLSID CLSID_GatehouseFilter = {0xef7948f1, 0xea18, 0x4fe5, {0xad, 0xbb, 0x69, 0xa8, 0x7a, 0xcd, 0x7f, 0x21}};

// Our declarations, mingw's, and the portable packer must agree on the structure's layout.
static_assert(sizeof(KerbInteractiveUnlockLogon) == sizeof(KERB_INTERACTIVE_UNLOCK_LOGON), "size differs from ntsecapi.h");
static_assert(offsetof(KerbInteractiveLogon, Password) == offsetof(KERB_INTERACTIVE_LOGON, Password), "layout differs from ntsecapi.h");
static_assert(offsetof(KerbInteractiveUnlockLogon, LogonId) == offsetof(KERB_INTERACTIVE_UNLOCK_LOGON, LogonId), "layout differs");
#ifdef _WIN64
constexpr auto kWidth = gatehouse::cp::PointerWidth::Bits64;
#else
constexpr auto kWidth = gatehouse::cp::PointerWidth::Bits32;
#endif
static_assert(sizeof(void*) == static_cast<std::size_t>(kWidth), "pointer width");
static_assert(sizeof(KerbInteractiveUnlockLogon) == (sizeof(void*) == 8 ? 64 : 36), "portable layout size");
static_assert(offsetof(KerbInteractiveLogon, LogonDomainName) == (sizeof(void*) == 8 ? 8 : 4), "portable layout: domain");
static_assert(offsetof(KerbInteractiveLogon, UserName) == (sizeof(void*) == 8 ? 24 : 12), "portable layout: user");
static_assert(offsetof(KerbInteractiveLogon, Password) == (sizeof(void*) == 8 ? 40 : 20), "portable layout: password");
static_assert(offsetof(UnicodeString, Buffer) == (sizeof(void*) == 8 ? 8 : 4), "portable layout: Buffer");
static_assert(offsetof(KerbInteractiveUnlockLogon, LogonId) == (sizeof(void*) == 8 ? 56 : 28), "portable layout: LogonId");
static_assert(sizeof(CREDENTIAL_PROVIDER_FIELD_DESCRIPTOR) == (sizeof(void*) == 8 ? 32 : 28), "field descriptor layout");

}  // namespace gh
