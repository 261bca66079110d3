"""Runs the C++ test program (built by CMake beside the extension): gradchecks without Python."""
import subprocess
from pathlib import Path

import backpropx


def test_cpp_gradcheck_program_passes():
    exe = Path(backpropx._C.__file__).parent / "_bin" / "backpropx_cpp_tests"
    assert exe.exists(), f"the C++ test program was not installed at {exe}"
    result = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 failed" in result.stdout
    assert "planted wrong gradient is caught" in result.stdout
