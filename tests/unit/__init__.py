"""Tests without a server or a subprocess.

Pure logic, the store on tmp files, the CLI through click's CliRunner.
"""
