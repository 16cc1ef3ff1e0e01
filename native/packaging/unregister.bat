@echo off
rem Unregisters the 64-bit Gatehouse credential provider and filter. Settings under
rem HKLM\SOFTWARE\Gatehouse are kept (delete that key by hand to remove them).
setlocal
net session >nul 2>&1
if errorlevel 1 (
  echo unregister.bat: run this as administrator.
  exit /b 1
)
set "DLL=%ProgramFiles%\Gatehouse\gatehouse-credential-provider-x64.dll"
if exist "%DLL%" (
  "%SystemRoot%\System32\regsvr32.exe" /u /s "%DLL%"
) else (
  reg import "%~dp0gatehouse-credential-provider-remove.reg"
)
echo Gatehouse credential provider unregistered. The DLL stays in "%ProgramFiles%\Gatehouse" until you delete it.
exit /b 0
