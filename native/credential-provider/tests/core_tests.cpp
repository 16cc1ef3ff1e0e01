// The credential provider's portable core: KERB_INTERACTIVE_UNLOCK_LOGON packing (both layouts),
// account names, exclusions, RDP-only, the password pre-check's verdicts and the submit decisions.
#include "../core/kerb_pack.h"
#include "../core/policy.h"
#include "../../protocol/tests/test.h"

using namespace gatehouse;
using namespace gatehouse::cp;

namespace {

std::uint32_t rd32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (static_cast<std::uint32_t>(b[at + 3]) << 24);
}
std::uint16_t rd16(const std::vector<std::uint8_t>& b, std::size_t at) { return static_cast<std::uint16_t>(b[at] | (b[at + 1] << 8)); }
std::uint64_t rdPtr(const std::vector<std::uint8_t>& b, std::size_t at, std::size_t w) {
  std::uint64_t v = 0;
  for (std::size_t k = 0; k < w; ++k) v |= static_cast<std::uint64_t>(b[at + k]) << (8 * k);
  return v;
}

AuthenticateCall reply(AuthResult r, const std::string& message = "") {
  AuthenticateCall c;
  c.status = CallStatus::Ok;
  c.reply.result = r;
  c.reply.message = message;
  return c;
}

}  // namespace

TEST(kerb_layouts) {
  const KerbLayout l64 = kerbLayout(PointerWidth::Bits64);
  CHECK_EQ(l64.domain, std::size_t(8));
  CHECK_EQ(l64.user, std::size_t(24));
  CHECK_EQ(l64.password, std::size_t(40));
  CHECK_EQ(l64.logonId, std::size_t(56));
  CHECK_EQ(l64.size, std::size_t(64));
  const KerbLayout l32 = kerbLayout(PointerWidth::Bits32);
  CHECK_EQ(l32.domain, std::size_t(4));
  CHECK_EQ(l32.user, std::size_t(12));
  CHECK_EQ(l32.password, std::size_t(20));
  CHECK_EQ(l32.logonId, std::size_t(28));
  CHECK_EQ(l32.size, std::size_t(36));
}

TEST(kerb_pack_relative_offsets_both_widths) {
  for (PointerWidth w : {PointerWidth::Bits64, PointerWidth::Bits32}) {
    KerbLogon in;
    in.type = KerbSubmitType::WorkstationUnlockLogon;
    in.domain = u"CORP";
    in.user = u"alice";
    in.password = u"p\u00e4ss \U0001F511";
    in.logonIdLow = 0x1234;
    in.logonIdHigh = -2;
    std::vector<std::uint8_t> buf;
    REQUIRE(packKerbLogon(in, w, buf));
    const KerbLayout L = kerbLayout(w);
    const std::size_t pw = static_cast<std::size_t>(w);
    CHECK_EQ(buf.size(), L.size + 2 * (4 + 5 + in.password.size()));
    CHECK_EQ(rd32(buf, 0), 7u);
    CHECK_EQ(rd16(buf, L.domain), std::uint16_t(8));
    CHECK_EQ(rd16(buf, L.domain + 2), std::uint16_t(8));
    CHECK_EQ(rdPtr(buf, L.domain + L.bufferField, pw), std::uint64_t(L.size));  // right after the structure
    CHECK_EQ(rd16(buf, L.user), std::uint16_t(10));
    CHECK_EQ(rdPtr(buf, L.user + L.bufferField, pw), std::uint64_t(L.size + 8));
    CHECK_EQ(rdPtr(buf, L.password + L.bufferField, pw), std::uint64_t(L.size + 18));
    CHECK_EQ(rd16(buf, L.password), std::uint16_t(in.password.size() * 2));
    CHECK_EQ(rd32(buf, L.logonId), 0x1234u);
    CHECK_EQ(rd32(buf, L.logonId + 4), 0xFFFFFFFEu);
    CHECK_EQ(rd16(buf, L.size), std::uint16_t(u'C'));
    KerbLogon out;
    std::string err;
    REQUIRE(unpackKerbLogon(buf.data(), buf.size(), w, out, &err));
    CHECK(out.type == KerbSubmitType::WorkstationUnlockLogon);
    CHECK_EQ(out.domain, in.domain);
    CHECK_EQ(out.user, in.user);
    CHECK_EQ(out.password, in.password);
    CHECK_EQ(out.logonIdLow, 0x1234u);
    CHECK_EQ(out.logonIdHigh, -2);
    secureWipe(buf);
    CHECK(buf.empty());
  }
}

