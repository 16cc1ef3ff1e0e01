// The tile's fields, in the order LogonUI enumerates them.
#pragma once

#include "cp_interfaces.h"

namespace gh {

enum FieldId : DWORD {
  FID_TILE_IMAGE = 0,  // the Gatehouse logo (also the provider's icon in "Sign-in options")
  FID_LABEL = 1,       // "Gatehouse"
  FID_USERNAME = 2,
  FID_PASSWORD = 3,
  FID_CODE = 4,        // hidden until the user needs a code (code_required, or ShowCodeField=1)
  FID_SUBMIT = 5,
  FID_STATUS = 6,      // the service status line
  FID_CHANGE_PASSWORD = 7,  // "Change password": shown when ChangePasswordUrl is set
  FID_COUNT = 8
};

struct FieldSpec {
  CREDENTIAL_PROVIDER_FIELD_TYPE type;
  const wchar_t* label;
  const GUID* guid;  // may be null
  CREDENTIAL_PROVIDER_FIELD_STATE state;
  CREDENTIAL_PROVIDER_FIELD_INTERACTIVE_STATE interactive;
};

inline const FieldSpec kFields[FID_COUNT] = {
    {CPFT_TILE_IMAGE, L"Gatehouse", &CPFG_CREDENTIAL_PROVIDER_LOGO, CPFS_DISPLAY_IN_BOTH, CPFIS_NONE},
    {CPFT_LARGE_TEXT, L"Gatehouse", &CPFG_CREDENTIAL_PROVIDER_LABEL, CPFS_DISPLAY_IN_BOTH, CPFIS_NONE},
    {CPFT_EDIT_TEXT, L"User name", &CPFG_LOGON_USERNAME, CPFS_DISPLAY_IN_SELECTED_TILE, CPFIS_FOCUSED},
    {CPFT_PASSWORD_TEXT, L"Password", &CPFG_LOGON_PASSWORD, CPFS_DISPLAY_IN_SELECTED_TILE, CPFIS_NONE},
    {CPFT_EDIT_TEXT, L"Code from your authenticator app", nullptr, CPFS_HIDDEN, CPFIS_NONE},
    {CPFT_SUBMIT_BUTTON, L"Sign in", nullptr, CPFS_DISPLAY_IN_SELECTED_TILE, CPFIS_NONE},
    {CPFT_SMALL_TEXT, L"Service status", nullptr, CPFS_DISPLAY_IN_SELECTED_TILE, CPFIS_NONE},
    {CPFT_COMMAND_LINK, L"Change password", nullptr, CPFS_HIDDEN, CPFIS_NONE},
};

}  // namespace gh
