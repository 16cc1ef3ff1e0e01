// The Gatehouse credential provider (ICredentialProvider + ICredentialProviderSetUserArray).
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "credential.h"

namespace gh {

class Provider final : public ICredentialProvider, public ICredentialProviderSetUserArray {
 public:
  Provider();

  IFACEMETHODIMP QueryInterface(REFIID riid, void** ppv) override;
  IFACEMETHODIMP_(ULONG) AddRef() override;
  IFACEMETHODIMP_(ULONG) Release() override;

  IFACEMETHODIMP SetUsageScenario(CREDENTIAL_PROVIDER_USAGE_SCENARIO cpus, DWORD dwFlags) override;
  IFACEMETHODIMP SetSerialization(const CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION* pcpcs) override;
  IFACEMETHODIMP Advise(ICredentialProviderEvents* pcpe, UINT_PTR upAdviseContext) override;
  IFACEMETHODIMP UnAdvise() override;
  IFACEMETHODIMP GetFieldDescriptorCount(DWORD* pdwCount) override;
  IFACEMETHODIMP GetFieldDescriptorAt(DWORD dwIndex, CREDENTIAL_PROVIDER_FIELD_DESCRIPTOR** ppcpfd) override;
  IFACEMETHODIMP GetCredentialCount(DWORD* pdwCount, DWORD* pdwDefault, BOOL* pbAutoLogonWithDefault) override;
  IFACEMETHODIMP GetCredentialAt(DWORD dwIndex, ICredentialProviderCredential** ppcpc) override;

  IFACEMETHODIMP SetUserArray(ICredentialProviderUserArray* users) override;

 private:
  ~Provider();
  void buildCredentials();
  void releaseCredentials();
  void onStatusChanged();  // from the health thread

  LONG ref_ = 1;
  std::shared_ptr<Session> session_;
  struct User {
    std::wstring sid;
    std::wstring qualifiedName;
  };
  std::vector<User> users_;
  bool haveUserArray_ = false;
  std::vector<Credential*> credentials_;
  // Credentials handed over by RDP (NLA) or CredUI, for one automatic submit.
  std::wstring pendingUser_;
  std::wstring pendingPassword_;
  bool autoLogon_ = false;
  std::mutex eventsMu_;
  ICredentialProviderEvents* events_ = nullptr;
  UINT_PTR adviseContext_ = 0;
};

}  // namespace gh