TEST(kerb_pack_empty_strings_and_limits) {
  KerbLogon in;
  in.user = u"bob";
  std::vector<std::uint8_t> buf;
  REQUIRE(packKerbLogon(in, PointerWidth::Bits64, buf));
  CHECK_EQ(buf.size(), std::size_t(64 + 6));
  CHECK_EQ(rd32(buf, 0), 2u);
  KerbLogon out;
  REQUIRE(unpackKerbLogon(buf.data(), buf.size(), PointerWidth::Bits64, out));
  CHECK(out.domain.empty());
  CHECK(out.password.empty());
  CHECK_EQ(out.user, std::u16string(u"bob"));
  in.password.assign(32768, u'x');
  CHECK(!packKerbLogon(in, PointerWidth::Bits64, buf));
}

TEST(kerb_unpack_rejects_bad_buffers) {
  KerbLogon in;
  in.domain = u"D";
  in.user = u"u";
  in.password = u"pw";
  std::vector<std::uint8_t> buf;
  REQUIRE(packKerbLogon(in, PointerWidth::Bits64, buf));
  KerbLogon out;
  std::string err;
  CHECK(!unpackKerbLogon(buf.data(), 40, PointerWidth::Bits64, out, &err));  // shorter than the structure
  auto bad = buf;
  bad[0] = 6;  // smart card logon: not ours to read
  CHECK(!unpackKerbLogon(bad.data(), bad.size(), PointerWidth::Bits64, out, &err));
  bad = buf;
  bad[40 + 8] = 0xF0;  // password offset past the end
  CHECK(!unpackKerbLogon(bad.data(), bad.size(), PointerWidth::Bits64, out, &err));
  CHECK(err.find("outside") != std::string::npos);
  bad = buf;
  bad[40] = 3;  // odd length
  CHECK(!unpackKerbLogon(bad.data(), bad.size(), PointerWidth::Bits64, out, &err));
  bad = buf;
  bad[8 + 8] = 4;  // domain offset pointing into the structure
  CHECK(!unpackKerbLogon(bad.data(), bad.size(), PointerWidth::Bits64, out, &err));
  CHECK(!unpackKerbLogon(nullptr, 0, PointerWidth::Bits64, out, &err));
  // A KERB_INTERACTIVE_LOGON without LogonId (56 bytes + strings) is read as well.
  KerbLogon plain;
  plain.user.assign(1, u'x');
  std::vector<std::uint8_t> p;
  REQUIRE(packKerbLogon(plain, PointerWidth::Bits32, p));
  CHECK(unpackKerbLogon(p.data(), p.size(), PointerWidth::Bits32, out, &err));
}

TEST(account_names) {
  auto a = splitAccountName("CORP\\alice", "", "PC-7");
  CHECK_EQ(a.domain, std::string("CORP"));
  CHECK_EQ(a.user, std::string("alice"));
  CHECK(!a.upn);
  a = splitAccountName(".\\admin", "CORP", "PC-7");
  CHECK_EQ(a.domain, std::string("PC-7"));
  CHECK_EQ(a.user, std::string("admin"));
  a = splitAccountName(" alice@corp.example ", "CORP", "PC-7");
  CHECK(a.upn);
  CHECK(a.domain.empty());
  CHECK_EQ(a.user, std::string("alice@corp.example"));
  a = splitAccountName("bob", "CORP", "PC-7");
  CHECK_EQ(a.domain, std::string("CORP"));
  a = splitAccountName("bob", "", "PC-7");
  CHECK_EQ(a.domain, std::string("PC-7"));
}

