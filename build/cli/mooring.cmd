@echo off
rem The `mooring` command of an installed Mooring (resources\bin\mooring.cmd): the app's own
rem Electron runs the CLI as Node, with the SQLite build made for it. Add this folder to PATH.
setlocal
set "ELECTRON_RUN_AS_NODE=1"
set "MOORING_APP_ROOT=%~dp0..\app"
"%~dp0..\..\Mooring.exe" "%~dp0..\app\bin\mooring.mjs" %*
