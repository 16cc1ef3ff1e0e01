@echo off
rem Unregisters the 32-bit Gatehouse credential provider (SysWOW64\regsvr32 on 64-bit Windows).
setlocal
net session >nul 2>&1
if errorlevel 1 (
  echo unregister32.bat: run this as administrator.
  exit /b 1
)
if defined ProgramFiles(x86) (
  set "DLL=%ProgramFiles(x86)%\Gatehouse\gatehouse-credential-provider-x86.dll"
  set "REGSVR=%SystemRoot%\SysWOW64\regsvr32.exe"
) else (
  set "DLL=%ProgramFiles%\Gatehouse\gatehouse-credential-provider-x86.dll"
  set "REGSVR=%SystemRoot%\System32\regsvr32.exe"
)
if exist "%DLL%" "%REGSVR%" /u /s "%DLL%"
echo 32-bit Gatehouse credential provider unregistered.
exit /b 0
