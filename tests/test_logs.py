"""Log lines go to stderr, never into a command's output, whether or not logging was configured."""

import subprocess
import sys


def test_an_unconfigured_process_logs_to_stderr_not_stdout():
    code = "from dynamoray import logs; logs.get('probe').info('hello_probe', n=1); print('output')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == "output\n"
    assert "hello_probe" in done.stderr
