@echo off
rem Installs and registers the 64-bit Gatehouse credential provider (and its filter).
rem Run from the unzipped folder, as administrator, on 64-bit Windows.
setlocal
net session >nul 2>&1
if errorlevel 1 (
  echo register.bat: run this as administrator.
  exit /b 1
)
set "DEST=%ProgramFiles%\Gatehouse"
if not exist "%DEST%" mkdir "%DEST%"
copy /y "%~dp0gatehouse-credential-provider-x64.dll" "%DEST%\" >nul || goto :copyfailed
copy /y "%~dp0gatehouse-pipe-client.exe" "%DEST%\" >nul
"%SystemRoot%\System32\regsvr32.exe" /s "%DEST%\gatehouse-credential-provider-x64.dll"
if errorlevel 1 (
  echo register.bat: regsvr32 failed for "%DEST%\gatehouse-credential-provider-x64.dll".
  exit /b 1
)
echo Registered "%DEST%\gatehouse-credential-provider-x64.dll".
echo Unless HideOtherProviders is 0, other sign-in tiles are now hidden at sign-in and unlock
echo (the default, 1). Keep a second administrator session open while you try it. To keep them
echo (then sign-ins are "not enforced"):
echo   reg add HKLM\SOFTWARE\Gatehouse /v HideOtherProviders /t REG_DWORD /d 0 /f
echo Settings: HKLM\SOFTWARE\Gatehouse. Check the service with:
echo   "%DEST%\gatehouse-pipe-client.exe" --pipe \\.\pipe\gatehouse status
exit /b 0
:copyfailed
echo register.bat: cannot copy the DLL to "%DEST%" (is a logon screen using the old one? sign out other users, or reboot).
exit /b 1
