; Inno Setup script: a per-user installer of the PyInstaller one-folder bundle
; (dist\tidemill, built by `python packaging/build.py` on Windows). Compile with
; `iscc packaging\windows\tidemill.iss`.

#define AppVersion "0.1.0"

[Setup]
AppId={{6C1B7D1E-6E3A-4C55-9B5B-2F4A3D9E7A10}
AppName=Tidemill
AppVersion={#AppVersion}
AppPublisher=Tidemill
DefaultDirName={localappdata}\Programs\Tidemill
DefaultGroupName=Tidemill
PrivilegesRequired=lowest
OutputDir=..\..\dist
OutputBaseFilename=tidemill-{#AppVersion}-windows-setup
SetupIconFile=..\..\resources\icons\tidemill.ico
Compression=lzma2
SolidCompression=yes
ArchitecturesInstallIn64BitMode=x64compatible
UninstallDisplayIcon={app}\tidemill.exe

[Files]
Source: "..\..\dist\tidemill\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[Icons]
Name: "{group}\Tidemill"; Filename: "{app}\tidemill.exe"
Name: "{userdesktop}\Tidemill"; Filename: "{app}\tidemill.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked
Name: "autostart"; Description: "Start Tidemill when I log in"

[Run]
Filename: "{app}\tidemill.exe"; Parameters: "autostart enable"; Tasks: autostart; Flags: runhidden
Filename: "{app}\tidemill.exe"; Description: "Open Tidemill"; Flags: postinstall nowait skipifsilent

[UninstallRun]
Filename: "{app}\tidemill.exe"; Parameters: "autostart disable"; Flags: runhidden; RunOnceId: "autostart"
