"""PowerShell steps are classified command by command, never raising."""

from __future__ import annotations

import pytest

from opsdoc.classify.powershell import classify_powershell


def ps_kinds(code: str) -> list[tuple[str, str]]:
    return [(s.kind, s.safety) for s in classify_powershell(code)]


def test_powershell_env_assignment_then_external_cli() -> None:
    code = (
        "# Mark the stuck migration as applied\n"
        "$env:SUPABASE_ENV='staging'\n"
        "supabase migration repair --status applied 20240611 --db-url $env:DB_URL\n"
    )
    assignment, repair = classify_powershell(code, line=30)
    assert (assignment.kind, assignment.safety, assignment.line) == ("assignment", "read", 31)
    assert assignment.label == "Mark the stuck migration as applied"
    assert (repair.kind, repair.safety, repair.line) == ("supabase migration repair", "write", 32)


def test_powershell_here_string_belongs_to_its_command() -> None:
    code = (
        '.\\.venv\\Scripts\\python.exe -c @"\n'
        "import os\n"
        "# not a PowerShell comment\n"
        "print('Remove-Item C:\\\\x')\n"
        '"@\n'
        "Get-Date\n"
    )
    python, date = classify_powershell(code)
    assert python.text.startswith('.\\.venv\\Scripts\\python.exe -c @"')
    assert python.text.endswith('"@')
    assert (python.kind, python.safety) == ("unknown", "write")
    assert (date.kind, date.line) == ("Get-Date", 6)


def test_powershell_local_venv_python_is_unknown() -> None:
    (statement,) = classify_powershell(".\\.venv\\Scripts\\python.exe -m tools.queue_status")
    assert statement.reason == "unknown command .\\.venv\\Scripts\\python.exe counts as write"


@pytest.mark.parametrize(
    ("code", "safety", "kind"),
    [
        ("Get-ChildItem C:\\logs -Filter *.log", "read", "Get-ChildItem"),
        ("Select-String -Path app.log -Pattern 'timeout'", "read", "Select-String"),
        ("Test-NetConnection db.internal -Port 5432", "read", "Test-NetConnection"),
        ("ConvertTo-Json -Depth 5 $cfg", "read", "ConvertTo-Json"),
        ("Write-Host 'draining'", "read", "Write-Host"),
        ("Restart-Service -Name W3SVC", "write", "Restart-Service"),
        ("Set-Content -Path flag.txt -Value on", "write", "Set-Content"),
        ("New-Item -ItemType Directory C:\\backup", "write", "New-Item"),
        ("Invoke-Expression $cmd", "write", "Invoke-Expression"),
        ("Remove-Item -Recurse -Force C:\\app\\cache", "destructive", "Remove-Item"),
        ("Stop-Service -Name Spooler", "destructive", "Stop-Service"),
        ("Clear-Content app.log", "destructive", "Clear-Content"),
        ("Remove-Item C:\\app\\cache -Recurse -WhatIf", "read", "Remove-Item"),
        ("Start-Sleep -Seconds 10", "read", "Start-Sleep"),
        ("rm C:\\tmp\\x.txt", "destructive", "Remove-Item"),
        ("Invoke-RestMethod -Uri https://api.example.test/health", "read", "Invoke-RestMethod GET"),
        ("Invoke-RestMethod -Uri $u -Method Post -Body $json", "write", "Invoke-RestMethod POST"),
        ("Invoke-WebRequest -Method Delete -Uri $u", "destructive", "Invoke-WebRequest DELETE"),
        ("kubectl get pods -n payments", "read", "kubectl get"),
        ("kubectl.exe delete pod api-0", "destructive", "kubectl delete"),
        ('& "C:\\Program Files\\Tool\\tool.exe" --sync', "write", "unknown"),
        (". .\\env.ps1", "write", "unknown"),
        ("$count = 3", "read", "assignment"),
    ],
)
def test_powershell_commands(code: str, safety: str, kind: str) -> None:
    (statement,) = classify_powershell(code)
    assert (statement.safety, statement.kind) == (safety, kind), statement.reason


def test_powershell_assignment_that_runs_something_takes_its_class() -> None:
    (statement,) = classify_powershell("$r = Invoke-RestMethod -Method Put -Uri $u -Body $b")
    assert (statement.kind, statement.safety) == ("Invoke-RestMethod PUT", "write")
    assert statement.text.startswith("$r = ")


def test_powershell_pipeline_and_script_blocks() -> None:
    code = "Get-Service | Where-Object { $_.Status -eq 'Stopped' } | Start-Service\n"
    assert ps_kinds(code) == [
        ("Get-Service", "read"),
        ("Where-Object", "read"),
        ("Start-Service", "write"),
    ]
    code = "Get-ChildItem *.tmp | ForEach-Object { Remove-Item $_.FullName }"
    assert ps_kinds(code) == [
        ("Get-ChildItem", "read"),
        ("ForEach-Object", "read"),
        ("Remove-Item", "destructive"),
    ]


def test_powershell_control_flow_classifies_the_commands_inside() -> None:
    code = (
        "if (Test-Path $lock) {\n"
        "    Remove-Item $lock\n"
        "} else {\n"
        "    Write-Output 'no lock'\n"
        "}\n"
        "foreach ($svc in @('a', 'b')) { Restart-Service $svc }\n"
    )
    assert ps_kinds(code) == [
        ("Test-Path", "read"),
        ("Remove-Item", "destructive"),
        ("Write-Output", "read"),
        ("Restart-Service", "write"),
    ]


def test_powershell_comments_and_continuations() -> None:
    code = (
        "<# Rotate the worker:\n"
        "   Stop-Service Worker  (inside a comment, not run) #>\n"
        "\n"
        "# then check it\n"
        "Get-Process -Name worker `\n"
        "  -ErrorAction SilentlyContinue\n"
    )
    (statement,) = classify_powershell(code)
    assert statement.kind == "Get-Process"
    assert statement.text.endswith("-ErrorAction SilentlyContinue")
    assert statement.label == "then check it"


def test_powershell_redirections() -> None:
    assert ps_kinds("Get-Process > procs.txt") == [("Get-Process", "write")]
    assert ps_kinds("Get-Process > $null 2>&1") == [("Get-Process", "read")]
    assert ps_kinds("Get-Process | Out-File procs.txt") == [
        ("Get-Process", "read"),
        ("Out-File", "write"),
    ]


def test_powershell_subexpressions_and_dotnet_calls() -> None:
    code = '$n = (Get-Content ids.txt | Measure-Object).Count\n[IO.File]::Delete("C:\\x")\n'
    assert ps_kinds(code) == [
        ("assignment", "read"),
        ("Get-Content", "read"),
        ("Measure-Object", "read"),
        ("expression", "destructive"),
    ]


def test_powershell_sql_cmdlet_takes_the_class_of_its_query() -> None:
    (statement,) = classify_powershell(
        'Invoke-Sqlcmd -ServerInstance db01 -Query "SELECT name FROM sys.databases"'
    )
    assert statement.safety == "read"


def test_powershell_comment_only_block_gives_nothing() -> None:
    assert classify_powershell("# nothing to run\n<# still nothing #>\n") == []


def test_powershell_non_string_input_gives_nothing() -> None:
    assert classify_powershell(b"Get-Date") == []  # type: ignore[arg-type]