TEST(excluded_accounts) {
  const std::vector<std::string> entries = {"breakglass", "CORP\\svc-kiosk", ".\\localadmin", "ops@corp.example", "  "};
  auto ex = [&](const std::string& typed) { return isExcluded(splitAccountName(typed, "CORP", "PC-7"), entries, "PC-7"); };
  CHECK(ex("breakglass"));
  CHECK(ex("PC-7\\BreakGlass"));
  CHECK(ex("corp\\svc-kiosk"));
  CHECK(!ex("OTHER\\svc-kiosk"));
  CHECK(ex(".\\localadmin"));
  CHECK(ex("pc-7\\localadmin"));
  CHECK(!ex("localadmin"));  // CORP\localadmin is a domain account, not the local one
  CHECK(ex("OPS@corp.example"));
  CHECK(!ex("ops"));
  CHECK(!ex("alice"));
  CHECK(!ex(""));
}

TEST(rdp_only_and_exclusions_decide_the_second_factor) {
  Settings s;
  s.excludedAccounts = {"breakglass"};
  const auto alice = splitAccountName("alice", "CORP", "PC");
  const auto bg = splitAccountName("breakglass", "CORP", "PC");
  CHECK(secondFactorFor(s, alice, false, "PC") == SecondFactor::Required);
  CHECK(secondFactorFor(s, alice, true, "PC") == SecondFactor::Required);
  CHECK(secondFactorFor(s, bg, true, "PC") == SecondFactor::SkipExcluded);
  s.rdpOnly = true;
  CHECK(secondFactorFor(s, alice, false, "PC") == SecondFactor::SkipConsole);
  CHECK(secondFactorFor(s, alice, true, "PC") == SecondFactor::Required);
}

TEST(hide_other_providers_is_on_by_default_and_decides_enforced) {
  Settings s;
  CHECK(s.hideOtherProviders);
  const FilterState normal;
  FilterState safe;
  safe.safeMode = true;
  FilterState noFilter;
  noFilter.filterRegistered = false;
  // On: hidden at logon and unlock, the exact status texts.
  CHECK(otherProvidersHidden(s, Usage::Logon, normal));
  CHECK(otherProvidersHidden(s, Usage::Unlock, normal));
  CHECK(!statusSaysNotEnforced(s, Usage::Logon, normal));
  CHECK(!statusSaysNotEnforced(s, Usage::Unlock, normal));
  CHECK_EQ(statusLineWithEnforcement("Service Status: OK", false), std::string("Service Status: OK"));
  // Never hidden in safe mode, without the filter, or in a credential prompt; CredUI's line stays
  // plain while the setting is on and the filter registered.
  CHECK(!otherProvidersHidden(s, Usage::Logon, safe));
  CHECK(statusSaysNotEnforced(s, Usage::Logon, safe));
  CHECK(!otherProvidersHidden(s, Usage::Unlock, noFilter));
  CHECK(statusSaysNotEnforced(s, Usage::Unlock, noFilter));
  CHECK(!otherProvidersHidden(s, Usage::CredUI, normal));
  CHECK(!statusSaysNotEnforced(s, Usage::CredUI, normal));
  CHECK(statusSaysNotEnforced(s, Usage::CredUI, noFilter));
  CHECK(!otherProvidersHidden(s, Usage::ChangePassword, normal));
  // Off: nothing hidden anywhere, and every status line says so.
  s.hideOtherProviders = false;
  for (Usage u : {Usage::Logon, Usage::Unlock, Usage::CredUI}) {
    CHECK(!otherProvidersHidden(s, u, normal));
    CHECK(statusSaysNotEnforced(s, u, normal));
  }
  CHECK_EQ(statusLineWithEnforcement("Service Status: OK", true), std::string("Service Status: OK (not enforced: other sign-in options are shown)"));
  CHECK_EQ(statusLineWithEnforcement("API call timed out.", true), std::string("API call timed out. (not enforced: other sign-in options are shown)"));
}

