@echo off
rem Installs and registers the 32-bit Gatehouse credential provider: on 64-bit Windows for
rem credential prompts (CredUI) of 32-bit programs, with SysWOW64\regsvr32; on 32-bit Windows for
rem everything. Run from the unzipped folder, as administrator.
setlocal
net session >nul 2>&1
if errorlevel 1 (
  echo register32.bat: run this as administrator.
  exit /b 1
)
if defined ProgramFiles(x86) (
  set "DEST=%ProgramFiles(x86)%\Gatehouse"
  set "REGSVR=%SystemRoot%\SysWOW64\regsvr32.exe"
) else (
  set "DEST=%ProgramFiles%\Gatehouse"
  set "REGSVR=%SystemRoot%\System32\regsvr32.exe"
)
if not exist "%DEST%" mkdir "%DEST%"
copy /y "%~dp0gatehouse-credential-provider-x86.dll" "%DEST%\" >nul
if errorlevel 1 (
  echo register32.bat: cannot copy the DLL to "%DEST%".
  exit /b 1
)
"%REGSVR%" /s "%DEST%\gatehouse-credential-provider-x86.dll"
if errorlevel 1 (
  echo register32.bat: regsvr32 failed for "%DEST%\gatehouse-credential-provider-x86.dll".
  exit /b 1
)
echo Registered "%DEST%\gatehouse-credential-provider-x86.dll" with "%REGSVR%".
exit /b 0
