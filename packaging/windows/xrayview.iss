; Inno Setup 6 script for xrayview on Windows - UNTESTED here (built and tested on Linux only).
;
; Build on Windows, in the repository root:
;   py -3.11 -m venv .venv && .venv\Scripts\pip install torch==2.13.0 -e .[package]
;   .venv\Scripts\python packaging\make_icons.py
;   .venv\Scripts\pyinstaller --noconfirm build.spec
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 packaging\windows\xrayview.iss
; Output: dist\xrayview-0.1.0-setup.exe (per-machine install to Program Files, Start menu
; entry, optional desktop icon, "Open with" for .dcm files, uninstaller).
; Then check: "C:\Program Files\xrayview\xrayview-cli.exe" --self-test

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{6C1E2B57-0F6A-4C63-9E7B-2D0F7E3A9C41}
AppName=xrayview
AppVersion={#AppVersion}
AppPublisher=The xrayview developers
AppComments=X-ray film enhancement viewer (research use, not for diagnosis)
DefaultDirName={autopf}\xrayview
DefaultGroupName=xrayview
OutputDir=..\..\dist
OutputBaseFilename=xrayview-{#AppVersion}-setup
SetupIconFile=..\..\build\icons\xrayview.ico
UninstallDisplayIcon={app}\xrayview.exe
LicenseFile=..\..\LICENSE
Compression=lzma2/max
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes
PrivilegesRequired=admin

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "dcmassoc"; Description: "Open DICOM files (.dcm) with xrayview"; GroupDescription: "File associations:"

[Files]
Source: "..\..\dist\xrayview\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\xrayview"; Filename: "{app}\xrayview.exe"
Name: "{group}\xrayview self-test"; Filename: "{app}\xrayview-cli.exe"; Parameters: "--self-test"
Name: "{group}\Uninstall xrayview"; Filename: "{uninstallexe}"
Name: "{autodesktop}\xrayview"; Filename: "{app}\xrayview.exe"; Tasks: desktopicon

[Registry]
Root: HKA; Subkey: "Software\Classes\.dcm\OpenWithProgids"; ValueType: string; ValueName: "xrayview.dicom"; ValueData: ""; Flags: uninsdeletevalue; Tasks: dcmassoc
Root: HKA; Subkey: "Software\Classes\xrayview.dicom"; ValueType: string; ValueName: ""; ValueData: "DICOM image"; Flags: uninsdeletekey; Tasks: dcmassoc
Root: HKA; Subkey: "Software\Classes\xrayview.dicom\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\xrayview.exe,0"; Tasks: dcmassoc
Root: HKA; Subkey: "Software\Classes\xrayview.dicom\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\xrayview.exe"" gui ""%1"""; Tasks: dcmassoc

[Run]
Filename: "{app}\xrayview.exe"; Description: "{cm:LaunchProgram,xrayview}"; Flags: nowait postinstall skipifsilent