TEST(scenarios_from_usage) {
  CHECK(scenarioFor(Usage::Logon, false) == Scenario::Logon);
  CHECK(scenarioFor(Usage::Unlock, false) == Scenario::Unlock);
  CHECK(scenarioFor(Usage::Logon, true) == Scenario::Rdp);
  CHECK(scenarioFor(Usage::Unlock, true) == Scenario::Rdp);
  CHECK(scenarioFor(Usage::CredUI, false) == Scenario::CredUI);
  CHECK(scenarioFor(Usage::CredUI, true) == Scenario::CredUI);
}

TEST(fail_mode_is_closed_unless_exactly_open) {
  CHECK(parseFailMode("") == FailMode::Closed);
  CHECK(parseFailMode("closed") == FailMode::Closed);
  CHECK(parseFailMode("secure") == FailMode::Closed);
  CHECK(parseFailMode("opne") == FailMode::Closed);
  CHECK(parseFailMode("Open") == FailMode::Open);
  CHECK(parseFailMode(" open ") == FailMode::Open);
}

TEST(password_check_verdicts) {
  CHECK(classifyLogonUserError(0, false).verdict == PasswordVerdict::Verified);
  CHECK(classifyLogonUserError(1907, false).verdict == PasswordVerdict::Verified);
  CHECK(classifyLogonUserError(1330, true).verdict == PasswordVerdict::Verified);
  const auto wrong = classifyLogonUserError(1326, false);
  CHECK(wrong.verdict == PasswordVerdict::Wrong);
  CHECK(wrong.text.find("incorrect") != std::string::npos);
  CHECK(classifyLogonUserError(1326, true).verdict == PasswordVerdict::Wrong);
  for (std::uint32_t e : {1385u, 1311u, 1355u, 1789u, 1908u, 1327u}) {
    CHECK(classifyLogonUserError(e, false).verdict == PasswordVerdict::TryInteractive);
    CHECK(classifyLogonUserError(e, true).verdict == PasswordVerdict::Refused);
  }
  CHECK(classifyLogonUserError(1909, false).verdict == PasswordVerdict::Refused);
  CHECK(classifyLogonUserError(1331, false).verdict == PasswordVerdict::Refused);
  CHECK(classifyLogonUserError(5, false).verdict == PasswordVerdict::Refused);
  CHECK(classifyLogonUserError(5, false).text.find("error (") == 0);
}

TEST(submit_decisions) {
  CHECK(decideAfterAuthenticate(reply(AuthResult::Approved), FailMode::Closed).action == SubmitAction::Logon);
  auto code = decideAfterAuthenticate(reply(AuthResult::CodeRequired, "Enter the code"), FailMode::Closed);
  CHECK(code.action == SubmitAction::AskForCode);
  CHECK_EQ(code.text, std::string("Enter the code"));
  CHECK(!decideAfterAuthenticate(reply(AuthResult::CodeRequired), FailMode::Closed).text.empty());
  for (AuthResult r : {AuthResult::Denied, AuthResult::Expired, AuthResult::UnknownUser, AuthResult::Locked, AuthResult::Error}) {
    auto d = decideAfterAuthenticate(reply(r), FailMode::Open);
    CHECK(d.action == SubmitAction::Refuse);
    CHECK(!d.text.empty());
  }
  CHECK_EQ(decideAfterAuthenticate(reply(AuthResult::Denied, "Denied on the phone"), FailMode::Closed).text, std::string("Denied on the phone"));
  CHECK_EQ(decideAfterAuthenticate(reply(AuthResult::Error, "db"), FailMode::Closed).text, std::string("error (db)"));

  AuthenticateCall down;
  down.status = CallStatus::Unreachable;
  down.error = "cannot connect";
  auto closed = decideAfterAuthenticate(down, FailMode::Closed);
  CHECK(closed.action == SubmitAction::Refuse);
  CHECK_EQ(closed.text, std::string("Sign-in refused: health-check request timed out. Is the background service running?"));
  auto open = decideAfterAuthenticate(down, FailMode::Open);
  CHECK(open.action == SubmitAction::Logon);
  CHECK(open.text.find("FailMode=open") != std::string::npos);
  // Fail-open only covers "no service at all", never a hung or broken one.
  AuthenticateCall hung;
  hung.status = CallStatus::Timeout;
  CHECK(decideAfterAuthenticate(hung, FailMode::Open).action == SubmitAction::Refuse);
  AuthenticateCall broken;
  broken.status = CallStatus::Failed;
  broken.error = "bad reply from the endpoint: reply is not JSON";
  auto b = decideAfterAuthenticate(broken, FailMode::Open);
  CHECK(b.action == SubmitAction::Refuse);
  CHECK_EQ(b.text, std::string("Sign-in refused: error (bad reply from the endpoint: reply is not JSON)"));
}

TEST(excluded_accounts_from_a_multi_string_or_a_semicolon_list) {
  using gatehouse::cp::excludedEntries;
  const std::vector<std::string> multi = {".\\breakglass", " CORP\\svc-scan ", ""};
  CHECK(excludedEntries(multi, true) == (std::vector<std::string>{".\\breakglass", "CORP\\svc-scan"}));
  // What the MSI writes: one REG_SZ, entries separated by ';'.
  const std::vector<std::string> one = {".\\breakglass; CORP\\svc-scan;;admin@corp.example"};
  CHECK(excludedEntries(one, false) == (std::vector<std::string>{".\\breakglass", "CORP\\svc-scan", "admin@corp.example"}));
  CHECK(excludedEntries({""}, false).empty());
}

TEST(change_password_link_address_and_what_a_click_does) {
  CHECK_EQ(checkedChangePasswordUrl("https://sspr.corp.example/reset?src=logon"), std::string("https://sspr.corp.example/reset?src=logon"));
  // Only https, printable, no spaces, not absurdly long: anything else is no link at all.
  for (const char* bad : {"", "http://sspr.corp.example/", "https://", "https://sspr corp/", "javascript:alert(1)", "file:///C:/Windows/System32/cmd.exe", "https://sspr.corp.example/\x01"}) CHECK_EQ(checkedChangePasswordUrl(bad), std::string());
  CHECK_EQ(checkedChangePasswordUrl("https://x/" + std::string(2100, 'a')), std::string());
  // No browser is ever started by LogonUI (SYSTEM, secure desktop); a credential prompt opens it.
  CHECK(changePasswordAction(Usage::Logon) == LinkAction::Show);
  CHECK(changePasswordAction(Usage::Unlock) == LinkAction::Show);
  CHECK(changePasswordAction(Usage::ChangePassword) == LinkAction::Show);
  CHECK(changePasswordAction(Usage::CredUI) == LinkAction::Open);
  CHECK_EQ(changePasswordText("https://sspr.corp.example/"), std::string("To change your password, go to https://sspr.corp.example/ on your phone or another computer."));
}

TEST(number_settings_written_as_text) {
  std::uint32_t n = 7;
  CHECK(parseNumberText("1", n) && n == 1);
  CHECK(parseNumberText("0", n) && n == 0);
  CHECK(parseNumberText("3000", n) && n == 3000);
  for (const char* bad : {"", " 1", "1 ", "-1", "0x10", "#1", "1234567890", "yes"}) CHECK(!parseNumberText(bad, n));
}
